import type { StoreStats } from '../store/types.js'
import type { FeedHealthEntry } from './feed-health.js'
import type { ComponentReport } from '../util/telemetry.js'
import type { MatchCounters } from '../match/event-matcher.js'
import type { FeedMeta } from '../index/types.js'
import type { EmitterCounters } from '../output/emitter.js'

/** Below this many ms each millisecond has its own bucket. */
const LINEAR_MS = 16
/** Each power of two above LINEAR_MS is cut into this many buckets: at most 12.5% over. */
const SUB = 8
const SUB_BITS = 3
/** Largest power of two kept apart (2^20 ms, about 17 minutes); slower batches share its buckets. */
const MAX_EXP = 20

/**
 * Latency histogram (ms): exact below 16 ms, then eight buckets per power of two, so a quantile
 * is read to within 12.5% without keeping samples (the scheme of HdrHistogram, at low precision).
 */
export class LatencyHistogram {
  private readonly buckets = new Uint32Array(LINEAR_MS + (MAX_EXP - Math.log2(LINEAR_MS) + 1) * SUB)
  private n = 0

  record (ms: number): void {
    this.buckets[bucketOf(ms)]++
    this.n++
  }

  /** Upper bound (ms) of the bucket holding the q-quantile: the true value is at most this. */
  quantile (q: number): number {
    if (this.n === 0) return 0
    let seen = 0
    const want = q * this.n
    for (let b = 0; b < this.buckets.length; b++) {
      seen += this.buckets[b]
      if (seen >= want) return upperBound(b)
    }
    return upperBound(this.buckets.length - 1)
  }

  get count (): number { return this.n }
}

function bucketOf (ms: number): number {
  const v = Math.max(0, Math.ceil(ms))
  if (v < LINEAR_MS) return v
  const e = Math.min(MAX_EXP, Math.floor(Math.log2(v)))
  const sub = Math.min(SUB - 1, Math.floor((v - 2 ** e) / 2 ** (e - SUB_BITS)))
  return LINEAR_MS + (e - Math.log2(LINEAR_MS)) * SUB + sub
}

function upperBound (b: number): number {
  if (b < LINEAR_MS) return b
  const e = Math.floor((b - LINEAR_MS) / SUB) + Math.log2(LINEAR_MS)
  const sub = (b - LINEAR_MS) % SUB
  return 2 ** e + (sub + 1) * 2 ** (e - SUB_BITS)
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

/** ServiceStats.snapshot(): plain numbers for logs, service events, the API and /metrics. */
// A type, not an interface: service events take it as a plain record.
export type StatsSnapshot = {
  uptimeSec: number
  events: number
  bytesIn: number
  bytesOut: number
  detections: number
  eventsWithDetections: number
  batches: number
  latencyP50Ms: number
  latencyP99Ms: number
  dropped: Record<string, number>
  perRule: Record<string, number>
  /** Detections by obfuscation technique of their value. */
  perObfuscation: Record<string, number>
  feeds: FeedStats[]
}

/** Service.snapshot(): the stats, and the inputs' counters, queue depths and the output's counters. */
export type ServiceSnapshot = StatsSnapshot & {
  input: Record<string, number>
  /** Freshness and the last success and error of each feed (src/service/feed-health.ts). */
  feedHealth?: FeedHealthEntry[]
  /** Every component's counters in the one vocabulary (util/telemetry.ts), for /metrics and events_dropped. */
  components?: ComponentReport[]
  queues?: { pending: number, inFlight: number, reorder: number }
  output?: EmitterCounters
  /** The detection store's figures, when it is on (store/detection-store.ts). */
  store?: StoreStats
}

/**
 * The service's counters: the one source for the periodic log summary, the numbers in service
 * events and the metrics endpoint (CONVENTIONS.md rule 5).
 */
export class ServiceStats {
  readonly startedAt = Date.now()

  /** Whole seconds since start. */
  get uptimeSec (): number {
    return Math.round((Date.now() - this.startedAt) / 1000)
  }

  events = 0
  bytesIn = 0
  bytesOut = 0
  detections = 0
  eventsWithDetections = 0
  batches = 0
  readonly dropped: Record<string, number> = {}
  readonly perRule: Record<string, number> = {}
  readonly perObfuscation: Record<string, number> = {}
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
    for (const [o, n] of Object.entries(c.perObfuscation)) this.perObfuscation[o] = (this.perObfuscation[o] ?? 0) + n
  }

  /** Counts `n` items dropped (or cut) for `reason`. */
  drop (reason: string, n = 1): void {
    if (n > 0) this.dropped[reason] = (this.dropped[reason] ?? 0) + n
  }

  /**
   * The match stage in the one vocabulary (util/telemetry.ts): events in, detections out, and
   * what it set aside. Events a rule ignores and detections past maxDetectionsPerEvent are
   * dropped on purpose (the configuration says so); a binary event is input lost.
   */
  report (): ComponentReport {
    const d = (reason: string): number => this.dropped[reason] ?? 0
    return {
      component: 'matcher',
      kind: 'transform',
      received: { events: this.events, bytes: this.bytesIn },
      sent: { events: this.detections, bytes: this.bytesOut },
      dropped: [
        { reason: 'binary', intentional: false, unit: 'events', count: d('binary') },
        { reason: 'ignored_by_rule', intentional: true, unit: 'events', count: d('ignored_by_rule') },
        { reason: 'over_max_detections_per_event', intentional: true, unit: 'detections', count: d('detections_over_cap') },
      ],
      errors: [],
    }
  }

  /** A plain snapshot for logs, service events and metrics. */
  snapshot (): StatsSnapshot {
    return {
      uptimeSec: this.uptimeSec,
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
      perObfuscation: { ...this.perObfuscation },
      feeds: [...this.feeds.values()].map((f) => ({ ...f }))
    }
  }
}
