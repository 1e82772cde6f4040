/**
 * The reply stream of a reply-back connection, cut back into messages. The service writes replies
 * with its output's framing and syslog header (src/render/syslog.ts), so a reader must undo both
 * whatever the configuration chose: LF or RFC 6587 octet counting, RFC 5424, RFC 3164 or no header.
 */
import { FeedmatchError } from '../errors.js'

/** Longest reply we hold while waiting for its end; a feedmatch frame is far shorter. */
const MAX_FRAME = 16 * 1024 * 1024
const LF = 0x0a
const CR = 0x0d
const SP = 0x20
const ZERO = 0x30
const NINE = 0x39
/** Longest octet count we read (as the input framer: 8 digits). */
const MAX_LEN_DIGITS = 8

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= ZERO && c <= NINE

/**
 * Cuts reply bytes into frames (UTF-8 strings). The framing is decided once, from the first
 * frame: an output uses one framing for every frame, and a kv or CEF message never starts with
 * `DIGITS SP`, so `LEN SP` at the very start means octet counting.
 */
export class ReplyFramer {
  private mode: 'unknown' | 'lf' | 'octet' = 'unknown'
  private held: Buffer = Buffer.alloc(0)

  constructor (private readonly where: string) {}

  /** Feeds a chunk; returns the frames it completed. */
  push (chunk: Buffer): string[] {
    const buf = this.held.length === 0 ? chunk : Buffer.concat([this.held, chunk])
    const frames: string[] = []
    let i = 0
    while (i < buf.length) {
      // Octet-counted senders may add LF after a frame; blank lines carry nothing either way.
      if (buf[i] === LF || buf[i] === CR) { i++; continue }
      if (this.mode === 'unknown') {
        const decided = this.decide(buf, i)
        if (decided === undefined) break
        this.mode = decided
      }
      const next = this.mode === 'octet' ? this.octet(buf, i, frames) : this.line(buf, i, frames)
      if (next < 0) break
      i = next
    }
    this.held = i >= buf.length ? Buffer.alloc(0) : buf.subarray(i)
    if (this.held.length > MAX_FRAME) {
      throw new FeedmatchError('FM_ERR_VERIFY_REPLY', `${this.where} sent over ${MAX_FRAME >> 20} MiB without ending a reply: is it the input port of feedmatch serve?`)
    }
    return frames
  }

  /** `lf`, `octet`, or undefined when the bytes so far cannot tell. */
  private decide (buf: Buffer, i: number): 'lf' | 'octet' | undefined {
    let j = i
    while (j < buf.length && j - i <= MAX_LEN_DIGITS && isDigit(buf[j])) j++
    if (j === buf.length) return undefined
    return j > i && buf[j] === SP ? 'octet' : 'lf'
  }

  /** One LF-terminated frame from `i`; the index after it, or -1 when it is not complete yet. */
  private line (buf: Buffer, i: number, frames: string[]): number {
    const lf = buf.indexOf(LF, i)
    if (lf < 0) return -1
    const end = lf > i && buf[lf - 1] === CR ? lf - 1 : lf
    frames.push(buf.toString('utf8', i, end))
    return lf + 1
  }

  /** One `LEN SP MSG` frame from `i`; the index after it, or -1 when it is not complete yet. */
  private octet (buf: Buffer, i: number, frames: string[]): number {
    let j = i
    let len = 0
    while (j < buf.length && isDigit(buf[j]) && j - i < MAX_LEN_DIGITS) len = len * 10 + (buf[j++] - ZERO)
    if (j === buf.length) return -1
    if (j === i || buf[j] !== SP) {
      // Not a length prefix after all: read this one as a line rather than lose the stream's step.
      return this.line(buf, i, frames)
    }
    const start = j + 1
    if (buf.length - start < len) return -1
    frames.push(buf.toString('utf8', start, start + len))
    return start + len
  }
}

/** A message without its syslog header, and the header's MSGID when it had an RFC 5424 one. */
export interface Unwrapped {
  message: string
  msgId?: string
}

// RFC 5424: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG`, SD `-` or bracketed elements.
const RFC5424 = /^<\d{1,3}>1 \S+ \S+ \S+ \S+ (\S+) (?:-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: |$)/
// RFC 3164: `<PRI>Mmm dd hh:mm:ss HOST TAG: MSG` (our tag is `appName[pid]`).
const RFC3164 = /^<\d{1,3}>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ [^\s:]+: ?/

/** Removes a syslog header (RFC 5424 or 3164) from a frame; a frame without one is the message. */
export function unwrapSyslog (frame: string): Unwrapped {
  if (frame.charCodeAt(0) !== 0x3c) return { message: frame }
  const m5424 = RFC5424.exec(frame)
  if (m5424 !== null) return { message: frame.slice(m5424[0].length), msgId: m5424[1] }
  const m3164 = RFC3164.exec(frame)
  if (m3164 !== null) return { message: frame.slice(m3164[0].length) }
  return { message: frame }
}
