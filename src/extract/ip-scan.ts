/**
 * IP address recognition on raw bytes for the scanner (and `parseIpv4` for the matcher): the same
 * forms as RE_IP in presets.ts, with no allocation. Octets are decimal 0-255 without leading zeros.
 *
 * `scanIps` finds RE_IP's spans without reading most bytes of the event. Every byte RE_IP can
 * match or eat is a word byte, `.` or `:`, so its matches never leave a *zone* (a maximal run of
 * those bytes), and zones are independent: a match ends inside its zone, so RE2's cursor is back
 * before the next zone's start. Only zones with a dot between two digits (every IPv4 has one) or
 * a colon before a hex digit or a colon (every IPv6 has one) can give a value; such bytes are few
 * in log text, so a native search finds the dots, the URL pass the colons, and only the zones
 * around them are read.
 *
 * The byte classes and the native search (`find`) are shared with scanner.ts.
 */
import type { Candidates } from './types.js'

const DOT = 0x2e
const COLON = 0x3a

/** memchr from JS: Buffer's indexOf, which takes any Uint8Array (always given a number offset). */
const indexOf = Buffer.prototype.indexOf as (this: Uint8Array, value: number, byteOffset: number) => number

/**
 * Native searches run on the batch buffer itself, so an event costs no view (a view costs as much
 * as 3 searches): a search that finds nothing more in the event runs on into the next events,
 * usually a few bytes. Where a batch has long stretches without the byte, that would be a long run
 * for every event, so after one of more than OVERRUN bytes, the events before the byte it found
 * search views of their own. The batch is known by its length only (no reference kept, so no
 * batch stays alive for it): a wrong guess costs a view, never a span.
 */
const OVERRUN = 1024
let sparseUntil = 0
let sparseLength = -1

/** Up to this many bytes, a JS loop costs less than a native call (about 10 ns here) and never overruns. */
export const SHORT = 16

/** Where the native searches of the event buf[start, end) run: buf itself, or a view of the event. */
export function haystack (buf: Uint8Array, start: number, end: number): Uint8Array {
  return start < sparseUntil && buf.length === sparseLength && end - start > SHORT ? buf.subarray(start, end) : buf
}

/**
 * The first `value` in buf[from, end), or -1. `hay` is buf (base 0) or the view buf[base, end).
 * Hot path: a dozen calls an event.
 */
export function find (hay: Uint8Array, base: number, value: number, from: number, end: number): number {
  if (end - from <= SHORT) {
    for (let i = from; i < end; i++) if (hay[i - base] === value) return i
    return -1
  }
  const r = indexOf.call(hay, value, from - base)
  const at = r < 0 ? base + hay.length : base + r
  if (at < end) return at
  if (at - end > OVERRUN && (hay.length !== sparseLength || at > sparseUntil)) {
    sparseUntil = at
    sparseLength = hay.length
  }
  return -1
}

/** Byte classes shared with scanner.ts, ASCII only: RE2's `\w` and `\b` are ASCII, bytes >= 0x80 are never word bytes. */
export const WORD = 1
export const HEX = 2
export const DIGIT = 4
/** A byte an RE_IP match or eaten run can hold: a word byte, `.` or `:`. */
const ZONE = 8
/** `.` or `:`: every IP and URL value has one. */
export const MARK = 16
export const CLASS = new Uint8Array(256)
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c)
  if (/\w/.test(ch)) CLASS[c] |= WORD | ZONE
  if (/[0-9a-fA-F]/.test(ch)) CLASS[c] |= HEX
  if (/[0-9]/.test(ch)) CLASS[c] |= DIGIT
  if (ch === '.' || ch === ':') CLASS[c] |= ZONE | MARK
}

/** ASCII word byte, as RE2's `\b` sees it. */
function word (c: number): boolean {
  return (CLASS[c] & WORD) !== 0
}

function hexDigit (c: number): boolean {
  return (CLASS[c] & HEX) !== 0
}

/**
 * Reads one octet at buf[i]: sets `octet` and returns the index after it, or -1. The digit run
 * must be the octet whole (the caller needs a `.` or a word end after it anyway).
 */
let octet = 0
function readOctet (buf: Uint8Array, i: number, end: number): number {
  let v = 0
  let n = 0
  while (i + n < end && n < 4) {
    const c = buf[i + n]
    if (c < 0x30 || c > 0x39) break
    v = v * 10 + c - 0x30
    n++
  }
  if (n === 0 || n > 3 || (n > 1 && buf[i] === 0x30) || v > 255) return -1
  octet = v
  return i + n
}

/** The address the last matchIpv4 that succeeded read, as an unsigned 32-bit number. */
let matchedIpv4 = 0

/**
 * End of the dotted quad at buf[p] when a word end follows it (RE2's `IPV4\b`), else 0, and the
 * address in matchedIpv4. Hot path (every IPv4 of every event): octets are read digit by digit,
 * unrolled.
 */
export function matchIpv4 (buf: Uint8Array, p: number, end: number): number {
  let i = p
  let addr = 0
  for (let part = 0; ; part++) {
    if (i >= end) return 0
    let v = buf[i] - 0x30
    if (v >>> 0 > 9) return 0
    i++
    if (i < end) {
      const d = buf[i] - 0x30
      if (d >>> 0 <= 9) {
        if (v === 0) return 0 // a leading zero
        v = v * 10 + d
        i++
        if (i < end) {
          const e = buf[i] - 0x30
          if (e >>> 0 <= 9) {
            v = v * 10 + e
            i++
            if (v > 255) return 0
          }
        }
      }
    }
    addr = addr * 256 + v
    // A fourth digit fails here (no dot) or at the word end below.
    if (part === 3) break
    if (i >= end || buf[i] !== DOT) return 0
    i++
  }
  if (i < end && (CLASS[buf[i]] & WORD) !== 0) return 0
  matchedIpv4 = addr
  return i
}

/** The IPv4 address spelled exactly by buf[start, end) as an unsigned 32-bit number, or -1. */
export function parseIpv4 (buf: Uint8Array, start: number, end: number): number {
  let ip = 0
  let i = start
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (i >= end || buf[i] !== DOT) return -1
      i++
    }
    i = readOctet(buf, i, end)
    if (i < 0) return -1
    ip = ip * 256 + octet
  }
  return i === end ? ip : -1
}

/**
 * End of the run of nine or more hex groups joined by single colons that starts at buf[p] (RE_IP's
 * second branch, `\b[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){8,}\b`), or 0. It ends after the last
 * group that a non-word byte follows.
 */
export function longColonRunEnd (buf: Uint8Array, p: number, end: number): number {
  let i = p
  let groups = 0
  let last = 0
  for (;;) {
    let q = i
    while (q < end && q - i < 4 && hexDigit(buf[q])) q++
    if (q === i || (q < end && word(buf[q]))) break
    if (++groups >= 9) last = q
    if (q + 1 >= end || buf[q] !== COLON) break
    i = q + 1
  }
  return last
}

/**
 * End of the longest IPv6 text form starting at buf[p] that a non-word byte (or the end) follows,
 * or 0; the caller checked that the byte before p is not a word byte, and that p starts a hex
 * group or `::`. This is what RE2's leftmost-first choice among the ordered forms of RE_IP gives.
 * `groups` counts 16-bit pieces (an embedded IPv4 is two); with `::` at most 7, without exactly 8.
 */
export function matchIpv6 (buf: Uint8Array, p: number, end: number): number {
  let i = p
  let groups = 0
  let compressed = false
  let best = 0
  if (buf[i] === COLON) {
    compressed = true // the bare `::` is never a value: a group must follow
    i += 2
  }
  for (;;) {
    let q = i
    while (q < end && q - i < 4 && hexDigit(buf[q])) q++
    if (q === i) break
    // The embedded IPv4 is the last 32 bits, so it ends the address when it fits.
    if (q < end && buf[q] === DOT && (compressed ? groups + 2 <= 7 : groups === 6)) {
      const v4 = matchIpv4(buf, i, end)
      if (v4 > 0) return v4
    }
    if (q < end && word(buf[q])) break // a fifth hex digit or a letter: no word end, no `:`
    groups++
    if (compressed ? groups <= 7 : groups === 8) best = q
    if (groups >= 8 || q + 1 >= end || buf[q] !== COLON) break
    if (buf[q + 1] === COLON) {
      if (compressed) break
      compressed = true
      if (q + 2 >= end || !word(buf[q + 2])) best = q + 2
      i = q + 2
    } else {
      i = q + 1
    }
  }
  return best
}

/** End of the dotted run `\w+(\.\w+)*` whose first word ends at buf[j], and (in `runParts`) its group count. */
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

/**
 * Appends RE_IP's values in the zone that starts at buf[zs] (the event start, or after a non-word
 * byte) and returns its end, walking its words from the start as RE2's cursor goes: each word that
 * can start a match (one followed by `.` or `:`, or a `::`) is tried against the alternatives of
 * RE_IP in their order, and a match or an eaten run moves the cursor past it.
 */
function scanZone (buf: Uint8Array, zs: number, end: number, rule: number, out: Candidates): number {
  let ipNext = zs
  // Inside a dotted run already measured at fewer than five groups, no later word can start one.
  let shortRunEnd = zs
  let i = zs
  while (i < end) {
    const c = buf[i]
    const k = CLASS[c]
    if ((k & WORD) === 0) {
      if ((k & ZONE) === 0) return i
      // `::` can start an IPv6 form when the byte before it is not a word byte.
      if (c === COLON && i >= ipNext && i + 1 < end && buf[i + 1] === COLON &&
          (i === zs || (CLASS[buf[i - 1]] & WORD) === 0)) {
        const e = matchIpv6(buf, i, end)
        if (e > 0) { out.push(rule, i, e); ipNext = e; i = e; continue }
      }
      i++
      continue
    }
    let j = i + 1
    let hexOnly = k & HEX
    while (j < end) {
      const kj = CLASS[buf[j]]
      if ((kj & WORD) === 0) break
      hexOnly &= kj
      j++
    }
    const d = j < end ? buf[j] : 0
    if (d === COLON) {
      if (i >= ipNext && hexOnly !== 0 && j - i <= 4) {
        const runEnd = longColonRunEnd(buf, i, end)
        if (runEnd > 0) {
          ipNext = runEnd // eaten by RE_IP's second branch: no value
        } else {
          const e = matchIpv6(buf, i, end)
          if (e > 0) { out.push(rule, i, e); ipNext = e }
        }
      }
    } else if (d === DOT && i >= ipNext) {
      if (i >= shortRunEnd) {
        const runEnd = dottedRunEnd(buf, j, end)
        if (runParts >= 5) ipNext = runEnd // eaten by RE_IP's first branch: no value
        else shortRunEnd = runEnd
      }
      if (i >= ipNext && (k & DIGIT) !== 0 && j - i <= 3) {
        const e = matchIpv4(buf, i, end)
        if (e > 0) { out.pushIpv4(rule, i, e, matchedIpv4); ipNext = e }
      }
    }
    // Words before the cursor can start nothing: skip past what was matched or eaten.
    i = j > ipNext ? j : ipNext
  }
  return end
}

/**
 * Appends RE_IP's values in the zone that holds buf[t] and returns the zone's end. Most zones that
 * get here are a lone IPv4 (`src=10.1.2.3 `): then it is the value, as no other alternative of
 * RE_IP can match in it, and one read of its bytes is enough; others are walked word by word.
 */
function zoneAt (buf: Uint8Array, t: number, start: number, end: number, rule: number, out: Candidates): number {
  let zs = t
  while (zs > start && (CLASS[buf[zs - 1]] & ZONE) !== 0) zs--
  const e = matchIpv4(buf, zs, end)
  if (e > 0 && (e === end || (CLASS[buf[e]] & ZONE) === 0)) {
    out.pushIpv4(rule, zs, e, matchedIpv4)
    return e
  }
  return scanZone(buf, zs, end, rule, out)
}

/** The dot 2 to 4 bytes after buf[t] (where an IPv4's next dot is), or 0. */
function dotAfter (buf: Uint8Array, t: number, end: number): number {
  if (t + 4 < end) return buf[t + 2] === DOT ? t + 2 : buf[t + 3] === DOT ? t + 3 : buf[t + 4] === DOT ? t + 4 : 0
  return t + 2 < end && buf[t + 2] === DOT ? t + 2 : t + 3 < end && buf[t + 3] === DOT ? t + 3 : 0
}

/**
 * Appends RE_IP's values in buf[start, end) to `out`, in position order. Dots are searched in
 * `hay` (see haystack); `colons` holds, in order, the event's colons that a hex digit or a colon
 * follows (the only ones an IPv6 can hold).
 *
 * A zone is read from a dot or colon that an IPv4 or IPv6 would start with: a dot between two
 * digits with two more dots each 2 to 4 bytes on, or the first colon of a `::`, or one with 5
 * more in the 25 bytes on (an IPv6 without `::` has 6 or 7 colons, each a hex group of 1 to 4
 * after). Other dots and colons cost a few reads: a zone that holds a value holds such a byte too,
 * and is read whole, from its start, when it is reached.
 */
export function scanIps (buf: Uint8Array, hay: Uint8Array, base: number, start: number, end: number, colons: Int32Array, nColons: number, rule: number, out: Candidates): void {
  let done = start // zones before `done` are finished
  let ci = 0
  let dot = find(hay, base, DOT, start, end) // the next dot, or -1
  // Hot path: one native search a dot (memchr); the bytes between are not read at all.
  for (;;) {
    const c = ci < nColons ? colons[ci] : end
    let t = dot
    if (dot >= 0 && t < c) {
      let next = 0
      if (t === start || t + 1 === end || (CLASS[buf[t - 1]] & CLASS[buf[t + 1]] & DIGIT) === 0 ||
          (next = dotAfter(buf, t, end)) === 0 || dotAfter(buf, next, end) === 0) {
        dot = find(hay, base, DOT, dot + 1, end)
        continue
      }
    } else if (c < end) {
      ci++
      if (c < done) continue
      if (buf[c + 1] !== COLON && (ci + 4 >= nColons || colons[ci + 4] - c > 25)) continue
      t = c
    } else {
      return
    }
    done = zoneAt(buf, t, start, end, rule, out)
    if (dot >= 0 && dot < done) dot = find(hay, base, DOT, done, end)
  }
}
