/**
 * The emitter: the one sink that sends ready frames to the SIEM (TCP, TLS, UDP, a file or stdout),
 * batching writes, reconnecting with backoff, pushing back with write() === false and 'drain'
 * (DESIGN §1 rule 4), and spilling to a disk spool when memory is full.
 *
 * Order of data: `head` (memory, next to send) -> spool (disk) -> `tail` (memory, waiting for room
 * on disk). New data joins the head only while the spool and the tail are empty, so order holds.
 *
 * Bounds: `buffered` (head + tail + written but unconfirmed) stays under queue.maxBytes plus one
 * write: a write arriving above it (the caller ignored false) is dropped and counted, 'overflow'.
 * write() returns false from highWaterMark on (default half of queue.maxBytes: the room above it
 * takes the pool's batches already in flight); with a spool that has room it spills instead. The
 * spool is bounded by spoolMaxBytes (default 1 GiB); when it is full, memory fills, then write()
 * returns false: the policy is block, never drop. The resend window (below) is held on top.
 *
 * Delivery: every frame accepted by write() is sent at least once unless the process crashes
 * (memory is lost, the spool is not) or close() ends without a spool and without the SIEM. TCP
 * gives no receipt: a write callback means "in our kernel", and a connection that drops can take
 * what the kernel and the peer had not processed. So after a drop the emitter sends again the
 * batches not yet confirmed, and the last `resendBytes` (default 4 MiB, Linux's send buffer
 * ceiling) it had confirmed: loss avoided at the price of duplicates, as the SIEM is better at
 * deduplicating than at finding what never came. Past that window nothing is guaranteed.
 */
import { EventEmitter } from 'node:events'
import { readFile } from 'node:fs/promises'
import { FeedmatchError } from '../errors.js'
import { Spool } from './spool.js'
import { Connection, type Opener } from './transports/connection.js'
import { Fifo } from './transports/fifo.js'
import { openFile } from './transports/file.js'
import type { Link } from './transports/link.js'
import { Session } from './transports/session.js'
import { openStdout } from './transports/stdout.js'
import { openTcp } from './transports/tcp.js'
import { openTls } from './transports/tls.js'
import { UdpSink } from './transports/udp.js'
import { normalize, type EmitterOptions, type Settings } from './transports/options.js'

export type { EmitterOptions, EmitterTarget } from './transports/options.js'

/** Why bytes were dropped: above the memory bound, too big or malformed for a datagram, UDP not ready or failing, or left at close(). */
export type DropReason = 'overflow' | 'oversize' | 'malformed' | 'unavailable' | 'send' | 'close'

/** Vector-style counts, totals since construction. */
export interface EmitterCounters {
  /** Frames sent; UDP only, the one transport that cuts frames apart. */
  framesSent: number
  /** Bytes the destination took (a socket's kernel, a file), resends included. */
  bytesSent: number
  /** Bytes sent again after a connection dropped (the resend window). */
  bytesResent: number
  /** Bytes accepted by write(). */
  bytesQueued: number
  /** Bytes appended to the spool. */
  bytesSpooled: number
  bytesDropped: number
  dropped: Record<DropReason, number>
  /** Connections regained after a loss. */
  reconnects: number
  /** Failed connection attempts, dropped links, failed sends, spool failures. */
  errors: number
}

/** Sends Buffers of complete frames to one target; emits 'drain', 'lost' (err), 'regained', 'drop' (reason, bytes) and, for what cannot be retried, 'error'. */
export class Emitter extends EventEmitter {
  readonly counters: EmitterCounters = {
    framesSent: 0, bytesSent: 0, bytesResent: 0, bytesQueued: 0, bytesSpooled: 0, bytesDropped: 0,
    dropped: { overflow: 0, oversize: 0, malformed: 0, unavailable: 0, send: 0, close: 0 },
    reconnects: 0, errors: 0,
  }

  readonly #o: Settings
  readonly #head = new Fifo()
  readonly #tail = new Fifo()
  #spool: Spool | null = null
  #conn: Connection | null = null
  #udp: UdpSink | null = null
  #session: Session | null = null
  // A session whose link reopen() is ending: its writes still count as held.
  #retiring: Session | null = null
  #state: 'new' | 'started' | 'closing' = 'new'
  #timer: NodeJS.Timeout | null = null
  #overdue = false
  #wantDrain = false
  #drainQueued = false
  #lost = false
  #reopening: Promise<void> | null = null
  #closing: Promise<void> | null = null
  #idle: (() => void) | null = null

  /** Checks the options (FM_ERR_USAGE when they do not hold together); opens nothing yet. */
  constructor (opts: EmitterOptions) {
    super()
    this.#o = normalize(opts)
  }

  /** Bytes held in memory: queued, waiting for the spool, and written but not confirmed. */
  get buffered (): number {
    if (this.#udp !== null) return this.#udp.queued
    return this.#head.bytes + this.#tail.bytes + (this.#session?.pendingBytes ?? 0) + (this.#retiring?.pendingBytes ?? 0)
  }

  /** True when the caller should stop writing until 'drain'. */
  get needsDrain (): boolean {
    if (this.#udp !== null || this.buffered < this.#o.highWaterMark) return false
    // With a spool taking data, memory stays near the mark and the disk takes the rest: spill,
    // do not block. Data left in the tail means the spool is full (or failing): block.
    return this.#spool === null || this.#tail.length > 0
  }

  /** Opens the spool, then connects; resolves after the first attempt, also when the target is down ('lost' tells). */
  async start (): Promise<void> {
    if (this.#state !== 'new') throw new FeedmatchError('FM_ERR_USAGE', 'Emitter.start() was called twice')
    const o = this.#o
    const t = o.target
    if (t.protocol === 'udp') {
      this.#udp = new UdpSink({ ...t, framing: o.framing, maxDatagram: o.udpMaxDatagram, maxQueue: o.queueMaxBytes, reconnect: o.reconnect }, {
        sent: (n) => { this.counters.framesSent++; this.counters.bytesSent += n },
        dropped: (reason, n) => this.#drop(reason, n),
        error: () => { this.counters.errors++ },
        lost: (err) => this.#onDown(err, null),
        regained: () => this.#onUp(null),
      })
      this.#state = 'started'
      return this.#udp.start()
    }
    const open = await this.#opener()
    if (o.spool !== null) {
      this.#spool = Spool.open(o.spool, {
        maxBytes: o.spoolMaxBytes,
        segmentBytes: o.spoolSegmentBytes,
        onDamage: () => { this.counters.errors++ },
      })
    }
    this.#conn = new Connection(open, o.reconnect, t.protocol !== 'stdout')
    this.#conn.on('up', (link: Link) => this.#onUp(link))
    this.#conn.on('down', (err: Error, link: Link | null) => this.#onDown(err, link))
    this.#conn.on('fatal', (err: Error) => {
      this.emit('error', new FeedmatchError('FM_ERR_INTERNAL', `output to ${t.protocol} failed for good: ${err.message}`, { cause: err }))
    })
    this.#state = 'started'
    return this.#conn.start()
  }

  /** Accepts a Buffer of whole frames; false means above the high-water mark: wait for 'drain'. */
  write (frames: Buffer): boolean {
    if (this.#state !== 'started') {
      throw new FeedmatchError('FM_ERR_USAGE', `Emitter.write() ${this.#state === 'new' ? 'before start()' : 'after close()'}`)
    }
    if (this.#udp !== null) {
      this.counters.bytesQueued += frames.length
      this.#udp.send(frames)
      return true
    }
    if (frames.length === 0) return !this.needsDrain
    if (this.buffered >= this.#o.queueMaxBytes) {
      // The caller went on past false and past the room above the mark: a bug upstream. Memory
      // stays bounded (DESIGN §8), and the drop is counted and announced, never silent.
      this.#drop('overflow', frames.length)
      this.#wantDrain = true
      return false
    }
    this.counters.bytesQueued += frames.length
    const memory = this.#head.bytes + (this.#session?.pendingBytes ?? 0)
    if (this.#spool === null || (!this.#spool.hasData && this.#tail.length === 0 && memory < this.#o.highWaterMark)) {
      this.#head.push(frames)
    } else {
      this.#tail.push(frames)
    }
    this.#pump()
    if (!this.needsDrain) return true
    this.#wantDrain = true
    return false
  }

  /** Ends the open link after what it was given and opens the target again (a file after rotation: call it on SIGHUP). */
  reopen (): Promise<void> {
    this.#reopening ??= this.#doReopen().finally(() => { this.#reopening = null })
    return this.#reopening
  }

  /** Sends what memory holds (at most closeTimeout ms), then closes; what is left goes to the spool, or is dropped and counted without one. */
  close (): Promise<void> {
    this.#closing ??= this.#shutdown()
    return this.#closing
  }

  async #opener (): Promise<Opener> {
    const { target: t, connectTimeout } = this.#o
    switch (t.protocol) {
      case 'tcp':
        return (signal) => openTcp(t.host, t.port, connectTimeout, signal)
      case 'tls': {
        const tls = this.#o.tls
        const pem = async (file: string | undefined): Promise<Buffer | undefined> => {
          if (file === undefined) return undefined
          try {
            return await readFile(file)
          } catch (err) {
            throw new FeedmatchError('FM_ERR_USAGE', `output.tls: cannot read ${file}: ${(err as Error).message}`, { cause: err })
          }
        }
        // Read once at start: a missing certificate is a setup error to report now, not a
        // reason to retry for ever.
        const files = { ca: await pem(tls.ca), cert: await pem(tls.cert), key: await pem(tls.key), rejectUnauthorized: tls.rejectUnauthorized }
        return (signal) => openTls(t.host, t.port, files, connectTimeout, signal)
      }
      case 'file':
        return () => openFile(t.path)
      case 'stdout':
        return () => openStdout()
      default:
        throw new FeedmatchError('FM_ERR_INTERNAL', 'udp has no stream link')
    }
  }

  #onUp (link: Link | null): void {
    if (link !== null) {
      const s = new Session(link, this.#o.resendBytes)
      this.#session = s
      link.stream.on('drain', () => { if (this.#session === s) this.#pump() })
    }
    if (this.#lost) {
      this.#lost = false
      this.counters.reconnects++
      this.emit('regained')
    }
    this.#pump()
  }

  #onDown (err: Error, link: Link | null): void {
    this.counters.errors++
    const s = this.#session
    if (s !== null && link !== null && s.link === link) {
      this.#session = null
      this.#requeue(s)
    }
    if (!this.#lost) {
      this.#lost = true
      this.emit('lost', err)
    }
    if (this.#udp === null) this.#pump()
  }

  // Loss avoidance over duplicates (see the module comment): what the link may have lost goes
  // back in front of everything, in the order it was first sent.
  #requeue (s: Session): void {
    const { resent, pending } = s.takeUnconfirmed()
    for (const b of resent) this.counters.bytesResent += b.length
    this.#head.unshiftAll(resent.concat(pending))
  }

  // One step of the flow, run after anything that changed it: pull older data toward the link,
  // spill what memory cannot hold, write batches, then tell waiters.
  #pump (): void {
    const s = this.#session
    if (s !== null && this.#state !== 'closing') this.#refill(s)
    if (this.#spool !== null) this.#spill(this.#spool)
    if (s !== null) this.#flush(s)
    this.#checkDrain()
    this.#idle?.()
  }

  #refill (s: Session): void {
    const spool = this.#spool
    if (spool === null) return
    while (this.#head.bytes + s.pendingBytes < this.#o.highWaterMark) {
      if (spool.hasData) {
        // The disk is older than the tail, so it goes first.
        for (const b of spool.read(this.#o.batchMaxBytes)) this.#head.push(b)
      } else if (this.#tail.length > 0) {
        this.#head.push(this.#tail.shift()!)
      } else {
        break
      }
    }
  }

  #spill (spool: Spool): void {
    while (this.#tail.length > 0 && spool.fits(this.#tail.peek()!.length)) {
      const buf = this.#tail.peek()!
      try {
        spool.append(buf)
      } catch {
        // The spool says full for a while (spool.ts); the tail keeps the data, so nothing is lost
        // and write() blocks once memory reaches the mark.
        this.counters.errors++
        return
      }
      this.#tail.shift()
      this.counters.bytesSpooled += buf.length
    }
  }

  // Batching: a batch leaves when batch.maxBytes are queued, or when the oldest queued byte has
  // waited batch.maxDelay. Never more than the link takes without queueing (writableNeedDrain):
  // the rest waits in the head, where it can still be spilled or resent whole.
  #flush (s: Session): void {
    while (this.#head.length > 0 && !s.link.stream.writableNeedDrain) {
      if (!this.#overdue && this.#head.bytes < this.#o.batchMaxBytes) break
      s.write(this.#takeBatch(), this.#confirmed)
    }
    if (this.#head.length === 0) {
      this.#overdue = false
      if (this.#timer !== null) clearTimeout(this.#timer)
      this.#timer = null
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
    this.#pump()
  }

  // Whole queued Buffers, so a batch always ends on a frame boundary; one copy (concat) when
  // several small writes are coalesced, none for a Buffer that is a batch by itself.
  #takeBatch (): Buffer {
    const first = this.#head.shift()!
    const max = this.#o.batchMaxBytes
    if (this.#head.length === 0 || first.length + this.#head.peek()!.length > max) return first
    const parts = [first]
    let total = first.length
    while (this.#head.length > 0 && total + this.#head.peek()!.length <= max) {
      const b = this.#head.shift()!
      parts.push(b)
      total += b.length
    }
    return Buffer.concat(parts, total)
  }

  // 'drain' is emitted on a later tick, never from inside write() (as Node streams do).
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

  async #doReopen (): Promise<void> {
    if (this.#state !== 'started' || this.#conn === null) return
    const s = this.#session
    const link = this.#conn.detach()
    if (s !== null && s.link === link) {
      this.#session = null
      this.#retiring = s
      // The new link starts only once the old one took everything, so no frame overtakes another.
      const clean = await link.end(this.#o.closeTimeout)
      this.#retiring = null
      if (clean) s.retire()
      else this.#requeue(s)
    }
    if (this.#state === 'started') this.#conn.connectNow()
  }

  async #shutdown (): Promise<void> {
    if (this.#state === 'new') {
      this.#state = 'closing'
      return
    }
    this.#state = 'closing'
    const deadline = Date.now() + this.#o.closeTimeout
    if (this.#udp !== null) return this.#udp.close(this.#o.closeTimeout)
    if (this.#reopening !== null) await this.#reopening
    // Without a spool, what stays in memory is lost, so wait for the link even if it is down now.
    if (this.#session !== null || this.#spool === null) {
      this.#overdue = true
      this.#pump()
      await this.#whenIdle(deadline)
    }
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
    this.#conn?.close()
    const s = this.#session
    this.#session = null
    if (s !== null) {
      const flushed = this.#head.length === 0 && s.pendingBytes === 0
      if (flushed && await s.link.end(Math.max(0, deadline - Date.now()))) {
        s.retire()
      } else {
        s.link.destroy()
        this.#requeue(s)
      }
    }
    this.#keepLeftovers()
    this.#spool?.close()
  }

  #whenIdle (deadline: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        this.#idle = null
        resolve()
      }
      const timer = setTimeout(done, Math.max(0, deadline - Date.now()))
      this.#idle = () => {
        if (this.#head.length === 0 && (this.#session?.pendingBytes ?? 0) === 0) done()
      }
      this.#idle()
    })
  }

  // Memory at close: the head is older than the spool and goes in front of it, the tail after it,
  // past the spool bound if need be: that overshoot is bounded by queue.maxBytes, a loss is not.
  #keepLeftovers (): void {
    const head = this.#head.takeAll()
    const tail = this.#tail.takeAll()
    let kept = 0
    if (this.#spool !== null) {
      try {
        this.#spool.prepend(head)
        kept = head.length
        for (const b of head) this.counters.bytesSpooled += b.length
        for (const b of tail) {
          this.#spool.append(b)
          this.counters.bytesSpooled += b.length
          kept++
        }
      } catch {
        this.counters.errors++
      }
    }
    const all = head.concat(tail)
    for (let i = kept; i < all.length; i++) this.#drop('close', all[i]!.length)
  }
}
