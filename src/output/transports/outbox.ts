/**
 * The emitter's queue, in order: `head` (memory, next to send) -> the spool (disk) -> `tail`
 * (memory, waiting for room on disk). New data joins the head only while nothing older waits on
 * disk or in the tail, and data moves toward the head in that order, so frames keep their order
 * through any outage. Every item is one whole Buffer, so a batch always ends on a frame boundary.
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
    if (this.spool === null || (underMark && !this.spool.hasData && this.tail.length === 0)) this.head.push(buf)
    else this.tail.push(buf)
  }

  /** Moves data toward the head while `room()` bytes of memory are free: the disk first (it is older), then the tail. */
  refill (room: () => number, readBytes: number): void {
    const spool = this.spool
    if (spool === null) return
    for (let free = room(); free > 0; free = room()) {
      if (spool.hasData) {
        for (const b of spool.read(Math.min(free, readBytes))) this.head.push(b)
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

  /** Takes whole Buffers off the head, up to `max` bytes (at least one): one copy when several are joined, none otherwise. */
  takeBatch (max: number): Buffer {
    const head = this.head
    const first = head.shift()!
    if (head.length === 0 || first.length + head.peek()!.length > max) return first
    const parts = [first]
    let total = first.length
    while (head.length > 0 && total + head.peek()!.length <= max) {
      const b = head.shift()!
      parts.push(b)
      total += b.length
    }
    return Buffer.concat(parts, total)
  }

  /**
   * At close: the head goes in front of the spool (it is older), the tail after it, past the spool
   * bound if need be: that overshoot is bounded by the memory bound, a loss is not. Returns the
   * bytes it could not keep (all of them without a spool).
   */
  keepLeftovers (): number[] {
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
}
