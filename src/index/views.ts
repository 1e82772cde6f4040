/**
 * Read-only typed-array views over a generation's buffers, and the check that a handle's buffers
 * have the sizes its geometry implies (run on every handle, so a bad snapshot fails loudly at open
 * rather than as a wrong answer or an endless probe later).
 */
import type { GenerationHandle } from './types.js'
import {
  CIDR4_FILTER_MAX_BITS, IPV4_FILTER_MAX_BITS, IPV4_FILTER_MIN_BITS, KEY_WORDS, LAYOUT_VERSION, cidr4FilterBytes, ipv4FilterBytes,
  MAX_LOAD, MIN_CAPACITY, NONE, REC_WORDS,
  NODE_LABEL, NODE_WORDS, keyedLayout, maskV6Word, masksLayout, nodesLayout, type KeyedName
} from './layout.js'

/** One keyed table (hashes, IPs, or the CIDRs of one prefix length), as views. */
export class KeyTable {
  readonly slots: Uint32Array
  readonly heads: Uint32Array
  readonly keys: Uint32Array
  readonly mask: number
  readonly words: number
  /** CIDR tables: the prefix length and its netmask words (all ones for exact tables). */
  readonly prefix: number
  readonly netmask: Uint32Array

  constructor (buffer: SharedArrayBuffer, cap: number, n: number, words: number, prefix: number) {
    const lay = keyedLayout(cap, n, words)
    this.slots = new Uint32Array(buffer, 0, cap)
    this.heads = new Uint32Array(buffer, lay.heads, n)
    this.keys = new Uint32Array(buffer, lay.keys, n * words)
    this.mask = cap - 1
    this.words = words
    this.prefix = prefix
    // Word 0 of an IPv6 netmask of length p is the IPv4 netmask of p (capped at 32), so one rule serves both.
    this.netmask = new Uint32Array(4)
    for (let i = 0; i < 4; i++) this.netmask[i] = maskV6Word(prefix, i)
  }
}

/** Entry (index + 1) of the one-word key `key` with hash h, or NONE. Hot path: no allocation. */
export function findU32 (t: KeyTable, key: number, h: number): number {
  const { slots, keys, mask } = t
  const tag = h & ~mask
  for (let s = h & mask; ; s = (s + 1) & mask) {
    const v = slots[s]
    if (v === NONE) return NONE
    if ((v & ~mask) === tag && keys[(v & mask) - 1] === key) return v & mask
  }
}

/** Entry (index + 1) of the key k[0 .. t.words) with hash h, or NONE. Hot path: no allocation. */
export function findWords (t: KeyTable, k: Uint32Array, h: number): number {
  const { slots, keys, mask, words } = t
  const tag = h & ~mask
  for (let s = h & mask; ; s = (s + 1) & mask) {
    const v = slots[s]
    if (v === NONE) return NONE
    if ((v & ~mask) !== tag) continue
    const e = v & mask
    const base = (e - 1) * words
    let i = 0
    while (i < words && keys[base + i] === k[i]) i++
    if (i === words) return e
  }
}

/** The exact table `name` of a handle (hashes, IPv4, IPv6), as views. */
export function keyTable (handle: GenerationHandle, name: KeyedName): KeyTable {
  const g = handle.geometry
  return new KeyTable(handle.buffers[name], g[`${name}.cap`], g[`${name}.n`], KEY_WORDS[name], KEY_WORDS[name] * 32)
}

/** The domain trie's node rows of a handle: the root, nodes 1..n, and the sentinel (layout.ts). */
export function nodeRows (handle: GenerationHandle): Uint32Array {
  const g = handle.geometry
  return new Uint32Array(handle.buffers.nodes, nodesLayout(g['nodes.cap'], g['nodes.n']).rows, (g['nodes.n'] + 2) * NODE_WORDS)
}

/** Where each URL mask's text starts in `maskText`, and after the last one where it ends (layout.ts). */
export function maskStarts (handle: GenerationHandle): Uint32Array {
  const m = handle.geometry['masks.n']
  return new Uint32Array(handle.buffers.masks, masksLayout(m).textStart, m + 1)
}

/** CIDR tables of one family present in a handle, longest prefix first. */
export function openCidrs (handle: GenerationHandle, family: 4 | 6): KeyTable[] {
  const out: KeyTable[] = []
  const re = family === 4 ? /^cidr4\/(\d+)$/ : /^cidr6\/(\d+)$/
  for (const name of Object.keys(handle.buffers)) {
    const m = re.exec(name)
    if (m === null) continue
    const g = handle.geometry
    out.push(new KeyTable(handle.buffers[name], g[`${name}.cap`], g[`${name}.n`], family === 4 ? 1 : 4, Number(m[1])))
  }
  return out.sort((a, b) => b.prefix - a.prefix)
}

/** What is wrong with a handle's buffers given its geometry, or null when they agree. */
export function checkHandle (handle: GenerationHandle): string | null {
  const g = handle.geometry
  const b = handle.buffers
  if (g.layout !== LAYOUT_VERSION) return `layout version ${g.layout} (this build reads ${LAYOUT_VERSION})`
  const size = (name: string): number => b[name]?.byteLength ?? -1
  const table = (name: string, words: number): string | null => {
    const cap = g[`${name}.cap`]
    const n = g[`${name}.n`]
    if (!isPow2(cap) || cap < MIN_CAPACITY || !Number.isInteger(n) || n < 0 || n > cap * MAX_LOAD) return `bad geometry for table ${name}`
    return size(name) === keyedLayout(cap, n, words).bytes ? null : `table ${name} has the wrong size`
  }
  for (const [name, words] of Object.entries(KEY_WORDS)) {
    const err = table(name, words)
    if (err !== null) return err
  }
  for (const name of Object.keys(b)) {
    const m = /^cidr([46])\/(\d+)$/.exec(name)
    if (m === null) continue
    const max = m[1] === '4' ? 32 : 128
    if (Number(m[2]) >= max) return `CIDR table ${name} has a bad prefix`
    const err = table(name, m[1] === '4' ? 1 : 4)
    if (err !== null) return err
  }
  const v4Bits = g['ipv4filter.bits']
  if (!Number.isInteger(v4Bits) || v4Bits < IPV4_FILTER_MIN_BITS || v4Bits > IPV4_FILTER_MAX_BITS) return 'bad geometry for the IPv4 filter'
  if (size('ipv4filter') !== ipv4FilterBytes(v4Bits)) return 'IPv4 filter has the wrong size'
  const filterBits = g['cidr4filter.bits']
  if (!Number.isInteger(filterBits) || filterBits < 0 || filterBits > CIDR4_FILTER_MAX_BITS) return 'bad geometry for the CIDR filter'
  if (size('cidr4filter') !== cidr4FilterBytes(filterBits)) return 'CIDR filter has the wrong size'
  if (filterBits === 0 && Object.keys(b).some((name) => name.startsWith('cidr4/'))) return 'IPv4 CIDR tables without their filter'
  const recs = g['records.n']
  if (!Number.isInteger(recs) || size('records') !== (recs + 1) * REC_WORDS * 4) return 'record table has the wrong size'
  if (size('arena') < 0) return 'context arena is missing'
  const nodesCap = g['nodes.cap']
  const nodes = g['nodes.n']
  if (!isPow2(nodesCap) || !Number.isInteger(nodes) || nodes > nodesCap * MAX_LOAD) return 'bad geometry for the domain trie'
  if (size('nodes') !== nodesLayout(nodesCap, nodes).bytes) return 'domain trie has the wrong size'
  if (nodeRows(handle)[(nodes + 1) * NODE_WORDS + NODE_LABEL] !== size('labels')) return 'label arena has the wrong size'
  const masks = g['masks.n']
  if (!Number.isInteger(masks) || size('masks') !== masksLayout(masks).bytes) return 'URL mask table has the wrong size'
  if (maskStarts(handle)[masks] !== size('maskText')) return 'mask arena has the wrong size'
  return null
}

function isPow2 (x: number): boolean {
  return Number.isInteger(x) && x > 0 && (x & (x - 1)) === 0
}
