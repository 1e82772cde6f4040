import type { MatchCounters } from '../match/event-matcher.js'
import type { FeedMeta } from '../index/types.js'

/** Log-scale latency histogram (1 ms .. ~65 s), enough for p50/p99 without keeping samples. */
export class LatencyHistogram {
  private readonly buckets = new Uint32Array(18)
  private n = 0

  record (ms: number): void {
    const b = ms <= 1 ? 0 : Math.min(this.buckets.length - 1, Math.ceil(Math.log2(ms)))
    this.buckets[b]++
    this.n++
  }

  /** Upper bound (ms) of the bucket holding the q-quantile. */
  quantile (q: number): number {
    if (this.n === 0) return 0
    let seen = 0
    const want = q * this.n
    for (let b = 0; b < this.buckets.length; b++) {
      seen += this.buckets[b]
      if (seen >= want) return 2 ** b
    }
    return 2 ** (this.buckets.length - 1)
  }

  get count (): number { return this.n }
}

/** Per-feed usage: what CyberTrace calls feed usage statistics. */
export interface FeedStats {
  name: string
  category: string
  role: string
  records: number
  detections: number
  lastDetection: number | null
}

/**
 * The service's counters: the one source for the periodic log summary, the numbers in service
 * events and the metrics endpoint (CONVENTIONS.md rule 5).
 */
export class ServiceStats {
  readonly startedAt = Date.now()
  events = 0
  bytesIn = 0
  bytesOut = 0
  detections = 0
  eventsWithDetections = 0
  batches = 0
  readonly dropped: Record<string, number> = {}
  readonly perRule: Record<string, number> = {}
  private readonly feeds = new Map<string, FeedStats>()
  readonly latency = new LatencyHistogram()

  /** Takes the feeds of a new generation; detections counted so far stay with their feed name. */
  setFeeds (feeds: FeedMeta[]): void {
    for (const f of feeds) {
      const s = this.feeds.get(f.name)
      if (s === undefined) this.feeds.set(f.name, { name: f.name, category: f.category, role: f.role, records: f.records, detections: 0, lastDetection: null })
      else { s.records = f.records; s.category = f.category }
    }
  }

  /** Adds one batch's counters (`feeds` is the generation the batch was matched against). */
  addBatch (c: MatchCounters, feeds: FeedMeta[], bytesOut: number, latency: number, countDetections: boolean): void {
    this.batches++
    this.events += c.events
    this.bytesIn += c.bytes
    this.bytesOut += bytesOut
    this.latency.record(latency)
    this.drop('binary', c.binary)
    this.drop('ignored_by_rule', c.ignored)
    this.drop('detections_over_cap', c.cut)
    this.drop('invalid_utf8_processed', c.invalidUtf8)
    if (!countDetections) return
    this.detections += c.detections
    this.eventsWithDetections += c.eventsWithDetections
    const now = Date.now()
    c.perFeed.forEach((n, id) => {
      if (n === undefined || n === 0) return
      const s = this.feeds.get(feeds[id]?.name)
      if (s !== undefined) { s.detections += n; s.lastDetection = now }
    })
    for (const [rule, n] of Object.entries(c.perRule)) this.perRule[rule] = (this.perRule[rule] ?? 0) + n
  }

  /** Counts `n` items dropped (or cut) for `reason`. */
  drop (reason: string, n = 1): void {
    if (n > 0) this.dropped[reason] = (this.dropped[reason] ?? 0) + n
  }

  /** A plain snapshot for logs, service events and metrics. */
  snapshot (extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      uptimeSec: Math.round((Date.now() - this.startedAt) / 1000),
      events: this.events,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      detections: this.detections,
      eventsWithDetections: this.eventsWithDetections,
      batches: this.batches,
      latencyP50Ms: this.latency.quantile(0.5),
      latencyP99Ms: this.latency.quantile(0.99),
      dropped: { ...this.dropped },
      perRule: { ...this.perRule },
      feeds: [...this.feeds.values()].map((f) => ({ ...f })),
      ...extra
    }
  }
}
