/**
 * Keeps one link open to the target: connects, notices when the link fails, and tries again with
 * exponential backoff and jitter. It never gives up on its own (the SIEM may be away for hours);
 * only a target that cannot be reopened (stdout) reports 'fatal'.
 */
import { EventEmitter } from 'node:events'
import type { Link } from './link.js'

/** Reconnect delays in milliseconds. */
export interface Backoff {
  initialDelay: number
  maxDelay: number
}

/** Opens one link; rejects when the target cannot be reached, or when `signal` aborts the attempt. */
export type Opener = (signal: AbortSignal) => Promise<Link>

/** Delay before retry number `attempt` (0-based): doubling from initialDelay up to maxDelay, with jitter. */
export function backoffDelay (attempt: number, b: Backoff, random: () => number = Math.random): number {
  const ceiling = Math.min(b.maxDelay, b.initialDelay * 2 ** Math.min(attempt, 30))
  // "Equal jitter": never less than half the ceiling (no hammering), and spread over the other half
  // so that many emitters cut off by the same outage do not all come back in the same millisecond.
  return Math.round(ceiling / 2 + random() * ceiling / 2)
}

function toError (err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err))
}

/**
 * A reconnecting link. Events: 'up' (link); 'down' (err, link) when the link failed, or (err, null)
 * when an attempt failed; 'fatal' (err) when it cannot retry.
 */
export class Connection extends EventEmitter {
  readonly #open: Opener
  readonly #backoff: Backoff
  readonly #retry: boolean
  #link: Link | null = null
  #attempt = 0
  #upSince = 0
  #timer: NodeJS.Timeout | null = null
  #abort: AbortController | null = null
  #closed = false

  constructor (open: Opener, backoff: Backoff, retry: boolean) {
    super()
    this.#open = open
    this.#backoff = backoff
    this.#retry = retry
  }

  /** The open link, or null while down. */
  get link (): Link | null {
    return this.#link
  }

  /** Makes the first attempt; resolves once it settled, up or down (never rejects). */
  start (): Promise<void> {
    return this.#connect()
  }

  /** Takes the open link away (the caller ends it) and waits for connectNow(). */
  detach (): Link | null {
    this.#clearTimer()
    const link = this.#link
    this.#link = null
    return link
  }

  /** Connects at once, cutting short a backoff wait; does nothing while up or connecting. */
  connectNow (): void {
    if (this.#closed || this.#link !== null || this.#abort !== null) return
    this.#clearTimer()
    void this.#connect()
  }

  /** Stops for good: no more attempts, the one in progress is aborted. Returns the open link, left to the caller. */
  close (): Link | null {
    this.#closed = true
    this.#abort?.abort()
    return this.detach()
  }

  async #connect (): Promise<void> {
    this.#timer = null
    const ac = new AbortController()
    this.#abort = ac
    let link: Link
    try {
      link = await this.#open(ac.signal)
    } catch (err) {
      this.#abort = null
      if (this.#closed) return
      this.emit('down', toError(err), null)
      this.#schedule(toError(err))
      return
    }
    this.#abort = null
    if (this.#closed) {
      link.destroy()
      return
    }
    this.#link = link
    this.#upSince = Date.now()
    link.onFail((err) => this.#onFail(link, err))
    // onFail may have run at once (the link failed before we got it): only announce a live link.
    if (this.#link === link) this.emit('up', link)
  }

  #onFail (link: Link, err: Error): void {
    if (this.#link !== link) return
    this.#link = null
    link.destroy()
    // A link that stayed up a while resets the backoff; one that fails at once does not, so a SIEM
    // that accepts and drops every connection is not hammered at initialDelay.
    if (Date.now() - this.#upSince >= this.#backoff.maxDelay) this.#attempt = 0
    this.emit('down', err, link)
    this.#schedule(err)
  }

  #schedule (err: Error): void {
    if (this.#closed) return
    if (!this.#retry) {
      this.emit('fatal', err)
      return
    }
    const delay = backoffDelay(this.#attempt++, this.#backoff)
    this.#timer = setTimeout(() => { void this.#connect() }, delay)
  }

  #clearTimer (): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
  }
}
