import type { ComponentReport } from '../util/telemetry.js'
import net from 'node:net'
import tls from 'node:tls'
import { EventEmitter, once } from 'node:events'
import { Framer, type FramerOptions } from './framing.js'
import { listening } from '../util/listen.js'

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
  /** With `ca`, clients are asked for a certificate signed by it; `requireClientCert` refuses those without one. */
  tls?: { cert: Buffer, key: Buffer, ca?: Buffer, requireClientCert?: boolean }
  framing: FramerOptions
  maxConnections: number
  /** At most this many open connections from one sender address. */
  maxConnectionsPerSource: number
  /** Close a connection silent this long (ms); 0 disables. */
  idleTimeout: number
  /** Close a connection that has sent no byte this long after it opened (ms); 0 disables. */
  firstByteTimeout: number
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
  /** Connections refused because their sender already had maxConnectionsPerSource open. */
  rejectedPerSource: number
  /** Connections closed for sending nothing within firstByteTimeout, or to make room for a new one. */
  silentClosed: number
  /** Bytes, and lines in them, that arrived after the shutdown drain and were not matched. */
  bytesAfterStop: number
  linesAfterStop: number
}

/** Per-connection state the listener keeps beside the public Connection. */
interface ConnState {
  framer: Framer
  onEvent: (buf: Buffer, start: number, end: number) => void
  /** When bytes last arrived (or reading last resumed), for the drain at shutdown. */
  lastData: number
  /** The sender ended its side: every event it sent was framed. */
  ended: boolean
  /** Shutdown: everything read was framed; later bytes are not taken. */
  drained: boolean
  /** No byte has come yet: such a connection is the first to go when room is needed. */
  silent: boolean
  /** Still counted in perSource (eviction takes it off before 'close'). */
  counted: boolean
  quiet?: NodeJS.Timeout
  firstByte?: NodeJS.Timeout
}

/**
 * Shutdown: a connection is read until its sender ends it, or until it has been quiet this long
 * while we were reading (what a sender had already sent is then framed), ...
 */
const DRAIN_QUIET_MS = 250
/** ... but never longer than this, for a sender that keeps sending. */
const DRAIN_MAX_MS = 5_000
/** After a polite end(), a peer that keeps its side open is cut off after this long. */
const CLOSE_MAX_MS = 2_000

/** CyberTrace's first-message flags, concatenated: `X-KF-SendFinishedEventX-KF-ReplyBack`. */
const KF_PREFIX = 'X-KF-'
const KF_FLAGS = new Set(['ReplyBack', 'SendFinishedEvent', 'SaveStatistic', 'ReplyBackPING'])
/** A CyberTrace handshake is short; longer first lines are ordinary events. */
const KF_MAX = 96

/**
 * Syslog over TCP or TLS: accepts connections, frames each one, hands events to the sink, and
 * pauses every socket when the pipeline pushes back (so TCP senders slow down instead of the
 * process growing). Emits 'connection' and 'close' with the Connection, and 'ended' when a
 * reply-back client ended its side: the listener then leaves ours open for the replies.
 */
export class TcpListener extends EventEmitter {
  readonly counters: TcpCounters = {
    connections: 0, rejected: 0, open: 0, empty: 0, events: 0, bytes: 0, truncated: 0, framingErrors: 0, errors: 0,
    rejectedPerSource: 0, silentClosed: 0, bytesAfterStop: 0, linesAfterStop: 0,
  }
  private server?: net.Server
  private readonly perSource = new Map<string, number>()
  private serverClosed?: Promise<void>
  private readonly conns = new Map<Connection, ConnState>()
  private paused = false
  private draining = false
  private nextId = 1

  constructor (private readonly opts: TcpListenerOptions, private readonly sink: ConnectionEventSink) {
    super()
  }

  /** The counters in the one vocabulary (util/telemetry.ts): the names metrics and events use. */
  report (): ComponentReport {
    const c = this.counters
    return {
      component: this.opts.protocol === 'tls' ? 'syslog_tls' : 'syslog_tcp',
      kind: 'source',
      received: { events: c.events + c.linesAfterStop, bytes: c.bytes + c.bytesAfterStop },
      sent: { events: c.events, bytes: c.bytes },
      dropped: [
        // Cut at maxEventSize: configured, but what was cut may have held an indicator: a loss to report.
        { reason: 'truncated', intentional: false, unit: 'events', count: c.truncated },
        { reason: 'after_stop', intentional: false, unit: 'events', count: c.linesAfterStop },
        { reason: 'after_stop', intentional: false, unit: 'bytes', count: c.bytesAfterStop },
        { reason: 'over_max_connections', intentional: true, unit: 'connections', count: c.rejected },
        { reason: 'over_max_connections_per_source', intentional: true, unit: 'connections', count: c.rejectedPerSource },
        { reason: 'silent', intentional: true, unit: 'connections', count: c.silentClosed },
      ],
      errors: [
        { type: 'socket', stage: 'receiving', count: c.errors },
        { type: 'framing', stage: 'receiving', count: c.framingErrors },
      ],
    }
  }

  /** Starts listening; resolves with the bound port (useful when port 0 was asked for). */
  async listen (): Promise<number> {
    const onSocket = (socket: net.Socket): void => this.accept(socket)
    // Half-open allowed: a reply-back client may end its side after its last event and still
    // read the detections of its events; Node would otherwise end ours with it, at once.
    const t = this.opts.tls
    // Mutual TLS: with a CA, every client is asked for a certificate, and one that has none
    // signed by that CA is refused in the handshake (counted in errors) when it is required.
    this.server = this.opts.protocol === 'tls'
      ? tls.createServer({
        cert: t?.cert,
        key: t?.key,
        ca: t?.ca,
        requestCert: t?.ca !== undefined,
        rejectUnauthorized: t?.ca !== undefined && t.requireClientCert !== false,
        allowHalfOpen: true,
      }, onSocket)
      : net.createServer({ allowHalfOpen: true }, onSocket)
    this.server.on('error', (err) => this.emit('error', err))
    // TLS handshake failures are a client's problem, not the listener's: count them.
    this.server.on('tlsClientError', () => { this.counters.errors++ })
    this.server.listen(this.opts.port, this.opts.host)
    await listening(this.server, `${this.opts.protocol}://${this.opts.host}:${this.opts.port}`)
    return (this.server.address() as net.AddressInfo).port
  }

  /** Stops reading from every connection (backpressure from the pipeline). */
  pause (): void {
    if (this.paused) return
    this.paused = true
    for (const c of this.conns.keys()) c.socket.pause()
  }

  /** Reads again. */
  resume (): void {
    if (!this.paused) return
    this.paused = false
    const now = Date.now()
    for (const [c, st] of this.conns) {
      if (st.drained) continue
      // Time spent paused is not quiet time of the sender's.
      st.lastData = now
      c.socket.resume()
    }
  }

  /**
   * Shutdown, first step: stops accepting and frames what senders already sent. Each connection
   * is read until its sender ends it or it has been quiet (while we read) for DRAIN_QUIET_MS, at
   * most DRAIN_MAX_MS; then its last unterminated event is flushed and it is no longer read.
   * Connections stay open, so reply-back clients still get the detections of what they sent:
   * `close()` ends them once the pipeline is idle. Waiting for senders to close instead would
   * hang: a forwarder may keep its connection open for days, and TCP lets it ignore our FIN.
   */
  async drain (): Promise<void> {
    if (this.draining) return
    this.draining = true
    if (this.server !== undefined) {
      const server = this.server
      this.serverClosed = new Promise<void>((resolve) => server.close(() => resolve()))
    }
    const deadline = Date.now() + DRAIN_MAX_MS
    for (;;) {
      const now = Date.now()
      for (const [c, st] of this.conns) {
        if (st.drained) continue
        if (st.ended || now >= deadline || (!this.paused && now - st.lastData >= DRAIN_QUIET_MS)) this.finish(c, st)
      }
      if ([...this.conns.values()].every((st) => st.drained)) return
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }

  /** Shutdown, last step (after `drain()` and once the pipeline is idle): closes every connection. */
  async close (): Promise<void> {
    await this.drain()
    const closed: Array<Promise<unknown>> = [this.serverClosed ?? Promise.resolve()]
    for (const [c, st] of this.conns) {
      // Read and discard until the peer closes: unread bytes would turn our close into a reset,
      // which can make the peer drop replies it has not read yet.
      st.drained = true
      closed.push(once(c.socket, 'close'))
      c.socket.resume()
      c.socket.end()
    }
    const timer = setTimeout(() => { for (const c of this.conns.keys()) c.socket.destroy() }, CLOSE_MAX_MS)
    // The sockets' own 'close' (not only the server's): the counters are summed there.
    await Promise.all(closed)
    clearTimeout(timer)
  }

  /** Frames a connection's last bytes and stops taking its events (shutdown). */
  private finish (conn: Connection, st: ConnState): void {
    st.drained = true
    clearTimeout(st.quiet)
    conn.socket.pause()
    if (!st.ended) st.framer.end(st.onEvent)
  }

  /**
   * Lockout guard: thousands of idle connections must not keep a real sender out. A sender gets
   * at most maxConnectionsPerSource; a connection that never sent a byte goes after
   * firstByteTimeout, or at once when the listener is full and a new one comes.
   */
  private admit (ip: string): boolean {
    if (this.draining) { this.counters.rejected++; return false }
    // Full: a connection that never sent a byte (of this sender when its own cap is the limit)
    // makes room; without one, the new connection is refused.
    if ((this.perSource.get(ip) ?? 0) >= this.opts.maxConnectionsPerSource) {
      if (!this.evictSilent(ip)) {
        this.counters.rejected++
        this.counters.rejectedPerSource++
        return false
      }
    } else if (this.conns.size >= this.opts.maxConnections && !this.evictSilent(null)) {
      this.counters.rejected++
      return false
    }
    return true
  }

  private evictSilent (ip: string | null): boolean {
    for (const [c, st] of this.conns) {
      if (!st.silent || (ip !== null && c.ip !== ip)) continue
      st.silent = false
      this.counters.silentClosed++
      c.socket.destroy()
      // The count of its source drops on 'close', which comes later: take it off now.
      const n = (this.perSource.get(c.ip) ?? 1) - 1
      this.perSource.set(c.ip, n)
      st.counted = false
      return true
    }
    return false
  }

  private accept (socket: net.Socket): void {
    this.counters.connections++
    const ip = (socket.remoteAddress ?? '').replace(/^::ffff:/, '')
    if (!this.admit(ip)) {
      socket.destroy()
      return
    }
    this.perSource.set(ip, (this.perSource.get(ip) ?? 0) + 1)
    const conn: Connection = {
      id: this.nextId++,
      ip,
      socket,
      replyBack: false,
      sendFinished: false,
      saveStatistics: true,
      events: 0
    }
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
    const st: ConnState = { framer, onEvent, lastData: Date.now(), ended: false, drained: false, silent: true, counted: true }
    this.conns.set(conn, st)
    if (this.opts.firstByteTimeout > 0) {
      const check = (): void => {
        if (!st.silent) return
        // While the listener is paused (start-up, backpressure) bytes may be waiting unread.
        if (this.paused) { st.firstByte = setTimeout(check, this.opts.firstByteTimeout); return }
        this.counters.silentClosed++
        socket.destroy()
      }
      st.firstByte = setTimeout(check, this.opts.firstByteTimeout)
    }
    socket.on('data', (chunk: Buffer) => {
      if (st.silent) { st.silent = false; clearTimeout(st.firstByte) }
      // After the shutdown drain the pipeline takes no more events from this connection:
      // counted, so that what a sender lost at a stop shows in the final statistics.
      if (st.drained) {
        this.counters.bytesAfterStop += chunk.length
        for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) this.counters.linesAfterStop++
        return
      }
      st.lastData = Date.now()
      this.counters.bytes += chunk.length
      framer.push(chunk, onEvent)
      if (this.opts.framing.mode === 'delimiter' && this.opts.delimiterFlush !== undefined) {
        clearTimeout(st.quiet)
        st.quiet = setTimeout(() => framer.flushIdle(onEvent), this.opts.delimiterFlush)
      }
    })
    socket.on('end', () => {
      if (!st.drained) framer.end(onEvent)
      st.ended = true
      // A reply-back connection still owes the detections of its last events: whoever writes
      // them ends it ('ended'). Any other one is done.
      if (conn.replyBack) this.emit('ended', conn)
      else socket.end()
    })
    socket.on('error', () => { this.counters.errors++ })
    socket.on('close', () => {
      clearTimeout(st.quiet)
      clearTimeout(st.firstByte)
      const left = (this.perSource.get(ip) ?? 1) - (st.counted ? 1 : 0)
      if (left > 0) this.perSource.set(ip, left)
      else this.perSource.delete(ip)
      // A reset skips 'end': what was framed so far is still the sender's last event.
      if (!st.ended && !st.drained) framer.end(onEvent)
      st.drained = true
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
