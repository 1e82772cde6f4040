/**
 * `scan`: the second front door of the engine. The main thread plans (inputs -> tasks), gates
 * submissions, reorders results and writes them; workers read, inflate and match. No regex and
 * no per-line work on the main thread (DESIGN.md section 1, rule 1).
 */
import { MessageChannel } from 'node:worker_threads'
import { FeedmatchError } from '../errors.js'
import type { ScanPool } from './scan-pool.js'
import type { FeedMeta, GenerationHandle } from '../index/types.js'
import { expandInputs } from './inputs.js'
import { planTasks, type PlannedTask } from './plan.js'
import { Reorder } from './order.js'
import { OrderedOutput, type Warn } from './output.js'
import { decodeResult, lineless, type RecordFormat, type ScanResult } from './protocol.js'
import type { Sink } from './sink.js'
import { newStats, type ScanStats } from './stats.js'
import { stdinChunks, type StdinChunk } from './stdin.js'
import { BLOCK, hasUstarMagic } from './tar.js'

/** Label of stdin in the output. */
export const STDIN_LABEL = '(stdin)'
/** Records held for later slots beyond which stream workers wait for their turn. */
const HOLD_BYTES = 64 * 1024 * 1024
/** Bounds of the range size: a task costs little against its matching, yet a file is cut in enough ranges to keep every worker busy. */
const MIN_RANGE = 256 * 1024
const MAX_RANGE = 8 * 1024 * 1024
/** Ranges per worker that the input should make at least (balance at the end of a scan). */
const RANGES_PER_WORKER = 8

/**
 * What runScan needs; the CLI builds it from the command line and the config. The pool is
 * started by the caller (early, while the feeds load); runScan closes it.
 */
export interface ScanRun {
  paths: string[]
  pool: ScanPool
  gen: GenerationHandle
  format: RecordFormat
  /** Longer lines are cut (stdin chunks must hold one whole). */
  maxLineBytes: number
  feeds: FeedMeta[]
  sink: Sink
  maxDetections: number
  /** Bytes of one range; by default from the input's size, between 256 KiB and 8 MiB. */
  rangeBytes?: number
  warn: Warn
  /** Called once the inputs are known (the progress bar starts then). */
  onStart?: (stats: ScanStats) => void
}

/**
 * Submits tasks under the gate (in flight, slots ahead of the output, the sink's backpressure)
 * and routes their results into the reorder buffer. Stops on --max-detections, a broken output
 * or a failed worker.
 */
class Dispatch {
  private inFlight = 0
  fatal: Error | null = null
  private wake: (() => void) | null = null
  private readonly maxInFlight: number
  // Slots ahead of the output: bounds what waits behind a slow file (a big .gz at the head).
  private readonly window: number

  constructor (private readonly pool: ScanPool, private readonly gen: GenerationHandle, private readonly reorder: Reorder,
    private readonly sink: Sink, private readonly output: OrderedOutput) {
    this.maxInFlight = pool.threads * 2
    this.window = pool.threads * 8
    pool.on('error', this.fail)
    sink.on('drain', this.kick)
    sink.on('broken', this.kick)
  }

  stopped (): boolean { return this.fatal !== null || this.output.full || this.sink.broken !== null }

  /** Resolves when a task may be submitted (or the scan stopped). */
  async ready (): Promise<void> {
    await this.until(() => this.inFlight < this.maxInFlight && this.reorder.waiting < this.window && !this.sink.needsDrain)
  }

  /** Resolves when everything submitted is written (or the scan stopped). */
  async drained (): Promise<void> {
    await this.until(() => this.inFlight === 0 && this.reorder.waiting === 0)
  }

  /** A planned task: byte ranges, or a gzip file whose parts come back on a port. */
  submit (t: PlannedTask): void {
    const seq = this.reorder.open()
    if (t.kind === 'ranges') { this.track(this.pool.run({ kind: 'ranges', segments: t.segments, gen: this.gen }), seq); return }
    const { port1, port2 } = new MessageChannel()
    port1.on('message', (ab: SharedArrayBuffer) => {
      const r = decodeResult(ab)
      const last = r.last === true
      const ack = (): void => port1.postMessage(0)
      if (last) port1.close()
      // Held parts are acknowledged at once while memory allows, else when written.
      if (this.reorder.heldBytes < HOLD_BYTES) { ack(); this.reorder.add(seq, r, last) } else this.reorder.add(seq, r, last, ack)
      this.kick()
    })
    this.track(this.pool.run({ kind: 'stream', path: t.path, label: t.label, port: port2, gen: this.gen }, [port2]), seq)
  }

  /** A chunk of stdin (its buffer moves to the worker). */
  submitChunk (c: StdinChunk, first: boolean): void {
    const task = { kind: 'buffer' as const, data: c.data, length: c.length, label: STDIN_LABEL, newFile: first, atLineStart: c.atLineStart, gen: this.gen }
    this.track(this.pool.run(task, [c.data]), this.reorder.open())
  }

  /** Ends the pool: at once when stopped early (what runs is of no use), else after its tasks. */
  async close (): Promise<void> {
    if (this.stopped()) await this.pool.destroy().catch(() => {})
    else await this.pool.close()
  }

  private readonly kick = (): void => { const w = this.wake; this.wake = null; w?.() }

  private readonly fail = (err: unknown): void => { this.fatal ??= err as Error; this.kick() }

  private async until (cond: () => boolean): Promise<void> {
    while (!cond() && !this.stopped()) await new Promise<void>((resolve) => { this.wake = resolve })
  }

  private track (p: Promise<ScanResult | null>, seq: number): void {
    this.inFlight++
    p.then((r) => { if (r !== null) this.reorder.add(seq, r, true) }, (err) => { if (!this.stopped()) this.fail(err) })
      .finally(() => { this.inFlight--; this.kick() })
  }
}

/** Scans every input; resolves with the statistics once the output has everything. */
export async function runScan (run: ScanRun): Promise<ScanStats> {
  const stats = newStats()
  const problem = (label: string, message: string): void => { stats.failed++; run.warn(label, message, true) }
  const inputs = await expandInputs(run.paths, problem)
  stats.diskTotal = inputs.files.reduce((n, f) => n + f.size, 0)
  run.onStart?.(stats)

  const rangeBytes = run.rangeBytes ?? Math.min(MAX_RANGE, Math.max(MIN_RANGE, Math.ceil(stats.diskTotal / (run.pool.threads * RANGES_PER_WORKER))))
  const output = new OrderedOutput(run.sink, lineless(run.format), run.maxDetections, run.feeds, stats, run.warn)
  const reorder = new Reorder(output.consume)
  const d = new Dispatch(run.pool, run.gen, reorder, run.sink, output)
  const report = {
    skipped: (label: string, why: string) => { stats.skipped++; run.warn(label, why, false) },
    failed: problem,
    done: (n: number) => { stats.diskDone += n }
  }
  try {
    if (inputs.stdin) {
      let first = true
      try {
        for await (const c of stdinChunks(process.stdin, Math.max(rangeBytes, run.maxLineBytes + 1))) {
          await d.ready()
          if (d.stopped()) break
          if (first && hasUstarMagic(Buffer.from(c.data, 0, Math.min(c.length, BLOCK)))) {
            run.warn(STDIN_LABEL, 'a tar archive on stdin is scanned as text (no member names, archive line numbers): name the file to scan its members', false)
          }
          d.submitChunk(c, first)
          first = false
        }
      } catch (err) {
        problem(STDIN_LABEL, `cannot read: ${(err as Error).message}`)
      }
    }
    for await (const t of planTasks(inputs.files, { rangeBytes }, report)) {
      await d.ready()
      if (d.stopped()) break
      d.submit(t)
    }
    await d.drained()
  } finally {
    await d.close()
  }
  const fatal = d.fatal
  if (fatal !== null) throw fatal instanceof FeedmatchError ? fatal : new FeedmatchError('FM_ERR_WORKER', `a scan worker failed: ${fatal.message}`, { cause: fatal })
  return stats
}
