/**
 * The fast path of the `cef` preset (the FortiSIEM guide's rules, presets.ts): one pass over the
 * event bytes for RE_HASH, RE_IP and SRC_IP, with exactly RE2's spans (checked against RE2 by
 * test/extract/scan-cef.test.ts). RE_URL, with its Unicode host labels, stays on RE2: the pass only
 * notes whether the event holds `://` at all, which its pattern needs, so RE2 runs only then, and
 * whether the event is all ASCII, so that a cheaper ASCII twin of the pattern can run instead.
 */
import type { Candidates } from './types.js'
import { sortByRule } from './scanner.js'

const COLON = 0x3a
const SLASH = 0x2f
const EQ = 0x3d
const DOT = 0x2e

/** Rule indices (into Extractor.rules) of the three rules the pass finds. */
export interface CefScanRules { hash: number, dst: number, src: number }

const HEX = new Uint8Array(256)
for (const ch of '0123456789abcdefABCDEF') HEX[ch.charCodeAt(0)] = 1

/** RE2's `\s`: tab, newline, form feed, carriage return, space (not vertical tab). */
function space (c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d
}

/**
 * End of `\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}` at buf[p] when the end of the event or RE2's `\s`
 * follows it, else 0 (the guide's RE_IP, SRC_IP and DeviceIp tail; octets are not range-checked,
 * the matcher's parseIpv4 refuses `999`).
 */
function guideQuad (buf: Uint8Array, p: number, end: number): number {
  let i = p
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (i >= end || buf[i] !== DOT) return 0
      i++
    }
    const s = i
    while (i < end && i - s < 4 && buf[i] >= 0x30 && buf[i] <= 0x39) i++
    if (i === s || i - s > 3) return 0
  }
  return i === end || space(buf[i]) ? i : 0
}

/** Pushes RE_HASH's spans in the hex run buf[a, b): greedy 64-digit chunks while 32 are left. */
function hashChunks (a: number, b: number, rule: number, out: Candidates): void {
  while (b - a >= 32) {
    const e = b - a >= 64 ? a + 64 : b
    out.push(rule, a, e)
    a = e
  }
}

/**
 * Scans buf[start, end) for the cef preset's RE_HASH, RE_IP (`dst=`) and SRC_IP (`src=`) spans,
 * appended to `out` ordered by rule then position. Returns NO_URL when the event has no `://`,
 * else URL_ASCII or URL_UNICODE: whether every byte is ASCII (see asciiUrlPattern).
 */
export function scanCef (buf: Uint8Array, start: number, end: number, rules: CefScanRules, out: Candidates): number {
  let run = -1
  let dst = false
  let src = false
  let url = false
  let high = 0
  // Hot path: every event goes through this loop once.
  for (let i = start; i < end; i++) {
    const c = buf[i]
    if (HEX[c] === 1) {
      if (run < 0) run = i
      continue
    }
    if (run >= 0) {
      if (i - run >= 32) hashChunks(run, i, rules.hash, out)
      run = -1
    }
    high |= c
    if (c === EQ && i - 3 >= start) {
      // `dst=` and `src=` have no boundary before them in the guide: `xdst=` counts too.
      const a = buf[i - 3]
      const b = buf[i - 2]
      const z = buf[i - 1]
      if (!dst && a === 0x64 && b === 0x73 && z === 0x74) {
        const e = guideQuad(buf, i + 1, end)
        if (e > 0) { out.push(rules.dst, i + 1, e); dst = true }
      } else if (!src && a === 0x73 && b === 0x72 && z === 0x63) {
        const e = guideQuad(buf, i + 1, end)
        if (e > 0) { out.push(rules.src, i + 1, e); src = true }
      }
    } else if (c === COLON && !url && i + 2 < end && buf[i + 1] === SLASH && buf[i + 2] === SLASH) {
      url = true
    }
  }
  if (run >= 0 && end - run >= 32) hashChunks(run, end, rules.hash, out)
  if (out.n > 1) sortByRule(out)
  return !url ? NO_URL : (high & 0x80) === 0 ? URL_ASCII : URL_UNICODE
}

/** scanCef's answers: no `://` in the event; `://` in an all-ASCII event; `://` and other bytes. */
export const NO_URL = 0
export const URL_ASCII = 1
export const URL_UNICODE = 2

/**
 * The ASCII twin of a pattern whose only Unicode classes are `\pL` and `\pN` inside brackets:
 * on ASCII text they are exactly `A-Za-z` and `0-9`, and RE2 runs the small classes about twice
 * as fast (the preset's RE_URL takes some 9 us an event with its Unicode host labels).
 */
export function asciiUrlPattern (pattern: string): string {
  return pattern.replaceAll('\\pL', 'A-Za-z').replaceAll('\\pN', '0-9')
}
