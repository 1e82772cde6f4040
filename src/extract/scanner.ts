/**
 * The fast path of the `generic` preset: one pass over the event bytes, no regex, no string, no
 * allocation, that yields exactly the spans RE2 yields for the preset's lookup rules (presets.ts
 * defines them; test/extract/scanner.test.ts checks the two against each other on random events).
 *
 * Each rule is its own RE2 search, so each keeps its own "next search starts here" cursor: a URL
 * does not hide the IP or the hash inside it, exactly as with one RE2 run per rule. Matches can
 * start only at a word start (or at `::` for IPv6), so the pass walks whole words.
 */
import type { Candidates } from './types.js'
import { longColonRunEnd, matchIpv4, matchIpv6 } from './ip-scan.js'

export { parseIpv4 } from './ip-scan.js'

const WORD = 1
const HEX = 2
const DIGIT = 4
/** An ASCII byte allowed in a URL body. */
const URL_CHAR = 8
/** An ASCII byte a URL may end with (not closing punctuation). */
const URL_LAST = 16

const COLON = 0x3a
const DOT = 0x2e
const SLASH = 0x2f

/** Byte classes, ASCII only: RE2's `\w` and `\b` are ASCII, and bytes >= 0x80 are never word bytes. */
const CLASS = new Uint8Array(256)
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c)
  if (/\w/.test(ch)) CLASS[c] |= WORD
  if (/[0-9a-fA-F]/.test(ch)) CLASS[c] |= HEX
  if (/[0-9]/.test(ch)) CLASS[c] |= DIGIT
  if (c > 0x20 && c < 0x7f && !'"\'<>'.includes(ch)) {
    CLASS[c] |= URL_CHAR
    if (!')]},;.'.includes(ch)) CLASS[c] |= URL_LAST
  }
}

/**
 * Length of the non-ASCII character at buf[i] as RE2 reads it in a negated class, or 0.
 * RE2 compiles "any code point from U+0080" to loose UTF-8 (its Add_80_10ffff): a lead byte
 * C2-DF, E0-EF or F0-F4 and 1, 2 or 3 bytes 80-BF. So surrogates and some overlong forms pass;
 * C0, C1, F5-FF and stray continuation bytes never match and end a URL.
 */
function utf8Len (buf: Uint8Array, i: number, end: number): number {
  const c = buf[i]
  const n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0
  if (n === 0 || i + n > end) return 0
  for (let k = 1; k < n; k++) if ((buf[i + k] & 0xc0) !== 0x80) return 0
  return n
}

/** End of the URL whose scheme is the word buf[i, j), or 0. The caller checked the scheme. */
function matchUrl (buf: Uint8Array, j: number, end: number): number {
  if (j + 3 > end || buf[j] !== COLON || buf[j + 1] !== SLASH || buf[j + 2] !== SLASH) return 0
  let pos = j + 3
  let last = 0
  // Hot path inside URLs: one table lookup a byte.
  while (pos < end) {
    const c = buf[pos]
    if (c < 0x80) {
      const k = CLASS[c]
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

/** End of the dotted run `\w+(\.\w+)*` that starts with the word buf[i, j), and its group count. */
let runParts = 0
function dottedRunEnd (buf: Uint8Array, j: number, end: number): number {
  let parts = 1
  let pos = j
  while (pos + 1 < end && buf[pos] === DOT && (CLASS[buf[pos + 1]] & WORD) !== 0) {
    pos += 2
    while (pos < end && (CLASS[buf[pos]] & WORD) !== 0) pos++
    parts++
  }
  runParts = parts
  return pos
}

/** Which rule index (into Extractor.rules) each scanned kind is reported as; -1 leaves it out. */
export interface ScanRules { url: number, ip: number, md5: number, sha1: number, sha256: number }

/**
 * Scans buf[start, end) and appends the spans of the generic preset's lookup rules to `out`
 * (already cleared on `buf`), ordered by rule index then position, as one RE2 run per rule would.
 */
export function scanGeneric (buf: Uint8Array, start: number, end: number, rules: ScanRules, out: Candidates): void {
  let urlNext = start
  let ipNext = start
  // Inside a dotted run already measured at fewer than five groups, no later word can start one.
  let shortRunEnd = start
  let i = start
  // Hot path: every event goes through this loop once.
  while (i < end) {
    const c = buf[i]
    const k = CLASS[c]
    if ((k & WORD) === 0) {
      // `::` can start an IPv6 form, when the byte before it is not a word byte.
      if (c === COLON && i >= ipNext && i + 1 < end && buf[i + 1] === COLON &&
          (i === start || (CLASS[buf[i - 1]] & WORD) === 0)) {
        const e = matchIpv6(buf, i, end)
        if (e > 0) { out.push(rules.ip, i, e); ipNext = e }
      }
      i++
      continue
    }
    // A word starts at i: walk it whole, noting whether it is all hex.
    let j = i + 1
    let hexOnly = k & HEX
    while (j < end) {
      const kj = CLASS[buf[j]]
      if ((kj & WORD) === 0) break
      hexOnly &= kj
      j++
    }
    const len = j - i
    if (hexOnly !== 0 && (len === 32 || len === 40 || len === 64)) {
      out.push(len === 32 ? rules.md5 : len === 40 ? rules.sha1 : rules.sha256, i, j)
    }
    // A URL and every form of RE_IP need a `:` or a `.` right after their first word; most
    // words are followed by neither, so this one test skips the rest for them.
    const d = j < end ? buf[j] : 0
    if (d === COLON) {
      if (i >= urlNext && len <= 5 && isScheme(buf, i, j)) {
        const e = matchUrl(buf, j, end)
        if (e > 0) { out.push(rules.url, i, e); urlNext = e }
      }
      if (i >= ipNext && hexOnly !== 0 && len <= 4) {
        const runEnd = longColonRunEnd(buf, i, end)
        if (runEnd > 0) {
          ipNext = runEnd // eaten by RE_IP's second branch: no value
        } else {
          const e = matchIpv6(buf, i, end)
          if (e > 0) { out.push(rules.ip, i, e); ipNext = e }
        }
      }
    } else if (d === DOT && i >= ipNext) {
      if (i >= shortRunEnd) {
        const runEnd = dottedRunEnd(buf, j, end)
        if (runParts >= 5) ipNext = runEnd // eaten by RE_IP's first branch: no value
        else shortRunEnd = runEnd
      }
      if (i >= ipNext && (k & DIGIT) !== 0 && len <= 3) {
        const e = matchIpv4(buf, i, end)
        if (e > 0) { out.push(rules.ip, i, e); ipNext = e }
      }
    }
    i = j
  }
  if (out.n > 1) sortByRule(out)
}

/** Stable insertion sort by rule: a pass finds spans in position order, RE2 reports rule by rule. */
export function sortByRule (out: Candidates): void {
  const { rule, start, end } = out
  for (let a = 1; a < out.n; a++) {
    const r = rule[a]
    if (rule[a - 1] <= r) continue
    const s = start[a]
    const e = end[a]
    let b = a - 1
    while (b >= 0 && rule[b] > r) {
      rule[b + 1] = rule[b]; start[b + 1] = start[b]; end[b + 1] = end[b]
      b--
    }
    rule[b + 1] = r; start[b + 1] = s; end[b + 1] = e
  }
}
