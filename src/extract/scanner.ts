/**
 * The fast path of the `generic` preset: passes over the event bytes, no regex, no string, no
 * allocation, that yield exactly the spans RE2 yields for the preset's lookup rules (presets.ts
 * defines them; test/extract/scanner.test.ts checks the two against each other on random events
 * and batches).
 *
 * Each rule is its own RE2 search with its own cursor, so a URL does not hide the IP or the hash
 * inside it, and the output is ordered by rule then position: each kind gets a pass of its own,
 * and each pass leaves most bytes unread. URLs come from the colons that a native search (memchr)
 * finds, IPs from the dots and colons (ip-scan.ts), hashes from a stride over the bytes. On log
 * text this is about twice as fast as one pass reading every byte (bench/extract.bench.mjs).
 */
import type { Candidates } from './types.js'
import { CLASS, find, haystack, HEX, MARK, scanIps, SHORT, WORD } from './ip-scan.js'

export { parseIpv4 } from './ip-scan.js'

const COLON = 0x3a
const SLASH = 0x2f

/** An ASCII byte allowed in a URL body. */
const URL_CHAR = 1
/** An ASCII byte a URL may end with (not closing punctuation). */
const URL_LAST = 2
const URL_CLASS = new Uint8Array(128)
for (let c = 0x21; c < 0x7f; c++) {
  const ch = String.fromCharCode(c)
  if ('"\'<>'.includes(ch)) continue
  URL_CLASS[c] = URL_CHAR
  if (!')]},;.'.includes(ch)) URL_CLASS[c] |= URL_LAST
}

/**
 * Length of the non-ASCII character at buf[i] as RE2 reads it in a negated class, or 0.
 * RE2 compiles "any code point from U+0080" to loose UTF-8 (its Add_80_10ffff): a lead byte
 * C2-DF, E0-EF or F0-F4 and 1, 2 or 3 bytes 80-BF. So surrogates and some overlong forms pass;
 * C0, C1, F5-FF and stray continuation bytes never match and end a URL.
 */
export function utf8Len (buf: Uint8Array, i: number, end: number): number {
  const c = buf[i]
  const n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0
  if (n === 0 || i + n > end) return 0
  for (let k = 1; k < n; k++) if ((buf[i + k] & 0xc0) !== 0x80) return 0
  return n
}

/** End of the URL body after the `://` at buf[j], or 0 when it is empty. */
function urlBodyEnd (buf: Uint8Array, j: number, end: number): number {
  let pos = j + 3
  let last = 0
  // Hot path inside URLs: one table lookup a byte.
  while (pos < end) {
    const c = buf[pos]
    if (c < 0x80) {
      const k = URL_CLASS[c]
      if ((k & URL_CHAR) === 0) break
      pos++
      if ((k & URL_LAST) !== 0) last = pos
    } else {
      const n = utf8Len(buf, pos, end)
      if (n === 0) break
      pos += n
      last = pos
    }
  }
  return last
}

/** True when buf[i, j) is `http`, `https` or `ftp` in any ASCII case. */
function isScheme (buf: Uint8Array, i: number, j: number): boolean {
  const n = j - i
  if (n === 3) return (buf[i] | 0x20) === 0x66 && (buf[i + 1] | 0x20) === 0x74 && (buf[i + 2] | 0x20) === 0x70
  if (n !== 4 && n !== 5) return false
  return (buf[i] | 0x20) === 0x68 && (buf[i + 1] | 0x20) === 0x74 && (buf[i + 2] | 0x20) === 0x74 &&
    (buf[i + 3] | 0x20) === 0x70 && (n === 4 || (buf[i + 4] | 0x20) === 0x73)
}

/** Colons that a hex digit or a colon follows, for scanIps (grown for events with many; never shrunk). */
let ipColons = new Int32Array(64)

/**
 * RE_URL's values: every URL has `://` after its scheme, so only the colons are looked at, which
 * a native search finds (`find`). Notes in ipColons the colons an IPv6 may hold; returns their count.
 */
function scanUrls (buf: Uint8Array, hay: Uint8Array, base: number, start: number, end: number, rule: number, out: Candidates): number {
  let n = 0
  let next = start // RE2's cursor: the next URL starts at or after the end of the last one
  let p = find(hay, base, COLON, start, end)
  // Hot path: one native search a colon; the bytes between are not read.
  while (p >= 0 && p + 1 < end) {
    const d = buf[p + 1]
    if ((CLASS[d] & HEX) !== 0 || d === COLON) {
      if (n === ipColons.length) { const grown = new Int32Array(n * 2); grown.set(ipColons); ipColons = grown }
      ipColons[n++] = p
      // Colons before hex come in runs (times, MAC fields, IPv6): the next one is often a few
      // bytes on, where reading them costs less than a native call.
      if (p + 5 < end) {
        const q = buf[p + 2] === COLON ? p + 2 : buf[p + 3] === COLON ? p + 3 : buf[p + 4] === COLON ? p + 4 : buf[p + 5] === COLON ? p + 5 : 0
        if (q > 0) { p = q; continue }
      }
    } else if (d === SLASH && p >= next && rule >= 0 && p + 3 < end && buf[p + 2] === SLASH) {
      // The scheme is the word that ends at the colon; six bytes back is enough to refuse it.
      let s = p
      while (s > start && p - s < 6 && (CLASS[buf[s - 1]] & WORD) !== 0) s--
      if (s >= next && (s === start || (CLASS[buf[s - 1]] & WORD) === 0) && isScheme(buf, s, p)) {
        const e = urlBodyEnd(buf, p, end)
        if (e > 0) { out.push(rule, s, e); next = e }
      }
    }
    p = find(hay, base, COLON, p + 1, end)
  }
  return n
}

/**
 * RE_MD5, RE_SHA1 and RE_SHA256's values: whole words of 32, 40 or 64 hex digits. A hex run of 32
 * or more that starts in [i, i+31] covers byte i+31, so when that byte is not hex the next 32
 * bytes are skipped unread (Horspool's stride). When it is, the run holding it starts at some r
 * in [i, i+31]: the runs that can still reach 32 start in [r, r+31] and so cover byte r+31, and
 * when that byte is not hex they are skipped too. Only then is the run measured forward.
 */
function scanHashes (buf: Uint8Array, start: number, end: number, rules: ScanRules, out: Candidates): void {
  let i = start // buf[i - 1] is not hex, or i is the event start
  // Hot path: most probes land on a byte that is not hex, or in a short word.
  while (i + 32 <= end) {
    const p = i + 31
    if ((CLASS[buf[p]] & HEX) === 0) { i = p + 1; continue }
    let r = p
    while (r > i && (CLASS[buf[r - 1]] & HEX) !== 0) r--
    const z = r + 31
    if (z >= end) return
    if (z > p && (CLASS[buf[z]] & HEX) === 0) { i = z + 1; continue }
    let q = p + 1
    while (q < end && (CLASS[buf[q]] & HEX) !== 0) q++
    const n = q - r
    if ((n === 32 || n === 40 || n === 64) && (r === start || (CLASS[buf[r - 1]] & WORD) === 0) &&
        (q === end || (CLASS[buf[q]] & WORD) === 0)) {
      const rule = n === 32 ? rules.md5 : n === 40 ? rules.sha1 : rules.sha256
      if (rule >= 0) out.push(rule, r, q)
    }
    i = q + 1
  }
}

/** Which rule index (into Extractor.rules) each scanned kind is reported as; -1 leaves it out. */
export interface ScanRules { url: number, ip: number, md5: number, sha1: number, sha256: number }

/**
 * Scans buf[start, end) and appends the spans of the generic preset's lookup rules to `out`
 * (already cleared on `buf`), ordered by rule index then position, as one RE2 run per rule would.
 */
export function scanGeneric (buf: Uint8Array, start: number, end: number, rules: ScanRules, out: Candidates): void {
  if (end - start <= SHORT) {
    // A tiny event: one loop tells whether it has a dot or a colon at all (a hash needs 32 bytes).
    let k = 0
    for (let i = start; i < end; i++) k |= CLASS[buf[i]]
    if ((k & MARK) === 0) return
  }
  const hay = haystack(buf, start, end)
  const base = hay === buf ? 0 : start
  const n = scanUrls(buf, hay, base, start, end, rules.url, out)
  if (rules.ip >= 0) scanIps(buf, hay, base, start, end, ipColons, n, rules.ip, out)
  scanHashes(buf, start, end, rules, out)
  if (out.n > 1) sortByRule(out)
}

/** Stable insertion sort by rule: a pass finds spans in position order, RE2 reports rule by rule. */
export function sortByRule (out: Candidates): void {
  const { rule, start, end, ipv4 } = out
  for (let a = 1; a < out.n; a++) {
    const r = rule[a]
    if (rule[a - 1] <= r) continue
    const s = start[a]
    const e = end[a]
    const v = ipv4[a]
    let b = a - 1
    while (b >= 0 && rule[b] > r) {
      rule[b + 1] = rule[b]; start[b + 1] = start[b]; end[b + 1] = end[b]; ipv4[b + 1] = ipv4[b]
      b--
    }
    rule[b + 1] = r; start[b + 1] = s; end[b + 1] = e; ipv4[b + 1] = v
  }
}
