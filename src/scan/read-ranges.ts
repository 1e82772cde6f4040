/**
 * Worker side of a RangeTask: the worker reads its byte ranges itself (synchronous reads: a worker
 * has nothing else to do meanwhile), so file data never crosses threads and the main thread only
 * plans. Also runs BufferTasks (stdin chunks), which arrive as bytes.
 */
import { closeSync, openSync, readSync } from 'node:fs'
import type { LineScanner } from './lines.js'
import type { BufferTask, RangeSegment, RangeTask, ResultWriter, Section } from './protocol.js'

const LF = 0x0a
/** Step of the reads that finish a line straddling the end of a range. */
const EXTEND_STEP = 64 * 1024

/** A read buffer kept across tasks: a range is read into it, not into a fresh allocation. */
let scratch = Buffer.allocUnsafe(0)

/** The scratch buffer with room for n bytes, keeping its first `keep` bytes. */
function room (n: number, keep: number): Buffer {
  if (scratch.length < n) {
    const next = Buffer.allocUnsafe(Math.max(n, scratch.length * 2))
    scratch.copy(next, 0, 0, keep)
    scratch = next
  }
  return scratch
}

/** Reads file[pos, pos+len) into buf at `at`; returns the bytes read (fewer only at end of file). */
function readFully (fd: number, buf: Buffer, at: number, len: number, pos: number): number {
  let got = 0
  while (got < len) {
    const n = readSync(fd, buf, at + got, len - got, pos + got)
    if (n === 0) break
    got += n
  }
  return got
}

/**
 * Reads one segment and the rest of its last line, then matches the lines that start in it.
 * The byte before the range tells whether a line starts at its first byte.
 */
function scanSegment (fd: number, seg: RangeSegment, maxLine: number, lines: LineScanner, writer: ResultWriter): Section {
  const from = seg.start > seg.regionStart ? seg.start - 1 : seg.start
  const rangeLen = seg.end - from
  let buf = room(rangeLen, 0)
  let n = readFully(fd, buf, 0, rangeLen, from)
  const rangeEnd = n
  // The last line that starts in the range may run on: read until its LF, maxLine or the region end.
  const lastNl = n === 0 ? -1 : buf.lastIndexOf(LF, n - 1)
  const lastStart = from + lastNl + 1
  if (n === rangeLen && seg.end < seg.regionEnd && lastStart < seg.end && (lastNl >= 0 || seg.start === seg.regionStart)) {
    const stop = Math.min(seg.regionEnd, lastStart + maxLine + 1)
    let pos = seg.end
    while (pos < stop) {
      const len = Math.min(EXTEND_STEP, stop - pos)
      buf = room(n + len, n)
      const got = readFully(fd, buf, n, len, pos)
      const found = buf.subarray(n, n + got).indexOf(LF) >= 0
      n += got
      pos += got
      if (got < len || found) break
    }
  }
  const data = buf.subarray(0, n)
  const start = seg.start - from
  const atLineStart = seg.start === seg.regionStart || data[0] === LF
  const c = lines.scan(data, start, Math.min(rangeEnd, seg.end - from), atLineStart, seg.label, writer)
  return { label: seg.label, newFile: seg.start === seg.regionStart, bytes: seg.end - seg.start, ...c }
}

/** Runs a RangeTask: one section per segment, in order. */
export function runRanges (task: RangeTask, maxLine: number, lines: LineScanner, writer: ResultWriter): { sections: Section[], diskBytes: number } {
  const sections: Section[] = []
  let diskBytes = 0
  let fd = -1
  let path = ''
  try {
    for (const seg of task.segments) {
      diskBytes += seg.end - seg.start
      try {
        // Consecutive segments of one file (tar members, small files batched) share the descriptor.
        if (seg.path !== path) {
          if (fd >= 0) closeSync(fd)
          fd = -1
          path = seg.path
          fd = openSync(seg.path, 'r')
        }
        sections.push(scanSegment(fd, seg, maxLine, lines, writer))
      } catch (err) {
        // The file changed or vanished since it was planned: report it, go on with the others.
        sections.push({ label: seg.label, newFile: seg.start === seg.regionStart, bytes: 0, lines: 0, lfs: 0, records: 0, cutLines: 0, error: (err as Error).message })
      }
    }
  } finally {
    if (fd >= 0) closeSync(fd)
  }
  return { sections, diskBytes }
}

/** Runs a BufferTask: whole lines of stdin. */
export function runBuffer (task: BufferTask, lines: LineScanner, writer: ResultWriter): { sections: Section[], diskBytes: number } {
  const data = Buffer.from(task.data, 0, task.length)
  const c = lines.scan(data, 0, data.length, task.atLineStart, task.label, writer)
  return { sections: [{ label: task.label, newFile: task.newFile, bytes: data.length, ...c }], diskBytes: data.length }
}
