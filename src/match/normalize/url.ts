import { locateHost, normalizeHost, trimControls } from './host.js'
import { plainUrl } from './url-plain.js'

/** A normalized URL: `value` is `host + rest`; `rest` is '' or starts with `/` or `?`. */
export interface NormalizedUrl { host: string, rest: string, value: string }

function hexValue (c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  const l = c | 0x20
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : -1
}

/** The byte of a `%XX` at s[i], or -1 when there is none. */
function escapedByte (s: string, i: number): number {
  if (s.charCodeAt(i) !== 0x25 || i + 2 >= s.length) return -1
  const hi = hexValue(s.charCodeAt(i + 1))
  const lo = hexValue(s.charCodeAt(i + 2))
  return hi < 0 || lo < 0 ? -1 : (hi << 4) | lo
}

/**
 * Length of the UTF-8 sequence of escapes starting at s[i] (lead byte `b`), or 0 if it is not a
 * valid one. The ranges are those of the Unicode standard (table 3-7): no overlong forms, no
 * surrogates, nothing past U+10FFFF.
 */
function sequenceLength (s: string, i: number, b: number): number {
  let n: number
  let lo = 0x80
  let hi = 0xbf
  if (b < 0x80) return 1
  if (b >= 0xc2 && b <= 0xdf) n = 2
  else if (b >= 0xe0 && b <= 0xef) { n = 3; if (b === 0xe0) lo = 0xa0; else if (b === 0xed) hi = 0x9f }
  else if (b >= 0xf0 && b <= 0xf4) { n = 4; if (b === 0xf0) lo = 0x90; else if (b === 0xf4) hi = 0x8f }
  else return 0
  for (let k = 1; k < n; k++) {
    const c = escapedByte(s, i + 3 * k)
    if (c < lo || c > hi) return 0
    lo = 0x80
    hi = 0xbf
  }
  return n
}

/** Decodes `%XX` escapes once, as UTF-8; escapes that do not form valid UTF-8 stay as written. */
export function percentDecode (s: string): string {
  let i = s.indexOf('%')
  if (i === -1) return s
  let out = ''
  let copied = 0
  for (; i !== -1; i = s.indexOf('%', i)) {
    const b = escapedByte(s, i)
    const n = b < 0 ? 0 : sequenceLength(s, i, b)
    if (n === 0) { i++; continue }
    let cp = n === 1 ? b : b & (0xff >> (n + 1))
    for (let k = 1; k < n; k++) cp = (cp << 6) | (escapedByte(s, i + 3 * k) & 0x3f)
    out += s.slice(copied, i) + String.fromCodePoint(cp)
    i += 3 * n
    copied = i
  }
  return out + s.slice(copied)
}

/** True when the path needs the segment walk: separators to fix, dot segments or a trailing `/`. */
function needsWalk (p: string): boolean {
  return p.includes('\\') || p.includes('//') || p.includes('/.') || p.charCodeAt(p.length - 1) === 0x2f
}

/**
 * The path rules of DESIGN.md section 3: percent-decode once, lowercase, `\` to `/`, collapse
 * `//`, resolve `.` and `..` (never above the root), no trailing `/`. Returns '' or `/...`.
 */
function normalizePath (p: string): string {
  if (p.length === 0) return p
  // Decoded first, so an escaped `/` or `.` takes part in collapsing and resolving: `%2F..%2F`
  // must not hide a `..` from the walk (an evasion seen in phishing URLs).
  p = percentDecode(p).toLowerCase()
  if (!needsWalk(p)) return p
  const segs: string[] = []
  let start = 0
  for (let i = 0; i <= p.length; i++) {
    const c = i < p.length ? p.charCodeAt(i) : 0x2f
    if (c !== 0x2f && c !== 0x5c) continue
    const seg = p.slice(start, i)
    start = i + 1
    if (seg === '' || seg === '.') continue
    if (seg === '..') segs.pop()
    else segs.push(seg)
  }
  return segs.length === 0 ? '' : '/' + segs.join('/')
}

const WILDCARD = { wildcard: true }

/**
 * Kaspersky's feed URL normalization (DESIGN.md section 3) to `host[/path][?query]`: no scheme,
 * userinfo, port or fragment; lowercase; host as normalizeHost. With `mask`, `*` is kept
 * everywhere (feed URL masks). Null when there is no valid host. Hot path: runs per extracted URL;
 * most take plainUrl (url-plain.ts), the rest the general algorithm below.
 */
export function normalizeUrl (s: string, opts?: { mask?: boolean }): NormalizedUrl | null {
  // A `*` in a mask's host or port never passes plainUrl, and elsewhere means the same in both
  // paths, so masks may take the shortcut too.
  return plainUrl(s) ?? normalizeUrlGeneral(s, opts)
}

/** normalizeUrl without the fast path: every URL the long way (test/match/url-plain.test.ts compares the two). */
export function normalizeUrlGeneral (s: string, opts?: { mask?: boolean }): NormalizedUrl | null {
  s = trimControls(s)
  const mask = opts?.mask === true
  const span = locateHost(s, mask)
  if (span === null || span.start === span.end) return null
  let rawHost = s.slice(span.start, span.end)
  // Browsers decode an escaped host before resolving it, so `%65vil.com` goes to evil.com.
  if (rawHost.includes('%')) rawHost = percentDecode(rawHost)
  const host = normalizeHost(rawHost, mask ? WILDCARD : undefined)
  if (host === null) return null
  let end = s.indexOf('#', span.next)
  if (end === -1) end = s.length
  let q = s.indexOf('?', span.next)
  if (q >= end) q = -1
  const path = normalizePath(s.slice(span.next, q === -1 ? end : q))
  const query = q === -1 ? '' : s.slice(q + 1, end).toLowerCase()
  const rest = query === '' ? path : `${path}?${query}`
  return { host, rest, value: host + rest }
}
