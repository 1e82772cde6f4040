/**
 * The emitter: the one sink that sends ready frames to the SIEM (TCP, TLS, UDP, a file or stdout).
 * It batches writes, reconnects with backoff, pushes back with write() === false and 'drain'
 * (DESIGN §1 rule 4), and spills to a disk spool when memory is full (order: transports/outbox.ts).
 *
 * Bounds. `buffered` (queued, waiting for the spool, and written but unconfirmed) stays under
 * queue.maxBytes plus one write, not counting window bytes put back in front after a drop (held
 * beside the queue until then): a write arriving above it (the caller went on
 * past false) is dropped, counted and announced with 'drop'. write() returns false from
 * highWaterMark on (default half of queue.maxBytes: the room above takes the pool's batches
 * already in flight); with a spool that has room it spills instead. The spool is bounded by
 * spoolMaxBytes; when it is full, memory fills, then write() returns false: block, never drop.
 *
 * Delivery. Every frame accepted is sent at least once, unless the process crashes (memory is
 * lost, the spool is not; in spool mode `always` every frame is on disk before write() returns
 * and marked done only once confirmed, see spool.ts) or close() ends without a spool and without
 * the SIEM (counted, 'close'). RELP links confirm each message (transports/relp.ts): after a drop
 * exactly what was not answered goes again. TCP gives no receipt: a write callback only means "in
 * our kernel", and a connection that drops takes with it what that kernel and the peer had not
 * processed. So after a drop the emitter sends again what was not confirmed and the last
 * `resendBytes` it had confirmed: loss avoided at the price of duplicates, which a SIEM can
 * deduplicate where it cannot find what never came. A batch of that window goes again once only:
 * a peer that resets before it read a window's worth would otherwise get the same window for
 * ever, so each drop moves the stream on, and what such a peer had not read is lost (use RELP).
 * The window defaults to the most our send buffer and a peer's receive buffer can hold
 * (tcp_wmem + tcp_rmem, options.ts kernelBuffersMax), and it is held
 * beside the queue (`resendHeld`), not in it: counted in the queue, a window that large would keep
 * write() at false for good. Memory is thus at most queue.maxBytes + resendBytes. Beyond the
 * window (a peer that held more than that unread in its own buffers) nothing is guaranteed; TLS
 * is the same.
 */
import type { ComponentReport } from '../util/telemetry.js'
import { EventEmitter } from 'node:events'
import { FeedmatchError } from '../errors.js'
import { Spool } from './spool.js'
import { Connection } from './transports/connection.js'
import { newCounters, type DropReason, type EmitterCounters } from './transports/counters.js'
import type { Link } from './transports/link.js'
import { createOpener } from './transports/open.js'
import { normalize, type EmitterOptions, type Settings } from './transports/options.js'
import { Outbox } from './transports/outbox.js'
import { Session } from './transports/session.js'
import { UdpSink } from './transports/udp.js'

export type { DropReason, EmitterCounters } from './transports/counters.js'
export type { EmitterOptions, EmitterTarget, SpoolMode } from './transports/options.js'
export { spoolOptions } from './transports/options.js'

/** Sends Buffers of whole frames to one target; emits 'drain', 'lost' (err), 'regained', 'drop' (reason, bytes), and 'error' for what cannot be retried. */
export class Emitter extends EventEmitter {
  readonly counters: EmitterCounters = newCounters()

  /**
   * The counters in the one vocabulary (util/telemetry.ts). Bytes: what write() took, what the
   * destination took (resends included); drops by reason, none of them asked for by the user
   * except frames too big for a datagram (the UDP target's own limit).
   */
  report (): ComponentReport {
    const c = this.counters
    const drops: Array<[DropReason, boolean]> = [['overflow', false], ['oversize', true], ['malformed', false], ['unavailable', false], ['send', false], ['refused', false], ['close', false]]
    return {
      component: `output_${this.#o.target.protocol}`,
      kind: 'sink',
      received: { events: 0, bytes: c.bytesQueued },
      sent: { events: c.framesSent, bytes: c.bytesSent },
      dropped: drops.map(([reason, intentional]) => ({ reason, intentional, unit: 'bytes' as const, count: c.dropped[reason] })),
      errors: [{ type: 'output', stage: 'sending', count: c.errors }],
    }
  }

  readonly #o: Settings
  #box = new Outbox(null, this.#outboxHooks())
  #conn: Connection | null = null
  #udp: UdpSink | null = null
  #session: Session | null = null
  // The session of a link that reopen() is ending: what it holds still counts.
  #retiring: Session | null = null
  #state: 'new' | 'started' | 'closing' = 'new'
  #timer: NodeJS.Timeout | null = null
  #overdue = false
  /** Bytes of the resend window put back in front of the queue at the last drop, not yet sent again. */
  #requeuedWindow = 0
  #wantDrain = false
  #drainQueued = false
  #lost = false
  #startCalled = false
  #reopening: Promise<void> | null = null
  #closing: Promise<void> | null = null
  #idle: (() => void) | null = null

  /** Checks the options (FM_ERR_USAGE when they do not hold together); opens nothing yet. */
  constructor (opts: EmitterOptions) {
    super()
    this.#o = normalize(opts)
  }

  /** Bytes held in memory: queued, waiting for the spool, written but unconfirmed, kept for a resend. */
  get buffered (): number {
    if (this.#udp !== null) return this.#udp.queued
    return this.#box.bytes + (this.#session?.pendingBytes ?? 0) + (this.#retiring?.pendingBytes ?? 0)
  }

  /** Bytes kept after the kernel took them, to send again if the connection dies (at most `resendBytes`). */
  get resendHeld (): number {
    return (this.#session?.heldBytes ?? 0) - (this.#session?.pendingBytes ?? 0) +
      (this.#retiring?.heldBytes ?? 0) - (this.#retiring?.pendingBytes ?? 0)
  }

  /** True when the caller should stop writing until 'drain'. */
  get needsDrain (): boolean {
    if (this.#udp !== null || this.buffered < this.#o.highWaterMark) return false
    // With a spool taking data, memory stays near the mark and the disk takes the rest: spill,
    // do not block. Data left in the tail means the spool is full (or failing): block.
    return this.#box.spool === null || this.#box.tail.length > 0
  }

  /** Opens the spool, then connects; resolves after the first attempt, also when the target is down ('lost' tells). */
  async start (): Promise<void> {
    if (this.#startCalled) throw new FeedmatchError('FM_ERR_USAGE', 'Emitter.start() was called twice')
    this.#startCalled = true
    const o = this.#o
    const t = o.target
    if (t.protocol === 'udp') {
      this.#udp = new UdpSink({ ...t, framing: o.framing, maxDatagram: o.udpMaxDatagram, maxQueue: o.queueMaxBytes, reconnect: o.reconnect }, {
        sent: (n) => { this.counters.framesSent++; this.counters.bytesSent += n },
        dropped: (reason, n) => this.#drop(reason, n),
        error: () => { this.counters.errors++ },
        lost: (err) => this.#markLost(err),
        regained: () => this.#onUp(null),
      })
      this.#state = 'started'
      return this.#udp.start()
    }
    const open = await createOpener(o)
    if (o.spool !== null) {
      const spool = Spool.open(o.spool, {
        maxBytes: o.spoolMaxBytes,
        segmentBytes: o.spoolSegmentBytes,
        journal: o.spoolMode === 'always',
        fsync: o.spoolFsync,
        fsyncInterval: o.spoolFsyncInterval,
        onDamage: () => { this.counters.errors++ },
      })
      this.#box = new Outbox(spool, this.#outboxHooks())
    }
    const conn = this.#conn = new Connection(open, o.reconnect, t.protocol !== 'stdout')
    conn.on('up', (link: Link) => this.#onUp(link))
    conn.on('down', (err: Error, link: Link | null) => this.#onDown(err, link))
    conn.on('fatal', (err: Error) => {
      this.emit('error', new FeedmatchError('FM_ERR_OUTPUT', `output to ${t.protocol} failed for good: ${err.message}`, { cause: err }))
    })
    this.#state = 'started'
    return conn.start()
  }

  /** Accepts a Buffer of whole frames; false means at the high-water mark: wait for 'drain'. */
  write (frames: Buffer): boolean {
    if (this.#state === 'new') throw new FeedmatchError('FM_ERR_USAGE', 'Emitter.write() before start()')
    if (this.#state === 'closing') {
      // A result that finishes while the service shuts down must not crash it: refused, counted.
      this.#drop('close', frames.length)
      return false
    }
    if (this.#udp !== null) {
      this.counters.bytesQueued += frames.length
      this.#udp.send(frames)
      return true
    }
    if (frames.length === 0) return !this.needsDrain
    // Window bytes put back in front at a drop were already held beside the queue: they do not
    // use up the queue's room (memory stays under queue.maxBytes + resendBytes). They sit at the
    // head's front and leave first, so what is left of them is at most the head's size.
    const requeued = Math.min(this.#requeuedWindow, this.#box.head.bytes)
    if (this.buffered - requeued >= this.#o.queueMaxBytes && !this.#box.canSpill(frames.length)) {
      // The caller went on past false and past the room above the mark: a bug upstream. Memory
      // stays bounded (DESIGN §8); the drop is counted and announced, never silent.
      this.#drop('overflow', frames.length)
      this.#wantDrain = true
      return false
    }
    this.counters.bytesQueued += frames.length
    this.#box.push(frames, this.#box.head.bytes + (this.#session?.pendingBytes ?? 0) < this.#o.highWaterMark)
    this.#pump()
    if (!this.needsDrain) return true
    this.#wantDrain = true
    return false
  }

  /** Ends the open link after what it was given, then opens the target again (a file after rotation: call it on SIGHUP). */
  reopen (): Promise<void> {
    this.#reopening ??= this.#doReopen().finally(() => { this.#reopening = null })
    return this.#reopening
  }

  /** Sends what memory holds (at most closeTimeout ms), then closes; what is left goes to the spool, or is dropped and counted without one. */
  close (): Promise<void> {
    this.#closing ??= this.#shutdown()
    return this.#closing
  }

  #outboxHooks (): { spooled (n: number): void, error (): void } {
    return {
      spooled: (n) => { this.counters.bytesSpooled += n },
      error: () => { this.counters.errors++ },
    }
  }

  #onUp (link: Link | null): void {
    if (link !== null) {
      const s = new Session(link, this.#o.resendBytes, this.#box.resent)
      this.#session = s
      link.stream.on('drain', () => { if (this.#session === s) this.#pump() })
      // RELP: messages the SIEM answered with an error would be refused again: dropped, counted.
      link.stream.on('refused', (bytes: number) => this.#drop('refused', bytes))
    }
    if (this.#lost) {
      this.#lost = false
      this.counters.reconnects++
      this.emit('regained')
    }
    if (link !== null) this.#pump()
  }

  #onDown (err: Error, link: Link | null): void {
    this.counters.errors++
    const s = this.#session
    if (s !== null && link !== null && s.link === link) {
      this.#session = null
      this.#requeue(s)
    }
    this.#markLost(err)
    this.#pump()
  }

  // One 'lost' per outage, however many attempts fail during it.
  #markLost (err: Error): void {
    if (this.#lost) return
    this.#lost = true
    this.emit('lost', err)
  }

  // Loss avoidance over duplicates (see the module comment): what the link may have lost goes
  // back in front of everything, in the order it was first sent. A batch of the window goes
  // again once only: a peer that drops the connection before it read a window's worth (a load
  // balancer that resets every 200 kB) would otherwise be sent the same window for ever.
  #requeue (s: Session, withWindow = true): void {
    const { resent, pending, taken, unanswered } = s.takeUnconfirmed()
    // Sent and never answered (RELP): the server may have stored them, so they may arrive twice.
    this.counters.bytesResent += unanswered
    if (taken !== null) {
      // The link confirmed the start of its oldest batch before it failed (RELP): that part is sent.
      this.counters.bytesSent += taken.bytes
      this.#box.inherit(taken.rest, taken.whole)
      if (this.#box.isJournaled(taken.whole)) this.#box.spool!.commit(taken.bytes)
    }
    if (!withWindow) resent.length = 0
    for (const b of resent) {
      this.counters.bytesResent += b.length
      this.#requeuedWindow += b.length
      this.#box.resent.add(b)
    }
    this.#box.head.unshiftAll(resent.concat(pending))
  }

  // One step of the flow, run after anything that changed it: pull older data toward the link,
  // spill what memory cannot hold, write batches, then tell whoever waits.
  #pump (): void {
    const s = this.#session
    // During close, the disk stays on disk for the next start; only memory is flushed.
    if (s !== null && this.#state !== 'closing') {
      this.#box.refill(() => this.#o.highWaterMark - this.#box.head.bytes - s.pendingBytes, this.#o.batchMaxBytes)
    }
    this.#box.spill()
    if (s !== null) this.#flush(s)
    this.#checkDrain()
    this.#idle?.()
  }

  // A batch leaves when batch.maxBytes are queued, or when the oldest queued byte has waited
  // batch.maxDelay. Never more than the link takes without queueing (writableNeedDrain): the
  // rest waits in the head, where close() can still put it in the spool.
  #flush (s: Session): void {
    const head = this.#box.head
    while (head.length > 0 && !s.link.stream.writableNeedDrain) {
      if (!this.#overdue && head.bytes < this.#o.batchMaxBytes) break
      const batch = this.#box.takeBatch(this.#o.batchMaxBytes)
      this.#requeuedWindow = Math.max(0, this.#requeuedWindow - batch.length)
      s.write(batch, this.#confirmed)
    }
    if (head.length === 0) {
      this.#overdue = false
      this.#clearTimer()
    } else if (this.#timer === null && !this.#overdue) {
      this.#timer = setTimeout(this.#onDelay, this.#o.batchMaxDelay)
    }
  }

  readonly #onDelay = (): void => {
    this.#timer = null
    this.#overdue = true
    this.#pump()
  }

  readonly #confirmed = (buf: Buffer): void => {
    this.counters.bytesSent += buf.length
    // Always mode: journal records the link took are done. A resent window was done already.
    if (this.#box.isJournaled(buf) && !this.#box.resent.has(buf)) this.#box.spool!.commit(buf.length)
    this.#pump()
  }

  // 'drain' comes on a later tick, never from inside write(), as with Node's streams.
  #checkDrain (): void {
    if (!this.#wantDrain || this.#drainQueued || this.needsDrain) return
    this.#drainQueued = true
    process.nextTick(() => {
      this.#drainQueued = false
      if (!this.#wantDrain || this.needsDrain) return
      this.#wantDrain = false
      this.emit('drain')
    })
  }

  #drop (reason: DropReason, bytes: number): void {
    this.counters.dropped[reason] += bytes
    this.counters.bytesDropped += bytes
    this.emit('drop', reason, bytes)
  }

  #clearTimer (): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
  }

  async #doReopen (): Promise<void> {
    if (this.#state !== 'started' || this.#conn === null) return
    const s = this.#session
    const link = this.#conn.detach()
    if (s !== null && s.link === link) {
      this.#session = null
      this.#retiring = s
      // The new link opens only once the old one took everything, so no frame overtakes another.
      const clean = await link.end(this.#o.closeTimeout)
      this.#retiring = null
      if (clean) s.retire()
      else this.#requeue(s)
    }
    // Also while closing: close() waits for this link to flush what memory holds.
    this.#conn.connectNow()
  }

  async #shutdown (): Promise<void> {
    const started = this.#state === 'started'
    this.#state = 'closing'
    if (!started) return
    if (this.#udp !== null) return this.#udp.close(this.#o.closeTimeout)
    const deadline = Date.now() + this.#o.closeTimeout
    if (this.#reopening !== null) await this.#reopening
    // Without a spool, what stays in memory is lost, so wait for the link even while it is down
    // (one attempt now, rather than at the end of a backoff wait longer than the timeout).
    if (this.#session !== null || this.#box.spool === null) {
      this.#conn?.connectNow()
      this.#overdue = true
      this.#pump()
      await this.#whenFlushed(deadline)
    }
    this.#clearTimer()
    this.#conn?.close()
    const s = this.#session
    this.#session = null
    if (s !== null) {
      const flushed = this.#box.head.length === 0 && s.pendingBytes === 0
      if (flushed && await s.link.end(Math.max(0, deadline - Date.now()))) {
        s.retire()
      } else {
        s.link.destroy()
        // The resend window goes to the spool for the next start; without one it cannot be sent
        // again, and counting it as dropped would be wrong (it most likely arrived).
        this.#requeue(s, this.#box.spool !== null)
      }
    }
    for (const n of this.#box.keepLeftovers()) this.#drop('close', n)
    this.#box.spool?.close()
  }

  #whenFlushed (deadline: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        this.#idle = null
        resolve()
      }
      const timer = setTimeout(done, Math.max(0, deadline - Date.now()))
      this.#idle = () => {
        if (this.#box.head.length === 0 && (this.#session?.pendingBytes ?? 0) === 0) done()
      }
      this.#idle()
    })
  }
}
