import RE2 from 're2'

/** How a connection's byte stream is cut into events. */
export type FramingMode = 'auto' | 'lf' | 'octet' | 'delimiter'

/**
 * Called once per event with its bytes `buf[start, end)`. The bytes never change afterwards (the
 * framer hands over input chunks, which nothing reuses, or a copy of what it carried between
 * chunks), so a consumer may keep `buf` and copy later (BatchBuilder copies runs of events at once).
 */
export type OnEvent = (buf: Buffer, start: number, end: number) => void

/** Per-connection counts, summed into the input's counters. */
export interface FramingCounters {
  events: number
  /** Events longer than the maximum size: cut to it, the rest discarded. */
  truncated: number
  /** Octet-counted frames whose length prefix was not a number: the line is read as LF-framed. */
  framingErrors: number
}

export interface FramerOptions {
  mode: FramingMode
  /** RE2 pattern for `delimiter`: events are cut before the first capture group of each match. */
  delimiter?: string
  maxEventSize: number
}

const LF = 0x0a
const CR = 0x0d
const SP = 0x20
const TAB = 0x09
const LT = 0x3c
const ZERO = 0x30
const NINE = 0x39
/** Longest octet count we accept (8 digits: 99,999,999 bytes, well above any max event size). */
const MAX_LEN_DIGITS = 8
const NOT_OCTET = -1
const UNDECIDED = -2

/**
 * Cuts one connection's byte stream into events. LF framing ignores CR; octet counting is RFC 6587
 * (`LEN SP MSG`); `auto` reads a frame as octet-counted when it starts `LEN SP <`, which every
 * octet-counted syslog sender produces, so a plain log line that happens to start with a number
 * stays LF-framed. An event over `maxEventSize` is cut to that size and counted, and the stream
 * stays in step. Memory held between chunks is bounded by `maxEventSize`.
 */
export class Framer {
  readonly counters: FramingCounters = { events: 0, truncated: 0, framingErrors: 0 }
  private readonly mode: FramingMode
  private readonly max: number
  private readonly delimiter?: RE2
  /** Bytes of an event that started in an earlier chunk (at most `max`). */
  private carry: Buffer
  private carryLen = 0
  /** Discarding the tail of an oversized event until its end. */
  private skipping = false
  /** Octet counting: bytes still owed to the current frame (-1 when between frames). */
  private owed = -1
  /** The carry holds the start of a length prefix cut by a chunk end. */
  private prefixPending = false

  constructor (opts: FramerOptions) {
    this.mode = opts.mode
    this.max = opts.maxEventSize
    this.carry = Buffer.allocUnsafe(Math.min(opts.maxEventSize, 64 * 1024))
    if (opts.mode === 'delimiter') {
      if (opts.delimiter === undefined) throw new TypeError('delimiter framing needs a delimiter pattern')
      this.delimiter = new RE2(opts.delimiter, 'gd')
    }
  }

  /** Feeds a chunk; calls `onEvent` for every complete event in it. */
  push (chunk: Buffer, onEvent: OnEvent): void {
    if (this.mode === 'delimiter') return this.pushDelimited(chunk, onEvent)
    if (this.prefixPending) {
      // A length prefix was cut by the previous chunk's end: decide on the joined bytes (rare, small).
      chunk = Buffer.concat([this.carry.subarray(0, this.carryLen), chunk])
      this.carryLen = 0
      this.prefixPending = false
    }
    let i = 0
    const n = chunk.length
    while (i < n) {
      if (this.owed >= 0) { i = this.readOwed(chunk, i, onEvent); continue }
      if (this.carryLen === 0 && !this.skipping && this.mode !== 'lf') {
        const after = this.octetPrefix(chunk, i)
        if (after === UNDECIDED) { this.append(chunk, i, n); this.prefixPending = true; return }
        if (after !== NOT_OCTET) { i = after; continue }
      }
      // LF framing (hot path: indexOf is native).
      const lf = chunk.indexOf(LF, i)
      if (lf === -1) { this.append(chunk, i, n); return }
      if (this.carryLen === 0 && !this.skipping) {
        this.deliverTrimmed(chunk, i, lf, onEvent) // whole line in this chunk: no copy
      } else {
        this.append(chunk, i, lf)
        this.emitCarry(onEvent, true)
      }
      i = lf + 1
    }
  }

  /**
   * Delimiter framing only knows an event is complete when the next one starts; a listener calls
   * this when the connection has been quiet for a while so the last event is not held back.
   */
  flushIdle (onEvent: OnEvent): void {
    if (this.mode === 'delimiter' && this.carryLen > 0) this.emitCarry(onEvent, true)
  }

  /** End of stream: an unterminated last event is still an event. */
  end (onEvent: OnEvent): void {
    if (this.carryLen > 0) this.emitCarry(onEvent, this.owed < 0)
    this.owed = -1
    this.skipping = false
    this.prefixPending = false
  }

  /**
   * At a frame start: when the bytes are `LEN SP` (and, in auto mode, `<` follows), sets `owed`
   * and returns the position after the prefix. Returns NOT_OCTET for an LF-framed line, UNDECIDED
   * when the chunk ends inside what may be a prefix.
   */
  private octetPrefix (chunk: Buffer, i: number): number {
    const c = chunk[i]
    if (c < ZERO || c > NINE) {
      if (this.mode === 'octet') this.counters.framingErrors++
      return NOT_OCTET
    }
    let j = i
    let len = 0
    while (j < chunk.length && chunk[j] >= ZERO && chunk[j] <= NINE && j - i < MAX_LEN_DIGITS) {
      len = len * 10 + chunk[j] - ZERO
      j++
    }
    const need = this.mode === 'auto' ? 2 : 1 // SP, and `<` in auto mode
    if (j + need > chunk.length) return UNDECIDED
    if (chunk[j] !== SP || len === 0 || (this.mode === 'auto' && chunk[j + 1] !== LT)) {
      if (this.mode === 'octet') this.counters.framingErrors++
      return NOT_OCTET
    }
    this.owed = len
    return j + 1
  }

  private readOwed (chunk: Buffer, i: number, onEvent: OnEvent): number {
    const take = Math.min(this.owed, chunk.length - i)
    if (this.carryLen === 0 && !this.skipping && take === this.owed) {
      // Whole frame inside this chunk: no copy.
      const end = i + take
      if (take > this.max) { this.counters.truncated++; this.deliver(chunk, i, i + this.max, onEvent) } else this.deliver(chunk, i, end, onEvent)
    } else {
      this.append(chunk, i, i + take)
      if (take === this.owed) this.emitCarry(onEvent, false)
    }
    this.owed -= take
    if (this.owed > 0) return i + take
    this.owed = -1
    // Some senders end octet-counted frames with LF as well; skip it.
    return i + take < chunk.length && chunk[i + take] === LF ? i + take + 1 : i + take
  }

  private pushDelimited (chunk: Buffer, onEvent: OnEvent): void {
    // Delimiters can straddle chunks, so scan the carried bytes plus the chunk; events ready so
    // far are emitted and only the unfinished tail is carried (bounded by `max`).
    const data = this.carryLen > 0 ? Buffer.concat([this.carry.subarray(0, this.carryLen), chunk]) : chunk
    const re = this.delimiter as RE2
    re.lastIndex = 0
    let start = 0
    let m: ReturnType<RE2['exec']> | null
    while ((m = re.exec(data)) !== null) {
      const cut = m.indices?.[1]?.[0] ?? m.index
      if (cut > start) this.deliverTrimmed(data, start, cut, onEvent)
      start = cut
      if (re.lastIndex === m.index) re.lastIndex++ // an empty match must still advance
    }
    this.carryLen = 0
    this.skipping = false
    this.appendDelimTail(data, start)
  }

  private appendDelimTail (data: Buffer, start: number): void {
    const len = data.length - start
    if (len > this.max) {
      // The unfinished event is already oversized: keep its first `max` bytes only.
      this.counters.truncated++
      this.skipping = true
    }
    this.ensureCarry(Math.min(len, this.max))
    data.copy(this.carry, 0, start, start + Math.min(len, this.max))
    this.carryLen = Math.min(len, this.max)
  }

  /** Appends bytes of the current event to the carry, cutting at `max`. */
  private append (chunk: Buffer, start: number, end: number): void {
    if (this.skipping) return
    const room = this.max - this.carryLen
    const len = end - start
    if (len > room) {
      this.counters.truncated++
      this.skipping = true
    }
    const take = Math.min(len, room)
    if (take <= 0) return
    this.ensureCarry(this.carryLen + take)
    chunk.copy(this.carry, this.carryLen, start, start + take)
    this.carryLen += take
  }

  private ensureCarry (size: number): void {
    if (size <= this.carry.length) return
    const bigger = Buffer.allocUnsafe(Math.min(this.max, Math.max(size, this.carry.length * 2)))
    this.carry.copy(bigger, 0, 0, this.carryLen)
    this.carry = bigger
  }

  private emitCarry (onEvent: OnEvent, trimCr: boolean): void {
    // The carry is reused for the next event, so the event goes out as a copy (see OnEvent): one
    // small copy per chunk boundary.
    const event = Buffer.from(this.carry.subarray(0, this.carryLen))
    if (trimCr) this.deliverTrimmed(event, 0, event.length, onEvent)
    else this.deliver(event, 0, event.length, onEvent)
    this.carryLen = 0
    this.skipping = false
  }

  /** LF and delimiter framing: drop CRs and blank space at the end; empty events are not events. */
  private deliverTrimmed (buf: Buffer, start: number, end: number, onEvent: OnEvent): void {
    while (end > start && (buf[end - 1] === CR || buf[end - 1] === LF || buf[end - 1] === SP || buf[end - 1] === TAB)) end--
    if (end - start > this.max) { this.counters.truncated++; end = start + this.max }
    this.deliver(buf, start, end, onEvent)
  }

  private deliver (buf: Buffer, start: number, end: number, onEvent: OnEvent): void {
    if (end <= start) return
    this.counters.events++
    onEvent(buf, start, end)
  }
}
