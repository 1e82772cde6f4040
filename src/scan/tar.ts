/**
 * A small tar reader (POSIX ustar, pax and GNU long names): headers are 512-byte blocks, member
 * data follows padded to 512 bytes. Two ways in: `TarStream` is pushed decompressed bytes (a
 * `.tar.gz` in a worker); `listTar` reads the headers of an uncompressed `.tar` through a file
 * handle and skips the data, so the members can be scanned in place as byte ranges.
 * Written here rather than taken from npm: scanning needs members as byte spans, not extracted
 * files, and the format is small (node-tar is built to extract to disk).
 */
import type { FileHandle } from 'node:fs/promises'

/** Tar block size. */
export const BLOCK = 512

const NAME = 0
const NAME_LEN = 100
const SIZE = 124
const SIZE_LEN = 12
const CHKSUM = 148
const CHKSUM_LEN = 8
const TYPE = 156
const MAGIC = 257
const PREFIX = 345
const PREFIX_LEN = 155

/** One parsed header block. `name` may be replaced by a preceding pax or GNU long-name entry. */
export interface TarHeader {
  name: string
  size: number
  /** The type flag: '0' (or '\0', '7') regular file, 'x' pax, 'g' global pax, 'L' GNU long name, '5' folder... */
  type: string
}

/** True when `b` (512 bytes) is a header with the ustar magic (POSIX `ustar\0` or GNU `ustar `). */
export function hasUstarMagic (b: Uint8Array): boolean {
  return b.length >= BLOCK && b[MAGIC] === 0x75 && b[MAGIC + 1] === 0x73 && b[MAGIC + 2] === 0x74 &&
    b[MAGIC + 3] === 0x61 && b[MAGIC + 4] === 0x72
}

/** True when every byte of the block is zero (the end-of-archive marker). */
function isZero (b: Uint8Array, at: number): boolean {
  for (let i = at; i < at + BLOCK; i++) if (b[i] !== 0) return false
  return true
}

function cString (b: Uint8Array, at: number, len: number): string {
  let end = at
  while (end < at + len && b[end] !== 0) end++
  return Buffer.from(b.buffer, b.byteOffset + at, end - at).toString('utf8')
}

/** An octal field, or GNU base-256 (first byte 0x80) for sizes of 8 GiB and more; NaN when bad. */
function numeric (b: Uint8Array, at: number, len: number): number {
  if ((b[at] & 0x80) !== 0) {
    let n = 0
    for (let i = at + 1; i < at + len; i++) n = n * 256 + b[i]
    return n
  }
  const s = cString(b, at, len).trim()
  return s === '' ? 0 : /^[0-7]+$/.test(s) ? parseInt(s, 8) : NaN
}

/** True when the header checksum holds (unsigned sum, the checksum field counted as spaces). */
function checksumOk (b: Uint8Array, at: number): boolean {
  const want = numeric(b, at + CHKSUM, CHKSUM_LEN)
  let sum = 0
  for (let i = at; i < at + BLOCK; i++) sum += i >= at + CHKSUM && i < at + CHKSUM + CHKSUM_LEN ? 0x20 : b[i]
  return sum === want
}

/**
 * Parses the header block at b[at, at+512): null for a zero block (end of archive); throws a plain
 * Error with a message for anything that is not a valid header.
 */
export function parseHeader (b: Uint8Array, at = 0): TarHeader | null {
  if (isZero(b, at)) return null
  if (!checksumOk(b, at)) throw new Error('bad tar header checksum')
  const size = numeric(b, at + SIZE, SIZE_LEN)
  if (!Number.isFinite(size)) throw new Error('bad tar header size')
  let name = cString(b, at + NAME, NAME_LEN)
  // Only POSIX ustar (`ustar\0`) has a name prefix; GNU tar (`ustar `) keeps other fields there.
  if (hasUstarMagic(b.subarray(at, at + BLOCK)) && b[at + MAGIC + 5] === 0) {
    const prefix = cString(b, at + PREFIX, PREFIX_LEN)
    if (prefix !== '') name = `${prefix}/${name}`
  }
  return { name, size, type: String.fromCharCode(b[at + TYPE]) }
}

/** Bytes of member data plus padding to the next block. */
export function padded (size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK
}

/** True for header types whose data is a file's content ('0', '\0', and '7' contiguous). */
export function isRegular (type: string): boolean {
  return type === '0' || type === '\u0000' || type === '7'
}

/** Meta-entries that change the next header: pax extended ('x') and GNU long name ('L'). */
function isMeta (type: string): boolean {
  return type === 'x' || type === 'L'
}

/** Applies the data of a meta-entry (pax `path`/`size` records, or a GNU long name) to the next header. */
export function applyMeta (type: string, data: Buffer, next: TarHeader): void {
  if (type === 'L') { next.name = cString(data, 0, data.length); return }
  // pax records: "LEN key=value\n", LEN counting the whole record.
  let i = 0
  while (i < data.length) {
    const sp = data.indexOf(0x20, i)
    if (sp < 0) break
    const len = Number(data.toString('latin1', i, sp))
    if (!Number.isSafeInteger(len) || len <= 0 || i + len > data.length) break
    const rec = data.toString('utf8', sp + 1, i + len - 1)
    const eq = rec.indexOf('=')
    const key = rec.slice(0, eq)
    const value = rec.slice(eq + 1)
    if (key === 'path') next.name = value
    else if (key === 'size' && /^\d+$/.test(value)) next.size = Number(value)
    i += len
  }
}

/** A regular member of an uncompressed tar: its name and where its data lies in the file. */
export interface TarMember {
  name: string
  dataStart: number
  size: number
}

/** Meta-entry data larger than this is not a name: the archive is damaged. */
const MAX_META = 1 << 20

/**
 * Lists the regular members of an uncompressed tar, reading only headers (and meta-entries).
 * Throws a plain Error naming the offset when the archive is damaged; members listed before that
 * are returned through `onMember` already.
 */
export async function listTar (fh: FileHandle, fileSize: number, onMember: (m: TarMember) => void): Promise<void> {
  const block = Buffer.alloc(BLOCK)
  let pos = 0
  let meta: Array<{ type: string, data: Buffer }> = []
  while (pos + BLOCK <= fileSize) {
    const { bytesRead } = await fh.read(block, 0, BLOCK, pos)
    if (bytesRead < BLOCK) break
    let h: TarHeader | null
    try {
      h = parseHeader(block)
    } catch (err) {
      throw new Error(`${(err as Error).message} at offset ${pos}`)
    }
    if (h === null) return
    const dataStart = pos + BLOCK
    if (isMeta(h.type)) {
      if (h.size > MAX_META || dataStart + h.size > fileSize) throw new Error(`damaged ${h.type} entry at offset ${pos}`)
      const data = Buffer.alloc(h.size)
      await fh.read(data, 0, h.size, dataStart)
      meta.push({ type: h.type, data })
    } else {
      for (const m of meta) applyMeta(m.type, m.data, h)
      meta = []
      if (dataStart + h.size > fileSize) throw new Error(`member "${h.name}" runs past the end of the archive`)
      if (isRegular(h.type)) onMember({ name: h.name, dataStart, size: h.size })
    }
    pos = dataStart + padded(h.size)
  }
}

/** What a TarStream reports, in archive order. */
export interface TarSink {
  /** A regular member starts. */
  begin (name: string, size: number): void
  /** Bytes of the current member (a view, valid during the call only). */
  data (chunk: Buffer): void
  /** The current member is complete. */
  end (): void
}

/**
 * A push parser over a tar byte stream (a decompressed `.tar.gz`). Non-regular members are
 * skipped. `push` throws a plain Error on a damaged header; `finish` says whether the archive
 * was complete.
 */
export class TarStream {
  private readonly head = Buffer.alloc(BLOCK)
  private headFill = 0
  /** Data bytes left in the current entry, then its padding. */
  private left = 0
  private pad = 0
  private current: TarHeader | null = null
  private metaData: Buffer | null = null
  private metaFill = 0
  private meta: Array<{ type: string, data: Buffer }> = []
  private ended = false

  constructor (private readonly sink: TarSink) {}

  push (chunk: Buffer): void {
    let i = 0
    while (i < chunk.length && !this.ended) {
      if (this.left > 0) {
        const n = Math.min(this.left, chunk.length - i)
        if (this.metaData !== null) {
          chunk.copy(this.metaData, this.metaFill, i, i + n)
          this.metaFill += n
        } else if (this.current !== null) {
          this.sink.data(chunk.subarray(i, i + n))
        }
        this.left -= n
        i += n
        if (this.left === 0) this.endEntry()
      } else if (this.pad > 0) {
        const n = Math.min(this.pad, chunk.length - i)
        this.pad -= n
        i += n
      } else {
        const n = Math.min(BLOCK - this.headFill, chunk.length - i)
        chunk.copy(this.head, this.headFill, i, i + n)
        this.headFill += n
        i += n
        if (this.headFill === BLOCK) { this.headFill = 0; this.startEntry() }
      }
    }
  }

  /** True when the archive ended with its zero block, or cleanly between entries. */
  finish (): boolean {
    return this.ended || (this.left === 0 && this.headFill === 0 && this.current === null && this.metaData === null)
  }

  private startEntry (): void {
    const h = parseHeader(this.head)
    if (h === null) { this.ended = true; return }
    if (isMeta(h.type)) {
      if (h.size > MAX_META) throw new Error(`oversized ${h.type} entry in the archive`)
      this.metaData = Buffer.alloc(h.size)
      this.metaFill = 0
      this.current = h
    } else {
      // A pax `size` record overrides the header's, so the meta-entries go first.
      for (const m of this.meta) applyMeta(m.type, m.data, h)
      this.meta = []
      this.current = isRegular(h.type) ? h : null
      if (this.current !== null) this.sink.begin(h.name, h.size)
    }
    this.left = h.size
    this.pad = padded(h.size) - h.size
    if (this.left === 0) this.endEntry()
  }

  private endEntry (): void {
    if (this.metaData !== null) {
      this.meta.push({ type: (this.current as TarHeader).type, data: this.metaData })
      this.metaData = null
    } else if (this.current !== null) {
      this.sink.end()
    }
    this.current = null
  }
}
