import { domainToASCII } from 'node:url'
import { parseIp, formatIp } from './ip.js'

/**
 * Host normalization shared by URLs and domains (DESIGN.md section 3). Runs per extracted value,
 * so the common case (an ASCII lowercase name) is one scan and no native call.
 */

const DOT = 0x2e
const COLON = 0x3a

/** Value of one IPv4 part by the WHATWG rules (`0x` hex, leading `0` octal), capped at 2^32; -1 if invalid. */
function ipv4Number (s: string, start: number, end: number): number {
  if (start === end) return -1
  let radix = 10
  if (end - start >= 2 && s.charCodeAt(start) === 0x30) {
    if ((s.charCodeAt(start + 1) | 0x20) === 0x78) { radix = 16; start += 2 } else { radix = 8; start++ }
  }
  let v = 0
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i)
    let d: number
    if (c >= 0x30 && c <= 0x39) d = c - 0x30
    else if (radix === 16 && c >= 0x61 && c <= 0x66) d = c - 0x61 + 10
    else return -1
    if (d >= radix) return -1
    // Past 2^32 the value is out of range whatever follows; capping keeps doubles exact.
    v = Math.min(v * radix + d, 0x100000000)
  }
  return v
}

/** The WHATWG "ends in a number" check on a lowercase host without a trailing dot. */
function endsInNumber (h: string): boolean {
  const start = h.lastIndexOf('.') + 1
  let digits = true
  for (let i = start; i < h.length && digits; i++) digits = h.charCodeAt(i) >= 0x30 && h.charCodeAt(i) <= 0x39
  // All digits counts even when invalid as a number (`x.09`): the host is then no host at all.
  return digits || ipv4Number(h, start, h.length) >= 0
}

/** The WHATWG IPv4 parser (decimal, hex, octal, 1 to 4 parts) to dotted-quad, or null. */
function whatwgIpv4 (h: string): string | null {
  const parts: number[] = []
  let start = 0
  for (let i = 0; i <= h.length; i++) {
    if (i < h.length && h.charCodeAt(i) !== DOT) continue
    if (parts.length === 4) return null
    const v = ipv4Number(h, start, i)
    if (v < 0) return null
    parts.push(v)
    start = i + 1
  }
  const last = parts.length - 1
  for (let i = 0; i < last; i++) if (parts[i] > 255) return null
  if (parts[last] >= 256 ** (4 - last)) return null
  let ip = parts[last]
  for (let i = 0; i < last; i++) ip += parts[i] * 256 ** (3 - i)
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`
}

/** True for [a-z0-9_-]: what we accept in a host label after punycode. */
function isHostChar (c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f
}

/** True for the characters WHATWG forbids in a domain, plus space and controls. */
function isForbidden (c: number): boolean {
  return c <= 0x20 || c === 0x7f || '#%/:<>?@[\\]^|'.indexOf(String.fromCharCode(c)) !== -1
}

function stripWww (h: string): string {
  return h.length > 4 && h.startsWith('www.') ? h.slice(4) : h
}

/** Checks an ASCII lowercase host label by label; returns it as a host, an IPv4 or null. */
function finishAscii (h: string): string | null {
  if (h.charCodeAt(h.length - 1) === DOT) h = h.slice(0, -1)
  if (h.length === 0) return null
  let prev = DOT // a leading dot is an empty label
  for (let i = 0; i < h.length; i++) {
    const c = h.charCodeAt(i)
    if (c === DOT) { if (prev === DOT) return null } else if (!isHostChar(c)) return null
    prev = c
  }
  if (endsInNumber(h)) return whatwgIpv4(h)
  return stripWww(h)
}

/** `[v6]` in compressed form; a mapped address becomes its IPv4, as in the IP index. */
function ipv6Host (s: string): string | null {
  const b = s.charCodeAt(s.length - 1) === 0x5d ? parseIp(s) : null
  if (b === null) return null
  return b.length === 4 ? formatIp(b) : `[${formatIp(b)}]`
}

/** Masks: labels holding `*` are kept as written, the others are converted one by one. */
function wildcardHost (h: string): string | null {
  if (h.charCodeAt(h.length - 1) === DOT) h = h.slice(0, -1)
  const labels = h.split('.')
  for (let i = 0; i < labels.length; i++) {
    let label = labels[i]
    if (label === '') return null
    if (label.includes('*')) {
      for (let j = 0; j < label.length; j++) if (isForbidden(label.charCodeAt(j))) return null
      continue
    }
    let ascii = true
    for (let j = 0; j < label.length && ascii; j++) ascii = isHostChar(label.charCodeAt(j))
    // domainToASCII runs the whole host parser: on a lone label `1` it would answer `0.0.0.1`.
    if (!ascii || label.startsWith('xn--')) {
      label = domainToASCII(label)
      if (label === '' || label.includes('.')) return null
      for (let j = 0; j < label.length; j++) if (!isHostChar(label.charCodeAt(j))) return null
      labels[i] = label
    }
  }
  return stripWww(labels.join('.'))
}

/**
 * Normalizes a host: lowercase, no trailing dot, one leading `www.` stripped, IPv4 in any WHATWG
 * form to dotted-quad, `[IPv6]` compressed, other names to punycode. Null if not a valid host.
 * With `wildcard`, labels holding `*` are kept (URL masks such as `*.example.com`).
 */
export function normalizeHost (s: string, opts?: { wildcard?: boolean }): string | null {
  if (s.length === 0) return null
  if (s.charCodeAt(0) === 0x5b) return ipv6Host(s)
  let upper = false
  let plain = true // only [a-z0-9._-] and uppercase ASCII
  let star = false
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0x41 && c <= 0x5a) upper = true
    else if (c === 0x2a) star = true
    else if (c !== DOT && !isHostChar(c)) plain = false
  }
  if (star && opts?.wildcard === true) return wildcardHost(s.toLowerCase())
  if (plain && !star) {
    const h = upper ? s.toLowerCase() : s
    if (!h.includes('xn--')) return finishAscii(h)
  }
  // Native UTS 46 mapping: case, IDN to punycode, fullwidth forms, a check of `xn--` labels.
  // Not lowercased before: JS would turn a final `Σ` into `ς`, UTS 46 into `σ`.
  // It answers '' for what it refuses (spaces, `%`); `*` and `!` pass it and fail finishAscii.
  const h = domainToASCII(s)
  if (h === '') return null
  return finishAscii(h)
}

/** Where the host sits in a URL-like string: [start, end), and `next`, where the path or query begins. */
export interface HostSpan { start: number, end: number, next: number }

/** Index after `scheme://` (and any more slashes), or after a leading `//`; else 0. */
export function afterScheme (s: string): number {
  let i = 0
  const c0 = s.charCodeAt(0) | 0x20
  if (c0 >= 0x61 && c0 <= 0x7a) {
    i = 1
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i)
      const l = c | 0x20
      if (!((l >= 0x61 && l <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === DOT)) break
    }
    if (s.charCodeAt(i) !== COLON || !isSlash(s.charCodeAt(i + 1)) || !isSlash(s.charCodeAt(i + 2))) i = 0
    else i += 3
  } else if (isSlash(s.charCodeAt(0)) && isSlash(s.charCodeAt(1))) {
    i = 2
  }
  if (i > 0) while (isSlash(s.charCodeAt(i))) i++ // browsers read `http:///x.com` as `http://x.com`
  return i
}

function isSlash (c: number): boolean {
  return c === 0x2f || c === 0x5c
}

/** True when the string starts with `scheme://`. */
export function hasScheme (s: string): boolean {
  const i = afterScheme(s)
  return i > 0 && !isSlash(s.charCodeAt(0))
}

/**
 * Finds the host of a URL-like string, skipping the scheme, userinfo (up to the last `@`) and a
 * port (digits, or `*` in masks). Null when the port is malformed or a `[` is not closed.
 */
export function locateHost (s: string, starPort = false): HostSpan | null {
  const from = afterScheme(s)
  let next = from
  for (; next < s.length; next++) {
    const c = s.charCodeAt(next)
    if (c === 0x2f || c === 0x5c || c === 0x3f || c === 0x23) break
  }
  const at = next > from ? s.lastIndexOf('@', next - 1) : -1
  const start = at >= from ? at + 1 : from
  let end: number
  if (start < next && s.charCodeAt(start) === 0x5b) {
    end = s.indexOf(']', start) + 1
    if (end === 0 || end > next) return null
  } else {
    end = s.indexOf(':', start)
    if (end === -1 || end > next) end = next
  }
  if (end < next) {
    if (s.charCodeAt(end) !== COLON) return null
    for (let i = end + 1; i < next; i++) {
      const c = s.charCodeAt(i)
      if (!((c >= 0x30 && c <= 0x39) || (starPort && c === 0x2a))) return null
    }
  }
  return { start, end, next }
}

/** Trims spaces and C0 controls at both ends (no copy when there are none). */
export function trimControls (s: string): string {
  let a = 0
  let b = s.length
  while (a < b && s.charCodeAt(a) <= 0x20) a++
  while (b > a && s.charCodeAt(b - 1) <= 0x20) b--
  return a === 0 && b === s.length ? s : s.slice(a, b)
}

/**
 * Normalizes a DOMAIN value or a feed domain: as normalizeHost, after reducing a URL-like input
 * (scheme, userinfo, port, path) to its host. A bare IPv6 address is accepted too.
 */
export function normalizeDomain (s: string): string | null {
  s = trimControls(s)
  const colon = s.indexOf(':')
  if (colon !== -1 && colon !== s.lastIndexOf(':')) {
    const b = parseIp(s)
    if (b !== null) return b.length === 4 ? formatIp(b) : `[${formatIp(b)}]`
  }
  const span = locateHost(s)
  if (span === null) return null
  return normalizeHost(span.start === 0 && span.end === s.length ? s : s.slice(span.start, span.end))
}
