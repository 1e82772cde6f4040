import type { FeedIndex } from '../index/feed-index.js'
import { Hits, type MatchType } from '../index/types.js'
import { normalizeHash, hexToBytes } from './normalize/hash.js'
import { parseIp, formatIp } from './normalize/ip.js'
import { normalizeDomain } from './normalize/host.js'
import { normalizeUrl } from './normalize/url.js'
import { classifyQuery } from './keys.js'
import { refang } from './normalize/refang.js'

/** The value types an extraction rule or a lookup query can carry (DESIGN.md section 4). */
export type ValueType = 'hash' | 'md5' | 'sha1' | 'sha256' | 'ip' | 'url' | 'domain'

/** One feed record that matched a value. */
export interface Match {
  rec: number
  feed: string
  category: string
  matched: string
  type: MatchType
}

/** What a value became and what it matched; `allowlisted` when the allowlist suppressed it. */
export interface ValueResult {
  type: MatchType | null
  value: string | null
  matches: Match[]
  allowlisted: boolean
}

/**
 * Normalizes one value of a known type and appends what it matches to `hits` (no clearing, no
 * allowlist: callers decide). Returns the normalized value and its type, or null when the value is
 * not valid for its type (a 31-char "MD5", a bad IP): such values are ignored (DESIGN.md section 3).
 */
export function lookupValue (index: FeedIndex, valueType: ValueType, raw: string, hits: Hits): { type: MatchType, value: string } | null {
  switch (valueType) {
    case 'hash': case 'md5': case 'sha1': case 'sha256': {
      const h = normalizeHash(raw)
      if (h === null || (valueType !== 'hash' && h.type !== valueType)) return null
      index.lookupHash(hexToBytes(h.hex), hits)
      return { type: h.type, value: h.hex }
    }
    case 'ip': {
      const ip = parseIp(raw)
      if (ip === null) return null
      index.lookupIp(ip, hits)
      return { type: 'ip', value: formatIp(ip) }
    }
    case 'url': {
      const u = normalizeUrl(raw)
      if (u === null) return null
      const type = u.rest === '' ? 'domain' : 'url'
      lookupHost(index, u.host, u.rest, type, hits)
      return { type, value: u.value }
    }
    case 'domain': {
      const d = normalizeDomain(raw)
      if (d === null) return null
      lookupHost(index, d, '', 'domain', hits)
      return { type: 'domain', value: d }
    }
  }
}

/**
 * Matches one value of a known type against a generation, with the semantics of DESIGN.md
 * section 3: normalize, look up, then let the allowlist suppress everything the value matched.
 */
export function matchValue (index: FeedIndex, valueType: ValueType, raw: string, hits = new Hits()): ValueResult {
  hits.clear()
  const v = lookupValue(index, valueType, raw, hits)
  if (v === null) return { type: null, value: null, matches: [], allowlisted: false }
  return { ...v, ...collect(index, hits) }
}

/**
 * A URL's host goes to the domain trie; a host that is an IP address also goes to the IP index.
 * Returns that IP as the IP index knows it (no brackets), or null: a detection from the IP index
 * reports it as its value, so a URL and a bare IP of one event give one detection per record.
 */
export function lookupHost (index: FeedIndex, host: string, rest: string, type: MatchType, hits: Hits): string | null {
  index.lookupUrl(host, rest, hits, type)
  if (!mayBeIp(host)) return null
  const bare = host.startsWith('[') ? host.slice(1, -1) : host
  const ip = parseIp(bare)
  if (ip === null) return null
  index.lookupIp(ip, hits)
  return formatIp(ip)
}

/**
 * False when parseIp surely refuses the host: an IPv4 ends in a digit and an IPv6 holds a `:`.
 * Hot path: most URL hosts are names, and parseIp allocates before it finds out.
 */
function mayBeIp (host: string): boolean {
  const last = host.charCodeAt(host.length - 1)
  return (last >= 0x30 && last <= 0x39) || host.includes(':')
}

/** Allowlist entries use the feeds' semantics; one hit on one silences the value (DESIGN.md section 3). */
export function isAllowlisted (index: FeedIndex, hits: Hits): boolean {
  for (let h = 0; h < hits.length; h++) if (index.feed(hits.recs[h]).role === 'allow') return true
  return false
}

function collect (index: FeedIndex, hits: Hits): { matches: Match[], allowlisted: boolean } {
  if (isAllowlisted(index, hits)) return { matches: [], allowlisted: true }
  const matches: Match[] = []
  const seen = new Set<number>()
  for (let i = 0; i < hits.length; i++) {
    const rec = hits.recs[i]
    const feed = index.feed(rec)
    if (seen.has(rec)) continue // one detection per (value, record)
    seen.add(rec)
    matches.push({ rec, feed: feed.name, category: feed.category, matched: hits.matched[i], type: hits.types[i] })
  }
  return { matches, allowlisted: false }
}

/** One entry of `lookup --format json` and of the API's /lookup. */
export interface LookupEntry {
  indicator: string
  type: MatchType | null
  value: string | null
  allowlisted?: true
  matches: Array<{ feed: string, category: string, matched: string, context: Record<string, unknown> }>
  /** The API only: live-list entries the value matches (an allowlist entry may apply to some senders or feeds only). */
  live?: Array<Record<string, unknown>>
}

/** Looks each query up (matchQuery) and gives what `lookup` reports of it. */
export function lookupEntries (index: FeedIndex, queries: string[], overlay?: FeedIndex): LookupEntry[] {
  const hits = new Hits()
  return queries.map((q) => {
    const r = matchQuery(index, q, hits)
    const live = overlay === undefined ? [] : liveEntries(overlay, q, hits)
    return {
      indicator: r.indicator,
      type: r.type,
      value: r.value,
      ...(r.allowlisted ? { allowlisted: true as const } : {}),
      matches: r.matches.map((m) => ({ feed: m.feed, category: m.category, matched: m.matched, context: index.context(m.rec) })),
      ...(live.length > 0 ? { live } : {})
    }
  })
}

/** The live-list entries (their contexts: id, list, reason, scope...) that a query matches in the overlay. */
function liveEntries (overlay: FeedIndex, query: string, hits: Hits): Array<Record<string, unknown>> {
  const q = classifyQuery(query.trim())
  if (q === null) return []
  hits.clear()
  if (lookupValue(overlay, q.type, refang(query.trim()), hits) === null) return []
  const out: Array<Record<string, unknown>> = []
  for (let i = 0; i < hits.length; i++) out.push({ matched: hits.matched[i], ...overlay.context(hits.recs[i]) })
  return out
}

/** Indicators given one a line (a file, a request body): blank lines and `#` comment lines skipped. */
export function indicatorLines (text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
}

/** A `lookup` query: detect what the user typed, then match it. */
export function matchQuery (index: FeedIndex, query: string, hits = new Hits()): ValueResult & { indicator: string } {
  const q = classifyQuery(query.trim())
  if (q === null) return { indicator: query, type: null, value: null, matches: [], allowlisted: false }
  return { indicator: query, ...matchValue(index, q.type, refang(query.trim()), hits) }
}
