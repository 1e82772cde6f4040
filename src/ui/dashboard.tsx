/**
 * The dashboard: events and detections per second (from /stats every 2 s, the last 5 minutes),
 * detections per feed and per category, feed freshness and record counts, and the supplier
 * intersections of /feeds (keys each pair of feeds shares).
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js'
import { ago, fmt, get } from './api.js'

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, BarController, BarElement, Legend, Tooltip)

const POLL_MS = 2000
const POINTS = 150

interface FeedStat { name: string, category: string, role: string, records: number, detections: number }
interface Stats { events: number, detections: number, uptimeSec: number, dropped: Record<string, number>, feeds: FeedStat[] }
interface FeedsDoc { generation: number, feeds: Array<{ name: string, category: string, role: string, records: number, ageSec: number | null, stale: boolean, failing: boolean, lastError?: { code: string } }>, intersections: Array<{ a: string, b: string, shared: number }> }

/** A Chart.js chart on a canvas, updated in place when its data change. */
function ChartBox ({ type, labels, sets, label }: { type: 'line' | 'bar', labels: string[], sets: Array<{ label: string, data: number[], color: string }>, label: string }) {
  const canvas = useRef<HTMLCanvasElement>(null)
  const chart = useRef<Chart | null>(null)
  useEffect(() => {
    const c = new Chart(canvas.current as HTMLCanvasElement, {
      type,
      data: { labels: [], datasets: [] },
      options: { animation: false, maintainAspectRatio: false, scales: { y: { beginAtZero: true } }, plugins: { legend: { display: sets.length > 1 } }, ...(type === 'bar' ? { indexAxis: 'y' as const } : {}) },
    })
    chart.current = c
    return () => c.destroy()
  }, [type])
  useEffect(() => {
    const c = chart.current
    if (c === null) return
    c.data.labels = labels
    c.data.datasets = sets.map((s) => ({ label: s.label, data: s.data, borderColor: s.color, backgroundColor: s.color, pointRadius: 0, borderWidth: 2 }))
    c.update()
  })
  // The last values, for screen readers (and what the browser test reads).
  const summary = sets.map((s) => `${s.label}: ${s.data.length === 0 ? 'no data' : fmt(s.data[s.data.length - 1])}`).join('; ')
  return <div class='chart'><canvas ref={canvas} role='img' aria-label={`${label}. ${summary}`} data-points={sets[0]?.data.length ?? 0} /></div>
}

export function Dashboard () {
  const [stats, setStats] = useState<Stats | null>(null)
  const [feeds, setFeeds] = useState<FeedsDoc | null>(null)
  const [error, setError] = useState<string | null>(null)
  const series = useRef<{ at: string[], events: number[], detections: number[], last?: { t: number, events: number, detections: number } }>({ at: [], events: [], detections: [] })
  useEffect(() => {
    let stop = false
    const tick = async (): Promise<void> => {
      try {
        const [s, f] = await Promise.all([get<Stats>('/stats'), get<FeedsDoc>('/feeds')])
        if (stop) return
        const now = Date.now()
        const r = series.current
        if (r.last !== undefined) {
          const dt = Math.max(0.001, (now - r.last.t) / 1000)
          r.at.push(new Date(now).toLocaleTimeString('en-GB'))
          r.events.push(Math.max(0, (s.events - r.last.events) / dt))
          r.detections.push(Math.max(0, (s.detections - r.last.detections) / dt))
          if (r.at.length > POINTS) { r.at.shift(); r.events.shift(); r.detections.shift() }
        }
        r.last = { t: now, events: s.events, detections: s.detections }
        setStats(s)
        setFeeds(f)
        setError(null)
      } catch (err) {
        if (!stop) setError((err as Error).message)
      }
    }
    void tick()
    const timer = setInterval(() => { void tick() }, POLL_MS)
    return () => { stop = true; clearInterval(timer) }
  }, [])
  if (stats === null) return <div>{error !== null ? <div class='error' role='alert'>{error}</div> : <span class='muted'>Loading...</span>}</div>
  const r = series.current
  const matching = stats.feeds.filter((f) => f.role === 'feed')
  const byCategory = new Map<string, number>()
  for (const f of stats.feeds) byCategory.set(f.category, (byCategory.get(f.category) ?? 0) + f.detections)
  const drops = Object.values(stats.dropped).reduce((a, b) => a + b, 0)
  return (
    <div>
      {error !== null && <div class='error' role='alert'>{error}</div>}
      <div class='tiles'>
        <div class='tile'><div class='n' data-testid='events-total'>{fmt(stats.events)}</div><div class='l'>events</div></div>
        <div class='tile'><div class='n' data-testid='detections-total'>{fmt(stats.detections)}</div><div class='l'>detections</div></div>
        <div class='tile'><div class='n' data-testid='events-rate'>{fmt(r.events.at(-1) ?? 0)}</div><div class='l'>events/s</div></div>
        <div class='tile'><div class='n'>{fmt(matching.reduce((a, f) => a + f.records, 0))}</div><div class='l'>records in {matching.length} feeds</div></div>
        <div class='tile'><div class={`n ${drops > 0 ? 'bad' : ''}`}>{fmt(drops)}</div><div class='l'>dropped</div></div>
      </div>
      <div class='grid'>
        <div class='card'><h3>Events and detections per second</h3>
          <ChartBox type='line' label='events and detections per second' labels={r.at} sets={[{ label: 'events/s', data: r.events, color: '#2454d6' }, { label: 'detections/s', data: r.detections, color: '#c0362c' }]} />
        </div>
        <div class='card'><h3>Detections per feed</h3>
          <ChartBox type='bar' label='detections per feed' labels={stats.feeds.map((f) => f.name)} sets={[{ label: 'detections', data: stats.feeds.map((f) => f.detections), color: '#2454d6' }]} />
        </div>
        <div class='card'><h3>Detections per category</h3>
          <ChartBox type='bar' label='detections per category' labels={[...byCategory.keys()]} sets={[{ label: 'detections', data: [...byCategory.values()], color: '#7a4bd6' }]} />
        </div>
        <div class='card'><h3>Feeds</h3>
          <table>
            <thead><tr><th>feed</th><th class='num'>records</th><th>age</th><th>state</th></tr></thead>
            <tbody>{(feeds?.feeds ?? []).map((f) => (
              <tr key={f.name}><td>{f.name} <span class='badge'>{f.role}</span></td><td class='num'>{fmt(f.records)}</td><td>{ago(f.ageSec)}</td>
                <td class={f.failing ? 'bad' : f.stale ? 'warn' : 'ok'}>{f.failing ? `failing (${f.lastError?.code ?? '?'})` : f.stale ? 'stale' : 'fresh'}</td></tr>
            ))}</tbody>
          </table>
        </div>
        <div class='card'><h3>Supplier intersections</h3>
          {(feeds?.intersections.length ?? 0) === 0
            ? <p class='muted'>No two feeds share an indicator.</p>
            : <table><thead><tr><th>feed</th><th>feed</th><th class='num'>shared keys</th></tr></thead>
              <tbody>{feeds?.intersections.slice(0, 50).map((x) => <tr key={`${x.a} ${x.b}`}><td>{x.a}</td><td>{x.b}</td><td class='num'>{fmt(x.shared)}</td></tr>)}</tbody></table>}
          <p class='muted'>Keys both feeds hold (a record's MD5, SHA1 and SHA256 are three), generation {feeds?.generation}.</p>
        </div>
      </div>
    </div>
  )
}
