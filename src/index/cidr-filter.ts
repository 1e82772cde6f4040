/**
 * Builds the IPv4 CIDR block filter (layout.ts `cidr4filter`): one bit per block of the address
 * space, set for every block a feed network overlaps, so that most IPv4 lookups skip the CIDR
 * tables after one bit read.
 */
import type { GrowTable } from './grow.js'
import { sharedBuffer } from './grow.js'
import { cidr4FilterBits, cidr4FilterBytes } from './layout.js'

/** The filter over IPv4 CIDR tables given as [prefix, table of networks]. */
export function buildCidr4Filter (tables: Array<[number, GrowTable]>): { buffer: SharedArrayBuffer, bits: number } {
  const count = tables.reduce((n, [, t]) => n + t.size, 0)
  const bits = cidr4FilterBits(count)
  const buffer = sharedBuffer(cidr4FilterBytes(bits), 'the CIDR filter')
  if (bits === 0) return { buffer, bits }
  const words = new Uint32Array(buffer)
  const shift = 32 - bits
  for (const [prefix, t] of tables) {
    // A network shorter than a block covers 2^(bits - prefix) whole blocks; a longer one lies in one.
    const span = prefix >= bits ? 1 : 2 ** (bits - prefix)
    const nets = t.keys.a
    for (let i = 0; i < t.size; i++) {
      const first = nets[i] >>> shift
      for (let b = first; b < first + span; b++) words[b >>> 5] |= 1 << (b & 31)
    }
  }
  return { buffer, bits }
}
