import net from 'node:net'
import tls from 'node:tls'
import { EventEmitter, once } from 'node:events'
import { Framer, type FramerOptions } from './framing.js'

/** One accepted connection, as the pipeline sees it. */
export interface Connection {
  id: number
  /** The sender's address, `::ffff:` prefix removed. */
  ip: string
  socket: net.Socket
  /** CyberTrace compatibility: detections go back on this socket instead of to the SIEM. */
  replyBack: boolean
  /** CyberTrace compatibility: a finished event after each input event. */
  sendFinished: boolean
  /** CyberTrace compatibility: in reply-back mode, detections count in statistics only when asked. */
  saveStatistics: boolean
  events: number
}

/** Receives every event with its connection; the bytes are valid only during the call. */
export type ConnectionEventSink = (buf: Buffer, start: number, end: number, conn: Connection) => void

export interface TcpListenerOptions {
  protocol: 'tcp' | 'tls'
  host: string
  port: number
  tls?: { cert: Buffer, key: Buffer, ca?: Buffer }
  framing: FramerOptions
  maxConnections: number
  /** Close a connection silent this long (ms); 0 disables. */
  idleTimeout: number
  /** Delimiter framing: emit a held last event after this much quiet (ms). */
  delimiterFlush?: number
}

/** Counters of one listener (Vector style: received, dropped with a reason, errors). */
export interface TcpCounters {
  connections: number
  rejected: number
  open: number
  /** Connections closed without sending a single event. */
  empty: number
  events: number
  bytes: number
  truncated: number
  framingErrors: number
  errors: number
}

/** CyberTrace's first-message flags, concatenated: `X-KF-SendFinishedEventX-KF-ReplyBack`. */
const KF_PREFIX = 'X-KF-'
const KF_FLAGS = new Set(['ReplyBack', 'SendFinishedEvent', 'SaveStatistic', 'ReplyBackPING'])
/** A CyberTrace handshake is short; longer first lines are ordinary events. */
const KF_MAX = 96

/**
 * Syslog over TCP or TLS: accepts connections, frames each one, hands events to the sink, and
 * pauses every socket when the pipeline pushes back (so TCP senders slow down instead of the
 * process growing). Emits 'connection' and 'close' with the Connection.
 */
export class TcpListener extends EventEmitter {
  readonly counters: TcpCounters = { connections: 0, rejected: 0, open: 0, empty: 0, events: 0, bytes: 0, truncated: 0, framingErrors: 0, errors: 0 }
  private server?: net.Server
  private readonly conns = new Set<Connection>()
  private paused = false
  private nextId = 1

  constructor (private readonly opts: TcpListenerOptions, private readonly sink: ConnectionEventSink) {
    super()
  }

  /** Starts listening; resolves with the bound port (useful when port 0 was asked for). */
  async listen (): Promise<number> {
    const onSocket = (socket: net.Socket): void => this.accept(socket)
    this.server = this.opts.protocol === 'tls'
      ? tls.createServer({ cert: this.opts.tls?.cert, key: this.opts.tls?.key, ca: this.opts.tls?.ca }, onSocket)
      : net.createServer(onSocket)
    this.server.on('error', (err) => this.emit('error', err))
    // TLS handshake failures are a client's problem, not the listener's: count them.
    this.server.on('tlsClientError', () => { this.counters.errors++ })
    this.server.listen(this.opts.port, this.opts.host)
    await once(this.server, 'listening')
    return (this.server.address() as net.AddressInfo).port
  }

  /** Stops reading from every connection (backpressure from the pipeline). */
  pause (): void {
    if (this.paused) return
    this.paused = true
    for (const c of this.conns) c.socket.pause()
  }

  /** Reads again. */
  resume (): void {
    if (!this.paused) return
    this.paused = false
    for (const c of this.conns) c.socket.resume()
  }

  /** Stops accepting; ends connections once their buffered events are framed. */
  async close (): Promise<void> {
    const closed = this.server === undefined ? Promise.resolve() : new Promise<void>((resolve) => this.server?.close(() => resolve()))
    for (const c of this.conns) c.socket.end()
    await closed
  }

  private accept (socket: net.Socket): void {
    this.counters.connections++
    if (this.conns.size >= this.opts.maxConnections) {
      this.counters.rejected++
      socket.destroy()
      return
    }
    const conn: Connection = {
      id: this.nextId++,
      ip: (socket.remoteAddress ?? '').replace(/^::ffff:/, ''),
      socket,
      replyBack: false,
      sendFinished: false,
      saveStatistics: true,
      events: 0
    }
    this.conns.add(conn)
    this.counters.open++
    const framer = new Framer(this.opts.framing)
    let first = true
    const onEvent = (buf: Buffer, start: number, end: number): void => {
      if (first) {
        first = false
        if (end - start <= KF_MAX && this.handshake(conn, buf.toString('latin1', start, end).trim())) return
      }
      conn.events++
      this.counters.events++
      this.sink(buf, start, end, conn)
    }
    let quiet: NodeJS.Timeout | undefined
    socket.on('data', (chunk: Buffer) => {
      this.counters.bytes += chunk.length
      framer.push(chunk, onEvent)
      if (this.opts.framing.mode === 'delimiter' && this.opts.delimiterFlush !== undefined) {
        clearTimeout(quiet)
        quiet = setTimeout(() => framer.flushIdle(onEvent), this.opts.delimiterFlush)
      }
    })
    socket.on('end', () => { framer.end(onEvent); socket.end() })
    socket.on('error', () => { this.counters.errors++ })
    socket.on('close', () => {
      clearTimeout(quiet)
      this.counters.truncated += framer.counters.truncated
      this.counters.framingErrors += framer.counters.framingErrors
      if (conn.events === 0) this.counters.empty++
      this.conns.delete(conn)
      this.counters.open--
      this.emit('close', conn)
    })
    if (this.opts.idleTimeout > 0) {
      socket.setTimeout(this.opts.idleTimeout, () => socket.destroy())
    }
    if (this.paused) socket.pause()
    this.emit('connection', conn)
  }

  /**
   * CyberTrace's handshake: a first message made only of `X-KF-` flags. `ReplyBackPING` is
   * answered `PONG`; `ReplyBack` sends detections back on this socket (and, as in CyberTrace, keeps
   * them out of the statistics unless `SaveStatistic` is also given); `SendFinishedEvent` adds a
   * finished event after each input event. Returns true when the line was a handshake.
   */
  private handshake (conn: Connection, line: string): boolean {
    if (!line.startsWith(KF_PREFIX)) return false
    const flags = line.split(KF_PREFIX).slice(1)
    if (!flags.every((f) => KF_FLAGS.has(f))) return false
    if (flags.includes('ReplyBackPING')) { conn.socket.write('PONG\n'); return true }
    conn.replyBack = flags.includes('ReplyBack')
    conn.sendFinished = flags.includes('SendFinishedEvent')
    conn.saveStatistics = !conn.replyBack || flags.includes('SaveStatistic')
    return true
  }
}
