import { EventEmitter } from 'node:events'
import { BatchBuffers, BatchBuilder, batchBufferSize, type Peer, type SealedBatch } from './batch.js'
import type { MatchPool } from './match-pool.js'
import type { MatchResult, MatchTask } from './protocol.js'
import type { Connection } from '../input/syslog-tcp.js'
import type { FeedMeta } from '../index/types.js'

/** Where a batch's frames go: the SIEM (through the emitter), or back to a reply-back connection. */
export interface FrameSink {
  write (frames: Buffer): boolean
  readonly needsDrain: boolean
  on (event: 'drain', fn: () => void): unknown
}

export interface DispatcherOptions {
  /** A batch is sealed at this many bytes or events, or after `batchDelay` ms. */
  batchBytes: number
  batchEvents: number
  batchDelay: number
  /** Sealed batches waiting for the pool; past this the inputs are paused (UDP: dropped). */
  maxPending: number
}

interface Pending {
  batch: SealedBatch
  reply?: Connection
}

interface Slot {
  seq: number
  result?: MatchResult
  failed?: Error
  reply?: Connection
  receivedAt: number
  submittedAt: number
  feeds: FeedMeta[]
}

/** What the dispatcher reports for each batch, for statistics. */
export interface BatchDone {
  result: MatchResult
  reply?: Connection
  /** The feeds of the generation the batch was matched against: its counters use their ids. */
  feeds: FeedMeta[]
  /** ms from the batch's first event received to its frames handed to the sink. */
  latency: number
  /** ms the workers took. */
  matchTime: number
}

/**
 * Turns events into batches and batches into frames, with backpressure end to end
 * (DESIGN.md section 1, rule 4): a batch is submitted only while the pool has room and the output
 * does not need draining; sealed batches wait in a bounded queue; when that queue is full the
 * inputs are told to pause ('pause'/'resume' events), so TCP senders slow down. Results are
 * delivered in submission order, so output order follows input order.
 * Emits 'batch' (BatchDone), 'pause', 'resume', 'error'.
 */
export class Dispatcher extends EventEmitter {
  private readonly main: BatchBuilder
  /** Batch buffers back from the workers, for the next batches of every builder. */
  private readonly buffers: BatchBuffers
  /** Reply-back connections: their own batches, and how many of them are not yet written back. */
  private readonly replies = new Map<number, { builder: BatchBuilder, conn: Connection, outstanding: number, ending: boolean }>()
  private readonly pending: Pending[] = []
  private readonly order: Slot[] = []
  private seq = 0
  private timer?: NodeJS.Timeout
  private paused = false
  /** Shutdown: the output's pushback no longer holds batches back (see finish()). */
  private finishing = false
  private idleWaiters: Array<() => void> = []

  constructor (
    private readonly pool: MatchPool,
    private readonly output: FrameSink,
    private readonly task: () => Omit<MatchTask, 'batch'>,
    private readonly opts: DispatcherOptions
  ) {
    super()
    // Enough to hold every batch that can be out at once: pending, in flight, and being filled.
    this.buffers = new BatchBuffers(batchBufferSize(opts.batchBytes, opts.batchEvents), opts.maxPending + pool.maxInFlight + 1)
    this.main = new BatchBuilder(opts.batchBytes, opts.batchEvents, this.buffers)
    output.on('drain', () => this.deliver())
    pool.on('drain', this.onPoolDrain)
  }

  private readonly onPoolDrain = (): void => this.pump()

  /** Stops listening to the pool (a dispatcher used for a while beside the service's own). */
  detach (): void {
    this.pool.off('drain', this.onPoolDrain)
  }

  /** True when the pending queue is full: a UDP event offered now is dropped. */
  get full (): boolean { return this.pending.length >= this.opts.maxPending }

  /** Depths for statistics. */
  get depths (): { pending: number, inFlight: number, reorder: number } {
    return { pending: this.pending.length, inFlight: this.pool.pending, reorder: this.order.length }
  }

  /**
   * Takes one event. Returns false only when `dropIfFull` and the queue is full (UDP); TCP events
   * are always accepted (a paused socket delivers at most the chunk already read).
   */
  push (buf: Buffer, start: number, end: number, peer: Peer, reply?: Connection, dropIfFull = false): boolean {
    // Hot path, once per event: no closure may be created here, since one would make V8 allocate
    // a context for every call (it was half the main thread's garbage). They live in the helpers.
    if (dropIfFull && this.full) return false
    const builder = reply === undefined ? this.main : this.replyBuilder(reply)
    const len = Math.min(end - start, this.opts.batchBytes)
    if (!builder.fits(len)) this.sealBuilder(builder, reply)
    builder.add(buf, start, start + len, peer)
    if (!builder.fits(1)) this.sealBuilder(builder, reply)
    else if (this.timer === undefined) this.armTimer()
    return true
  }

  /** The batch builder of a reply-back connection, made on its first event. */
  private replyBuilder (reply: Connection): BatchBuilder {
    let r = this.replies.get(reply.id)
    if (r === undefined) {
      r = { builder: new BatchBuilder(this.opts.batchBytes, this.opts.batchEvents, this.buffers), conn: reply, outstanding: 0, ending: false }
      this.replies.set(reply.id, r)
      reply.socket.once('close', () => { this.sealReply(reply.id); this.replies.delete(reply.id) })
    }
    return r.builder
  }

  /** A partly filled batch goes out after batchDelay at the latest. */
  private armTimer (): void {
    this.timer = setTimeout(() => this.flush(), this.opts.batchDelay)
  }

  /** Seals every partly filled batch now. */
  flush (): void {
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.main.count > 0) this.sealBuilder(this.main)
    for (const id of this.replies.keys()) this.sealReply(id)
  }

  /**
   * A reply-back client ended its side: ours ends once the detections of its last events were
   * written back to it.
   */
  endReply (conn: Connection): void {
    const r = this.replies.get(conn.id)
    if (r === undefined) { conn.socket.end(); return }
    r.ending = true
    this.sealReply(conn.id)
    this.endIfDone(r)
  }

  private endIfDone (r: { builder: BatchBuilder, conn: Connection, outstanding: number, ending: boolean }): void {
    if (r.ending && r.outstanding === 0 && r.builder.count === 0) r.conn.socket.end()
  }

  /**
   * Shutdown: from now on every batch is matched and its frames handed to the output even past
   * its high-water mark (`idle()` tells when all are). Waiting for 'drain' could last for ever,
   * the SIEM may be down; the output's close() sends, spools, or drops and counts what it holds.
   */
  finish (): void {
    this.finishing = true
    this.deliver()
  }

  /** Resolves when every event taken so far has been matched and handed to its sink. */
  async idle (): Promise<void> {
    this.flush()
    if (this.pending.length === 0 && this.order.length === 0) return
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve))
  }

  private sealReply (id: number): void {
    const r = this.replies.get(id)
    if (r !== undefined && r.builder.count > 0) this.sealBuilder(r.builder, r.conn)
  }

  private sealBuilder (builder: BatchBuilder, reply?: Connection): void {
    if (builder.count === 0) return
    if (reply !== undefined) { const r = this.replies.get(reply.id); if (r !== undefined) r.outstanding++ }
    this.pending.push({ batch: builder.seal(), reply })
    if (!this.paused && this.pending.length >= this.opts.maxPending) {
      this.paused = true
      this.emit('pause')
    }
    this.pump()
  }

  private pump (): void {
    while (this.pending.length > 0 && this.pool.canSubmit && (this.finishing || !this.output.needsDrain)) {
      const p = this.pending.shift() as Pending
      this.submit(p)
    }
    // Hysteresis: resume at half, so inputs do not flap between paused and reading.
    if (this.paused && this.pending.length <= this.opts.maxPending / 2) {
      this.paused = false
      this.emit('resume')
    }
  }

  private submit (p: Pending): void {
    const t = this.task()
    const slot: Slot = { seq: this.seq++, reply: p.reply, receivedAt: p.batch.receivedAt, submittedAt: performance.now(), feeds: t.gen.feeds }
    this.order.push(slot)
    const finished = p.reply?.sendFinished === true
    this.pool.run({ ...t, batch: p.batch, finished }).then(
      (result) => {
        this.buffers.give(result.batch)
        slot.result = result
        this.deliver()
      },
      (err: Error) => { slot.failed = err; this.deliver() }
    )
  }

  /** Hands finished batches to their sinks in submission order, while the output takes them. */
  private deliver (): void {
    while (this.order.length > 0 && (this.order[0].result !== undefined || this.order[0].failed !== undefined)) {
      const head = this.order[0]
      // The output's memory bound holds only if nothing is written to it past its 'false': the
      // batches in flight when it pushed back can carry megabytes of detections (4096 events a
      // batch), more than the room above its high-water mark. A finished batch bound for the
      // SIEM waits here, in memory it already takes, until 'drain'. Order is kept, so the batches
      // behind it wait too; their number is bounded by the pool's in-flight limit.
      if (head.reply === undefined && head.result !== undefined && head.result.frames.length > 0 && this.output.needsDrain && !this.finishing) break
      const slot = this.order.shift() as Slot
      const r = slot.reply === undefined ? undefined : this.replies.get(slot.reply.id)
      if (r !== undefined) r.outstanding--
      if (slot.failed !== undefined) {
        this.emit('error', slot.failed)
        if (r !== undefined) this.endIfDone(r)
        continue
      }
      const result = slot.result as MatchResult
      if (result.frames.length > 0) {
        if (slot.reply !== undefined) {
          const socket = slot.reply.socket
          // A reply-back client that does not read its replies must not grow our memory: stop
          // reading its events until it has read what we sent.
          if (!socket.destroyed && socket.writable && !socket.write(result.frames)) {
            socket.pause()
            socket.once('drain', () => socket.resume())
          }
        } else {
          this.output.write(result.frames)
        }
      }
      if (r !== undefined) this.endIfDone(r)
      this.emit('batch', {
        result,
        reply: slot.reply,
        feeds: slot.feeds,
        latency: Date.now() - slot.receivedAt,
        matchTime: performance.now() - slot.submittedAt
      } satisfies BatchDone)
    }
    this.pump()
    if (this.pending.length === 0 && this.order.length === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters
      this.idleWaiters = []
      for (const w of waiters) w()
    }
  }
}
