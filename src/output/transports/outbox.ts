/**
 * The emitter's queue, in order: `head` (memory, next to send) -> the spool (disk) -> `tail`
 * (memory, waiting for room on disk). New data joins the head only while nothing older waits on
 * disk or in the tail, and data moves toward the head in that order, so frames keep their order
 * through any outage. Every item is one whole Buffer, so a batch always ends on a frame boundary.
 *
 * With a journal (spool mode `always`) every Buffer goes to disk first; those in memory are also
 * on disk (`journaled`), read but not done, and the emitter commits them once delivered. Only when
 * the spool is full or failing does a Buffer wait in the tail, in memory alone, until it has room.
 */
import type { Spool } from '../spool.js'
import { Fifo } from './fifo.js'

/** What the outbox tells the emitter's counters. */
export interface OutboxHooks {
  spooled (bytes: number): void
  error (err: unknown): void
}

/** Memory and disk queue of the emitter. */
export class Outbox {
  readonly head = new Fifo()
  readonly tail = new Fifo()
  readonly spool: Spool | null
  readonly #hooks: OutboxHooks
  /** Batches already sent again after a drop: never joined with others, never resent again (emitter.ts). */
  readonly resent = new WeakSet<Buffer>()
  // Buffers in memory that are also records of the journal (always mode), read and not done.
  readonly #journaled = new WeakSet<Buffer>()

  constructor (spool: Spool | null, hooks: OutboxHooks) {
    this.spool = spool
    this.#hooks = hooks
  }

  /** Bytes in memory (head and tail). */
  get bytes (): number {
    return this.head.bytes + this.tail.bytes
  }

  /** True when a write of `len` bytes would go straight to disk, taking no memory. */
  canSpill (len: number): boolean {
    return this.spool !== null && this.tail.length === 0 && this.spool.fits(len)
  }

  /** Queues `buf`: on the head while memory is under the mark and nothing older waits behind it, else behind the spool. */
  push (buf: Buffer, underMark: boolean): void {
    const spool = this.spool
    if (spool?.journal === true) {
      this.#journal(spool, buf, underMark)
      return
    }
    if (spool === null || (underMark && !spool.hasData && this.tail.length === 0)) this.head.push(buf)
    else this.tail.push(buf)
  }

  /** True when `buf` (as handed out by takeBatch) is a run of journal records, to commit once delivered. */
  isJournaled (buf: Buffer): boolean {
    return this.#journaled.has(buf)
  }

  /** `part` is what is left of `whole` after a link confirmed its start: it counts as journaled if `whole` did. */
  inherit (part: Buffer, whole: Buffer): void {
    if (this.#journaled.has(whole)) this.#journaled.add(part)
  }

  // Always mode: on disk before it counts as accepted; in memory too when it can go out next.
  #journal (spool: Spool, buf: Buffer, underMark: boolean): void {
    if (this.tail.length === 0 && spool.fits(buf.length)) {
      try {
        if (underMark && !spool.hasData) {
          spool.appendRead(buf)
          this.#journaled.add(buf)
          this.head.push(buf)
        } else {
          spool.append(buf)
        }
        this.#hooks.spooled(buf.length)
        return
      } catch (err) {
        this.#hooks.error(err)
      }
    }
    // Spool full or failing: memory alone until it has room (spill()); the emitter blocks at the mark.
    this.tail.push(buf)
  }

  /** Moves data toward the head while `room()` bytes of memory are free: the disk first (it is older), then the tail. */
  refill (room: () => number, readBytes: number): void {
    const spool = this.spool
    if (spool === null) return
    for (let free = room(); free > 0; free = room()) {
      if (spool.hasData) {
        for (const b of spool.read(Math.min(free, readBytes))) {
          if (spool.journal) this.#journaled.add(b)
          this.head.push(b)
        }
      } else if (this.tail.length > 0) {
        this.head.push(this.tail.shift()!)
      } else {
        return
      }
    }
  }

  /** Moves the tail to disk while the spool has room. */
  spill (): void {
    const spool = this.spool
    if (spool === null) return
    while (this.tail.length > 0 && spool.fits(this.tail.peek()!.length)) {
      const buf = this.tail.peek()!
      try {
        spool.append(buf)
      } catch (err) {
        // The spool then says full for a while (spool.ts); the tail keeps the data, so nothing
        // is lost, and the emitter blocks once memory reaches the mark.
        this.#hooks.error(err)
        return
      }
      this.tail.shift()
      this.#hooks.spooled(buf.length)
    }
  }

  /**
   * Takes whole Buffers off the head, up to `max` bytes (at least one): one copy when several are
   * joined, none otherwise. A resent Buffer is never joined with others, so it keeps its identity.
   */
  takeBatch (max: number): Buffer {
    const head = this.head
    const first = head.shift()!
    // Journal records join only each other, so a batch is all journal or all memory.
    const journaled = this.#journaled.has(first)
    const joins = (b: Buffer | undefined): boolean => b !== undefined && !this.resent.has(b) && this.#journaled.has(b) === journaled
    if (!joins(first) || !joins(head.peek()) || first.length + head.peek()!.length > max) return first
    const parts = [first]
    let total = first.length
    while (joins(head.peek()) && total + head.peek()!.length <= max) {
      const b = head.shift()!
      parts.push(b)
      total += b.length
    }
    const batch = Buffer.concat(parts, total)
    if (journaled) this.#journaled.add(batch)
    return batch
  }

  /**
   * At close: the head goes in front of the spool (it is older), the tail after it, past the spool
   * bound if need be: that overshoot is bounded by the memory bound, a loss is not. Returns the
   * bytes it could not keep (all of them without a spool).
   */
  keepLeftovers (): number[] {
    if (this.spool?.journal === true) return this.#keepJournalLeftovers(this.spool)
    const head = this.head.takeAll()
    const tail = this.tail.takeAll()
    const all = head.concat(tail)
    let kept = 0
    if (this.spool !== null) {
      try {
        this.spool.prepend(head)
        kept = head.length
        for (const b of head) this.#hooks.spooled(b.length)
        for (const b of tail) {
          this.spool.append(b)
          kept++
          this.#hooks.spooled(b.length)
        }
      } catch (err) {
        this.#hooks.error(err)
      }
    }
    return all.slice(kept).map((b) => b.length)
  }

  // Always mode: journal records in memory are on disk already (not done: replayed at the next
  // start). The resend window (sent, maybe lost with the link) goes in front, as in overflow mode;
  // what waited in memory alone goes after.
  #keepJournalLeftovers (spool: Spool): number[] {
    const head = this.head.takeAll().filter((b) => !this.#journaled.has(b))
    const front = head.filter((b) => this.resent.has(b))
    const back = head.filter((b) => !this.resent.has(b)).concat(this.tail.takeAll())
    const lost: number[] = []
    try {
      spool.prepend(front)
      for (const b of front) this.#hooks.spooled(b.length)
    } catch (err) {
      this.#hooks.error(err)
      lost.push(...front.map((b) => b.length))
    }
    for (const b of back) {
      try {
        spool.append(b)
        this.#hooks.spooled(b.length)
      } catch (err) {
        this.#hooks.error(err)
        lost.push(b.length)
      }
    }
    return lost
  }
}
