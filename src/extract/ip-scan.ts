/**
 * IP address recognition on raw bytes for the scanner (and `parseIpv4` for the matcher): the same
 * forms as RE_IP in presets.ts, with no allocation. Octets are decimal 0-255 without leading zeros.
 */

const DOT = 0x2e
const COLON = 0x3a

/** ASCII word byte, as RE2's `\b` sees it (kept local so this module stands alone). */
function word (c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) || c === 0x5f
}

function hexDigit (c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66)
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

/** End of the dotted quad at buf[p] when a word end follows it (RE2's `IPV4\b`), else 0. */
export function matchIpv4 (buf: Uint8Array, p: number, end: number): number {
  let i = readOctet(buf, p, end)
  for (let part = 1; part < 4; part++) {
    if (i < 0 || i >= end || buf[i] !== DOT) return 0
    i = readOctet(buf, i + 1, end)
  }
  if (i < 0 || (i < end && word(buf[i]))) return 0
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
