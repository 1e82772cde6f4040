/**
 * Worker side of a StreamTask: a gzip file decompressed and matched in one worker (zlib inflates
 * on the libuv pool, this thread matches: two cores on one file). When the content is a tar, its
 * members are scanned one by one as `archive.tar.gz:member/path`. Results go back in parts on
 * the task's port, each acknowledged before the one after the next is sent (protocol.ts).
 */
import { createReadStream } from 'node:fs'
import { once } from 'node:events'
import { PassThrough } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { BLOCK, TarStream, hasUstarMagic, parseHeader } from './tar.js'
import type { LineScanner } from './lines.js'
import type { ResultMeta, ResultWriter, Section, StreamTask } from './protocol.js'
import { LineFeeder } from './line-feeder.js'

/** Decompressed bytes between two parts: progress shows, and a part stays small. */
const PART_BYTES = 8 * 1024 * 1024
/**
 * zlib inflates one chunk at a time on the libuv pool, and starts the next only once this thread's
 * event loop has taken the last, which it does between matching batches (LineFeeder's BATCH,
 * 1 MiB). With chunks smaller than a batch, inflating waited on matching and matching on
 * inflating; from 2 MiB on, the next chunk inflates while this one is matched, with slack for a
 * busy machine. On the 500 MB .gz set: 250 MB/s with 256 KiB chunks, 285 with 2 MiB.
 */
const INFLATE_CHUNK = 2 * 1024 * 1024
/** Inflated chunks held ahead of matching. */
const AHEAD_CHUNKS = 4

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
  const what = e.code?.startsWith('Z_') === true ? 'damaged gzip data' : e.code === undefined && inTar ? 'damaged tar archive' : 'cannot read the file'
  return `${what} (${e.message}): the rest of the file is not scanned`
}

/** One gzip file being scanned: the current file (the .gz itself, or a tar member) and the part being filled. */
class GzipScan {
  private sections: Section[] = []
  private diskSent = 0
  private unacked = 0
  private acked: (() => void) | null = null
  /** The first decompressed bytes, until there are enough to tell a tar; then null. */
  private head: Buffer | null = Buffer.alloc(0)
  feeder: LineFeeder | null = null
  tar: TarStream | null = null

  /** `diskPos()`: bytes of the file (compressed) behind what was matched so far, for progress. */
  constructor (private readonly task: StreamTask, private readonly diskPos: () => number, private readonly maxLine: number,
    private readonly lines: LineScanner, private readonly writer: ResultWriter) {
    task.port.on('message', () => { this.unacked--; this.acked?.() })
  }

  /** Takes decompressed bytes. */
  push (chunk: Buffer): void {
    if (this.head === null) {
      if (this.tar !== null) this.tar.push(chunk)
      else this.feeder?.push(chunk)
      return
    }
    this.head = Buffer.concat([this.head, chunk])
    if (this.head.length >= BLOCK) this.start()
  }

  /** The input is complete; throws when a tar ends inside a member. */
  end (): void {
    if (this.head !== null) this.start()
    if (this.tar !== null && !this.tar.finish()) throw new Error('the archive ends in the middle of a member')
    this.feeder?.end()
    this.feeder = null
  }

  /** Closes what was being read and records the failure (lines already read stay scanned). */
  fail (err: unknown): void {
    const label = this.feeder?.label ?? this.task.label
    this.feeder?.end()
    this.feeder = null
    this.sections.push({ label, newFile: false, bytes: 0, lines: 0, lfs: 0, records: 0, cutLines: 0, error: damage(err, this.tar !== null) })
  }

  /** Sends a part; waits while two are unacknowledged (flow control). */
  async send (last: boolean): Promise<void> {
    if (!last) this.feeder?.flush()
    const pos = this.diskPos()
    const meta: ResultMeta = { sections: this.sections, counters: this.lines.takeCounters(), diskBytes: pos - this.diskSent, last }
    this.diskSent = pos
    this.sections = []
    this.task.port.postMessage(this.writer.finish(meta)) // shared, not transferred (protocol.ts)
    if (last || ++this.unacked <= 1) return
    await new Promise<void>((resolve) => {
      this.acked = () => { if (this.unacked <= 1) { this.acked = null; resolve() } }
    })
  }

  /** Plain text or a tar, decided on the first block (or on less, at the end of a tiny file). */
  private start (): void {
    const first = this.head as Buffer
    this.head = null
    const onSection = (s: Section): void => { this.sections.push(s) }
    if (looksLikeTar(first, this.task.label)) {
      this.tar = new TarStream({
        begin: (name) => { this.feeder = new LineFeeder(`${this.task.label}:${name}`, this.maxLine, this.lines, this.writer, onSection) },
        data: (b) => this.feeder?.push(b),
        end: () => { this.feeder?.end(); this.feeder = null }
      })
      this.tar.push(first)
    } else {
      this.feeder = new LineFeeder(this.task.label, this.maxLine, this.lines, this.writer, onSection)
      this.feeder.push(first)
    }
  }
}

/** Runs a StreamTask; every part, the last included, goes out on the task's port. */
export async function runStream (task: StreamTask, maxLine: number, lines: LineScanner, writer: ResultWriter): Promise<void> {
  const src = createReadStream(task.path, { highWaterMark: INFLATE_CHUNK })
  const gunzip = createGunzip({ chunkSize: INFLATE_CHUNK })
  // Room for several inflated chunks, so zlib (on the libuv pool) works ahead while this thread
  // matches; zlib's own readable buffer holds one chunk, which would make the two take turns.
  const ahead = new PassThrough({ highWaterMark: AHEAD_CHUNKS * INFLATE_CHUNK })
  src.on('error', (err) => gunzip.destroy(err))
  gunzip.on('error', (err) => ahead.destroy(err))
  src.pipe(gunzip).pipe(ahead)
  // Progress counts the compressed bytes behind what was matched, not what was read: the read
  // runs ahead by the inflate buffers, which at 10x compression left the bar at 100% for the last
  // quarter of a file. Each inflated chunk notes how much input zlib had taken when it came out.
  const marks: Array<[inflatedEnd: number, compressed: number]> = []
  let inflated = 0
  gunzip.on('data', (c: Buffer) => { inflated += c.length; marks.push([inflated, gunzip.bytesWritten]) })
  let matched = 0
  let compressed = 0
  const diskPos = (): number => {
    while (marks.length > 0 && marks[0]![0] <= matched) compressed = marks.shift()![1]
    return src.destroyed && matched >= inflated ? Math.max(compressed, src.bytesRead) : compressed
  }
  const scan = new GzipScan(task, diskPos, maxLine, lines, writer)
  let sinceSent = 0
  try {
    for await (const chunk of ahead as AsyncIterable<Buffer>) {
      scan.push(chunk)
      matched += chunk.length
      sinceSent += chunk.length
      if (sinceSent >= PART_BYTES) {
        sinceSent = 0
        await scan.send(false)
      }
    }
    scan.end()
  } catch (err) {
    ahead.destroy()
    gunzip.destroy()
    src.destroy()
    scan.fail(err)
  }
  if (!src.destroyed) await once(src, 'close').catch(() => {})
  await scan.send(true)
  task.port.close()
}
