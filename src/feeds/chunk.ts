/**
 * The binary form of prepared records, as the parse thread hands them to the build thread: one
 * ArrayBuffer per few thousand records, transferred rather than cloned. Structured clone of a
 * million small objects would cost the build thread about what it saves; these bytes it reads
 * straight into the IndexBuilder.
 *
 * A record: u32 context length, the context (msgpack, as IndexBuilder.addContext packs it),
 * u32 key count, then each key: a u8 tag and
 *   md5 / sha1 / sha256: the 16 / 20 / 32 digest bytes;
 *   ip: u8 address length (4 or 16), the address, u8 prefix length;
 *   domain / host / url: u32 byte length, the normalized host or mask in UTF-8.
 * Integers are little-endian.
 */
import type { IndexBuilder } from '../index/builder.js'
import type { IndexKey } from '../match/keys.js'

const TAG_MD5 = 0
const TAG_SHA1 = 1
const TAG_SHA256 = 2
const TAG_IP = 3
const TAG_DOMAIN = 4
const TAG_HOST = 5
const TAG_URL = 6

const HASH_TAG = { md5: TAG_MD5, sha1: TAG_SHA1, sha256: TAG_SHA256 } as const
const TEXT_TAG = { domain: TAG_DOMAIN, host: TAG_HOST, url: TAG_URL } as const
const HASH_BYTES = [16, 20, 32]
/** Room past `size` so the record that fills a chunk fits without growing it. */
const SLACK = 64 * 1024

/** A finished chunk: `length` bytes of `buffer` hold `records` records. */
export interface Chunk {
  buffer: ArrayBuffer
  length: number
  records: number
}

/** Writes prepared records into a chunk until it holds about `size` bytes. */
export class ChunkWriter {
  private buf: Buffer
  private pos = 0
  private count = 0

  constructor (private readonly size: number) {
    this.buf = fresh(size + SLACK)
  }

  /** Records written since the last take(). */
  get records (): number { return this.count }

  /** True once the chunk holds `size` bytes or more: time to take() it. */
  get full (): boolean { return this.pos >= this.size }

  /** Appends one record: its packed context and its keys. */
  add (context: Uint8Array, keys: readonly IndexKey[]): void {
    // An upper bound of the record's size: a tag, then a digest (32 bytes at most), an address
    // (length, 16 bytes at most, prefix) or a length and text (3 UTF-8 bytes per UTF-16 unit at most).
    let need = 8 + context.length
    for (const k of keys) need += 1 + (k.t === 'hash' ? 32 : k.t === 'ip' ? 18 : 4 + 3 * (k.t === 'url' ? k.mask.length : k.host.length))
    this.ensure(need)
    const b = this.buf
    let p = this.pos
    p = b.writeUInt32LE(context.length, p)
    b.set(context, p)
    p = b.writeUInt32LE(keys.length, p + context.length)
    for (const k of keys) {
      switch (k.t) {
        case 'hash':
          b[p++] = HASH_TAG[k.type]
          b.set(k.bytes, p)
          p += k.bytes.length
          break
        case 'ip':
          b[p++] = TAG_IP
          b[p++] = k.bytes.length
          b.set(k.bytes, p)
          p += k.bytes.length
          b[p++] = k.prefix
          break
        default: {
          b[p] = TEXT_TAG[k.t]
          const n = b.write(k.t === 'url' ? k.mask : k.host, p + 5, 'utf8')
          b.writeUInt32LE(n, p + 1)
          p += 5 + n
        }
      }
    }
    this.pos = p
    this.count++
  }

  /** The chunk so far (possibly empty), handing its buffer over; the writer starts a new one. */
  take (): Chunk {
    const chunk = { buffer: this.buf.buffer as ArrayBuffer, length: this.pos, records: this.count }
    this.buf = fresh(this.size + SLACK)
    this.pos = 0
    this.count = 0
    return chunk
  }

  private ensure (n: number): void {
    if (this.pos + n <= this.buf.length) return
    // Only a record bigger than the slack gets here: the chunk grows (rare: contexts are ~200 bytes).
    const next = fresh(Math.max(this.buf.length * 2, this.pos + n))
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
  }
}

/** A Buffer over an ArrayBuffer of its own (never Node's shared pool), so the whole buffer can be transferred. */
function fresh (size: number): Buffer {
  return Buffer.from(new ArrayBuffer(size))
}

/**
 * Adds a chunk's records to the builder, in order, exactly as the one-thread load does: each
 * record's context first, then its keys under that context.
 */
export function addChunk (builder: IndexBuilder, feedId: number, chunk: Chunk): void {
  const b = Buffer.from(chunk.buffer, 0, chunk.length)
  let p = 0
  while (p < chunk.length) {
    const ctxLen = b.readUInt32LE(p)
    p += 4
    const ctx = builder.addContextBytes(b.subarray(p, p + ctxLen))
    p += ctxLen
    const n = b.readUInt32LE(p)
    p += 4
    for (let i = 0; i < n; i++) {
      const tag = b[p++]
      if (tag <= TAG_SHA256) {
        const len = HASH_BYTES[tag]
        builder.addHash(b.subarray(p, p + len), feedId, ctx)
        p += len
      } else if (tag === TAG_IP) {
        const len = b[p++]
        builder.addIp(b.subarray(p, p + len), b[p + len], feedId, ctx)
        p += len + 1
      } else {
        const len = b.readUInt32LE(p)
        const text = b.toString('utf8', p + 4, p + 4 + len)
        p += 4 + len
        if (tag === TAG_URL) builder.addUrlMask(text, feedId, ctx)
        else builder.addDomain(text, tag === TAG_DOMAIN ? 'domain' : 'host', feedId, ctx)
      }
    }
  }
}
