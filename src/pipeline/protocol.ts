import { pack, unpack } from 'msgpackr'
import type { SealedBatch } from './batch.js'
import type { GenerationHandle } from '../index/types.js'
import type { SourceSpec } from '../extract/types.js'
import type { RendererOptions } from '../render/renderer.js'
import type { MatchCounters } from '../match/event-matcher.js'
import type { StoredRow } from '../store/types.js'

/** What workers need of the configuration; `version` changes on every reload so workers recompile. */
export interface WorkerConfig {
  version: number
  sources: SourceSpec[]
  output: RendererOptions
  maxDetectionsPerEvent: number
  /** Finished events for every event (FinishedEventFormat enabled). */
  finishedEvents: boolean
  /** The detection store is on: each detection also becomes a row, its event cut at `eventBytes`. */
  store: { eventBytes: number } | null
}

/** One task: a batch (transferred), the generation to match against (shared), the config. */
export interface MatchTask {
  batch: SealedBatch
  gen: GenerationHandle
  /** The live lists' overlay (service/live-lists.ts), or null when they are empty. */
  overlay?: GenerationHandle | null
  cfg: WorkerConfig
  /** Finished events for this batch even when the config has them off (X-KF-SendFinishedEvent). */
  finished?: boolean
}

/**
 * What crosses to a worker. The generation handle (dozens of SharedArrayBuffers and the feeds'
 * metadata) and the compiled config cost about a tenth of a millisecond to clone per batch, so
 * they travel only when the worker lacks them: a task names them by id, the worker keeps the last
 * of each, and a worker that does not hold the named ones answers `missing` (with the batch's
 * buffer back) and the task is sent again with both attached.
 */
export interface WireTask {
  batch: SealedBatch
  genId: number
  cfgVersion: number
  /** 0: no overlay. */
  overlayId: number
  finished: boolean
  gen?: GenerationHandle
  cfg?: WorkerConfig
  overlay?: GenerationHandle
}

/** What a batch produced: ready-to-send frames and the counters. */
export interface MatchResult {
  frames: Buffer
  counters: MatchCounters
  /** The detections as rows for the detection store, when it is on. */
  stored: StoredRow[] | null
  /** The batch's own buffer, moved back for the next batch (BatchBuffers). */
  batch: ArrayBuffer
}

/**
 * What a worker returns: the result buffer, and the batch's buffer it has done reading; or, when
 * it lacks the task's generation or config, `missing` with the batch's buffer unread.
 */
export type MatchReply = { result: ArrayBuffer, batch: ArrayBuffer } | { missing: true, batch: ArrayBuffer }

// The result crosses back as ONE transferred ArrayBuffer: [u32 frames length][frames][msgpack
// [counters, store rows or null]], so no frame bytes are copied between threads (DESIGN.md section 1, rule 2).
const HEADER = 4

/** Worker side: packs frames and counters into one transferable buffer. */
export function encodeResult (frames: string, counters: MatchCounters, stored: StoredRow[] | null = null): ArrayBuffer {
  const framesLen = Buffer.byteLength(frames)
  const meta = pack([counters, stored])
  const ab = new ArrayBuffer(HEADER + framesLen + meta.length)
  const out = Buffer.from(ab)
  out.writeUInt32LE(framesLen, 0)
  out.write(frames, HEADER, 'utf8')
  meta.copy(out, HEADER + framesLen)
  return ab
}

/** Main side: reads a worker's result without copying the frames. */
export function decodeResult (reply: { result: ArrayBuffer, batch: ArrayBuffer }): MatchResult {
  const buf = Buffer.from(reply.result)
  const framesLen = buf.readUInt32LE(0)
  const [counters, stored] = unpack(buf.subarray(HEADER + framesLen)) as [MatchCounters, StoredRow[] | null]
  return {
    frames: buf.subarray(HEADER, HEADER + framesLen),
    counters,
    stored,
    batch: reply.batch
  }
}
