/**
 * The fast path of normalizeUrl (url.ts): most URLs in logs are plain ASCII, with a host of
 * letters, digits, `-`, `_` and dots and a path that needs no decoding or resolving. For those the
 * general algorithm (trim, locate the host, normalizeHost, percent-decode, segment walk, lowercase)
 * reduces to one scan and two slices, and this file does exactly that. Anything else returns null
 * and goes the general way, so this is only ever a shortcut to the same answer:
 * test/match/url-plain.test.ts checks it against the general path on random URLs.
 */
import type { NormalizedUrl } from './url.js'

const SLASH = 0x2f
const BACKSLASH = 0x5c
const COLON = 0x3a
const DOT = 0x2e
const DASH = 0x2d
const QUESTION = 0x3f
const HASH = 0x23
const PERCENT = 0x25

/** [a-z0-9_-] after lowercasing: the chars of a host label (host.ts isHostChar). */
function isLowerHostChar (c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === DASH || c === 0x5f
}

/**
 * Where the host starts (after `scheme://`), 0 when there is no scheme, or -1 when the start is
 * one the general path reads specially (`//host`, backslashes, more than two slashes). The scheme
 * grammar is host.ts afterScheme's: a letter, then letters, digits, `+`, `-`, `.`.
 */
function hostStart (s: string): number {
  const c0 = s.charCodeAt(0)
  if (c0 === SLASH || c0 === BACKSLASH) return -1
  const l0 = c0 | 0x20
  if (!(l0 >= 0x61 && l0 <= 0x7a)) return 0
  let i = 1
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i)
    const l = c | 0x20
    if (!((l >= 0x61 && l <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === DASH || c === DOT)) break
  }
  if (s.charCodeAt(i) !== COLON) return 0
  const a = s.charCodeAt(i + 1)
  const b = s.charCodeAt(i + 2)
  if (a === BACKSLASH || b === BACKSLASH) return -1
  if (a !== SLASH || b !== SLASH) return 0
  const c = s.charCodeAt(i + 3)
  return c === SLASH || c === BACKSLASH ? -1 : i + 3
}

/**
 * Hot path. The normalized form of a plain URL, or null when the URL needs the general algorithm:
 * controls or spaces at either end, userinfo, a bracketed or numeric host (IPv4 in any form),
 * `xn--`, `%`, empty labels or a trailing dot in the host; `%`, `\`, `//`, `/.` or non-ASCII in
 * the path. A trailing `/`, an empty query and a fragment are handled here.
 */
export function plainUrl (s: string): NormalizedUrl | null {
  const n = s.length
  if (n === 0 || s.charCodeAt(0) <= 0x20 || s.charCodeAt(n - 1) <= 0x20) return null
  const start = hostStart(s)
  if (start < 0) return null
  // The host: labels of host chars split by single dots; the last label must not start with a
  // digit (that may be an IPv4 in some WHATWG form: the general path decides).
  let upper = false
  let prev = DOT
  let labelStart = start
  let i = start
  for (; i < n; i++) {
    const ch = s.charCodeAt(i)
    if (ch === DOT) {
      if (prev === DOT) return null
      labelStart = i + 1
    } else if (ch >= 0x41 && ch <= 0x5a) {
      upper = true
    } else if (!isLowerHostChar(ch)) {
      break
    } else if (ch === DASH && prev === DASH && i - 3 >= start && (s.charCodeAt(i - 2) | 0x20) === 0x6e && (s.charCodeAt(i - 3) | 0x20) === 0x78) {
      return null // `xn--`, in any case: punycode is checked by the native UTS 46 mapping
    }
    prev = ch
  }
  const hostEnd = i
  if (hostEnd === start || prev === DOT) return null
  const first = s.charCodeAt(labelStart)
  if (first >= 0x30 && first <= 0x39) return null
  // A port: digits up to the path, query or fragment (an `@` after them is userinfo: general path).
  let c = s.charCodeAt(i)
  if (c === COLON) {
    for (i++; i < n; i++) {
      c = s.charCodeAt(i)
      if (c < 0x30 || c > 0x39) break
    }
  }
  if (i < n && c !== SLASH && c !== QUESTION && c !== HASH) return null
  const next = i
  // The path, up to the query or fragment: anything the segment walk or the decoder would change
  // sends the URL the general way, but for one trailing `/`, which the walk would drop.
  let restUpper = false
  prev = 0
  for (; i < n; i++) {
    c = s.charCodeAt(i)
    if (c === QUESTION || c === HASH) break
    if (c === PERCENT || c === BACKSLASH || c > 0x7f) return null
    if (prev === SLASH && (c === SLASH || c === DOT)) return null
    if (c >= 0x41 && c <= 0x5a) restUpper = true
    prev = c
  }
  const pathEnd = i
  // The query, up to the fragment: kept as written but lowercased (non-ASCII too: toLowerCase).
  let queryEnd = pathEnd
  if (pathEnd < n && s.charCodeAt(pathEnd) === QUESTION) {
    for (i++; i < n; i++) {
      c = s.charCodeAt(i)
      if (c === HASH) break
      if ((c >= 0x41 && c <= 0x5a) || c > 0x7f) restUpper = true
    }
    queryEnd = i
  }
  // The host, without one leading `www.` (stripped only when something follows it).
  let h = start
  if (hostEnd - start > 4 && (s.charCodeAt(start) | 0x20) === 0x77 && (s.charCodeAt(start + 1) | 0x20) === 0x77 &&
    (s.charCodeAt(start + 2) | 0x20) === 0x77 && s.charCodeAt(start + 3) === DOT) h += 4
  const host = upper ? s.slice(h, hostEnd).toLowerCase() : s.slice(h, hostEnd)
  const trailing = pathEnd > next && s.charCodeAt(pathEnd - 1) === SLASH ? 1 : 0
  let rest: string
  if (queryEnd - pathEnd <= 1) rest = s.slice(next, pathEnd - trailing) // no query, or an empty one
  else if (trailing === 0) rest = s.slice(next, queryEnd)
  else rest = s.slice(next, pathEnd - 1) + s.slice(pathEnd, queryEnd)
  if (restUpper) rest = rest.toLowerCase()
  return { host, rest, value: host + rest }
}
