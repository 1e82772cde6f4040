/**
 * Strict IP address and network parsing. IPv4 is 4 bytes, IPv6 16 bytes, and an IPv4-mapped IPv6
 * address (`::ffff:a.b.c.d`) is returned as its IPv4 bytes, because DESIGN.md section 3 makes the
 * two equal and the index stores each address once.
 */

/** An IP network: the address with host bits cleared, and its prefix length. */
export interface IpNetwork { bytes: Uint8Array, prefix: number }

const COLON = 0x3a
const DOT = 0x2e

/** Strict dotted quad in s[start, end) into out[at..at+3]: decimal, 0-255, no leading zeros. */
function parseV4Into (s: string, start: number, end: number, out: Uint8Array, at: number): boolean {
  let part = 0
  let value = 0
  let digits = 0
  for (let i = start; i <= end; i++) {
    const c = i < end ? s.charCodeAt(i) : DOT
    if (c === DOT) {
      // `010` is octal to inet_aton and decimal to others: ambiguous, so refused (as node:net does).
      if (digits === 0 || part > 3 || value > 255) return false
      out[at + part++] = value
      value = 0
      digits = 0
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits === 1 && value === 0) return false
      value = value * 10 + c - 0x30
      if (++digits > 3) return false
    } else {
      return false
    }
  }
  return part === 4
}

function hexValue (c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  const l = c | 0x20
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : -1
}

/**
 * Any RFC 4291 text form in s[start, end) into 16 bytes, or null. The algorithm is the WHATWG URL
 * IPv6 parser; a zone id (`%eth0`) fails because `%` is not a hex digit.
 */
function parseV6 (s: string, start: number, end: number): Uint8Array | null {
  const out = new Uint8Array(16)
  let piece = 0
  let compress = -1
  let p = start
  if (p < end && s.charCodeAt(p) === COLON) {
    if (p + 1 >= end || s.charCodeAt(p + 1) !== COLON) return null
    p += 2
    compress = ++piece
  }
  while (p < end) {
    if (piece === 8) return null
    if (s.charCodeAt(p) === COLON) {
      if (compress !== -1) return null
      p++
      compress = ++piece
      continue
    }
    let value = 0
    let len = 0
    let h: number
    while (len < 4 && p < end && (h = hexValue(s.charCodeAt(p))) >= 0) { value = value * 16 + h; p++; len++ }
    if (p < end && s.charCodeAt(p) === DOT) {
      if (len === 0 || piece > 6) return null
      if (!parseV4Into(s, p - len, end, out, piece * 2)) return null
      piece += 2
      p = end
      break
    }
    if (len === 0) return null
    if (p < end) {
      if (s.charCodeAt(p) !== COLON) return null
      if (++p === end) return null // a single trailing colon
    }
    out[piece * 2] = value >>> 8
    out[piece * 2 + 1] = value & 0xff
    piece++
  }
  if (compress !== -1) {
    // Shift the pieces after `::` to the end; the gap left behind is zeros.
    const tail = piece - compress
    if (tail > 0) {
      out.copyWithin(16 - tail * 2, compress * 2, piece * 2)
      out.fill(0, compress * 2, 16 - tail * 2)
    }
  } else if (piece !== 8) {
    return null
  }
  return out
}

/** True for 16 bytes in ::ffff:0:0/96. */
function isMapped (b: Uint8Array): boolean {
  if (b.length !== 16 || b[10] !== 0xff || b[11] !== 0xff) return false
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false
  return true
}

/** An address as written: 4 bytes for IPv4, 16 for IPv6 (mapped ones not folded). */
function parseRaw (s: string): Uint8Array | null {
  let start = 0
  let end = s.length
  if (end === 0) return null
  if (s.charCodeAt(0) === 0x5b) { // [v6]
    if (s.charCodeAt(end - 1) !== 0x5d) return null
    start = 1
    end--
    return s.indexOf(':', start) === -1 ? null : parseV6(s, start, end)
  }
  if (s.indexOf(':') !== -1) return parseV6(s, start, end)
  const out = new Uint8Array(4)
  return parseV4Into(s, start, end, out, 0) ? out : null
}

/** Parses an IP address strictly: 4 bytes for IPv4 and IPv4-mapped IPv6, 16 for other IPv6; else null. */
export function parseIp (s: string): Uint8Array | null {
  const b = parseRaw(s)
  return b !== null && isMapped(b) ? b.slice(12) : b
}

function maskBytes (b: Uint8Array, prefix: number): void {
  for (let i = 0; i < b.length; i++) {
    const keep = prefix - i * 8
    if (keep <= 0) b[i] = 0
    else if (keep < 8) b[i] &= (0xff00 >>> keep) & 0xff
  }
}

const MAPPED_NET = parseV6('::ffff:0:0', 0, 10) as Uint8Array

/**
 * A masked network in canonical form: inside ::ffff:0:0/96 it becomes IPv4; an IPv6 network that
 * contains all of ::ffff:0:0/96 (`::/0`, `::/64`) also gets 0.0.0.0/0, since every IPv4 address
 * equals a mapped address it contains.
 */
function canonical (b: Uint8Array, prefix: number, out: IpNetwork[]): void {
  if (b.length === 16 && prefix >= 96 && isMapped(b)) {
    out.push({ bytes: b.slice(12), prefix: prefix - 96 })
    return
  }
  out.push({ bytes: b, prefix })
  if (b.length === 16 && prefix <= 96) {
    const m = MAPPED_NET.slice()
    maskBytes(m, prefix)
    if (m.every((x, i) => x === b[i])) out.push({ bytes: new Uint8Array(4), prefix: 0 })
  }
}

function toBig (b: Uint8Array): bigint {
  let n = 0n
  for (let i = 0; i < b.length; i++) n = (n << 8n) | BigInt(b[i])
  return n
}

function fromBig (n: bigint, len: number): Uint8Array {
  const b = new Uint8Array(len)
  for (let i = len - 1; i >= 0; i--) { b[i] = Number(n & 0xffn); n >>= 8n }
  return b
}

/** The minimal list of CIDRs that covers exactly [a, b] (same width, a <= b). */
function rangeToCidrs (a: Uint8Array, b: Uint8Array, out: IpNetwork[]): void {
  const width = a.length * 8
  let lo = toBig(a)
  const hi = toBig(b)
  while (lo <= hi) {
    // Grow the block while `lo` stays aligned to it and it does not pass `hi`.
    let k = 0
    while (k < width && ((lo >> BigInt(k)) & 1n) === 0n && lo + (1n << BigInt(k + 1)) - 1n <= hi) k++
    canonical(fromBig(lo, a.length), width - k, out)
    lo += 1n << BigInt(k)
  }
}

function compare (a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i]
  return 0
}

/**
 * Parses a feed IP: an address (prefix 32/128), a CIDR (host bits cleared) or a range `a-b`
 * (as the minimal CIDR list covering exactly [a, b]). Mapped IPv6 comes out as IPv4. Null if invalid.
 */
export function parseIpNetworks (s: string): IpNetwork[] | null {
  const out: IpNetwork[] = []
  const dash = s.indexOf('-')
  if (dash !== -1) {
    // Mapped ends are folded first, so `::ffff:10.0.0.1-10.0.0.9` is an IPv4 range.
    const a = parseIp(s.slice(0, dash).trim())
    const b = parseIp(s.slice(dash + 1).trim())
    if (a === null || b === null || a.length !== b.length || compare(a, b) > 0) return null
    rangeToCidrs(a, b, out)
    return out
  }
  const slash = s.indexOf('/')
  if (slash === -1) {
    const b = parseRaw(s)
    if (b === null) return null
    canonical(b, b.length * 8, out)
    return out
  }
  const b = parseRaw(s.slice(0, slash))
  const digits = s.length - slash - 1
  if (b === null || digits < 1 || digits > 3) return null
  let prefix = 0
  for (let i = slash + 1; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x30 || c > 0x39) return null
    prefix = prefix * 10 + c - 0x30
  }
  if (prefix > b.length * 8) return null
  maskBytes(b, prefix)
  canonical(b, prefix, out)
  return out
}

/** IPv4 dotted-quad, or IPv6 in RFC 5952 form (lowercase, `::` for the longest zero run). */
export function formatIp (bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`
  if (isMapped(bytes)) return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`
  let bestAt = -1
  let bestLen = 1 // RFC 5952 4.2.2: a single zero group is not compressed
  for (let i = 0; i < 8;) {
    if (bytes[2 * i] !== 0 || bytes[2 * i + 1] !== 0) { i++; continue }
    let j = i
    while (j < 8 && bytes[2 * j] === 0 && bytes[2 * j + 1] === 0) j++
    if (j - i > bestLen) { bestAt = i; bestLen = j - i }
    i = j
  }
  let s = ''
  for (let i = 0; i < 8; i++) {
    if (i === bestAt) {
      s += '::'
      i += bestLen - 1
      continue
    }
    if (s !== '' && !s.endsWith(':')) s += ':'
    s += ((bytes[2 * i] << 8) | bytes[2 * i + 1]).toString(16)
  }
  return s
}

/** `address/prefix`, or the bare address when the prefix is the full width. */
export function formatNetwork (bytes: Uint8Array, prefix: number): string {
  const ip = formatIp(bytes)
  return prefix === bytes.length * 8 ? ip : `${ip}/${prefix}`
}
