import { EventEmitter } from 'node:events'
import { Piscina } from 'piscina'
import { FeedmatchError } from '../errors.js'
import { workerUrl } from '../util/worker-url.js'
import { decodeResult, type MatchReply, type MatchResult, type MatchTask, type WireTask } from './protocol.js'

export interface MatchPoolOptions {
  /** Worker threads (an integer: Piscina is given exactly this many). */
  threads: number
  /** Batches in flight at once; beyond this `run` must not be called (see `canSubmit`). */
  maxInFlight: number
}

/**
 * The worker pool that matches batches. Piscina's `maxQueue` is not backpressure, so this gates
 * submissions itself: `canSubmit` is false once `maxInFlight` batches are out, and 'drain' fires
 * when one comes back. Emits 'error' when a worker dies (the task's promise rejects too).
 */
export class MatchPool extends EventEmitter {
  private readonly piscina: Piscina
  private inFlight = 0

  constructor (private readonly opts: MatchPoolOptions) {
    super()
    const threads = Math.max(1, Math.floor(opts.threads))
    this.piscina = new Piscina({
      filename: workerUrl('match-worker').href,
      minThreads: threads,
      maxThreads: threads,
      // Workers run no timers and no async work between tasks, so 'sync' (Atomics.wait while
      // idle) is safe here and wakes them fastest; nothing in a worker relies on its event loop.
      atomics: 'sync',
      // Our own gate bounds the queue; Piscina's stays unbounded so a gated submit never throws.
      maxQueue: Infinity,
      idleTimeout: Infinity,
      concurrentTasksPerWorker: 2,
      // No execArgv: Node's default hands workers the parent's options minus the V8 and
      // process-wide ones, which Worker refuses (`node --max-old-space-size=N` must still work).
    })
    this.piscina.on('error', (err: Error) => this.emit('error', new FeedmatchError('FM_ERR_WORKER', `a match worker failed: ${err.message}`, { cause: err })))
  }

  /** True while another batch may be submitted. */
  get canSubmit (): boolean { return this.inFlight < this.opts.maxInFlight }

  get pending (): number { return this.inFlight }

  get maxInFlight (): number { return this.opts.maxInFlight }

  get threads (): number { return this.piscina.threads.length }

  /**
   * Submits a batch (its buffer is transferred away); resolves with its frames and counters. The
   * task names its generation and config by id; a worker that lacks them hands the batch back and
   * it goes again with both attached (the first batch of each worker after a change).
   */
  async run (task: MatchTask): Promise<MatchResult> {
    this.inFlight++
    try {
      const overlay = task.overlay ?? undefined
      const wire: WireTask = { batch: task.batch, genId: task.gen.id, cfgVersion: task.cfg.version, overlayId: overlay?.id ?? 0, finished: task.finished === true }
      let reply = await this.piscina.run(wire, { transferList: [wire.batch.buffer] }) as MatchReply
      if ('missing' in reply) {
        const full: WireTask = { ...wire, batch: { ...task.batch, buffer: reply.batch }, gen: task.gen, cfg: task.cfg, overlay }
        reply = await this.piscina.run(full, { transferList: [reply.batch] }) as MatchReply
        if ('missing' in reply) throw new FeedmatchError('FM_ERR_WORKER', 'a match worker did not take the generation and config it was sent')
      }
      return decodeResult(reply)
    } finally {
      this.inFlight--
      if (this.inFlight === this.opts.maxInFlight - 1) this.emit('drain')
    }
  }

  async close (): Promise<void> {
    await this.piscina.close({ force: false })
  }
}
