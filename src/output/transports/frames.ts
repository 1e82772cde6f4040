/**
 * Cutting a Buffer of framed syslog output back into messages, for the transports that send one
 * message per unit (UDP: one datagram per message, RFC 5426, with no framing inside).
 */

/** The stream framing of the output: LF-terminated, or RFC 6587 octet counting (`LEN SP MSG`). */
export type OutputFraming = 'lf' | 'octet'

const LF = 0x0a
const SPACE = 0x20
const ZERO = 0x30
const NINE = 0x39
// 10 digits reach 9,999,999,999: far above any datagram, and small enough to stay an exact number.
const MAX_LEN_DIGITS = 10

/**
 * Calls `each` with the message of every frame in `buf`, framing removed (a subarray, no copy).
 * Returns how many bytes at the end could not be parsed as a frame (0 when all was well).
 * Hot path for UDP output: one call per Buffer, a native indexOf or a digit loop per frame.
 */
export function forEachMessage (buf: Buffer, framing: OutputFraming, each: (msg: Buffer) => void): number {
  return framing === 'lf' ? forEachLine(buf, each) : forEachCounted(buf, each)
}

function forEachLine (buf: Buffer, each: (msg: Buffer) => void): number {
  let start = 0
  while (start < buf.length) {
    const end = buf.indexOf(LF, start)
    if (end === -1) {
      // Buffers end on a frame boundary by contract; a missing final LF is the producer's slip,
      // and the message before it is still whole, so it is sent rather than lost.
      each(buf.subarray(start))
      return 0
    }
    // An empty line is no message: a datagram for it would only be noise to the SIEM.
    if (end > start) each(buf.subarray(start, end))
    start = end + 1
  }
  return 0
}

function forEachCounted (buf: Buffer, each: (msg: Buffer) => void): number {
  let pos = 0
  while (pos < buf.length) {
    let p = pos
    let len = 0
    while (p < buf.length && p - pos < MAX_LEN_DIGITS && buf[p]! >= ZERO && buf[p]! <= NINE) {
      len = len * 10 + buf[p]! - ZERO
      p++
    }
    // RFC 6587: MSG-LEN is NONZERO-DIGIT *DIGIT, then one space, then exactly MSG-LEN octets.
    // Past a bad count there is no way to find the next frame, so the rest is reported as bad.
    if (p === pos || buf[pos] === ZERO || buf[p] !== SPACE || p + 1 + len > buf.length) {
      return buf.length - pos
    }
    each(buf.subarray(p + 1, p + 1 + len))
    pos = p + 1 + len
  }
  return 0
}
