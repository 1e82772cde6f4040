/**
 * What crosses threads in `scan`: tasks (byte ranges of files, stdin chunks, compressed files)
 * and results. A result is ONE buffer (DESIGN.md section 1, rule 2):
 * `[u32 meta length][msgpack meta][records]`, where each record is a rendered detection cut in
 * two around its line number, which only the main thread knows (it adds the lines of earlier
 * ranges): `[u32 relative line][u32 feed id][u32 head length][u32 tail length][head][tail]`.
 *
 * The result buffer is a SharedArrayBuffer, posted (shared: nothing copied) rather than
 * transferred. A transfer detaches the buffer in the worker, and the first detach in a thread
 * makes V8 throw away every optimized function that counted on no buffer ever being detached (its
 * "array buffer detaching protector"): each worker then compiled its whole hot path a second time
 * after its first result, about a third of the TurboFan work of a scan (0.5 of 1.6 core-s on the
 * 500 MB corpus) on a machine whose two cores the scan keeps busy. The worker never writes a
 * result buffer again once it is posted.
 */
import type { MessagePort } from 'node:worker_threads'
import { pack, unpack } from 'msgpackr'
import type { GenerationHandle } from '../index/types.js'
import type { SourceSpec } from '../extract/types.js'
import type { RendererOptions } from '../render/renderer.js'
import type { MatchCounters } from '../match/event-matcher.js'

/**
 * How workers render a detection: ndjson, csv, text (each with file and line), `message` (the
 * output preset's message and a LF: cef, kv) or `frame` (the preset's syslog frame, for --to).
 */
export type RecordFormat = 'ndjson' | 'csv' | 'text' | 'message' | 'frame'

/** True for formats that carry no line number (the head is the whole record). */
export function lineless (f: RecordFormat): boolean {
  return f === 'message' || f === 'frame'
}

/**
 * What every scan worker gets once, as Piscina's workerData: the run never changes them. The
 * generation comes with each task instead, so the workers can start (load code, compile rules)
 * while the feeds are still being loaded.
 */
export interface ScanWorkerData {
  source: SourceSpec
  maxPerEvent: number
  /** Longer lines are matched on their first maxLineBytes and counted as cut. */
  maxLineBytes: number
  format: RecordFormat
  renderer: RendererOptions
  /** Detection time (epoch ms): when the scan started. */
  time: number
}

/**
 * A byte range [start, end) of a file region (a plain file, or a member of an uncompressed tar).
 * The range owns the lines that START in it; a line straddling `end` is read to its end (or to
 * maxLineBytes) by this range and skipped by the next one.
 */
export interface RangeSegment {
  path: string
  start: number
  end: number
  regionStart: number
  regionEnd: number
  label: string
}

/** Ranges read by the worker itself (several small files travel in one task). */
export interface RangeTask { kind: 'ranges', segments: RangeSegment[] }

/**
 * A chunk of stdin, `data[0, length)` (transferred): whole lines, except that a line longer than
 * the chunk is sent in pieces, the pieces after the first with `atLineStart` false.
 */
export interface BufferTask { kind: 'buffer', data: ArrayBuffer, length: number, label: string, newFile: boolean, atLineStart: boolean }

/**
 * A gzip file (a .tar.gz when its content is a tar), decompressed and matched in one worker.
 * Results stream back on `port` as parts (one ArrayBuffer each, the last marked `last`: one
 * port keeps them in order, which a second channel would not); the worker waits for an ack (any
 * message) when more than one part is unacknowledged, so a file far ahead of the output cannot
 * fill memory. The task itself resolves with null.
 */
export interface StreamTask { kind: 'stream', path: string, label: string, port: MessagePort }

/** A task, with the generation to match against (its SharedArrayBuffers are shared, not copied). */
export type ScanTask = (RangeTask | BufferTask | StreamTask) & { gen: GenerationHandle }

/** One file's share of a result: a range, a chunk, or a stretch of a decompressed file or member. */
export interface Section {
  /** The file as output names it: `a.log`, `a.tar.gz:logs/x.log`. */
  label: string
  /** The first section of a file: line numbers start over, the file counts. */
  newFile: boolean
  /** Lines that start in this section. */
  lines: number
  /** LF bytes in this section: the next section's lines come after them. */
  lfs: number
  bytes: number
  records: number
  /** Lines longer than maxLineBytes, matched on their head. */
  cutLines: number
  /** The file (member) was skipped: why (binary data, unsupported compression). */
  skipped?: string
  /** Reading failed here: the rest of the file is lost (corrupt gzip, truncated tar). */
  error?: string
}

/** The structured part of a result. */
export interface ResultMeta {
  sections: Section[]
  counters: MatchCounters
  /** Bytes of the file on disk consumed (compressed for .gz), for progress. */
  diskBytes: number
  /** A stream task's last part. */
  last?: boolean
}

/** A decoded result: meta and the records, in section order. */
export interface ScanResult extends ResultMeta {
  records: Buffer
}

const U32 = 4
/** Per record: relative line, feed id, head length, tail length. */
export const RECORD_HEADER = 4 * U32

/** Main side: decodes a result without copying the records. */
export function decodeResult (ab: SharedArrayBuffer): ScanResult {
  const buf = Buffer.from(ab)
  const metaLen = buf.readUInt32LE(0)
  const meta = unpack(buf.subarray(U32, U32 + metaLen)) as ResultMeta
  return { ...meta, records: buf.subarray(U32 + metaLen) }
}

/** Worker side: the records of one result, then its meta, packed into one shared buffer (see above). */
export class ResultWriter {
  private buf = Buffer.allocUnsafe(64 * 1024)
  private len = 0

  /** Bytes of records so far. */
  get size (): number { return this.len }

  /** Appends one record; `tail` is empty for lineless formats. */
  add (relLine: number, feedId: number, head: string, tail: string): void {
    const hl = Buffer.byteLength(head)
    const tl = Buffer.byteLength(tail)
    this.reserve(RECORD_HEADER + hl + tl)
    const b = this.buf
    let at = this.len
    b.writeUInt32LE(relLine, at); b.writeUInt32LE(feedId, at + 4)
    b.writeUInt32LE(hl, at + 8); b.writeUInt32LE(tl, at + 12)
    at += RECORD_HEADER
    at += b.write(head, at, 'utf8')
    at += b.write(tail, at, 'utf8')
    this.len = at
  }

  /** The result buffer; the writer starts over empty. */
  finish (meta: ResultMeta): SharedArrayBuffer {
    const m = pack(meta)
    const ab = new SharedArrayBuffer(U32 + m.length + this.len)
    const out = Buffer.from(ab)
    out.writeUInt32LE(m.length, 0)
    m.copy(out, U32)
    this.buf.copy(out, U32 + m.length, 0, this.len)
    this.len = 0
    return ab
  }

  private reserve (n: number): void {
    if (this.len + n <= this.buf.length) return
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n))
    this.buf.copy(next, 0, 0, this.len)
    this.buf = next
  }
}
