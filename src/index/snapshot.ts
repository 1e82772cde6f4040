/**
 * Snapshots: one generation in one file, read back into fresh SharedArrayBuffers without parsing
 * any feed. File layout (little-endian):
 *   [0..5)  magic `FMIDX`   [5] format version   [6] byte order (1 = little-endian)   [7] 0
 *   [8..12) header JSON length   [12..16) CRC-32 of the header JSON
 *   [16..)  header JSON: id, builtAt, geometry, feeds, and the buffer table {name, offset, length, crc}
 *   then each buffer's bytes at its offset, 8-byte aligned.
 * Buffers carry a CRC-32 (zlib's, native, ~2 GB/s): a flipped bit in a slot array could otherwise
 * make a probe loop forever, and the check costs a few ms per 100 MB.
 */
import { open, rename, rm } from 'node:fs/promises'
import { crc32 } from 'node:zlib'
import { FeedmatchError } from '../errors.js'
import type { FeedMeta, GenerationHandle } from './types.js'
import { checkHandle } from './views.js'

const MAGIC = 'FMIDX'
const FORMAT_VERSION = 1
const OFF_VERSION = 5
const OFF_ORDER = 6
const OFF_JSON_LEN = 8
const OFF_JSON_CRC = 12
const PREAMBLE = 16
const ALIGN = 8
const LITTLE_ENDIAN = 1
const HOST_ORDER = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? LITTLE_ENDIAN : 2
/** Node reads at most 2 GiB per call; larger buffers are read in chunks. */
const IO_CHUNK = 1 << 30
/** Bounds the header so a corrupt length cannot make us allocate gigabytes. */
const MAX_HEADER = 64 << 20

interface BufferEntry { name: string, offset: number, length: number, crc: number }
interface Header {
  id: number
  builtAt: number
  overlaps?: Array<[number, number, number]>
  geometry: Record<string, number>
  feeds: FeedMeta[]
  buffers: BufferEntry[]
  fileBytes: number
}

/** Writes a generation to one file (through a temporary file and a rename, so readers never see half a file). */
export async function writeSnapshot (handle: GenerationHandle, path: string): Promise<void> {
  const names = Object.keys(handle.buffers)
  const entries: BufferEntry[] = names.map((name) => ({ name, offset: 0, length: handle.buffers[name].byteLength, crc: crc32(view(handle.buffers[name])) }))
  // Offsets depend on the header's length, which depends on the offsets' digits: lay out twice
  // with a generous digit estimate, then pad the JSON to the reserved size.
  const draft: Header = { id: handle.id, builtAt: handle.builtAt, geometry: handle.geometry, feeds: handle.feeds, ...(handle.overlaps === undefined ? {} : { overlaps: handle.overlaps }), buffers: entries, fileBytes: 0 }
  let pos = 0
  const layout = (jsonLen: number): number => {
    pos = align(PREAMBLE + jsonLen)
    for (const e of entries) { e.offset = pos; pos = align(pos + e.length) }
    draft.fileBytes = pos
    return pos
  }
  const reserved = Buffer.byteLength(JSON.stringify(draft)) + 32 * (entries.length + 1)
  layout(reserved)
  const text = Buffer.from(JSON.stringify(draft))
  if (text.length > reserved) throw new FeedmatchError('FM_ERR_INTERNAL', 'snapshot header did not fit its reserved size')
  // Trailing spaces are valid JSON whitespace.
  const json = Buffer.concat([text, Buffer.alloc(reserved - text.length, 0x20)])
  const pre = Buffer.alloc(PREAMBLE)
  pre.write(MAGIC, 0, 'latin1')
  pre[OFF_VERSION] = FORMAT_VERSION
  pre[OFF_ORDER] = HOST_ORDER
  pre.writeUInt32LE(json.length, OFF_JSON_LEN)
  pre.writeUInt32LE(crc32(json), OFF_JSON_CRC)

  const tmp = `${path}.${process.pid}.tmp`
  let fh: Handle | undefined
  try {
    fh = await open(tmp, 'w')
    await writeAll(fh, pre, 0)
    await writeAll(fh, json, PREAMBLE)
    for (let i = 0; i < entries.length; i++) await writeAll(fh, view(handle.buffers[names[i]]), entries[i].offset)
    // Extend to the last buffer's aligned end, so the file size is exactly fileBytes.
    await fh.truncate(draft.fileBytes)
    await fh.sync()
    await fh.close()
    await rename(tmp, path)
  } catch (err) {
    await fh?.close().catch(() => {})
    await rm(tmp, { force: true })
    throw new FeedmatchError('FM_ERR_SNAPSHOT', `could not write the snapshot ${path}: ${(err as Error).message}`, { cause: err })
  }
}

/** Reads a snapshot into fresh SharedArrayBuffers; any damage is FM_ERR_SNAPSHOT naming what was wrong. */
export async function readSnapshot (path: string): Promise<GenerationHandle> {
  let fh
  try {
    fh = await open(path, 'r')
  } catch (err) {
    throw corrupt(path, `cannot be opened (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, err)
  }
  try {
    const size = (await fh.stat()).size
    if (size < PREAMBLE) throw corrupt(path, `is truncated (${size} bytes, shorter than the header)`)
    const pre = Buffer.alloc(PREAMBLE)
    await readAll(fh, pre, 0)
    if (pre.toString('latin1', 0, MAGIC.length) !== MAGIC) throw corrupt(path, 'is not a feedmatch snapshot (wrong magic)')
    if (pre[OFF_VERSION] !== FORMAT_VERSION) throw corrupt(path, `has format version ${pre[OFF_VERSION]}; this build reads ${FORMAT_VERSION}`)
    if (pre[OFF_ORDER] !== HOST_ORDER) throw corrupt(path, 'was written on a machine of the other byte order')
    const jsonLen = pre.readUInt32LE(OFF_JSON_LEN)
    if (jsonLen > MAX_HEADER || PREAMBLE + jsonLen > size) throw corrupt(path, `is truncated or corrupt (header of ${jsonLen} bytes)`)
    const json = Buffer.alloc(jsonLen)
    await readAll(fh, json, PREAMBLE)
    if (crc32(json) !== pre.readUInt32LE(OFF_JSON_CRC)) throw corrupt(path, 'has a corrupt header (checksum mismatch)')
    const header = parseHeader(json, path)
    if (header.fileBytes !== size) throw corrupt(path, `is ${size < header.fileBytes ? 'truncated' : 'too long'} (${size} bytes, expected ${header.fileBytes})`)
    const buffers: Record<string, SharedArrayBuffer> = {}
    for (const e of header.buffers) {
      if (e.offset % ALIGN !== 0 || e.offset < PREAMBLE + jsonLen || e.offset + e.length > size) throw corrupt(path, `has a bad offset for buffer ${e.name}`)
      const sab = new SharedArrayBuffer(e.length)
      await readAll(fh, view(sab), e.offset)
      if (crc32(view(sab)) !== e.crc) throw corrupt(path, `has corrupt data in buffer ${e.name} (checksum mismatch)`)
      buffers[e.name] = sab
    }
    const handle: GenerationHandle = { id: header.id, builtAt: header.builtAt, geometry: header.geometry, feeds: header.feeds, ...(header.overlaps === undefined ? {} : { overlaps: header.overlaps }), buffers }
    const bad = checkHandle(handle)
    if (bad !== null) throw corrupt(path, `does not describe a valid index: ${bad}`)
    return handle
  } catch (err) {
    if (err instanceof FeedmatchError) throw err
    throw corrupt(path, `could not be read: ${(err as Error).message}`, err)
  } finally {
    await fh.close()
  }
}

function parseHeader (json: Buffer, path: string): Header {
  let h: Header
  try {
    h = JSON.parse(json.toString('utf8')) as Header
  } catch (err) {
    throw corrupt(path, 'has a header that is not valid JSON', err)
  }
  const ok = typeof h === 'object' && h !== null && Number.isInteger(h.fileBytes) && Array.isArray(h.buffers) &&
    Array.isArray(h.feeds) && typeof h.geometry === 'object' && h.geometry !== null &&
    h.buffers.every((e) => typeof e.name === 'string' && Number.isInteger(e.offset) && Number.isInteger(e.length) && e.length >= 0 && Number.isInteger(e.crc))
  if (!ok) throw corrupt(path, 'has a header missing required fields')
  return h
}

function corrupt (path: string, what: string, cause?: unknown): FeedmatchError {
  return new FeedmatchError('FM_ERR_SNAPSHOT', `snapshot ${path} ${what}`, { cause })
}

function view (sab: SharedArrayBuffer): Uint8Array {
  return new Uint8Array(sab)
}

function align (n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN
}

type Handle = Awaited<ReturnType<typeof open>>

async function writeAll (fh: Handle, data: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < data.length;) {
    const { bytesWritten } = await fh.write(data, done, Math.min(IO_CHUNK, data.length - done), position + done)
    done += bytesWritten
  }
}

async function readAll (fh: Handle, data: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < data.length;) {
    const { bytesRead } = await fh.read(data, done, Math.min(IO_CHUNK, data.length - done), position + done)
    if (bytesRead === 0) throw new Error('unexpected end of file')
    done += bytesRead
  }
}
