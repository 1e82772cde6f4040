/**
 * A link is one open destination of the emitter (a socket, a file, stdout) behind one small
 * interface, so the emitter's queueing and the reconnect loop do not care which it is.
 */
import type { Writable } from 'node:stream'

/** One open destination: the stream to write batches to, and how it ends or fails. */
export interface Link {
  readonly stream: Writable
  /** True when a write whose callback fired can still be lost (a socket's kernel buffer), so the sender keeps a resend window. */
  readonly lossy: boolean
  /** Registers the callback run once when the link fails on its own; never after end() or destroy(). */
  onFail (cb: (err: Error) => void): void
  /** Ends the link after what was handed to it; resolves true when it all went out cleanly, false on error or after `timeout` ms. */
  end (timeout: number): Promise<boolean>
  /** Drops the link at once; what it still buffered is lost. */
  destroy (): void
  /** For links whose peer acknowledges (RELP): bytes at the start of `batch`, written and not yet confirmed, that the peer already took. */
  confirmedPrefix?: (batch: Buffer) => number
  /** With confirmedPrefix: bytes at the start of `batch` that were sent, confirmed or not (what may arrive twice when sent again). */
  sentPrefix?: (batch: Buffer) => number
}

/** How to wrap a stream: `own` streams are ended and destroyed with the link (not stdout, which belongs to the process). */
export interface StreamLinkOptions {
  lossy: boolean
  own: boolean
  name: string
}

/** Wraps a Writable (a socket, a file stream, stdout) as a Link. */
export function streamLink (stream: Writable, opts: StreamLinkOptions): Link {
  let failCb: ((err: Error) => void) | null = null
  let early: Error | null = null
  let settled = false

  const fail = (err: Error): void => {
    if (settled) return
    settled = true
    if (failCb !== null) failCb(err)
    else early = err
  }
  // The 'error' listener stays on owned streams for good: a late error on a link we already gave up
  // (a reset while it closes) must not become an uncaught exception.
  const onError = (err: Error): void => fail(err)
  const onClose = (): void => fail(new Error(`${opts.name}: closed`))
  // The SIEM never talks back, so its FIN means it is going away: treat it as a drop now rather
  // than at the next write, which would fail with a less telling EPIPE.
  const onEnd = (): void => fail(new Error(`${opts.name}: the peer closed the connection`))
  stream.on('error', onError)
  stream.on('close', onClose)
  stream.on('end', onEnd)

  const detach = (): void => {
    stream.off('close', onClose)
    stream.off('end', onEnd)
    if (!opts.own) stream.off('error', onError)
  }

  return {
    stream,
    lossy: opts.lossy,
    onFail (cb) {
      failCb = cb
      if (early !== null) cb(early)
    },
    end (timeout) {
      if (settled) return Promise.resolve(false)
      settled = true
      detach()
      // stdout is not ours to close; the emitter only ends a link once every write was confirmed.
      if (!opts.own) return Promise.resolve(stream.writableLength === 0)
      if (stream.destroyed) return Promise.resolve(false)
      return new Promise((resolve) => {
        let finished = false
        const timer = setTimeout(() => {
          stream.destroy()
          resolve(finished)
        }, timeout)
        stream.once('finish', () => { finished = true })
        stream.once('close', () => {
          clearTimeout(timer)
          resolve(finished && !stream.errored)
        })
        stream.end()
      })
    },
    destroy () {
      settled = true
      detach()
      if (opts.own) stream.destroy()
    },
  }
}
