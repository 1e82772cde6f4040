/**
 * Text helpers of the index: hex and IP formatting of matched keys (called only on a hit), and the
 * byte spelling of hosts and masks. The index compares labels and masks byte by byte; normalized
 * values are ASCII, so a char code is a byte. A non-ASCII value is respelled as its UTF-8 bytes,
 * one latin1 char per byte, so the same char-code loops work on it (rare, and it allocates).
 */

/** Hex digit value of each byte, -1 for anything else (either case accepted). */
export const HEX_VALUE: Int8Array = (() => {
  const t = new Int8Array(256).fill(-1)
  for (let i = 0; i < 10; i++) t[48 + i] = i
  for (let i = 0; i < 6; i++) { t[65 + i] = 10 + i; t[97 + i] = 10 + i }
  return t
})()

/** True when every char of s is 7-bit. */
export function isAscii (s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false
  return true
}

/** s spelled as its UTF-8 bytes, one latin1 char per byte (identity for ASCII). */
export function toByteString (s: string): string {
  return isAscii(s) ? s : Buffer.from(s, 'utf8').toString('latin1')
}

/** Inverse of toByteString. */
export function fromByteString (s: string): string {
  return isAscii(s) ? s : Buffer.from(s, 'latin1').toString('utf8')
}

const HEX_DIGIT = new Uint8Array(Buffer.from('0123456789abcdef', 'latin1'))
const char = String.fromCharCode

/** Lowercase hex of `words` big-endian u32 words at k[off] (one 8-char string a word: ~2x faster than toString(16)). */
export function wordsToHex (k: Uint32Array, off: number, words: number): string {
  const d = HEX_DIGIT
  let s = ''
  for (let i = 0; i < words; i++) {
    const w = k[off + i]
    s += char(d[w >>> 28], d[(w >>> 24) & 15], d[(w >>> 20) & 15], d[(w >>> 16) & 15], d[(w >>> 12) & 15], d[(w >>> 8) & 15], d[(w >>> 4) & 15], d[w & 15])
  }
  return s
}

/** Dotted quad of a u32 address. */
export function formatIpv4 (a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`
}

/** RFC 5952 text of an IPv6 address held as 4 big-endian words at k[off]. */
export function formatIpv6 (k: Uint32Array, off: number): string {
  const g: number[] = []
  for (let i = 0; i < 4; i++) g.push(k[off + i] >>> 16, k[off + i] & 0xffff)
  // The longest run of two or more zero groups (the first one on a tie) becomes `::`.
  let best = -1
  let bestLen = 1
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && g[j] === 0) j++
    if (j - i > bestLen) { best = i; bestLen = j - i }
    i = j
  }
  const hex = (from: number, to: number): string => g.slice(from, to).map((x) => x.toString(16)).join(':')
  if (best < 0) return hex(0, 8)
  return `${hex(0, best)}::${hex(best + bestLen, 8)}`
}
