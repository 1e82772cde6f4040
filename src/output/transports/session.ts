/**
 * What one link was handed: batches written but not yet confirmed by their write callback, and
 * the resend window of batches confirmed last. When the link fails, both go back to the front of
 * the queue, so nothing the emitter accepted is lost with a connection, at the price of possible
 * duplicates (see the delivery notes in emitter.ts).
 */
import { Fifo } from './fifo.js'
import type { Link } from './link.js'

/** The in-flight state of one link. */
export class Session {
  readonly link: Link
  readonly #pending = new Fifo()
  readonly #window = new Fifo()
  readonly #resendBytes: number
  readonly #resentOnce: WeakSet<Buffer>
  #dead = false

  /**
   * `resendBytes`: how much of what was confirmed last to keep for a resend (ignored for links that
   * are not lossy). `resentOnce`: batches that already went out again after a drop; they are not
   * kept for another resend, so every drop moves the stream forward (see emitter.ts).
   */
  constructor (link: Link, resendBytes: number, resentOnce: WeakSet<Buffer>) {
    this.link = link
    this.#resendBytes = link.lossy ? resendBytes : 0
    this.#resentOnce = resentOnce
  }

  /** Bytes written to the link and not yet confirmed. */
  get pendingBytes (): number {
    return this.#pending.bytes
  }

  /** Bytes this session holds: unconfirmed writes and the resend window. */
  get heldBytes (): number {
    return this.#pending.bytes + this.#window.bytes
  }

  /** Writes one batch (whole frames); `confirmed` runs once the link took it, never after the session ended. */
  write (buf: Buffer, confirmed: (buf: Buffer) => void): boolean {
    this.#pending.push(buf)
    return this.link.stream.write(buf, (err) => {
      // A failed write fails the link, and takeUnconfirmed() puts this batch back: nothing to do.
      if (this.#dead || err) return
      // Write callbacks of one stream run in write order, so the oldest pending batch is this one.
      const done = this.#pending.shift()!
      this.#keep(done)
      confirmed(done)
    })
  }

  /** Ends the session after its link failed; returns what must be sent again, oldest first. */
  takeUnconfirmed (): { resent: Buffer[], pending: Buffer[], taken: { whole: Buffer, rest: Buffer, bytes: number } | null, unanswered: number } {
    this.#dead = true
    const pending = this.#pending.takeAll()
    // A link that acknowledges (RELP) says how much of the oldest batch it took: only the rest
    // goes again, so it is not duplicated.
    const first = pending[0]
    let taken = null
    let unanswered = 0
    if (first !== undefined && this.link.confirmedPrefix !== undefined) {
      const bytes = Math.min(this.link.confirmedPrefix(first), first.length)
      unanswered = Math.max(0, (this.link.sentPrefix?.(first) ?? bytes) - bytes)
      if (bytes > 0) {
        const rest = first.subarray(bytes)
        taken = { whole: first, rest, bytes }
        if (rest.length === 0) pending.shift()
        else pending[0] = rest
      }
    }
    return { resent: this.#window.takeAll(), pending, taken, unanswered }
  }

  /** Ends the session after a clean close: nothing to send again. */
  retire (): void {
    this.#dead = true
    this.#window.takeAll()
  }

  #keep (buf: Buffer): void {
    if (this.#resendBytes === 0 || this.#resentOnce.has(buf)) return
    this.#window.push(buf)
    // At most resendBytes, whole batches: the window counts in the emitter's memory, and it must
    // stay under the high-water mark, or an idle link could hold write() at false for ever.
    while (this.#window.bytes > this.#resendBytes) this.#window.shift()
  }
}
