/**
 * Build-time storage: growable typed arrays and a growable keyed hash table. These live in
 * ordinary ArrayBuffers while feeds stream in; IndexBuilder.build() then copies them into
 * SharedArrayBuffers sized exactly (see layout.ts).
 */
import { FeedmatchError } from '../errors.js'
import { NONE, keyedLayout, capacityFor, slotValue } from './layout.js'

/** Largest element count of one u32 array we accept (references are u32, and 0 means none). */
export const MAX_ENTRIES = 0xfffffffe

/** A Uint32Array that doubles as it fills. */
export class GrowU32 {
  a: Uint32Array
  length = 0
  constructor (initial = 64) { this.a = new Uint32Array(initial) }
  /** Makes room for `more` elements beyond length. */
  reserve (more: number): void {
    const need = this.length + more
    if (need <= this.a.length) return
    if (need > MAX_ENTRIES) throw full('a u32 table')
    let cap = this.a.length * 2
    while (cap < need) cap *= 2
    const b = new Uint32Array(Math.min(cap, MAX_ENTRIES))
    b.set(this.a.subarray(0, this.length))
    this.a = b
  }

  push (v: number): number {
    this.reserve(1)
    this.a[this.length] = v
    return this.length++
  }
}

/** A byte array that doubles as it fills. */
export class GrowBytes {
  a: Uint8Array
  length = 0
  constructor (initial = 1024) { this.a = new Uint8Array(initial) }
  reserve (more: number): void {
    const need = this.length + more
    if (need <= this.a.length) return
    // Byte arenas are addressed by u32 offsets.
    if (need > 0xffffffff) throw full('a byte arena (4 GiB)')
    let cap = this.a.length * 2
    while (cap < need) cap *= 2
    const b = new Uint8Array(Math.min(cap, 0xffffffff))
    b.set(this.a.subarray(0, this.length))
    this.a = b
  }
}

/** FM_ERR_INDEX_FULL naming what overflowed. */
export function full (what: string, cause?: unknown): FeedmatchError {
  return new FeedmatchError('FM_ERR_INDEX_FULL', `the index outgrew ${what}`, { cause })
}

/** Allocates a SharedArrayBuffer, turning an allocation failure into FM_ERR_INDEX_FULL. */
export function sharedBuffer (bytes: number, what: string): SharedArrayBuffer {
  try {
    return new SharedArrayBuffer(bytes)
  } catch (err) {
    throw full(`${what} (${bytes} bytes could not be allocated)`, err)
  }
}

/**
 * A keyed open-addressing table that grows while building: fixed-width keys of `words` u32,
 * each entry with the head of its record chain. Hashes are kept per entry so growing and the final
 * layout rehash without recomputing them.
 */
export class GrowTable {
  readonly words: number
  private slots = new Uint32Array(16)
  readonly keys: GrowU32
  readonly heads = new GrowU32()
  readonly hashes = new GrowU32()

  constructor (words: number) {
    this.words = words
    this.keys = new GrowU32(64 * words)
  }

  get size (): number { return this.heads.length }

  /** Entry index of key k[off .. off + words) with hash h, adding it (head NONE) when absent. */
  findOrAdd (k: Uint32Array, off: number, h: number): number {
    const { words, slots } = this
    const keys = this.keys.a
    const mask = slots.length - 1
    const tag = h & ~mask
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const v = slots[s]
      if (v === NONE) break
      if ((v & ~mask) !== tag) continue
      const e = v & mask
      const base = (e - 1) * words
      let i = 0
      while (i < words && keys[base + i] === k[off + i]) i++
      if (i === words) return e - 1
    }
    const idx = this.heads.push(NONE)
    this.hashes.push(h)
    this.keys.reserve(words)
    this.keys.a.set(k.subarray(off, off + words), this.keys.length)
    this.keys.length += words
    if (this.size > slots.length * 0.5) this.rehash(slots.length * 2)
    else place(this.slots, h, idx + 1)
    return idx
  }

  /** Drops the entries from index n on (the keys a failed feed added); the slots are rebuilt. */
  truncate (n: number): void {
    if (n >= this.size) return
    this.heads.length = n
    this.hashes.length = n
    this.keys.length = n * this.words
    this.rehash(this.slots.length)
  }

  private rehash (cap: number): void {
    this.slots = new Uint32Array(cap)
    const hs = this.hashes.a
    for (let i = 0; i < this.size; i++) place(this.slots, hs[i], i + 1)
  }

  /** The final table in one SharedArrayBuffer laid out as layout.ts keyedLayout says. */
  toShared (what: string): { buffer: SharedArrayBuffer, cap: number, n: number } {
    const n = this.size
    const cap = capacityFor(n)
    const lay = keyedLayout(cap, n, this.words)
    const buffer = sharedBuffer(lay.bytes, what)
    const slots = new Uint32Array(buffer, 0, cap)
    const hs = this.hashes.a
    for (let i = 0; i < n; i++) place(slots, hs[i], i + 1)
    new Uint32Array(buffer, lay.heads, n).set(this.heads.a.subarray(0, n))
    new Uint32Array(buffer, lay.keys, n * this.words).set(this.keys.a.subarray(0, n * this.words))
    return { buffer, cap, n }
  }
}

/** Puts id in the first free slot from h (linear probing, power-of-two capacity; layout.ts slotValue). */
export function place (slots: Uint32Array, h: number, id: number): void {
  const mask = slots.length - 1
  let s = h & mask
  while (slots[s] !== NONE) s = (s + 1) & mask
  slots[s] = slotValue(h, id, mask)
}
