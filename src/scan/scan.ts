/**
 * `scan`: the second front door of the engine. The main thread plans (inputs -> tasks), gates
 * submissions, reorders results and writes them; workers read, inflate and match. No regex and
 * no per-line work on the main thread (DESIGN.md section 1, rule 1).
 */
import { MessageChannel } from 'node:worker_threads'
import { FeedmatchError } from '../errors.js'
import { ScanPool } from '../pool/scan-pool.js'
import type { FeedMeta } from '../index/types.js'
import { expandInputs } from './inputs.js'
import { planTasks, type PlannedTask } from './plan.js'
import { Reorder } from './order.js'
import { OrderedOutput, type Warn } from './output.js'
import { decodeResult, lineless, type ScanResult, type ScanWorkerData } from './protocol.js'
import type { Sink } from './sink.js'
import { newStats, type ScanStats } from './stats.js'
import { stdinChunks } from './stdin.js'

/** Label of stdin in the output. */
export const STDIN_LABEL = '(stdin)'
/** Records held for later slots beyond which stream workers wait for their turn. */
const HOLD_BYTES = 64 * 1024 * 1024

/** What runScan needs; the CLI builds it from the command line and the config. */
export interface ScanRun {
  paths: string[]
  worker: ScanWorkerData
  feeds: FeedMeta[]
  sink: Sink
  threads: number
  maxDetections: number
  rangeBytes: number
  warn: Warn
  /** Called once the inputs are known (the progress bar starts then). */
  onStart?: (stats: ScanStats) => void
}

/** Scans every input; resolves with the statistics once the output has everything. */
export async function runScan (run: ScanRun): Promise<ScanStats> {
  const stats = newStats()
  const problem = (label: string, message: string): void => { stats.failed++; run.warn(label, message, true) }
  const inputs = await expandInputs(run.paths, problem)
  stats.diskTotal = inputs.files.reduce((n, f) => n + f.size, 0)
  run.onStart?.(stats)

  const output = new OrderedOutput(run.sink, lineless(run.worker.format), run.maxDetections, run.feeds, stats, run.warn)
  const reorder = new Reorder(output.consume)
  const pool = new ScanPool(run.threads, run.worker)
  const maxInFlight = pool.threads * 2
  // Slots ahead of the output: bounds what waits behind a slow file (a big .gz at the head).
  const window = pool.threads * 8

  let inFlight = 0
  let fatal: Error | null = null
  let wake: (() => void) | null = null
  const kick = (): void => { const w = wake; wake = null; w?.() }
  const stopped = (): boolean => fatal !== null || output.full || run.sink.broken !== null
  const until = async (ready: () => boolean): Promise<void> => {
    while (!ready() && !stopped()) await new Promise<void>((resolve) => { wake = resolve })
  }
  const canSubmit = (): boolean => inFlight < maxInFlight && reorder.waiting < window && !run.sink.needsDrain
  const fail = (err: unknown): void => { fatal ??= err as Error; kick() }
  pool.on('error', fail)
  run.sink.on('drain', kick)
  run.sink.on('broken', kick)

  const track = (p: Promise<ScanResult | null>, seq: number): void => {
    inFlight++
    p.then((r) => { if (r !== null) reorder.add(seq, r, true) }, (err) => { if (!stopped()) fail(err) })
      .finally(() => { inFlight--; kick() })
  }
  const submit = (t: PlannedTask): void => {
    const seq = reorder.open()
    if (t.kind === 'ranges') { track(pool.run({ kind: 'ranges', segments: t.segments }), seq); return }
    const { port1, port2 } = new MessageChannel()
    port1.on('message', (ab: ArrayBuffer) => {
      const r = decodeResult(ab)
      const ack = (): void => port1.postMessage(0)
      if (r.last === true) port1.close()
      // Held parts are acknowledged at once while memory allows, else when written.
      if (reorder.heldBytes < HOLD_BYTES) { ack(); reorder.add(seq, r, r.last === true) } else reorder.add(seq, r, r.last === true, ack)
      kick()
    })
    track(pool.run({ kind: 'stream', path: t.path, label: t.label, port: port2 }, [port2]), seq)
  }

  try {
    if (inputs.stdin) {
      let first = true
      try {
        for await (const c of stdinChunks(process.stdin, Math.max(run.rangeBytes, run.worker.maxLineBytes + 1))) {
          await until(canSubmit)
          if (stopped()) break
          track(pool.run({ kind: 'buffer', data: c.data, length: c.length, label: STDIN_LABEL, newFile: first, atLineStart: c.atLineStart }, [c.data]), reorder.open())
          first = false
        }
      } catch (err) {
        problem(STDIN_LABEL, `cannot read: ${(err as Error).message}`)
      }
    }
    const report = {
      skipped: (label: string, why: string) => { stats.skipped++; run.warn(label, why, false) },
      failed: problem,
      done: (n: number) => { stats.diskDone += n }
    }
    for await (const t of planTasks(inputs.files, { rangeBytes: run.rangeBytes }, report)) {
      await until(canSubmit)
      if (stopped()) break
      submit(t)
    }
    await until(() => inFlight === 0 && reorder.waiting === 0)
  } finally {
    // Stopped early: tasks still running are of no use, end them now.
    if (stopped()) await pool.destroy().catch(() => {})
    else await pool.close()
  }
  if (fatal !== null) throw fatal instanceof FeedmatchError ? fatal : new FeedmatchError('FM_ERR_WORKER', `a scan worker failed: ${(fatal as Error).message}`, { cause: fatal })
  return stats
}
