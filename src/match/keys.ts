import type { IndicatorKind } from '../feeds/record.js'
import { hashTypeOfLength, normalizeHash, parseHashBytes, type HashType } from './normalize/hash.js'
import { afterScheme, hasScheme, normalizeDomain, trimControls } from './normalize/host.js'
import { formatIp, parseIp, parseIpNetworks } from './normalize/ip.js'
import { normalizeUrl, type NormalizedUrl } from './normalize/url.js'
import { refang } from './normalize/refang.js'

/** What the index builder stores for one feed indicator (DESIGN.md section 2). */
export type IndexKey =
  | { t: 'hash', type: HashType, bytes: Uint8Array }
  | { t: 'ip', bytes: Uint8Array, prefix: number } // prefix = 32/128 for a single address
  | { t: 'domain' | 'host', host: string } // normalized host
  | { t: 'url', mask: string } // normalized mask value host[/path][?query], may hold '*'

const HASH_LENGTH: Record<HashType, number> = { md5: 32, sha1: 40, sha256: 64 }
const MAX_QUOTED = 80

/** The value quoted for a message, cut so a runaway field cannot flood the log. */
function quote (v: string): string {
  return JSON.stringify(v.length > MAX_QUOTED ? v.slice(0, MAX_QUOTED) + '…' : v)
}

// Messages keep their stable part before the first `(`, `:` or `"`: the feed pipeline groups skip
// counts by it (reasonKind), so the varying part (length found, value) comes after.

function hashKeys (v: string, kind: 'md5' | 'sha1' | 'sha256' | 'hash'): IndexKey[] | { error: string } {
  const bytes = parseHashBytes(v)
  const type = bytes === null ? null : hashTypeOfLength(bytes.length * 2)
  if (kind === 'hash') {
    if (type === null) {
      return { error: hashTypeOfLength(v.length) === null
        ? `hash must be 32, 40 or 64 hex characters (found ${v.length})`
        : `hash must be hex: ${quote(v)}` }
    }
  } else if (type !== kind) {
    return { error: v.length !== HASH_LENGTH[kind]
      ? `${kind} must be ${HASH_LENGTH[kind]} hex characters (found ${v.length})`
      : `${kind} must be hex: ${quote(v)}` }
  }
  return [{ t: 'hash', type, bytes: bytes as Uint8Array }]
}

/** `1.2.3.4:443` and `[2001:db8::1]:443` (ThreatFox's ip:port, maltrail) without the port. */
export function stripPort (v: string): string {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(v) ?? /^\[([0-9a-fA-F:.]+)\]:\d{1,5}$/.exec(v)
  return m === null ? v : m[1]
}

function ipKeys (v: string): IndexKey[] | { error: string } {
  const nets = parseIpNetworks(stripPort(v))
  if (nets === null) return { error: `not a valid IP address or network: ${quote(v)}` }
  return nets.map(n => ({ t: 'ip', bytes: n.bytes, prefix: n.prefix }))
}

/** The bytes of a normalized host that is an IP literal (`1.2.3.4`, `[::1]`), else null. */
function hostIp (host: string): Uint8Array | null {
  const c = host.charCodeAt(host.length - 1)
  // Normalized hosts ending in a digit that are not IPv4 do not exist (`x.09` is refused).
  return c === 0x5d || (c >= 0x30 && c <= 0x39) ? parseIp(host) : null
}

function hostKeys (v: string, kind: 'domain' | 'host'): IndexKey[] | { error: string } {
  if (/^\d+$/.test(v)) return { error: `a bare number is not a ${kind}: ${quote(v)}` }
  const host = normalizeDomain(v)
  if (host === null) {
    return { error: v.includes('*')
      ? `a ${kind} cannot hold a wildcard, use kind url: ${quote(v)}`
      : `not a valid ${kind}: ${quote(v)}` }
  }
  const ip = hostIp(host)
  // An IP has no subdomains, and URLs with an IP host are looked up in the IP index too.
  if (ip !== null) return [{ t: 'ip', bytes: ip, prefix: ip.length * 8 }]
  return [{ t: kind, host }]
}

function urlKeys (v: string): IndexKey[] | { error: string } {
  // `/path` or `//path` (maltrail's path trails) names no host: not `//host/path` scheme-relative.
  if (v.charCodeAt(0) === 0x2f || v.charCodeAt(0) === 0x5c) return { error: `a URL path without a host cannot be matched: ${quote(v)}` }
  const u = normalizeUrl(v, { mask: true })
  if (u === null) return { error: `not a valid URL or URL mask: ${quote(v)}` }
  return [{ t: 'url', mask: u.value }]
}

/** True when the value, past any scheme, has `/`, `?` or `*`: the `auto` test for a URL mask. */
function looksLikeUrl (v: string): boolean {
  for (let i = afterScheme(v); i < v.length; i++) {
    const c = v.charCodeAt(i)
    if (c === 0x2f || c === 0x3f || c === 0x2a || c === 0x5c) return true
  }
  return false
}

/**
 * Resolves a feed indicator into index keys by its kind (DESIGN.md section 3), or a short error
 * naming what was wrong. An IP range gives several keys; an IP given as a domain gives an `ip` key.
 */
export function indicatorKeys (value: string, kind: IndicatorKind): IndexKey[] | { error: string } {
  // Feeds made from reports list indicators defanged (`evil[.]example`, `hxxp://`).
  const v = refang(trimControls(value))
  if (v === '') return { error: `empty ${kind} value` }
  switch (kind) {
    case 'md5': case 'sha1': case 'sha256': case 'hash':
      return hashKeys(v, kind)
    case 'ip':
      return ipKeys(v)
    case 'domain': case 'host':
      return hostKeys(v, kind)
    case 'url':
      return urlKeys(v)
    case 'auto': {
      // A 32/40/64-hex token cannot be a host name (no dot), so it is a hash: list and CSV feeds
      // mix hashes with network indicators, one type detected per line.
      if (normalizeHash(v) !== null) return hashKeys(v, 'hash')
      // A long all-hex token of another length is a cut or padded hash, not a one-label host.
      if (v.length >= 24 && /^[0-9a-fA-F]+$/.test(v)) return { error: `hash must be 32, 40 or 64 hex characters (found ${v.length})` }
      const nets = parseIpNetworks(stripPort(v))
      if (nets !== null) return nets.map(n => ({ t: 'ip', bytes: n.bytes, prefix: n.prefix }))
      // A bare number is never an IP (DESIGN.md section 3): it is a CSV's id column, not 0.42.29.65.
      if (/^\d+$/.test(v)) return { error: `a bare number is not an indicator: ${quote(v)}` }
      return looksLikeUrl(v) ? urlKeys(v) : hostKeys(v, 'domain')
    }
  }
}

/** What a user typed into `feedmatch lookup`, with its normalized `value` for display. */
export type QueryClass =
  | { type: 'hash', hashType: HashType, value: string }
  | { type: 'ip', bytes: Uint8Array, value: string }
  | { type: 'url', url: NormalizedUrl, value: string }
  | { type: 'domain', value: string }

/**
 * Detects what a lookup query is: 32/40/64 hex is a hash; a strict IP address (v4, v6, mapped) an
 * ip; a value with a scheme, `/` or `?` a url; a valid host a domain (even when the host is an IP
 * in another notation, `0x7f.1`: the domain path normalizes it); anything else null.
 */
export function classifyQuery (s: string): QueryClass | null {
  // Analysts paste indicators from reports, defanged: `hxxps://evil[.]example/x`.
  const t = refang(trimControls(s))
  if (t === '') return null
  const h = normalizeHash(t)
  if (h !== null) return { type: 'hash', hashType: h.type, value: h.hex }
  const ip = parseIp(t)
  if (ip !== null) return { type: 'ip', bytes: ip, value: formatIp(ip) }
  if (hasScheme(t) || t.includes('/') || t.includes('?') || t.includes('\\')) {
    const url = normalizeUrl(t)
    return url === null ? null : { type: 'url', url, value: url.value }
  }
  const host = normalizeDomain(t)
  return host === null ? null : { type: 'domain', value: host }
}
