/**
 * Contract of extraction (DESIGN.md section 4): a source's rules find candidate values in an event.
 * Candidates are byte spans into a Buffer, so the hot path never builds a string per line or per
 * candidate: hashes and IPv4 addresses are looked up straight from the bytes.
 */

/** What a rule's value is: a looked-up indicator, or CONTEXT (only rendered into detections). */
export type RuleType = 'HASH' | 'MD5' | 'SHA1' | 'SHA256' | 'IP' | 'URL' | 'DOMAIN' | 'CONTEXT'

/** One named extraction rule, as in CyberTrace's `RegExps`. The first capture group is the value. */
export interface RuleSpec {
  name: string
  type: RuleType
  extract: 'first' | 'all'
  pattern: string
}

/** A normalizing rule, run on the event before extraction: a RE2 replace, or drop events that match. */
export type NormalizeSpec = { replace: string, with: string } | { ignore: string }

/** What a source extracts with: a built-in preset's rules, then its own rules. */
export interface SourceSpec {
  name: string
  preset: 'generic' | 'cef' | 'dns' | 'none'
  normalize: NormalizeSpec[]
  rules: RuleSpec[]
}

/**
 * Reusable candidate list (allocated once per worker, cleared per event).
 * Span i is `src[start[i], end[i])`, found by rule `rule[i]` (index into Extractor.rules).
 * `ipv4[i]` is the IPv4 address the span spells, as an unsigned 32-bit number, when the byte
 * scanner read it while finding the span (so the matcher does not parse it again), else -1.
 */
export class Candidates {
  src: Buffer = Buffer.alloc(0)
  n = 0
  rule: Uint16Array
  start: Uint32Array
  end: Uint32Array
  ipv4: Float64Array

  constructor (capacity = 1024) {
    this.rule = new Uint16Array(capacity)
    this.start = new Uint32Array(capacity)
    this.end = new Uint32Array(capacity)
    this.ipv4 = new Float64Array(capacity)
  }

  /** Adds a span; returns false when full (the event's candidate cap is reached: counted as cut). */
  push (rule: number, start: number, end: number): boolean {
    return this.pushIpv4(rule, start, end, -1)
  }

  /** Adds a span that spells the IPv4 address `addr` (unsigned 32-bit), as push does. */
  pushIpv4 (rule: number, start: number, end: number, addr: number): boolean {
    const n = this.n
    if (n === this.rule.length) return false
    this.rule[n] = rule; this.start[n] = start; this.end[n] = end; this.ipv4[n] = addr
    this.n = n + 1
    return true
  }

  /** The event's own bytes are src[eventStart, eventEnd) (set by `clear`; CONTEXT rules read them). */
  eventStart = 0
  eventEnd = 0

  clear (src: Buffer, eventStart = 0, eventEnd = src.length): void {
    this.src = src; this.n = 0
    this.eventStart = eventStart; this.eventEnd = eventEnd
  }
}
