/**
 * Main side: results come back from the workers in any order; output must be in file and line
 * order. Every task gets a slot, in the order tasks are planned; a slot's results (a stream task
 * sends several) are handed on only when every slot before it is complete.
 */
import type { ScanResult } from './protocol.js'

interface Held { r: ScanResult, ack?: () => void }
interface Slot { held: Held[], done: boolean }

/** Reorders results by slot; `consume` gets them in order. */
export class Reorder {
  private readonly slots = new Map<number, Slot>()
  private head = 0
  private next = 0
  /** Bytes of records held back, waiting for an earlier slot. */
  heldBytes = 0

  constructor (private readonly consume: (r: ScanResult) => void) {}

  /** Slots opened and not yet handed on completely. */
  get waiting (): number { return this.next - this.head }

  /** A slot for the next task. */
  open (): number {
    this.slots.set(this.next, { held: [], done: false })
    return this.next++
  }

  /**
   * A result of slot `seq`; `done` when it is the slot's last. `ack` runs once the result is
   * handed on (a stream worker waits for it), or at once when it is held but memory allows.
   */
  add (seq: number, r: ScanResult, done: boolean, ack?: () => void): void {
    const slot = this.slots.get(seq)
    if (slot === undefined) return
    slot.held.push({ r, ack })
    slot.done ||= done
    this.heldBytes += r.records.length
    this.drain()
  }

  /** Hands on what the head slots hold; returns once the head slot is incomplete. */
  private drain (): void {
    for (;;) {
      const slot = this.slots.get(this.head)
      if (slot === undefined) return
      while (slot.held.length > 0) {
        const h = slot.held.shift() as Held
        this.heldBytes -= h.r.records.length
        this.consume(h.r)
        h.ack?.()
      }
      if (!slot.done) return
      this.slots.delete(this.head)
      this.head++
    }
  }
}
