/** The hash types feedmatch indexes, told apart by their hex length (DESIGN.md section 3). */
export type HashType = 'md5' | 'sha1' | 'sha256'

/** The hash type of a hex string of length `n` (32, 40, 64), or null for any other length. */
export function hashTypeOfLength (n: number): HashType | null {
  switch (n) {
    case 32: return 'md5'
    case 40: return 'sha1'
    case 64: return 'sha256'
    default: return null
  }
}

/** Nibble value of a hex char code, or -1. */
function nibble (c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  const l = c | 0x20 // ASCII fold: 'A'..'F' -> 'a'..'f'
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10
  return -1
}

/** A trimmed, lowercased MD5/SHA1/SHA256 hex string with its type, or null if it is not one. */
export function normalizeHash (s: string): { type: HashType, hex: string } | null {
  // Checked before trimming/lowercasing so that the common miss allocates nothing.
  let start = 0
  let end = s.length
  while (start < end && s.charCodeAt(start) <= 0x20) start++
  while (end > start && s.charCodeAt(end - 1) <= 0x20) end--
  const type = hashTypeOfLength(end - start)
  if (type === null) return null
  let upper = false
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i)
    if (nibble(c) < 0) return null
    if (c >= 0x41 && c <= 0x46) upper = true
  }
  let hex = start === 0 && end === s.length ? s : s.slice(start, end)
  if (upper) hex = hex.toLowerCase()
  return { type, hex }
}

/**
 * The bytes of an MD5/SHA1/SHA256 written in hex (either case, surrounding blanks allowed), or null.
 * One pass, no intermediate string: feed builds call this for millions of hashes.
 */
export function parseHashBytes (s: string): Uint8Array | null {
  let start = 0
  let end = s.length
  while (start < end && s.charCodeAt(start) <= 0x20) start++
  while (end > start && s.charCodeAt(end - 1) <= 0x20) end--
  if (hashTypeOfLength(end - start) === null) return null
  const out = new Uint8Array((end - start) >>> 1)
  for (let i = 0, j = start; i < out.length; i++, j += 2) {
    const hi = nibble(s.charCodeAt(j))
    const lo = nibble(s.charCodeAt(j + 1))
    if (hi < 0 || lo < 0) return null
    out[i] = (hi << 4) | lo
  }
  return out
}

/** The bytes of an even-length hex string (callers pass strings checked by normalizeHash). */
export function hexToBytes (hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >>> 1)
  for (let i = 0; i < out.length; i++) {
    out[i] = (nibble(hex.charCodeAt(2 * i)) << 4) | nibble(hex.charCodeAt(2 * i + 1))
  }
  return out
}

const HEX = '0123456789abcdef'

/** Lowercase hex of some bytes. */
export function bytesToHex (b: Uint8Array): string {
  let s = ''
  for (let i = 0; i < b.length; i++) s += HEX[b[i] >>> 4] + HEX[b[i] & 15]
  return s
}
