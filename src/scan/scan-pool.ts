import { EventEmitter } from 'node:events'
import type { MessagePort } from 'node:worker_threads'
import { Piscina } from 'piscina'
import { FeedmatchError } from '../errors.js'
import { workerUrl } from '../util/worker-url.js'
import { decodeResult, type ScanResult, type ScanTask, type ScanWorkerData } from './protocol.js'

/**
 * The worker pool of `scan`, beside the MatchPool of `serve` (same engine, another entry file).
 * It does not gate submissions: the scan dispatcher does, on more than the count in flight
 * (output backpressure, results waiting for their turn). Emits 'error' when a worker dies.
 */
export class ScanPool extends EventEmitter {
  private readonly piscina: Piscina

  constructor (threads: number, data: ScanWorkerData) {
    super()
    const n = Math.max(1, Math.floor(threads))
    this.piscina = new Piscina({
      filename: workerUrl('scan-worker').href,
      minThreads: n,
      maxThreads: n,
      workerData: data,
      // 'sync' (Atomics.wait while idle) wakes workers fastest. It only blocks the event loop
      // BETWEEN tasks; gzip tasks are async (inflate on the libuv pool, part acks on a port) and
      // Piscina keeps the loop running while a task's promise is pending, so they still work.
      atomics: 'sync',
      // The dispatcher bounds what is submitted; Piscina's queue never refuses.
      maxQueue: Infinity,
      idleTimeout: Infinity
      // No execArgv: Node's default hands workers the parent's options minus the V8 and
      // process-wide ones, which Worker refuses (`node --max-old-space-size=N` must still work).
    })
    this.piscina.on('error', (err: Error) => this.emit('error', new FeedmatchError('FM_ERR_WORKER', `a scan worker failed: ${err.message}`, { cause: err })))
  }

  get threads (): number { return this.piscina.threads.length }

  /**
   * Runs a task (`transfer`: its buffers and ports, moved to the worker); resolves with its
   * result, or null for a stream task (its results come on its port).
   */
  async run (task: ScanTask, transfer: Array<ArrayBuffer | MessagePort> = []): Promise<ScanResult | null> {
    const ab = await this.piscina.run(task, { transferList: transfer }) as SharedArrayBuffer | null
    return ab === null ? null : decodeResult(ab)
  }

  /** Ends the workers once the queued tasks are done. */
  async close (): Promise<void> {
    await this.piscina.close({ force: false })
  }

  /** Ends the workers now (--max-detections reached, output gone): pending tasks reject. */
  async destroy (): Promise<void> {
    await this.piscina.destroy()
  }
}
