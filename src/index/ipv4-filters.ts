/**
 * Builds the two IPv4 block filters (layout.ts): `ipv4filter`, in front of every IPv4 lookup (exact
 * addresses and networks), and `cidr4filter`, in front of the CIDR tables. One bit per block of
 * the address space, set for every block a key touches, so that most IPv4 lookups end after one
 * bit read, and most of the rest skip the CIDR tables after a second.
 */
import type { GrowTable } from './grow.js'
import { sharedBuffer } from './grow.js'
import { cidr4FilterBits, cidr4FilterBytes, ipv4FilterBits, ipv4FilterBytes } from './layout.js'

/** IPv4 CIDR tables as [prefix length, table of networks]. */
export type Cidr4Tables = Array<[number, GrowTable]>

/** The filter in front of all IPv4 lookups: the exact table's addresses and the networks. */
export function buildIpv4Filter (exact: GrowTable, cidrs: Cidr4Tables): { buffer: SharedArrayBuffer, bits: number } {
  const bits = ipv4FilterBits(cidrs.reduce((n, [, t]) => n + t.size, exact.size))
  const buffer = sharedBuffer(ipv4FilterBytes(bits), 'the IPv4 filter')
  const words = new Uint32Array(buffer)
  const shift = 32 - bits
  const addrs = exact.keys.a
  for (let i = 0; i < exact.size; i++) setBits(words, addrs[i] >>> shift, 1)
  markNetworks(words, bits, cidrs)
  return { buffer, bits }
}

/** The filter over IPv4 CIDR tables (none without IPv4 CIDRs). */
export function buildCidr4Filter (cidrs: Cidr4Tables): { buffer: SharedArrayBuffer, bits: number } {
  const bits = cidr4FilterBits(cidrs.reduce((n, [, t]) => n + t.size, 0))
  const buffer = sharedBuffer(cidr4FilterBytes(bits), 'the CIDR filter')
  if (bits > 0) markNetworks(new Uint32Array(buffer), bits, cidrs)
  return { buffer, bits }
}

/** Sets the bits of every block the networks overlap, in a filter of 2^bits blocks. */
function markNetworks (words: Uint32Array, bits: number, cidrs: Cidr4Tables): void {
  const shift = 32 - bits
  for (const [prefix, t] of cidrs) {
    // A network shorter than a block covers 2^(bits - prefix) whole blocks; a longer one lies in one.
    const span = prefix >= bits ? 1 : 2 ** (bits - prefix)
    const nets = t.keys.a
    for (let i = 0; i < t.size; i++) setBits(words, nets[i] >>> shift, span)
  }
}

/** Sets bits [first, first + count): whole words at a time where it can (a /0 network is 2^24 bits). */
function setBits (words: Uint32Array, first: number, count: number): void {
  let b = first
  const stop = first + count
  while (b < stop && (b & 31) !== 0) { words[b >>> 5] |= 1 << (b & 31); b++ }
  if (stop - b >= 32) { words.fill(0xffffffff, b >>> 5, stop >>> 5); b = stop - (stop & 31) }
  for (; b < stop; b++) words[b >>> 5] |= 1 << (b & 31)
}
