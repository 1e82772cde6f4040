/**
 * The disk spool: where output goes when memory is full (the SIEM is away or slow), replayed in
 * order when it is back, kept across restarts. In `always` mode it is a write-ahead journal:
 * every Buffer the emitter accepts is appended before write() returns, and a record is marked
 * done only once the link confirmed it (commit()), so a crash replays what was not delivered.
 *
 * Layout: a folder of segment files `<16-digit number>.seg`, read in number order. A segment is an
 * 8-byte header (magic `FMS1`, then the u32 BE offset of its first record not done), then records:
 * a u32 BE length and that many bytes (one Buffer the emitter accepted, whole frames). Records are
 * appended to the last segment; a full segment is closed and a new one started; a segment is
 * deleted once done to its end. Two cursors walk a segment: `read` (handed to memory, this run
 * only) and `done` (saved in the header). In overflow mode a record is done when it is read; in
 * always mode when commit() says the SIEM has it. A restart replays from `done`. A record cut
 * short by a crash (or zero bytes left by one) ends the segment's valid data and is truncated away.
 *
 * I/O is synchronous, on purpose: a sync append to the page cache costs microseconds per batch,
 * and order and crash safety matter more here than latency; async appends would need one more
 * memory buffer, with its own bound and ordering (the trade-off of sonic-boom's sync mode).
 * Without fsync what is appended survives a process crash (kill -9), not a power loss; `fsync`
 * `always` syncs every append, `interval` at most every `fsyncInterval` ms (rsyslog's
 * queue.syncqueuefiles and checkpoint interval).
 */
import fs from 'node:fs'
import path from 'node:path'
import { FeedmatchError } from '../errors.js'

const MAGIC = 0x464d5331 // 'FMS1'
const SEG_HEADER = 8
const READ_OFFSET_AT = 4
const REC_HEADER = 4
// Offsets are u32: a segment must stay below 4 GiB, records included.
const MAX_SEGMENT = 0xffff_ffff
// Segments are numbered up from here, so that close() can put memory in front of the oldest
// segment (number - 1) without renaming anything: there is room for a billion of those.
const FIRST_SEQ = 1_000_000_000
const SEG_NAME = /^(\d{16})\.seg$/
// After a failed append (disk full, I/O error) the spool says it is full for this long, rather
// than failing again on every write.
const RETRY_AFTER_MS = 1000

interface Segment {
  seq: number
  file: string
  size: number
  read: number
  done: number
  fd: number | null
}

/** When appended records are forced to disk. */
export type SpoolFsync = 'off' | 'interval' | 'always'

/** Spool bounds in bytes: the whole folder, and one segment (the unit in which disk space is freed). */
export interface SpoolOptions {
  maxBytes: number
  segmentBytes: number
  /** True (always mode): records are done only by commit(); false: as soon as they are read. */
  journal?: boolean
  fsync?: SpoolFsync
  /** Milliseconds, for fsync `interval`. */
  fsyncInterval?: number
  /** Told when a segment turns out damaged while read (changed under us); the rest of it is skipped. */
  onDamage?: (err: Error) => void
}

/** What open() found. */
export interface SpoolRecovery {
  /** Unread bytes left by the previous run (records and their headers). */
  unreadBytes: number
  /** Bytes cut off as torn or corrupt (corrupt segments are renamed `*.corrupt`, not deleted). */
  discardedBytes: number
}

function spoolError (what: string, err: unknown): FeedmatchError {
  const reason = err instanceof Error ? err.message : String(err)
  return new FeedmatchError('FM_ERR_SPOOL', `spool: ${what}: ${reason}`, { cause: err })
}

function readFull (fd: number, buf: Buffer, position: number): number {
  let got = 0
  while (got < buf.length) {
    const n = fs.readSync(fd, buf, got, buf.length - got, position + got)
    if (n === 0) break
    got += n
  }
  return got
}

function u32 (n: number): Buffer {
  const b = Buffer.allocUnsafe(4)
  b.writeUInt32BE(n)
  return b
}

/** A folder of length-prefixed records in numbered segment files, read back in order. */
export class Spool {
  readonly dir: string
  readonly recovery: SpoolRecovery
  readonly #o: SpoolOptions
  readonly #segs: Segment[] = []
  #diskBytes = 0
  #unread = 0
  #nextSeq = FIRST_SEQ
  #failedUntil = 0
  // Always mode: records read and not yet committed, oldest first, and how much of the first one
  // a commit already covered (a RELP link can confirm part of a batch).
  // `span` is the record's bytes on disk (header included), or the bytes skipped as damaged (len 0).
  readonly #uncommitted: Array<{ seg: Segment, len: number, span: number }> = []
  #uncommittedHead = 0
  #partial = 0
  #dirty: number | null = null
  #lastSync = 0
  #syncTimer: NodeJS.Timeout | null = null

  private constructor (dir: string, opts: SpoolOptions) {
    this.dir = dir
    this.#o = opts
    this.recovery = { unreadBytes: 0, discardedBytes: 0 }
  }

  /** Opens (creating if needed) the spool in `dir` and checks what a previous run left there. */
  static open (dir: string, opts: SpoolOptions): Spool {
    const spool = new Spool(path.resolve(dir), opts)
    try {
      fs.mkdirSync(spool.dir, { recursive: true })
      spool.#scan()
      if (opts.fsync === 'interval') {
        spool.#syncTimer = setInterval(() => spool.#sync(), opts.fsyncInterval ?? 1000)
        spool.#syncTimer.unref()
      }
    } catch (err) {
      spool.close()
      throw err instanceof FeedmatchError ? err : spoolError(`cannot open ${spool.dir}`, err)
    }
    return spool
  }

  /** Bytes of the segment files on disk (what maxBytes bounds). */
  get diskBytes (): number {
    return this.#diskBytes
  }

  /** True in always mode: every record is on disk before it is sent, and done only once committed. */
  get journal (): boolean {
    return this.#o.journal === true
  }

  /** True while records are waiting to be read. */
  get hasData (): boolean {
    return this.#unread > 0
  }

  /** True when a record of `len` bytes fits under the bound (and the last append did not just fail). */
  fits (len: number): boolean {
    if (Date.now() < this.#failedUntil) return false
    return this.#diskBytes + SEG_HEADER + REC_HEADER + len <= this.#o.maxBytes
  }

  /** Appends one record. Does not check the bound (fits() does); throws on I/O errors, leaving no torn record. */
  append (buf: Buffer): void {
    if (buf.length === 0) return
    let tail = this.#segs.at(-1)
    const room = (s: Segment): boolean =>
      s.size + REC_HEADER + buf.length <= Math.min(this.#o.segmentBytes, MAX_SEGMENT) || s.size === SEG_HEADER
    if (tail === undefined || !room(tail)) tail = this.#create(this.#nextSeq++, false)
    if (tail.size + REC_HEADER + buf.length > MAX_SEGMENT) {
      throw new FeedmatchError('FM_ERR_USAGE', `spool: a record of ${buf.length} bytes is larger than a segment can hold`)
    }
    const fd = this.#fd(tail)
    try {
      const n = fs.writevSync(fd, [u32(buf.length), buf], tail.size)
      if (n !== REC_HEADER + buf.length) throw new Error(`short write (${n} of ${REC_HEADER + buf.length} bytes)`)
    } catch (err) {
      this.#failedUntil = Date.now() + RETRY_AFTER_MS
      try { fs.ftruncateSync(fd, tail.size) } catch { /* the next open truncates the torn record */ }
      throw spoolError(`cannot append to ${tail.file}`, err)
    }
    tail.size += REC_HEADER + buf.length
    this.#diskBytes += REC_HEADER + buf.length
    this.#unread += REC_HEADER + buf.length
    this.#afterAppend(fd)
  }

  /**
   * Always mode, with nothing unread before it: appends `buf` and counts it as read at once, as
   * the caller keeps it in memory to send; commit() then marks it done. Throws as append() does.
   */
  appendRead (buf: Buffer): void {
    if (this.#unread !== 0) throw new FeedmatchError('FM_ERR_INTERNAL', 'spool: appendRead() with unread records before it')
    this.append(buf)
    const tail = this.#segs.at(-1)!
    tail.read = tail.size
    this.#unread = 0
    this.#uncommitted.push({ seg: tail, len: buf.length, span: REC_HEADER + buf.length })
  }

  /** Always mode: the oldest `bytes` of what was read reached the SIEM; whole records among them are done (saved, freed). */
  commit (bytes: number): void {
    if (this.#o.journal !== true || bytes <= 0) return
    this.#partial += bytes
    let last: Segment | null = null
    while (this.#uncommittedHead < this.#uncommitted.length) {
      const r = this.#uncommitted[this.#uncommittedHead]!
      if (this.#partial < r.len) break
      this.#partial -= r.len
      this.#uncommittedHead++
      r.seg.done += r.span
      last = r.seg
      // A segment done to its end is deleted, as in overflow mode (the next append starts a new one).
      if (r.seg.done >= r.seg.size) this.#remove(r.seg)
    }
    if (this.#uncommittedHead === this.#uncommitted.length) {
      this.#uncommitted.length = 0
      this.#uncommittedHead = 0
      // Counts can only run ahead by a bug upstream; never let that mark unread records done.
      this.#partial = 0
    } else if (this.#uncommittedHead >= 1024) {
      this.#uncommitted.splice(0, this.#uncommittedHead)
      this.#uncommittedHead = 0
    }
    if (last !== null && this.#segs.includes(last)) this.#saveDone(last)
  }

  /** Takes records, oldest first, until `maxBytes` of payload (at least one record when any). */
  read (maxBytes: number): Buffer[] {
    const out: Buffer[] = []
    let got = 0
    const journal = this.#o.journal === true
    while (out.length === 0 || got < maxBytes) {
      // In always mode, segments read to their end stay until committed: skip past them.
      const seg = this.#segs.find((x) => x.read < x.size)
      if (seg === undefined) break
      const from = seg.read
      const rec = this.#readRecord(seg)
      if (journal) this.#uncommitted.push({ seg, len: rec?.length ?? 0, span: seg.read - from })
      if (rec === null) continue
      out.push(rec)
      got += rec.length
    }
    if (!journal) {
      // Overflow mode: what is read is done. Delete a finished segment now (even the one being
      // appended to: the next append starts a new one), so the disk bound frees up soon.
      // A copy: #remove takes segments out of #segs while this walks them.
      // oxlint-disable-next-line unicorn/no-useless-spread
      for (const seg of [...this.#segs]) {
        if (seg.done === seg.read) continue
        seg.done = seg.read
        if (seg.done >= seg.size) this.#remove(seg)
        else this.#saveDone(seg)
      }
    }
    return out
  }

  /** Writes `bufs` as a new segment in front of all others (what memory held at close, older than the disk). */
  prepend (bufs: readonly Buffer[]): void {
    const records = bufs.filter((b) => b.length > 0)
    if (records.length === 0) return
    const seq = this.#segs.length > 0 ? this.#segs[0]!.seq - 1 : this.#nextSeq++
    const seg = this.#create(seq, true)
    const fd = this.#fd(seg)
    try {
      for (const buf of records) {
        fs.writevSync(fd, [u32(buf.length), buf], seg.size)
        seg.size += REC_HEADER + buf.length
        this.#diskBytes += REC_HEADER + buf.length
        this.#unread += REC_HEADER + buf.length
      }
      fs.closeSync(fd)
      seg.fd = null
      // Written under a temporary name and renamed: a crash half-way leaves no half segment in front.
      fs.renameSync(seg.file + '.tmp', seg.file)
    } catch (err) {
      this.#remove(seg)
      throw spoolError(`cannot write ${seg.file}`, err)
    }
  }

  /** Closes the open files; the segments stay for the next start. */
  close (): void {
    if (this.#syncTimer !== null) clearInterval(this.#syncTimer)
    this.#syncTimer = null
    this.#sync()
    for (const seg of this.#segs) this.#closeFd(seg)
  }

  #afterAppend (fd: number): void {
    const mode = this.#o.fsync ?? 'off'
    if (mode === 'off') return
    this.#dirty = fd
    if (mode === 'always' || Date.now() - this.#lastSync >= (this.#o.fsyncInterval ?? 1000)) this.#sync()
  }

  // fdatasync of the segment appended to last; what fails here is retried at the next append.
  #sync (): void {
    const fd = this.#dirty
    if (fd === null) return
    this.#dirty = null
    this.#lastSync = Date.now()
    try { fs.fdatasyncSync(fd) } catch { /* closed meanwhile (segment done and deleted): nothing to sync */ }
  }

  #scan (): void {
    const names = fs.readdirSync(this.dir)
    for (const name of names) {
      if (name.endsWith('.seg.tmp')) fs.rmSync(path.join(this.dir, name), { force: true })
    }
    const segs = names.filter((n) => SEG_NAME.test(n)).sort()
    for (const name of segs) {
      const file = path.join(this.dir, name)
      const fd = fs.openSync(file, 'r+')
      try {
        const size = fs.fstatSync(fd).size
        if (size === 0) {
          // A crash between creating a segment and writing its header: nothing was in it.
          fs.rmSync(file, { force: true })
          continue
        }
        const header = Buffer.alloc(SEG_HEADER)
        if (readFull(fd, header, 0) < SEG_HEADER || header.readUInt32BE(0) !== MAGIC) {
          fs.renameSync(file, file + '.corrupt')
          this.recovery.discardedBytes += size
          continue
        }
        const read = Math.max(SEG_HEADER, Math.min(header.readUInt32BE(READ_OFFSET_AT), size))
        const end = this.#validEnd(fd, read, size)
        if (end < size) {
          fs.ftruncateSync(fd, end)
          this.recovery.discardedBytes += size - end
        }
        const seq = Number(SEG_NAME.exec(name)![1])
        this.#nextSeq = Math.max(this.#nextSeq, seq + 1)
        if (read >= end) {
          fs.rmSync(file, { force: true })
          continue
        }
        this.#segs.push({ seq, file, size: end, read, done: read, fd: null })
        this.#diskBytes += end
        this.#unread += end - read
      } finally {
        fs.closeSync(fd)
      }
    }
    this.recovery.unreadBytes = this.#unread
  }

  #validEnd (fd: number, from: number, size: number): number {
    const len = Buffer.alloc(REC_HEADER)
    let pos = from
    while (pos + REC_HEADER <= size) {
      if (readFull(fd, len, pos) < REC_HEADER) break
      const n = len.readUInt32BE(0)
      if (n === 0 || pos + REC_HEADER + n > size) break
      pos += REC_HEADER + n
    }
    return pos
  }

  #readRecord (seg: Segment): Buffer | null {
    try {
      const fd = this.#fd(seg)
      const len = Buffer.allocUnsafe(REC_HEADER)
      const n = readFull(fd, len, seg.read) === REC_HEADER ? len.readUInt32BE(0) : 0
      const rec = Buffer.allocUnsafe(n)
      if (n === 0 || seg.read + REC_HEADER + n > seg.size || readFull(fd, rec, seg.read + REC_HEADER) < n) {
        throw new Error(`bad record at offset ${seg.read}`)
      }
      seg.read += REC_HEADER + n
      this.#unread -= REC_HEADER + n
      return rec
    } catch (err) {
      // The file changed under us, or the disk failed: the rest of this segment cannot be trusted,
      // and retrying would stall the replay for good, so it is skipped and counted.
      this.#o.onDamage?.(spoolError(`${seg.file} is damaged`, err))
      this.recovery.discardedBytes += seg.size - seg.read
      this.#unread -= seg.size - seg.read
      seg.read = seg.size
      return null
    }
  }

  #create (seq: number, temporary: boolean): Segment {
    const file = path.join(this.dir, `${String(seq).padStart(16, '0')}.seg`)
    const seg: Segment = { seq, file, size: SEG_HEADER, read: SEG_HEADER, done: SEG_HEADER, fd: null }
    try {
      seg.fd = fs.openSync(temporary ? file + '.tmp' : file, 'wx+')
      const header = Buffer.alloc(SEG_HEADER)
      header.writeUInt32BE(MAGIC, 0)
      header.writeUInt32BE(SEG_HEADER, READ_OFFSET_AT)
      fs.writeSync(seg.fd, header, 0, SEG_HEADER, 0)
    } catch (err) {
      this.#closeFd(seg)
      this.#failedUntil = Date.now() + RETRY_AFTER_MS
      throw spoolError(`cannot create ${file}`, err)
    }
    if (temporary) this.#segs.unshift(seg)
    else this.#segs.push(seg)
    this.#diskBytes += SEG_HEADER
    return seg
  }

  #remove (seg: Segment): void {
    this.#closeFd(seg)
    const i = this.#segs.indexOf(seg)
    if (i !== -1) this.#segs.splice(i, 1)
    this.#diskBytes -= seg.size
    this.#unread -= seg.size - seg.read
    try {
      fs.rmSync(seg.file, { force: true })
      fs.rmSync(seg.file + '.tmp', { force: true })
    } catch {
      // Left behind, it is replayed again on the next start: a duplicate, not a loss.
    }
  }

  #saveDone (seg: Segment): void {
    try {
      fs.writeSync(this.#fd(seg), u32(seg.done), 0, REC_HEADER, READ_OFFSET_AT)
    } catch {
      // Not saved, the records are replayed after a restart: duplicates, which beat a stopped output.
    }
  }

  #fd (seg: Segment): number {
    if (seg.fd === null) seg.fd = fs.openSync(seg.file, 'r+')
    return seg.fd
  }

  #closeFd (seg: Segment): void {
    if (seg.fd === null) return
    try { fs.closeSync(seg.fd) } catch { /* already closed */ }
    seg.fd = null
  }
}
