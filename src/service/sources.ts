import { REFANG_STEPS } from '../match/normalize/refang.js'
import { parseIp, parseIpNetworks } from '../match/normalize/ip.js'
import type { SourceConfig } from '../config/types.js'
import type { SourceSpec } from '../extract/types.js'
import type { Peer } from '../pipeline/batch.js'

/** Remembered sender addresses; beyond this the cache starts over (bounded memory). */
const CACHE_MAX = 10_000

/**
 * Chooses the source (extraction rules) of an event by its sender's address (DESIGN.md section 4):
 * the first source whose `match` networks contain the address, else `default`.
 */
export class SourceSelector {
  private readonly nets: Array<{ source: number, bytes: Uint8Array, prefix: number }> = []
  private readonly cache = new Map<string, number>()
  private readonly fallback: number

  constructor (sources: readonly SourceConfig[]) {
    sources.forEach((s, i) => {
      for (const m of s.match) for (const n of parseIpNetworks(m) ?? []) this.nets.push({ source: i, bytes: n.bytes, prefix: n.prefix })
    })
    const d = sources.findIndex((s) => s.name === 'default')
    this.fallback = d >= 0 ? d : 0
  }

  /** The Peer of a sender (one object per address, reused for all its events while cached). */
  peer (ip: string): Peer {
    let p = this.peers.get(ip)
    if (p === undefined) {
      p = { ip, source: this.select(ip) }
      if (this.peers.size >= CACHE_MAX) this.peers.clear()
      this.peers.set(ip, p)
    }
    return p
  }

  private readonly peers = new Map<string, Peer>()

  /** The source index for a sender address. */
  select (ip: string): number {
    let s = this.cache.get(ip)
    if (s !== undefined) return s
    s = this.lookup(ip)
    if (this.cache.size >= CACHE_MAX) this.cache.clear()
    this.cache.set(ip, s)
    return s
  }

  private lookup (ip: string): number {
    const addr = parseIp(ip)
    if (addr === null) return this.fallback
    for (const n of this.nets) if (n.bytes.length === addr.length && contains(n.bytes, n.prefix, addr)) return n.source
    return this.fallback
  }
}

function contains (net: Uint8Array, prefix: number, addr: Uint8Array): boolean {
  let bits = prefix
  for (let i = 0; i < net.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff
    if ((net[i] & mask) !== (addr[i] & mask)) return false
  }
  return true
}

/** What workers compile from a source's configuration. */
export function sourceSpecs (sources: readonly SourceConfig[]): SourceSpec[] {
  return sources.map((s) => ({
    name: s.name,
    preset: s.preset,
    // `refang: true`: defanged indicators in events are undone first (match/normalize/refang.ts).
    normalize: [...(s.refang ? REFANG_STEPS : []), ...s.normalize].map((n) => ({ ...n })),
    rules: s.rules.map((r) => ({ ...r })),
  }))
}
