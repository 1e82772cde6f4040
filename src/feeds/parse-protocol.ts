/**
 * The messages between a build thread and the parse thread of a large feed's load
 * (src/feeds/parse-thread.ts and src/workers/parse-worker.ts). Kept apart from the worker entry,
 * which starts parsing as soon as it is imported in a thread.
 */
import type { ResolvedFeed } from '../config/feed-sources.js'
import type { FeedFormat } from './detect.js'
import type { FeedTally } from './prepare.js'

/** What the build thread sends to start a parse thread (its workerData). */
export interface ParseRequest {
  feed: ResolvedFeed
  format: FeedFormat
  now: number
  /** A chunk is posted once it holds this many bytes. */
  chunkBytes: number
  /** Chunks posted and not yet acknowledged, at most: the parse thread waits beyond. */
  maxInFlight: number
}

/** Parse thread to build thread: prepared records (src/feeds/chunk.ts), then the tally or an error. */
export type ParseMessage =
  | { t: 'chunk', buffer: ArrayBuffer, length: number, records: number }
  | { t: 'done', tally: FeedTally }
  | { t: 'error', error: { code: string, message: string } }

/** Build thread to parse thread: one chunk was indexed. */
export const ACK = 'ack'
