/**
 * A first-in first-out list of Buffers that counts its bytes. The emitter's queues hold whole
 * Buffers (each ends on a frame boundary), so taking items off the front never splits a frame.
 */

/** A byte-counted FIFO of Buffers: O(1) push and shift, and a bulk put-back at the front. */
export class Fifo {
  #items: Array<Buffer | undefined> = []
  #start = 0
  /** Sum of the lengths of the Buffers held. */
  bytes = 0

  /** How many Buffers are held. */
  get length (): number {
    return this.#items.length - this.#start
  }

  /** The oldest Buffer, left in place. */
  peek (): Buffer | undefined {
    return this.#items[this.#start]
  }

  push (buf: Buffer): void {
    this.#items.push(buf)
    this.bytes += buf.length
  }

  shift (): Buffer | undefined {
    if (this.#start >= this.#items.length) return undefined
    const buf = this.#items[this.#start]!
    this.#items[this.#start++] = undefined
    this.bytes -= buf.length
    // Array#shift moves every element; with up to queue.maxBytes of small Buffers that is
    // quadratic, so we advance an index and compact only once half the array is dead.
    if (this.#start === this.#items.length) {
      this.#items = []
      this.#start = 0
    } else if (this.#start >= 1024 && this.#start * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#start)
      this.#start = 0
    }
    return buf
  }

  /** Puts `bufs` back in front of everything held, keeping their order (a resend after a drop). */
  unshiftAll (bufs: readonly Buffer[]): void {
    if (bufs.length === 0) return
    // concat rather than unshift(...bufs): a spread of a large array overflows the call stack.
    this.#items = (bufs as Array<Buffer | undefined>).concat(this.#items.slice(this.#start))
    this.#start = 0
    for (const b of bufs) this.bytes += b.length
  }

  /** Empties the FIFO and returns its Buffers, oldest first. */
  takeAll (): Buffer[] {
    const all = this.#items.slice(this.#start) as Buffer[]
    this.#items = []
    this.#start = 0
    this.bytes = 0
    return all
  }
}
