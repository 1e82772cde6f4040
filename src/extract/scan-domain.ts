/**
 * Bare domains (`query=evil.example`, Zeek's query column, a TLS SNI, `CONNECT host:443`,
 * `rhost=`): the DOMAIN rule of the `dns` preset, on the byte scanner. Its RE2 pattern (DOMAIN
 * below) defines it; this pass yields exactly RE2's spans (test/extract/scan-domain.test.ts checks
 * the two on random events), reading only the dotted runs a native search for `.` finds.
 *
 * The semantics, precisely (`word` = ASCII `[0-9A-Za-z_]`, as RE2's `\w`; a run is a maximal
 * stretch of `[\w.-]`): a domain is labels of `[\w-]` joined by single dots whose last label is a
 * top-level domain (the IANA list of the `tlds` package, ASCII forms, and the names reserved for
 * tests and private use: example, test, invalid, localhost, local, internal, lan, home, corp,
 * onion, arpa), at least two labels, starting at a word byte whose previous byte is not one, and
 * ending where the run ends (trailing dots left out) or before `..`. So `report.pdf`, `v1.2.3`
 * and `evil.com.pdf` give nothing, `x-evil.com` gives all of it, `evil.example.` gives
 * `evil.example`. A run right after `/` or `@` is a URL path, a URL's host or a mail address and
 * gives nothing (URLs are RE_URL's; a domain taken from inside them would detect twice).
 */
import { createRequire } from 'node:module'
import { domainToASCII } from 'node:url'
import type { Candidates } from './types.js'
import { CLASS, find, WORD } from './ip-scan.js'
import { utf8Len } from './scanner.js'

const DOT = 0x2e
const DASH = 0x2d
const SLASH = 0x2f
const AT = 0x40

// The package is one JSON array (its main); require reads JSON without an import attribute.
const TLDS = createRequire(import.meta.url)('tlds') as string[]
const RESERVED = ['example', 'test', 'invalid', 'localhost', 'local', 'internal', 'lan', 'home', 'corp', 'onion', 'arpa']

/** Top-level domains in their ASCII (punycode) form, lowercase. */
export const TLD_SET: ReadonlySet<string> = new Set([...TLDS.map((t) => domainToASCII(t)), ...RESERVED]
  .filter((t) => /^[a-z0-9-]+$/.test(t)))

// Each TLD spelled with per-letter case classes, not `(?i)`. RE2 reads `[aA]` as a case-folded
// literal, and where it merges such literals of several alternatives into one class it adds the
// letter's whole Unicode fold orbit: U+212A (Kelvin sign) for `k`, U+017F (long s) for `s`, the
// two ASCII letters with one. For those two, `(?:k|K)` gives a class of exactly the two bytes.
const letter = (c: string): string => c === 'k' || c === 's' ? `(?:${c}|${c.toUpperCase()})` : `[${c}${c.toUpperCase()}]`
const tldAlternation = [...TLD_SET].sort((a, b) => b.length - a.length || (a < b ? -1 : 1))
  .map((t) => t.replace(/[a-z]/g, letter)).join('|')

/**
 * The RE2 pattern of the `dns` preset's RE_DOMAIN. Its first branch captures nothing: it eats a
 * run after `/` or `@`, as RE2 has no look-behind. The trailing group checks where the domain ends.
 */
export const DOMAIN = `[/@][\\w.-]+|\\b((?:[\\w-]+\\.)+(?:${tldAlternation}))(?:$|[^\\w.-]|\\.(?:$|[^\\w-]))`

/** A byte of a run: `[\w.-]`. */
function inRun (c: number): boolean {
  return (CLASS[c] & WORD) !== 0 || c === DOT || c === DASH
}

// The last label, lowercased into a string only for runs that get this far (few per event).
function isTld (buf: Uint8Array, from: number, to: number): boolean {
  if (to - from > 63) return false
  let t = ''
  for (let i = from; i < to; i++) {
    const c = buf[i]
    t += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c | 0x20 : c)
  }
  return TLD_SET.has(t)
}

/**
 * How many bytes RE2's trailing group takes after a domain ending at q, or -1 when it fails there
 * (a byte that is not UTF-8 matches no class in RE2).
 */
function tailLength (buf: Uint8Array, q: number, end: number): number {
  if (q === end) return 0
  const c = buf[q]
  if (c !== DOT) {
    if (c < 0x80) return (CLASS[c] & WORD) === 0 && c !== DASH ? 1 : -1
    const n = utf8Len(buf, q, end)
    return n > 0 ? n : -1
  }
  if (q + 1 === end) return 1
  const d = buf[q + 1]
  if (d < 0x80) return (CLASS[d] & WORD) === 0 && d !== DASH ? 2 : -1
  const n = utf8Len(buf, q + 1, end)
  return n > 0 ? 1 + n : -1
}

/**
 * RE_DOMAIN's values in buf[start, end), appended to `out` as rule `rule`, in position order.
 * `hay`/`base` as for ip-scan.ts's find. Hot path of the `dns` preset: one native search per run.
 */
export function scanDomains (buf: Uint8Array, hay: Uint8Array, base: number, start: number, end: number, rule: number, out: Candidates): void {
  let consumed = start // RE2's cursor after the last domain and its trailing group
  let dot = find(hay, base, DOT, start, end)
  while (dot >= 0) {
    let rs = dot
    while (rs > start && inRun(buf[rs - 1])) rs--
    let re = dot + 1
    while (re < end && inRun(buf[re])) re++
    const before = rs > start ? buf[rs - 1] : -1
    if (!((before === SLASH || before === AT) && rs - 1 >= consumed)) consumed = runDomains(buf, rs, re, end, consumed, rule, out)
    dot = re < end ? find(hay, base, DOT, re, end) : -1
  }
}

// The domains of one run [rs, re): one at most per stretch between `..`. Returns the cursor.
function runDomains (buf: Uint8Array, rs: number, re: number, end: number, consumed: number, rule: number, out: Candidates): number {
  let k = Math.max(rs, consumed)
  while (k < re) {
    // The first word byte: RE2's leftmost start (dots and hyphens before it cannot start a match).
    while (k < re && (CLASS[buf[k]] & WORD) === 0) k++
    if (k >= re) break
    const p = k
    let lastDot = -1
    // The end: the run's end, a trailing dot, or the first dot of `..`.
    while (k < re && !(buf[k] === DOT && (k + 1 === re || buf[k + 1] === DOT))) {
      if (buf[k] === DOT) lastDot = k
      k++
    }
    const q = k
    const t = lastDot > p && isTld(buf, lastDot + 1, q) ? tailLength(buf, q, end) : -1
    if (t >= 0) {
      out.push(rule, p, q)
      consumed = q + t
      k = Math.max(k, consumed)
      continue
    }
    // Past the dots that end this stretch.
    while (k < re && buf[k] === DOT) k++
  }
  return consumed
}
