import dgram from 'node:dgram'
import { listening } from '../util/listen.js'

/**
 * Receives one event; returns false when the pipeline had no room and the event was dropped
 * (UDP cannot push back, so what it cannot take is counted, never queued without bound).
 */
export type DatagramEventSink = (buf: Buffer, start: number, end: number, ip: string) => boolean

export interface UdpCounters {
  datagrams: number
  events: number
  bytes: number
  /** Events dropped because the pipeline was full. */
  dropped: number
  truncated: number
  errors: number
}

const LF = 0x0a
const CR = 0x0d

/** Syslog over UDP: each datagram holds one event (or several, one a line). */
export class UdpListener {
  readonly counters: UdpCounters = { datagrams: 0, events: 0, bytes: 0, dropped: 0, truncated: 0, errors: 0 }
  private socket?: dgram.Socket

  constructor (private readonly opts: { host: string, port: number, maxEventSize: number }, private readonly sink: DatagramEventSink) {}

  /** Binds; resolves with the bound port. */
  async listen (): Promise<number> {
    const type = this.opts.host.includes(':') ? 'udp6' : 'udp4'
    // A large receive buffer absorbs bursts while a batch is being handed to the pool.
    this.socket = dgram.createSocket({ type, recvBufferSize: 8 << 20 })
    this.socket.on('error', () => { this.counters.errors++ })
    this.socket.on('message', (msg, rinfo) => this.receive(msg, rinfo.address.replace(/^::ffff:/, '')))
    this.socket.bind(this.opts.port, this.opts.host)
    await listening(this.socket, `udp://${this.opts.host}:${this.opts.port}`)
    return this.socket.address().port
  }

  async close (): Promise<void> {
    if (this.socket === undefined) return
    await new Promise<void>((resolve) => this.socket?.close(() => resolve()))
  }

  private receive (msg: Buffer, ip: string): void {
    this.counters.datagrams++
    this.counters.bytes += msg.length
    let start = 0
    while (start < msg.length) {
      let end = msg.indexOf(LF, start)
      const next = end === -1 ? msg.length : end + 1
      if (end === -1) end = msg.length
      while (end > start && msg[end - 1] === CR) end--
      if (end - start > this.opts.maxEventSize) { this.counters.truncated++; end = start + this.opts.maxEventSize }
      if (end > start) {
        this.counters.events++
        if (!this.sink(msg, start, end, ip)) this.counters.dropped++
      }
      start = next
    }
  }
}
