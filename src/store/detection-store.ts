/**
 * The detection store (`store.path`): every detection the service sends is also kept in an
 * embedded SQLite database, for GET /detections, the first and last seen and hit count of each
 * indicator, and marking false positives. The database lives in its own thread
 * (workers/store-worker.ts); this side only queues rows and passes questions.
 *
 * Off the event path: the batch handler hands over the rows the match workers already made
 * (pipeline/protocol.ts) and returns. They are posted every FLUSH_MS, or sooner at FLUSH_ROWS.
 * Bounded: at most MAX_PENDING rows wait (queued here or not yet written there); past that the
 * store fell behind, and rows are not stored, counted as `overflow` (never the SIEM's
 * detections: those went to the output before). Limits: rows older than maxAge and, oldest
 * first, rows beyond maxBytes are removed, counted as `expired` and `evicted`.
 */
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { once } from 'node:events'
import { Worker } from 'node:worker_threads'
import { FeedmatchError } from '../errors.js'
import { workerUrl } from '../util/worker-url.js'
import type { ComponentReport } from '../util/telemetry.js'
import type { DetectionPage, DetectionQuery, DetectionRecord, IndicatorPage, StoreReply, StoreRequest, StoreStats, StoredRow } from './types.js'

export type { DetectionPage, DetectionQuery, DetectionRecord, IndicatorPage, IndicatorSummary, StoreStats, StoredRow } from './types.js'

const FLUSH_MS = 250
const FLUSH_ROWS = 2000
/** Rows waiting at most, here and in the store's thread: about 10 MB at 2 KiB events. */
export const MAX_PENDING = 50_000

export interface StoreOptions {
  path: string
  /** ms */
  maxAge: number
  maxBytes: number
}

/** A question the store could not take (a bad cursor): the API answers 400. */
export class StoreQueryError extends Error {}

export class DetectionStore {
  private queued: StoredRow[] = []
  private posted = 0
  private timer?: NodeJS.Timeout
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void, reject: (e: Error) => void }>()
  private nextId = 1
  private closed = false
  /** The thread ended unasked: what comes is counted as overflow, not stored. */
  private dead = false
  private readonly figures: StoreStats = { rows: 0, bytes: 0, written: 0, expired: 0, evicted: 0, overflow: 0, pending: 0, errors: 0 }
  /** The last write error, for the log (once per distinct message). */
  onWriteError: (message: string) => void = () => {}

  private constructor (private readonly worker: Worker) {
    worker.on('message', (m: StoreReply) => this.onMessage(m))
    worker.on('error', (err: Error) => this.failAll(err))
    worker.on('exit', (code) => {
      if (!this.closed) {
        this.closed = true
        this.dead = true
        this.figures.errors++
        this.figures.overflow += this.queued.length + this.posted
        this.queued = []
        this.posted = 0
        this.onWriteError(`the store thread ended (exit code ${code}); detections are no longer stored until a restart`)
      }
      this.failAll(new Error('the store thread ended'))
    })
  }

  /** Opens (or creates) the store; fails with FM_ERR_STORE naming the file and why. */
  static async open (o: StoreOptions): Promise<DetectionStore> {
    try {
      mkdirSync(dirname(o.path), { recursive: true })
    } catch (err) {
      throw new FeedmatchError('FM_ERR_STORE', `cannot make the folder of the detection store ${o.path}: ${(err as Error).message}`, { cause: err })
    }
    const worker = new Worker(workerUrl('store-worker'), { workerData: o })
    const [first] = await Promise.race([
      once(worker, 'message') as Promise<[StoreReply]>,
      once(worker, 'error').then(([err]) => [{ op: 'failed', message: (err as Error).message }] as [StoreReply]),
    ])
    if (first.op !== 'ready') {
      await worker.terminate()
      const why = first.op === 'failed' ? first.message : `unexpected ${first.op}`
      throw new FeedmatchError('FM_ERR_STORE', `cannot open the detection store ${o.path}: ${why}`)
    }
    const store = new DetectionStore(worker)
    store.figures.rows = first.rows
    store.figures.bytes = first.bytes
    return store
  }

  /** Takes a batch's rows; never blocks. Past MAX_PENDING they are counted, not stored. */
  add (rows: StoredRow[]): void {
    if (this.closed) {
      if (this.dead) this.figures.overflow += rows.length
      return
    }
    if (rows.length === 0) return
    const room = MAX_PENDING - this.posted - this.queued.length
    if (room < rows.length) {
      this.figures.overflow += rows.length - Math.max(0, room)
      if (room <= 0) return
      rows = rows.slice(0, room)
    }
    for (const r of rows) this.queued.push(r)
    if (this.queued.length >= FLUSH_ROWS) this.flush()
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_MS)
  }

  private flush (): void {
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.queued.length === 0) return
    const rows = this.queued
    this.queued = []
    this.posted += rows.length
    this.post({ op: 'add', rows })
  }

  async detections (q: DetectionQuery): Promise<DetectionPage> {
    return await this.ask({ op: 'detections', id: 0, q }) as DetectionPage
  }

  async indicators (q: DetectionQuery): Promise<IndicatorPage> {
    return await this.ask({ op: 'indicators', id: 0, q }) as IndicatorPage
  }

  async get (detection: number): Promise<DetectionRecord | null> {
    return await this.ask({ op: 'get', id: 0, detection }) as DetectionRecord | null
  }

  /** Records the allowlist entry that marked the detection a false positive. */
  async mark (detection: number, entry: string): Promise<boolean> {
    return await this.ask({ op: 'mark', id: 0, detection, entry }) as boolean
  }

  /** Everything handed over so far is written (tests, shutdown). */
  async settle (): Promise<void> {
    this.flush()
    await this.ask({ op: 'get', id: 0, detection: -1 })
  }

  stats (): StoreStats {
    return { ...this.figures, pending: this.posted + this.queued.length }
  }

  report (): ComponentReport {
    const f = this.figures
    return {
      component: 'detection_store',
      kind: 'sink',
      received: { events: f.written + this.posted + this.queued.length + f.overflow, bytes: 0 },
      sent: { events: f.written, bytes: 0 },
      dropped: [
        { reason: 'expired', intentional: true, unit: 'detections', count: f.expired },
        { reason: 'evicted', intentional: true, unit: 'detections', count: f.evicted },
        { reason: 'overflow', intentional: false, unit: 'detections', count: f.overflow },
      ],
      errors: [{ type: 'write_failed', stage: 'sending', count: f.errors }],
    }
  }

  /** Writes what is queued, then closes the database. */
  async close (): Promise<void> {
    if (this.closed) return
    this.flush()
    this.closed = true
    try {
      await this.ask({ op: 'close', id: 0 })
    } catch { /* the thread is gone already */ }
    await this.worker.terminate()
  }

  private post (m: StoreRequest): void {
    this.worker.postMessage(m)
  }

  private async ask (m: StoreRequest): Promise<unknown> {
    if (this.closed && m.op !== 'close') throw new FeedmatchError('FM_ERR_STORE', 'the detection store is closed')
    const id = this.nextId++
    return await new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject })
      this.post({ ...m, id } as StoreRequest)
    })
  }

  private onMessage (m: StoreReply): void {
    if (m.op === 'added') {
      this.posted -= m.n
      this.figures.rows = m.rows
      this.figures.bytes = m.bytes
      this.figures.expired = m.expired
      this.figures.evicted = m.evicted
      if (m.error === undefined) {
        this.figures.written += m.n
      } else {
        this.figures.errors++
        this.onWriteError(m.error)
      }
      return
    }
    if (m.op !== 'answer') return
    const w = this.waiting.get(m.id)
    if (w === undefined) return
    this.waiting.delete(m.id)
    if (m.error === undefined) w.resolve(m.result)
    else w.reject(m.bad === true ? new StoreQueryError(m.error) : new FeedmatchError('FM_ERR_STORE', `the detection store failed: ${m.error}`))
  }

  private failAll (err: Error): void {
    for (const w of this.waiting.values()) w.reject(new FeedmatchError('FM_ERR_STORE', `the detection store failed: ${err.message}`))
    this.waiting.clear()
  }
}
