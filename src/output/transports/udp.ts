/**
 * syslog over UDP (RFC 5426): each message in its own datagram, framing removed. UDP cannot push
 * back, so nothing here blocks: what cannot be sent is dropped and counted with its reason.
 */
import dgram from 'node:dgram'
import { lookup } from 'node:dns/promises'
import { backoffDelay, type Backoff } from './connection.js'
import { forEachMessage, type OutputFraming } from './frames.js'

/** Why UDP output dropped bytes. */
export type UdpDropReason = 'oversize' | 'malformed' | 'overflow' | 'send' | 'unavailable'

/** Where the sink reports what happened; the emitter turns these into counters and events. */
export interface UdpHooks {
  sent (bytes: number): void
  dropped (reason: UdpDropReason, bytes: number): void
  error (err: Error): void
  lost (err: Error): void
  regained (): void
}

/** UDP target and limits. */
export interface UdpSinkOptions {
  host: string
  port: number
  framing: OutputFraming
  /** Larger messages are dropped, not cut: half a message is worse than none to a SIEM. */
  maxDatagram: number
  /** Bound of the socket's send queue in bytes; beyond it messages are dropped. */
  maxQueue: number
  reconnect: Backoff
}

/** Sends every message of a Buffer as one datagram on a connected UDP socket. */
export class UdpSink {
  readonly #o: UdpSinkOptions
  readonly #hooks: UdpHooks
  #socket: dgram.Socket | null = null
  #outstanding = 0
  #attempt = 0
  #timer: NodeJS.Timeout | null = null
  #closed = false
  #idle: (() => void) | null = null

  constructor (opts: UdpSinkOptions, hooks: UdpHooks) {
    this.#o = opts
    this.#hooks = hooks
  }

  /** Bytes waiting in the socket's send queue. */
  get queued (): number {
    return this.#socket?.getSendQueueSize() ?? 0
  }

  /** Resolves the host and connects the socket; on failure keeps retrying with backoff (resolves after the first attempt). */
  async start (): Promise<void> {
    let socket: dgram.Socket | null = null
    try {
      const { address, family } = await lookup(this.#o.host)
      const s = socket = dgram.createSocket(family === 6 ? 'udp6' : 'udp4')
      // A connected socket sends without a lookup per datagram, and reports ICMP "port
      // unreachable" as ECONNREFUSED on later sends, so a missing receiver shows in the counters.
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject)
        s.connect(this.#o.port, address, () => {
          s.off('error', reject)
          resolve()
        })
      })
      // Send errors reach the send callbacks; this catches the rest. The socket stays usable.
      socket.on('error', (err) => this.#hooks.error(err))
      if (this.#closed) {
        socket.close()
        return
      }
      this.#socket = socket
      if (this.#attempt > 0) this.#hooks.regained()
      this.#attempt = 0
    } catch (err) {
      try { socket?.close() } catch { /* it never got going */ }
      const e = err instanceof Error ? err : new Error(String(err))
      this.#hooks.error(e)
      if (this.#attempt === 0) this.#hooks.lost(e)
      if (this.#closed) return
      this.#timer = setTimeout(() => { void this.start() }, backoffDelay(this.#attempt++, this.#o.reconnect))
    }
  }

  /** Sends each message of `frames` (a Buffer of whole frames) as a datagram; drops what it cannot send. */
  send (frames: Buffer): void {
    const socket = this.#socket
    if (socket === null) {
      this.#hooks.dropped('unavailable', frames.length)
      return
    }
    const bad = forEachMessage(frames, this.#o.framing, (msg) => {
      if (msg.length > this.#o.maxDatagram) {
        this.#hooks.dropped('oversize', msg.length)
      } else if (socket.getSendQueueSize() >= this.#o.maxQueue) {
        // libuv queues sends the kernel refuses right now without limit: this is our bound on it.
        this.#hooks.dropped('overflow', msg.length)
      } else {
        this.#outstanding++
        socket.send(msg, (err) => {
          this.#outstanding--
          if (err) {
            this.#hooks.error(err)
            this.#hooks.dropped('send', msg.length)
          } else {
            this.#hooks.sent(msg.length)
          }
          if (this.#outstanding === 0) this.#idle?.()
        })
      }
    })
    if (bad > 0) this.#hooks.dropped('malformed', bad)
  }

  /** Waits for the sends in progress (at most `timeout` ms), then closes the socket. */
  async close (timeout: number): Promise<void> {
    this.#closed = true
    if (this.#timer !== null) clearTimeout(this.#timer)
    const socket = this.#socket
    if (socket === null) return
    if (this.#outstanding > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeout)
        this.#idle = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    }
    this.#socket = null
    await new Promise<void>((resolve) => socket.close(() => resolve()))
  }
}
