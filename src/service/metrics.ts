/**
 * The API's GET /metrics: the service's statistics (Service.snapshot(), the same numbers as the
 * log summary and the service events: CONVENTIONS.md rule 5) in Prometheus' text format, written
 * by prom-client. Counters and gauges are read from a snapshot at scrape time (a registry made per
 * scrape: scrapes are seconds apart, and the snapshot is the one source of the numbers); batch
 * latency is a live histogram in seconds, observed per batch. Checked with `promtool check metrics`.
 * Every metric name is written out here: none is made from a TypeScript field name, so renaming
 * a field cannot rename a metric. Components report through util/telemetry.ts.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { ServiceSnapshot } from './stats.js'

/** Batch latency, accept to emit, in seconds: what the live histogram counts. */
export class LatencyMetric {
  readonly registry = new Registry()
  readonly #hist = new Histogram({
    name: 'feedmatch_batch_latency_seconds',
    help: 'Batch latency from accept to emit.',
    buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  })

  /** One batch took `ms` milliseconds. */
  observe (ms: number): void {
    this.#hist.observe(ms / 1000)
  }
}

type Labels = Record<string, string>

/** The snapshot (and the live latency histogram) as Prometheus text. */
export async function prometheusText (s: ServiceSnapshot, generation: number, latency?: LatencyMetric): Promise<string> {
  const r = new Registry()
  const gauge = (name: string, help: string, samples: Array<[Labels, number]>, labelNames: string[] = []): void => {
    const g = new Gauge({ name: `feedmatch_${name}`, help, labelNames, registers: [r] })
    for (const [labels, v] of samples) g.set(labels, Number.isFinite(v) ? v : 0)
  }
  const counter = (name: string, help: string, samples: Array<[Labels, number]>, labelNames: string[] = []): void => {
    const c = new Counter({ name: `feedmatch_${name}`, help, labelNames, registers: [r] })
    for (const [labels, v] of samples) c.inc(labels, Number.isFinite(v) && v > 0 ? v : 0)
  }
  gauge('uptime_seconds', 'Seconds since the service started.', [[{}, s.uptimeSec]])
  gauge('feeds_generation', 'Id of the feed index generation in service (grows with every reload).', [[{}, generation]])
  counter('events_total', 'Events matched.', [[{}, s.events]])
  counter('event_bytes_total', 'Bytes of the events matched.', [[{}, s.bytesIn]])
  counter('detection_bytes_total', 'Bytes of the frames rendered for the output.', [[{}, s.bytesOut]])
  counter('detections_total', 'Detections.', [[{}, s.detections]])
  counter('events_with_detections_total', 'Events with at least one detection.', [[{}, s.eventsWithDetections]])
  counter('batches_total', 'Batches matched by the worker pool.', [[{}, s.batches]])
  counter('dropped_total', 'Events dropped, cut or set apart, by reason.', entries(s.dropped).map(([reason, n]) => [{ reason }, n]), ['reason'])
  counter('rule_detections_total', 'Detections by extraction rule.', entries(s.perRule).map(([rule, n]) => [{ rule }, n]), ['rule'])
  counter('obfuscated_detections_total', 'Detections whose value used an obfuscation technique, by technique.',
    entries(s.perObfuscation).map(([technique, n]) => [{ technique }, n]), ['technique'])
  gauge('feed_records', 'Records of each feed in service.', s.feeds.map((f) => [{ feed: f.name, category: f.category, role: f.role }, f.records]), ['feed', 'category', 'role'])
  counter('feed_detections_total', 'Detections by feed.', s.feeds.map((f) => [{ feed: f.name, category: f.category }, f.detections]), ['feed', 'category'])
  gauge('feed_last_detection_timestamp_seconds', 'When each feed last detected something (feeds that never did are left out).',
    s.feeds.filter((f) => f.lastDetection !== null).map((f) => [{ feed: f.name }, (f.lastDetection as number) / 1000]), ['feed'])
  const health = s.feedHealth ?? []
  gauge('feed_age_seconds', 'Seconds since each feed last loaded from a fresh file or fetched successfully (a 304 counts).',
    health.filter((f) => f.ageSec !== undefined).map((f) => [{ feed: f.feed, source: f.source }, f.ageSec as number]), ['feed', 'source'])
  gauge('feed_last_success_timestamp_seconds', 'When each feed last loaded or fetched successfully.',
    health.filter((f) => f.lastSuccess !== undefined).map((f) => [{ feed: f.feed }, (f.lastSuccess as number) / 1000]), ['feed'])
  gauge('feed_last_error_timestamp_seconds', 'When each feed last failed to load or fetch (feeds that never failed are left out).',
    health.filter((f) => f.lastError !== undefined).map((f) => [{ feed: f.feed, code: f.lastError?.code ?? '' }, (f.lastError?.time ?? 0) / 1000]), ['feed', 'code'])
  gauge('feed_stale', '1 while a feed is older than its maxAge.', health.map((f) => [{ feed: f.feed }, f.stale ? 1 : 0]), ['feed'])
  gauge('feed_failing', '1 while the last load or fetch of a feed failed.', health.map((f) => [{ feed: f.feed }, f.failing ? 1 : 0]), ['feed'])
  // The components in the one vocabulary (util/telemetry.ts): every name here is written out.
  const comps = s.components ?? []
  const flow = (dir: 'received' | 'sent', unit: 'events' | 'bytes'): Array<[Labels, number]> =>
    comps.map((c) => [{ component: c.component, kind: c.kind }, c[dir][unit]])
  counter('component_received_events_total', 'Events each component received.', flow('received', 'events'), ['component', 'kind'])
  counter('component_received_bytes_total', 'Bytes each component received.', flow('received', 'bytes'), ['component', 'kind'])
  counter('component_sent_events_total', 'Events each component sent on (the matcher: detections).', flow('sent', 'events'), ['component', 'kind'])
  counter('component_sent_bytes_total', 'Bytes each component sent on.', flow('sent', 'bytes'), ['component', 'kind'])
  counter('component_dropped_total', 'What each component dropped, by reason and unit; intentional="false" is data lost.',
    comps.flatMap((c) => c.dropped.map((d): [Labels, number] => [{ component: c.component, reason: d.reason, unit: d.unit, intentional: String(d.intentional) }, d.count])),
    ['component', 'reason', 'unit', 'intentional'])
  counter('component_errors_total', 'Errors of each component, by type and stage.',
    comps.flatMap((c) => c.errors.map((e): [Labels, number] => [{ component: c.component, type: e.type, stage: e.stage }, e.count])), ['component', 'type', 'stage'])
  gauge('input_connections_open', 'TCP and TLS connections open now.', [[{}, s.input.open ?? 0]])
  gauge('queue_depth', 'Batches waiting (pending), in the worker pool (in_flight) and done but held for order (reorder).',
    s.queues === undefined ? [] : [[{ queue: 'pending' }, s.queues.pending], [{ queue: 'in_flight' }, s.queues.inFlight], [{ queue: 'reorder' }, s.queues.reorder]], ['queue'])
  if (s.output !== undefined) {
    counter('output_bytes_resent_total', 'Bytes sent again after a link dropped that the SIEM may already have had: the most that can arrive twice.', [[{}, s.output.bytesResent]])
    counter('output_bytes_spooled_total', 'Bytes written to the disk spool.', [[{}, s.output.bytesSpooled]])
    counter('output_reconnects_total', 'Links to the output regained after a loss.', [[{}, s.output.reconnects]])
  }
  const all = latency === undefined ? r : Registry.merge([r, latency.registry])
  return await all.metrics()
}

function entries (o: Record<string, number>): Array<[string, number]> {
  return Object.entries(o).filter((e): e is [string, number] => typeof e[1] === 'number')
}
