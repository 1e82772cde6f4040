/**
 * The API's GET /metrics: the service's statistics (Service.snapshot(), the same numbers as the
 * log summary and the service events: CONVENTIONS.md rule 5) in Prometheus' text format 0.0.4.
 */
import type { ServiceSnapshot } from './stats.js'

/** Input counters that are levels, not totals. */
const INPUT_GAUGES = new Set(['open'])

type Labels = Record<string, string>

class Exposition {
  private readonly out: string[] = []

  metric (name: string, type: 'counter' | 'gauge', help: string, samples: Array<[Labels, number]>): void {
    const full = `feedmatch_${name}`
    this.out.push(`# HELP ${full} ${help}`, `# TYPE ${full} ${type}`)
    for (const [labels, value] of samples) this.out.push(`${full}${labelText(labels)} ${Number.isFinite(value) ? value : 0}`)
  }

  one (name: string, type: 'counter' | 'gauge', help: string, value: number): void {
    this.metric(name, type, help, [[{}, value]])
  }

  text (): string {
    return this.out.join('\n') + '\n'
  }
}

/** The snapshot as Prometheus text. */
export function prometheusText (s: ServiceSnapshot, generation: number): string {
  const m = new Exposition()
  m.one('uptime_seconds', 'gauge', 'Seconds since the service started.', s.uptimeSec)
  m.one('feeds_generation', 'gauge', 'Id of the feed index generation in service (grows with every reload).', generation)
  m.one('events_total', 'counter', 'Events matched.', s.events)
  m.one('event_bytes_total', 'counter', 'Bytes of the events matched.', s.bytesIn)
  m.one('detection_bytes_total', 'counter', 'Bytes of the frames rendered for the output.', s.bytesOut)
  m.one('detections_total', 'counter', 'Detections.', s.detections)
  m.one('events_with_detections_total', 'counter', 'Events with at least one detection.', s.eventsWithDetections)
  m.one('batches_total', 'counter', 'Batches matched by the worker pool.', s.batches)
  m.metric('batch_latency_milliseconds', 'gauge', 'Batch latency from accept to emit, quantiles since start.',
    [[{ quantile: '0.5' }, s.latencyP50Ms], [{ quantile: '0.99' }, s.latencyP99Ms]])
  m.metric('dropped_total', 'counter', 'Events dropped, cut or set apart, by reason.', entries(s.dropped).map(([reason, n]) => [{ reason }, n]))
  m.metric('rule_detections_total', 'counter', 'Detections by extraction rule.', entries(s.perRule).map(([rule, n]) => [{ rule }, n]))
  m.metric('feed_records', 'gauge', 'Records of each feed in service.', s.feeds.map((f) => [{ feed: f.name, category: f.category, role: f.role }, f.records]))
  m.metric('feed_detections_total', 'counter', 'Detections by feed.', s.feeds.map((f) => [{ feed: f.name, category: f.category }, f.detections]))
  m.metric('feed_last_detection_timestamp_seconds', 'gauge', 'When each feed last detected something (feeds that never did are left out).',
    s.feeds.filter((f) => f.lastDetection !== null).map((f) => [{ feed: f.name }, (f.lastDetection as number) / 1000]))
  for (const [key, n] of entries(s.input)) {
    const gauge = INPUT_GAUGES.has(key)
    m.one(`input_${snake(key)}${gauge ? '' : '_total'}`, gauge ? 'gauge' : 'counter', `Inputs (all listeners): ${key}.`, n)
  }
  m.metric('queue_depth', 'gauge', 'Batches waiting (pending), in the worker pool (in_flight) and done but held for order (reorder).',
    entries(s.queues ?? {}).map(([queue, n]) => [{ queue: snake(queue) }, n]))
  if (s.output !== undefined) {
    const { dropped, ...totals } = s.output
    for (const [key, n] of entries(totals)) m.one(`output_${snake(key)}_total`, 'counter', `Output: ${key}.`, n)
    m.metric('output_dropped_bytes_total', 'counter', 'Output bytes dropped, by reason.', entries(dropped).map(([reason, n]) => [{ reason }, n]))
  }
  return m.text()
}

function entries (o: Record<string, number>): Array<[string, number]> {
  return Object.entries(o).filter((e): e is [string, number] => typeof e[1] === 'number')
}

/** camelCase to snake_case, for metric names. */
function snake (key: string): string {
  return key.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase()).replace(/[^a-z0-9_]/g, '_')
}

/** `{a="x",b="y"}` with the text format's escapes (backslash, double quote, newline). */
function labelText (labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
  return parts.length === 0 ? '' : `{${parts.join(',')}}`
}
