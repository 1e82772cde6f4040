/**
 * The working pages: lookup (POST /lookup, CSV export), feeds (GET /feeds), lists (/lists) and
 * detections (/detections, false positives). Each shows the API's own error message.
 */
import { useEffect, useState } from 'preact/hooks'
import { ago, call, fmt, get } from './api.js'

function Failure ({ error }: { error: string | null }) {
  return error === null ? null : <div class='error' role='alert'>{error}</div>
}

/** Runs an action; its error goes to `setError`, its success clears it. */
function guarded (setError: (e: string | null) => void, fn: () => Promise<void>): () => void {
  return () => { fn().then(() => setError(null), (err: Error) => setError(err.message)) }
}

interface LookupEntry { indicator: string, type: string | null, value: string | null, allowlisted?: true, matches: Array<{ feed: string, category: string, matched: string }>, live?: Array<{ list: string, reason: string }> }

const MAX_LOOKUP = 1000

function verdict (e: LookupEntry): string {
  if (e.type === null) return 'not an indicator'
  if (e.allowlisted === true || e.live?.some((l) => l.list === 'allowlist') === true) return 'allowlisted'
  if (e.matches.length > 0 || e.live?.some((l) => l.list === 'blocklist') === true) return 'listed'
  return 'not listed'
}

function csvCell (v: string): string {
  return /[",\n\r]/.test(v) || /^[=+\-@]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v
}

/** One row per match (or per indicator without one): what a spreadsheet wants. */
export function lookupCsv (entries: LookupEntry[]): string {
  const rows = [['indicator', 'type', 'value', 'verdict', 'feed', 'category', 'matched']]
  for (const e of entries) {
    const base = [e.indicator, e.type ?? '', e.value ?? '', verdict(e)]
    if (e.matches.length === 0) rows.push([...base, '', '', ''])
    for (const m of e.matches) rows.push([...base, m.feed, m.category, m.matched])
  }
  return rows.map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n'
}

export function Lookup () {
  const [text, setText] = useState('')
  const [result, setResult] = useState<LookupEntry[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
  const run = guarded(setError, async () => {
    if (lines.length > MAX_LOOKUP) throw new Error(`${lines.length} indicators: look up at most ${MAX_LOOKUP} at a time`)
    setBusy(true)
    try { setResult(await call<LookupEntry[]>('POST', '/lookup', lines)) } finally { setBusy(false) }
  })
  const download = (): void => {
    const url = URL.createObjectURL(new Blob([lookupCsv(result ?? [])], { type: 'text/csv' }))
    const a = document.createElement('a')
    a.href = url
    a.download = 'feedmatch-lookup.csv'
    a.click()
    setTimeout(() => URL.revokeObjectURL(url), 1000)
  }
  return (
    <div>
      <h2>Lookup</h2>
      <div class='card'>
        <label for='indicators'>Indicators, one a line (hashes, IPs, URLs, domains; defanged ones such as <code>hxxp://evil[.]example</code> too)</label>
        <textarea id='indicators' value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
        <div class='row'>
          <button type='button' onClick={run} disabled={busy || lines.length === 0}>Look up {lines.length > 0 ? lines.length : ''}</button>
          {result !== null && <button type='button' class='plain' onClick={download}>Export CSV</button>}
        </div>
        <Failure error={error} />
      </div>
      {result !== null && (
        <div class='card'>
          <table id='lookup-results'>
            <thead><tr><th>indicator</th><th>type</th><th>verdict</th><th>feeds</th></tr></thead>
            <tbody>{result.map((e, i) => (
              <tr key={i} data-verdict={verdict(e)}><td class='mono'>{e.indicator}</td><td>{e.type ?? '-'}</td>
                <td class={verdict(e) === 'listed' ? 'bad' : verdict(e) === 'allowlisted' ? 'ok' : 'muted'}>{verdict(e)}</td>
                <td>{[...e.matches.map((m) => `${m.feed} (${m.category})`), ...(e.live ?? []).map((l) => `live ${l.list}: ${l.reason}`)].join(', ')}</td></tr>
            ))}</tbody>
          </table>
        </div>
      )}
    </div>
  )
}

interface FeedsDoc { generation: number, builtAt: string, feeds: Array<{ name: string, category: string, role: string, format: string, records: number, skipped: number, duplicates: number, ageSec: number | null, stale: boolean, failing: boolean, lastError?: { code: string, message: string } }>, intersections: Array<{ a: string, b: string, shared: number }> }

export function Feeds () {
  const [doc, setDoc] = useState<FeedsDoc | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(guarded(setError, async () => setDoc(await get<FeedsDoc>('/feeds'))), [])
  return (
    <div>
      <h2>Feeds</h2>
      <Failure error={error} />
      {doc !== null && (
        <div class='card'>
          <p class='muted'>Generation {doc.generation}, built {new Date(doc.builtAt).toLocaleString()}.</p>
          <table id='feeds'>
            <thead><tr><th>feed</th><th>category</th><th>role</th><th>format</th><th class='num'>records</th><th class='num'>skipped</th><th class='num'>duplicates</th><th>age</th><th>state</th></tr></thead>
            <tbody>{doc.feeds.map((f) => (
              <tr key={f.name}><td>{f.name}</td><td>{f.category}</td><td>{f.role}</td><td>{f.format}</td><td class='num'>{fmt(f.records)}</td><td class='num'>{fmt(f.skipped)}</td><td class='num'>{fmt(f.duplicates)}</td><td>{ago(f.ageSec)}</td>
                <td class={f.failing ? 'bad' : f.stale ? 'warn' : 'ok'} title={f.lastError?.message}>{f.failing ? `failing: ${f.lastError?.code ?? ''}` : f.stale ? 'stale' : 'fresh'}</td></tr>
            ))}</tbody>
          </table>
        </div>
      )}
    </div>
  )
}

interface Entry { id: string, list: string, value: string, reason: string, scope?: { senders?: string[], feeds?: string[] }, expires?: number, added: number, by: string }

export function Lists () {
  const [entries, setEntries] = useState<Record<string, Entry[]>>({ allowlist: [], blocklist: [] })
  const [error, setError] = useState<string | null>(null)
  const [form, setForm] = useState({ list: 'allowlist', value: '', reason: '', sender: '', feed: '', expires: '' })
  const load = async (): Promise<void> => {
    const [allow, block] = await Promise.all([get<Entry[]>('/lists/allowlist'), get<Entry[]>('/lists/blocklist')])
    setEntries({ allowlist: allow, blocklist: block })
  }
  useEffect(guarded(setError, load), [])
  const field = (k: keyof typeof form) => (e: Event) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value })
  const add = guarded(setError, async () => {
    const scope = { ...(form.sender.trim() === '' ? {} : { sender: form.sender.split(',').map((s) => s.trim()) }), ...(form.feed.trim() === '' ? {} : { feed: form.feed.split(',').map((s) => s.trim()) }) }
    await call('POST', `/lists/${form.list}`, { value: form.value.trim(), reason: form.reason.trim(), ...(Object.keys(scope).length > 0 ? { scope } : {}), ...(form.expires.trim() === '' ? {} : { expires: form.expires.trim() }) })
    setForm({ ...form, value: '', reason: '' })
    await load()
  })
  const remove = (e: Entry) => guarded(setError, async () => { await call('DELETE', `/lists/${e.list}/${e.id}`); await load() })
  return (
    <div>
      <h2>Live lists</h2>
      <div class='card'>
        <form class='row' id='add-entry' onSubmit={(e) => { e.preventDefault(); add() }}>
          <select aria-label='list' name='list' value={form.list} onChange={field('list')}><option value='allowlist'>allowlist</option><option value='blocklist'>blocklist</option></select>
          <input aria-label='value' name='value' placeholder='indicator' value={form.value} onInput={field('value')} />
          <input aria-label='reason' name='reason' placeholder='reason' value={form.reason} onInput={field('reason')} />
          <input aria-label='sender scope' name='sender' placeholder='senders (CIDR, optional)' value={form.sender} onInput={field('sender')} />
          <input aria-label='feed scope' name='feed' placeholder='feeds (optional)' value={form.feed} onInput={field('feed')} />
          <input aria-label='expires' name='expires' placeholder='expires (7d, optional)' value={form.expires} onInput={field('expires')} />
          <button type='submit'>Add</button>
        </form>
        <Failure error={error} />
      </div>
      {(['allowlist', 'blocklist'] as const).map((list) => (
        <div class='card' key={list}>
          <h3>{list} ({entries[list].length})</h3>
          <table id={list}>
            <thead><tr><th>value</th><th>reason</th><th>scope</th><th>expires</th><th>by</th><th /></tr></thead>
            <tbody>{entries[list].map((e) => (
              <tr key={e.id}><td class='mono'>{e.value}</td><td>{e.reason}</td><td>{[...(e.scope?.senders ?? []), ...(e.scope?.feeds ?? [])].join(', ') || 'everywhere'}</td>
                <td>{e.expires === undefined ? 'never' : new Date(e.expires).toLocaleString()}</td><td>{e.by}</td>
                <td><button type='button' class='plain' onClick={remove(e)}>Remove</button></td></tr>
            ))}</tbody>
          </table>
        </div>
      ))}
    </div>
  )
}

interface Detection { id: number, time: string, feed: string, category: string, type: string, indicator: string, sender: string, event: string, falsePositive: string | null }

export function Detections () {
  const [filters, setFilters] = useState({ indicator: '', feed: '', sender: '', from: '24h' })
  const [rows, setRows] = useState<Detection[]>([])
  const [next, setNext] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [reason, setReason] = useState('false positive (marked in the UI)')
  const query = (cursor: string | null): string => {
    const p = new URLSearchParams({ limit: '100' })
    for (const [k, v] of Object.entries(filters)) if (v.trim() !== '' && v !== 'all') p.set(k, v.trim())
    if (cursor !== null) p.set('cursor', cursor)
    return `/detections?${p.toString()}`
  }
  const search = guarded(setError, async () => {
    const page = await get<{ detections: Detection[], next: string | null }>(query(null))
    setRows(page.detections)
    setNext(page.next)
  })
  const more = guarded(setError, async () => {
    const page = await get<{ detections: Detection[], next: string | null }>(query(next))
    setRows([...rows, ...page.detections])
    setNext(page.next)
  })
  useEffect(search, [])
  const field = (k: keyof typeof filters) => (e: Event) => setFilters({ ...filters, [k]: (e.target as HTMLInputElement).value })
  const mark = (d: Detection) => guarded(setError, async () => {
    const r = await call<{ entry: { id: string } }>('POST', `/detections/${d.id}/false-positive`, { reason })
    setRows(rows.map((x) => x.id === d.id ? { ...x, falsePositive: r.entry.id } : x))
  })
  return (
    <div>
      <h2>Detections</h2>
      <div class='card'>
        <form class='row' id='search' onSubmit={(e) => { e.preventDefault(); search() }}>
          <input aria-label='indicator' placeholder='indicator' value={filters.indicator} onInput={field('indicator')} />
          <input aria-label='feed' placeholder='feed' value={filters.feed} onInput={field('feed')} />
          <input aria-label='sender' placeholder='sender' value={filters.sender} onInput={field('sender')} />
          <select aria-label='since' value={filters.from} onChange={field('from')}>{['1h', '24h', '7d', '30d', 'all'].map((v) => <option key={v} value={v}>{v === 'all' ? 'all time' : `last ${v}`}</option>)}</select>
          <button type='submit'>Search</button>
        </form>
        <div class='row'><label for='fp-reason'>Reason for false positives</label><input id='fp-reason' size={40} value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} /></div>
        <Failure error={error} />
      </div>
      <div class='card'>
        <table id='detections'>
          <thead><tr><th>time</th><th>feed</th><th>indicator</th><th>sender</th><th>event</th><th /></tr></thead>
          <tbody>{rows.map((d) => (
            <tr key={d.id} data-id={d.id}><td>{new Date(d.time).toLocaleString()}</td><td>{d.feed}</td><td class='mono'>{d.indicator}</td><td>{d.sender}</td><td class='mono'>{d.event}</td>
              <td>{d.falsePositive === null ? <button type='button' class='plain' onClick={mark(d)}>False positive</button> : <span class='ok'>allowlisted</span>}</td></tr>
          ))}</tbody>
        </table>
        {rows.length === 0 && <p class='muted'>No detections match.</p>}
        {next !== null && <button type='button' class='plain' onClick={more}>Older</button>}
      </div>
    </div>
  )
}
