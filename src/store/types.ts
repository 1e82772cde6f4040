/**
 * What the detection store holds and answers (store/detection-store.ts, workers/store-worker.ts).
 * Rows cross from the match workers to the service thread inside the batch result, and from there
 * to the store worker, as tuples: a fraction of an object's size under msgpack and clone.
 */
import type { MatchType } from '../index/types.js'

/** One detection as stored: [time, feed, category, type, value, matched, sender, rule, context (JSON), event]. */
export type StoredRow = [
  time: number, feed: string, category: string, type: MatchType, value: string,
  matched: string, sender: string, rule: string, context: string, event: string,
]

/** A stored detection, as GET /detections answers. */
export interface DetectionRecord {
  id: number
  /** ISO 8601: when the event was received. */
  time: string
  feed: string
  category: string
  type: string
  /** The normalized value seen in the event. */
  indicator: string
  /** The feed's indicator or mask that matched. */
  matched: string
  sender: string
  rule: string
  context: Record<string, unknown>
  /** The event, cut at `store.eventBytes`. */
  event: string
  /** The id of the allowlist entry made when it was marked a false positive. */
  falsePositive: string | null
}

/** Per indicator and feed: when it was first and last seen, and how often. */
export interface IndicatorSummary {
  indicator: string
  feed: string
  type: string
  category: string
  firstSeen: string
  lastSeen: string
  hits: number
}

/** Filters of GET /detections; every one optional, all must hold. */
export interface DetectionQuery {
  /** Epoch ms, inclusive. */
  from?: number
  /** Epoch ms, exclusive. */
  to?: number
  feed?: string
  /** The value seen or the feed's indicator. */
  indicator?: string
  sender?: string
  type?: string
  limit: number
  /** From the previous page's `next`. */
  cursor?: string
}

export interface DetectionPage { detections: DetectionRecord[], next: string | null }
export interface IndicatorPage { indicators: IndicatorSummary[], next: string | null }

/** The store's figures: in /stats as `store`, in /metrics through its report. */
export interface StoreStats {
  rows: number
  /** Bytes its pages use on disk (the file may be larger by what SQLite keeps free). */
  bytes: number
  /** Detections written. */
  written: number
  /** Removed to keep the limits: older than maxAge, oldest beyond maxBytes. */
  expired: number
  evicted: number
  /** Not stored: the store's queue was full (the store fell behind). */
  overflow: number
  /** Waiting to be written. */
  pending: number
  errors: number
}

/** Messages to the store worker. */
export type StoreRequest =
  | { op: 'add', rows: StoredRow[] }
  | { op: 'detections', id: number, q: DetectionQuery }
  | { op: 'indicators', id: number, q: DetectionQuery }
  | { op: 'get', id: number, detection: number }
  | { op: 'mark', id: number, detection: number, entry: string }
  | { op: 'close', id: number }

/** Messages from it. */
export type StoreReply =
  | { op: 'ready', rows: number, bytes: number }
  | { op: 'failed', message: string }
  | { op: 'added', n: number, rows: number, bytes: number, expired: number, evicted: number, error?: string }
  | { op: 'answer', id: number, result?: unknown, error?: string, bad?: boolean }
