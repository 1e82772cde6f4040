/**
 * The one description of a FeedIndex generation's SharedArrayBuffer layout: buffer names, row
 * shapes, table geometry and the hash functions. The builder writes through these constants and
 * the lookup side reads through them, so the two can never disagree on an offset.
 *
 * Every buffer is little-endian in practice (typed arrays use the platform order); the snapshot
 * header records the order and refuses a file written on a machine of the other order.
 */

/**
 * Version of this layout; bumped whenever a row shape, a hash or the set of buffers changes
 * (snapshots carry it). 2: the `ipv4filter` buffer.
 */
export const LAYOUT_VERSION = 2

/** A slot or a record/entry reference of 0 means "none": every reference is stored plus one or is 1-based. */
export const NONE = 0

/** Load factor bound of every open-addressing table. */
export const MAX_LOAD = 0.7

/** Smallest table capacity, so an empty kind still has a valid (all-empty) table to probe. */
export const MIN_CAPACITY = 8

/**
 * Records: rows of REC_WORDS u32 in the `records` buffer. A record reference is the row number;
 * row 0 is reserved so that reference 0 can mean "no record" (its words are never read by lookups).
 */
export const REC_FEED = 0
export const REC_CTX = 1
export const REC_NEXT = 2
export const REC_WORDS = 3
/** The reserved row's first word: free for diagnostics (tests use it to prove memory is shared). */
export const REC_SPARE_WORD = 0

/** The context arena: each context is a u32 little-endian byte length then the msgpack bytes. */
export const CTX_LEN_BYTES = 4

/** Keyed tables (hashes, IPs, CIDRs): names and key widths in u32 words. */
export const KEY_WORDS = { md5: 4, sha1: 5, sha256: 8, ipv4: 1, ipv6: 4 } as const
export type KeyedName = keyof typeof KEY_WORDS

/** Buffer name of the CIDR table of one family and prefix length (`cidr4/24`, `cidr6/48`). */
export function cidrName (family: 4 | 6, prefix: number): string {
  return `cidr${family}/${prefix}`
}

/**
 * IPv4 CIDR block filter, in the `cidr4filter` buffer: one bit per block of the address space
 * (2^bits blocks), set when some feed network overlaps the block. Without it every IPv4 lookup
 * probes every prefix length present, and ranges stored as CIDRs bring twenty lengths or more; with
 * it, an address outside every feed network costs one bit read. Sized to the CIDR count (about
 * 2^CIDR4_FILTER_SPREAD blocks per network, so few bits are set), capped at 2^20 bits = 128 KiB.
 */
export const CIDR4_FILTER_MIN_BITS = 8
export const CIDR4_FILTER_MAX_BITS = 20
export const CIDR4_FILTER_SPREAD = 5

/** Filter size (log2 of its bit count) for n IPv4 CIDRs; 0 (no filter) when there are none. */
export function cidr4FilterBits (n: number): number {
  if (n === 0) return 0
  const bits = Math.ceil(Math.log2(n)) + CIDR4_FILTER_SPREAD
  return Math.min(CIDR4_FILTER_MAX_BITS, Math.max(CIDR4_FILTER_MIN_BITS, bits))
}

/** Bytes of a filter of 2^bits bits (0 bits: no filter). */
export function cidr4FilterBytes (bits: number): number {
  return bits === 0 ? 0 : 2 ** bits / 8
}

/**
 * IPv4 block filter, in the `ipv4filter` buffer: one bit per block of 2^(32 - bits) addresses, set
 * when an exact IPv4 key lies in the block or a feed network overlaps it. Most addresses in logs
 * are in no feed; with the filter they cost one bit read instead of a probe of the exact table, and
 * the bits of the ranges a site's own traffic comes from (its private networks) stay in cache,
 * where table slots (spread by the hash) would not. Sized to the IPv4 key count (exact and CIDR),
 * about 2^IPV4_FILTER_SPREAD blocks per key, from 2^8 bits up to 2^24 (2 MiB, one bit per /24).
 * An index without IPv4 keys has the smallest filter, all zero.
 */
export const IPV4_FILTER_MIN_BITS = 8
export const IPV4_FILTER_MAX_BITS = 24
export const IPV4_FILTER_SPREAD = 5

/** Filter size (log2 of its bit count) for n IPv4 keys, exact and CIDR. */
export function ipv4FilterBits (n: number): number {
  const bits = n <= 1 ? 0 : Math.ceil(Math.log2(n)) + IPV4_FILTER_SPREAD
  return Math.min(IPV4_FILTER_MAX_BITS, Math.max(IPV4_FILTER_MIN_BITS, bits))
}

/** Bytes of an IPv4 filter of 2^bits bits. */
export function ipv4FilterBytes (bits: number): number {
  return 2 ** bits / 8
}

/**
 * A keyed table buffer is [slots: cap u32][heads: n u32][keys: n * words u32].
 * Why not slots holding the key itself (as DESIGN.md first sketched): at a power-of-two capacity
 * the load factor ends anywhere in 0.35..0.7, so up to 65% of 36-byte SHA256 slots would be empty
 * key bytes. Slots of 4 bytes pointing at densely stored entries waste at most ~7 bytes per key;
 * the indirection costs a cache line only when the slot's hash bits match (see slotValue).
 */
export function keyedLayout (cap: number, n: number, words: number): { heads: number, keys: number, bytes: number } {
  const heads = cap * 4
  const keys = heads + n * 4
  return { heads, keys, bytes: keys + n * words * 4 }
}

/**
 * Domain trie nodes, in the `nodes` buffer: [slots: cap u32][rows: (n + 2) * NODE_WORDS u32].
 * Node 0 is the root (never in the slots, so slot ids start at 1 as elsewhere); row n + 1 is a
 * sentinel holding only NODE_LABEL. Node i's label is labels[row i LABEL .. row i+1 LABEL): labels
 * are appended in node order, so the next row's start is this one's end and no length is stored.
 * The label start sits in the row beside the parent, so checking a probed node costs one cache
 * line, plus the label bytes when the parent matches.
 */
export const NODE_PARENT = 0
export const NODE_LABEL = 1
export const NODE_DOMAIN = 2
export const NODE_HOST = 3
export const NODE_MASKS = 4
export const NODE_WORDS = 5
export const ROOT = 0

/** Byte offsets of the `nodes` buffer's parts for capacity cap and n nodes besides the root. */
export function nodesLayout (cap: number, n: number): { rows: number, bytes: number } {
  const rows = cap * 4
  return { rows, bytes: rows + (n + 2) * NODE_WORDS * 4 }
}

/**
 * URL masks, in the `masks` buffer: [rows: m * MASK_WORDS u32][textStart: m + 1 u32]. A mask
 * reference is its row number plus one; MASK_NEXT chains the masks anchored at one node. The text
 * of mask i is maskText[textStart[i] .. textStart[i + 1]).
 */
export const MASK_NEXT = 0
export const MASK_HEAD = 1
export const MASK_FLAGS = 2
export const MASK_WORDS = 3
/** Flag: the mask's host part has no `*`, so it is tried only when the URL's host is the anchor itself. */
export const MASK_EXACT_HOST = 1

/** Byte offsets of the `masks` buffer's parts for m masks. */
export function masksLayout (m: number): { textStart: number, bytes: number } {
  const textStart = m * MASK_WORDS * 4
  return { textStart, bytes: textStart + (m + 1) * 4 }
}

/**
 * A slot holds an id (entry index + 1, or node id) in its low log2(cap) bits and, above them, the
 * top bits of the key's hash: 0 is empty, since ids start at 1 and ids stay below cap (load <= 0.7).
 * Why the hash bits: a probe rejects most wrong keys from the slot alone, without reading the
 * entry, which would be a second cache miss on a large table; misses (most lookups) gain most.
 * A probe compares `slot & ~mask` with `h & ~mask`, then reads entry `slot & mask`.
 */
export function slotValue (h: number, id: number, mask: number): number {
  return ((h & ~mask) | id) >>> 0
}

/** Smallest power-of-two capacity (>= MIN_CAPACITY) holding n entries at load factor <= MAX_LOAD. */
export function capacityFor (n: number): number {
  let cap = MIN_CAPACITY
  while (n > cap * MAX_LOAD) cap *= 2
  return cap
}

/** murmur3's 32-bit finalizer: spreads every input bit over the low bits we mask with. */
export function mix32 (h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/** Hash of an IPv4 key (or masked network): networks share their low zero bits, so mix them all. */
export function hashIpv4 (addr: number): number {
  return mix32(addr)
}

/** Hash of an IPv6 key of 4 words at k[off]. */
export function hashIpv6 (k: Uint32Array, off: number): number {
  return mix32(mix32(mix32(mix32(k[off]) ^ k[off + 1]) ^ k[off + 2]) ^ k[off + 3])
}

/**
 * Hash of a file-hash key of `words` words at k[off]. Real digests are uniformly random, so two
 * words are plenty; the first and the last, mixed, because made-up hashes in test feeds and
 * blocklists (sequential, or sharing a prefix) would pile onto one slot with the first word alone.
 * Not all words: a hex lookup then decodes 16 chars before probing instead of up to 64.
 */
export function hashDigest (k: Uint32Array, off: number, words: number): number {
  return mix32((k[off] ^ Math.imul(k[off + words - 1], 0x9e3779b1)) >>> 0)
}

/**
 * Hash of a trie key (parent node, label chars s..e of str). Labels are compared as bytes; the
 * caller passes ASCII strings (or UTF-8 bytes spelled as latin1 chars), so a char code is a byte.
 */
export function hashLabel (parent: number, str: string, s: number, e: number): number {
  let h = Math.imul(parent ^ 0x811c9dc5, 0x01000193)
  for (let i = s; i < e; i++) h = Math.imul(h ^ str.charCodeAt(i), 0x01000193)
  return mix32(h)
}

/** hashLabel of the lowercased bytes buf[s, e) (url-prefilter.ts reads hosts from event bytes). */
export function hashLabelBytes (parent: number, buf: Uint8Array, s: number, e: number): number {
  let h = Math.imul(parent ^ 0x811c9dc5, 0x01000193)
  for (let i = s; i < e; i++) {
    const c = buf[i]
    h = Math.imul(h ^ (c >= 0x41 && c <= 0x5a ? c | 0x20 : c), 0x01000193)
  }
  return mix32(h)
}

/** IPv4 netmask of a prefix length as a u32. */
export function maskV4 (prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0
}

/** Mask word i (0..3) of an IPv6 prefix length. */
export function maskV6Word (prefix: number, i: number): number {
  const bits = Math.min(32, Math.max(0, prefix - 32 * i))
  return maskV4(bits)
}

/** Big-endian u32 words of key bytes (length a multiple of 4) into k; returns the word count. */
export function bytesToWords (b: Uint8Array, k: Uint32Array): number {
  const words = b.length >>> 2
  for (let i = 0, p = 0; i < words; i++, p += 4) k[i] = ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0
  return words
}
