/**
 * Worker side of a StreamTask: a gzip file decompressed and matched in one worker (zlib inflates
 * on the libuv pool, this thread matches: two cores on one file). When the content is a tar, its
 * members are scanned one by one as `archive.tar.gz:member/path`. Results go back in parts on
 * the task's port, each acknowledged before the one after the next is sent (protocol.ts).
 */
import { createReadStream } from 'node:fs'
import { once } from 'node:events'
import { createGunzip } from 'node:zlib'
import { BLOCK, TarStream, hasUstarMagic, parseHeader } from './tar.js'
import type { LineScanner } from './lines.js'
import type { ResultWriter, Section, StreamTask } from './protocol.js'
import { LineFeeder } from './line-feeder.js'

/** Decompressed bytes between two parts: progress shows, and a part stays small. */
const PART_BYTES = 8 * 1024 * 1024
const INFLATE_CHUNK = 256 * 1024

/** True when the first bytes of a decompressed file look like a tar header. */
function looksLikeTar (head: Buffer, label: string): boolean {
  if (head.length < BLOCK) return false
  if (hasUstarMagic(head)) return true
  // An old v7 tar has no magic: trust the name if the header checksum holds.
  if (!/\.(tar\.gz|tgz|taz)$/i.test(label)) return false
  try { return parseHeader(head) !== null } catch { return false }
}

/** What went wrong, for the warning: inflating, the tar structure, or reading the file. */
function damage (err: unknown, inTar: boolean): string {
  const e = err as NodeJS.ErrnoException
  const what = e.code?.startsWith('Z_') === true || e.code === 'ERR_ZLIB_INITIALIZATION_FAILED'
    ? 'damaged gzip data'
    : e.code !== undefined ? 'cannot read the file' : inTar ? 'damaged tar archive' : 'cannot read the file'
  return `${what} (${e.message}): the rest of the file is not scanned`
}

/** Runs a StreamTask; every part, the last included, goes out on the task's port. */
export async function runStream (task: StreamTask, maxLine: number, lines: LineScanner, writer: ResultWriter): Promise<void> {
  const src = createReadStream(task.path, { highWaterMark: INFLATE_CHUNK })
  const gunzip = createGunzip({ chunkSize: INFLATE_CHUNK })
  src.on('error', (err) => gunzip.destroy(err))
  src.pipe(gunzip)

  let sections: Section[] = []
  let sinceFlush = 0
  let diskSent = 0
  let unacked = 0
  let acked: (() => void) | null = null
  task.port.on('message', () => { unacked--; acked?.() })
  const take = (last = false): { sections: Section[], counters: ReturnType<LineScanner['takeCounters']>, diskBytes: number, last: boolean } => {
    const out = { sections, counters: lines.takeCounters(), diskBytes: src.bytesRead - diskSent, last }
    diskSent = src.bytesRead
    sections = []
    sinceFlush = 0
    return out
  }
  const onSection = (s: Section): void => { sections.push(s) }

  let head: Buffer | null = Buffer.alloc(0)
  let feeder: LineFeeder | null = null
  let tar: TarStream | null = null
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      sinceFlush += chunk.length
      if (head !== null) {
        // Decide plain or tar on the first block.
        head = Buffer.concat([head, chunk])
        if (head.length < BLOCK) continue
        const first = head
        head = null
        if (looksLikeTar(first, task.label)) {
          tar = new TarStream({
            begin: (name) => { feeder = new LineFeeder(`${task.label}:${name}`, maxLine, lines, writer, onSection) },
            data: (b) => feeder?.push(b),
            end: () => { feeder?.end(); feeder = null }
          })
          tar.push(first)
        } else {
          feeder = new LineFeeder(task.label, maxLine, lines, writer, onSection)
          feeder.push(first)
        }
      } else if (tar !== null) {
        tar.push(chunk)
      } else {
        (feeder as LineFeeder | null)?.push(chunk)
      }
      if (sinceFlush >= PART_BYTES) {
        (feeder as LineFeeder | null)?.flush()
        const ab = writer.finish(take())
        task.port.postMessage(ab, [ab])
        // Flow control: one part may wait unacknowledged, not two.
        if (++unacked > 1) await new Promise<void>((resolve) => { acked = () => { if (unacked <= 1) { acked = null; resolve() } } })
      }
    }
    if (head !== null) {
      // Shorter than one block: plain text.
      feeder = new LineFeeder(task.label, maxLine, lines, writer, onSection)
      feeder.push(head)
    }
    if (tar !== null && !tar.finish()) throw new Error('the archive ends in the middle of a member')
    ;(feeder as LineFeeder | null)?.end()
  } catch (err) {
    ;(feeder as LineFeeder | null)?.end()
    gunzip.destroy()
    src.destroy()
    sections.push({ label: (feeder as LineFeeder | null)?.label ?? task.label, newFile: false, bytes: 0, lines: 0, lfs: 0, records: 0, cutLines: 0, error: damage(err, tar !== null) })
  }
  if (!src.destroyed) await once(src, 'close').catch(() => {})
  const ab = writer.finish(take(true))
  task.port.postMessage(ab, [ab])
  task.port.close()
}
