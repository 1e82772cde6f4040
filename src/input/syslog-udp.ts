import type { ComponentReport } from '../util/telemetry.js'
import dgram from 'node:dgram'
import { readFileSync, readlinkSync } from 'node:fs'
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
  /** Datagrams the kernel dropped because the socket's receive buffer was full (Linux: /proc/net/udp). */
  kernelDropped: number
}

// How often the kernel's drop count is read: cheap (one small /proc file), and the statistics
// and service events read the counter, not the file.
const KERNEL_DROPS_EVERY_MS = 1000

const LF = 0x0a
const CR = 0x0d

/** Syslog over UDP: each datagram holds one event (or several, one a line). */
export class UdpListener {
  readonly counters: UdpCounters = { datagrams: 0, events: 0, bytes: 0, dropped: 0, truncated: 0, errors: 0, kernelDropped: 0 }
  private socket?: dgram.Socket

  /** The counters in the one vocabulary (util/telemetry.ts). */
  report (): ComponentReport {
    const c = this.counters
    return {
      component: 'syslog_udp',
      kind: 'source',
      received: { events: c.events, bytes: c.bytes },
      // Bytes are counted per datagram, events per event: what went on is counted in events only.
      sent: { events: c.events - c.dropped, bytes: 0 },
      dropped: [
        { reason: 'pipeline_full', intentional: false, unit: 'events', count: c.dropped },
        { reason: 'kernel_buffer_full', intentional: false, unit: 'events', count: c.kernelDropped },
        // Cut at maxEventSize: configured, but what was cut may have held an indicator: a loss to report.
        { reason: 'truncated', intentional: false, unit: 'events', count: c.truncated },
      ],
      errors: [{ type: 'socket', stage: 'receiving', count: c.errors }],
    }
  }
  private inode: string | null = null
  private dropsTimer?: NodeJS.Timeout
  private dropsAtStart = 0

  constructor (private readonly opts: { host: string, port: number, maxEventSize: number, recvBufferSize?: number }, private readonly sink: DatagramEventSink) {}

  /** The receive buffer the kernel granted (it caps requests at net.core.rmem_max). */
  get recvBufferSize (): number {
    try { return this.socket?.getRecvBufferSize() ?? 0 } catch { return 0 }
  }

  /** Binds; resolves with the bound port. */
  async listen (): Promise<number> {
    const type = this.opts.host.includes(':') ? 'udp6' : 'udp4'
    // A large receive buffer absorbs bursts while a batch is being handed to the pool.
    this.socket = dgram.createSocket({ type, recvBufferSize: this.opts.recvBufferSize ?? 8 << 20 })
    this.socket.on('error', () => { this.counters.errors++ })
    this.socket.on('message', (msg, rinfo) => this.receive(msg, rinfo.address.replace(/^::ffff:/, '')))
    this.socket.bind(this.opts.port, this.opts.host)
    await listening(this.socket, `udp://${this.opts.host}:${this.opts.port}`)
    this.inode = socketInode(this.socket)
    this.dropsAtStart = this.kernelDrops() ?? 0
    this.dropsTimer = setInterval(() => this.readKernelDrops(), KERNEL_DROPS_EVERY_MS)
    this.dropsTimer.unref()
    return this.socket.address().port
  }

  /** Brings kernelDropped up to date. */
  readKernelDrops (): void {
    const n = this.kernelDrops()
    if (n !== null) this.counters.kernelDropped = Math.max(this.counters.kernelDropped, n - this.dropsAtStart)
  }

  // The `drops` column of this socket's line in /proc/net/udp (udp6), found by its inode. Node
  // has no SO_RXQ_OVFL; null where /proc is not there (not Linux).
  private kernelDrops (): number | null {
    if (this.inode === null) return null
    for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
      let text: string
      try { text = readFileSync(file, 'latin1') } catch { continue }
      for (const line of text.split('\n')) {
        const f = line.trim().split(/\s+/)
        if (f[9] === this.inode) return Number(f[f.length - 1]) || 0
      }
    }
    return null
  }

  async close (): Promise<void> {
    clearInterval(this.dropsTimer)
    if (this.socket === undefined) return
    this.readKernelDrops()
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

/** The inode of a bound socket (`socket:[N]` of /proc/self/fd), to find it in /proc/net/udp. */
function socketInode (socket: dgram.Socket): string | null {
  // The fd is not public API; where it is missing the drop count stays unknown (0), nothing fails.
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd
  if (typeof fd !== 'number' || fd < 0) return null
  try {
    return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1] ?? null
  } catch {
    return null
  }
}
