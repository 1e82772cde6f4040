/**
 * The live lists' overlay as the matcher reads it (src/service/live-lists.ts builds it): a small
 * FeedIndex of two feeds, `live-allowlist` and `live-blocklist`, whose records carry their scope in
 * their context. A scope names sender networks (the event's sender must be in one) and, for the
 * allowlist, feeds (only their detections are suppressed). Scopes are read once per record and
 * kept, as net.BlockList for the networks: an overlay hit is rare, its check cheap.
 */
import { BlockList, isIP } from 'node:net'
import type { FeedIndex } from '../index/feed-index.js'

export interface OverlayScope {
  senders: BlockList | null
  feeds: Set<string> | null
}

/** The scopes of one overlay generation's records, by record. */
export class OverlayScopes {
  private readonly byRec = new Map<number, OverlayScope>()

  constructor (readonly index: FeedIndex) {}

  of (rec: number): OverlayScope {
    let s = this.byRec.get(rec)
    if (s !== undefined) return s
    const scope = (this.index.context(rec) as { scope?: { senders?: string[], feeds?: string[] } }).scope
    let senders: BlockList | null = null
    if (scope?.senders !== undefined && scope.senders.length > 0) {
      senders = new BlockList()
      for (const n of scope.senders) {
        const [addr, bits] = n.split('/')
        const type = isIP(addr) === 6 ? 'ipv6' : 'ipv4'
        if (bits === undefined) senders.addAddress(addr, type)
        else senders.addSubnet(addr, Number(bits), type)
      }
    }
    s = { senders, feeds: scope?.feeds !== undefined && scope.feeds.length > 0 ? new Set(scope.feeds) : null }
    this.byRec.set(rec, s)
    return s
  }

  /** Whether the record applies to an event from `sourceIp` (no sender scope: every sender). */
  appliesTo (rec: number, sourceIp: string): boolean {
    const senders = this.of(rec).senders
    if (senders === null) return true
    const fam = isIP(sourceIp)
    return fam !== 0 && senders.check(sourceIp, fam === 6 ? 'ipv6' : 'ipv4')
  }
}
