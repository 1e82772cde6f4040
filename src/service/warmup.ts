/**
 * Start-up warm-up of the match pipeline (match/warmup.ts says why): synthetic events, with some
 * of the loaded index's own indicators planted in them, go through a Dispatcher of their own into
 * the service's pool, exactly the path of real events from `push` to the frames, and the frames
 * are thrown away. Every match worker and the main thread's batching and result handling get
 * compiled before the listeners open; and a pool that does not answer fails the start.
 */
import { Dispatcher, type DispatcherOptions, type FrameSink } from '../pipeline/dispatcher.js'
import type { MatchPool } from '../pipeline/match-pool.js'
import type { MatchTask } from '../pipeline/protocol.js'
import type { Peer } from '../pipeline/batch.js'
import { indicatorSamples } from '../index/samples.js'
import { WARMUP_TEXT_BYTES, warmupText } from '../match/warmup.js'
import { FeedmatchError } from '../errors.js'

/** Indicators of each kind planted in the warm-up text (index/samples.ts). */
const SAMPLES_PER_KIND = 64

/** Where the warm-up's frames go: nowhere. */
const DISCARD: FrameSink = { write: () => true, needsDrain: false, on: () => DISCARD }

export interface WarmupOptions {
  /** Bytes of events to match in all (spread over the workers by the pool). */
  bytes: number
  /** One peer per source of the config, so every source's rules are compiled. */
  sources: number
  /** Start-up fails with FM_ERR_WORKER when the pool has not matched them all by then. */
  timeoutMs: number
}

/** Runs the warm-up; resolves with its duration, or rejects (FM_ERR_WORKER) when a worker fails or on timeout. */
export async function warmUp (pool: MatchPool, task: () => Omit<MatchTask, 'batch'>, dispatch: DispatcherOptions, opts: WarmupOptions): Promise<number> {
  const t0 = performance.now()
  const text = warmupText(WARMUP_TEXT_BYTES, indicatorSamples(task().gen, SAMPLES_PER_KIND))
  const peers: Peer[] = Array.from({ length: Math.max(1, opts.sources) }, (_, source) => ({ ip: '127.0.0.1', source }))
  const d = new Dispatcher(pool, DISCARD, task, dispatch)
  let failed: Error | undefined
  let resume: (() => void) | undefined
  let paused = false
  d.on('error', (err: Error) => { failed ??= err })
  d.on('pause', () => { paused = true })
  d.on('resume', () => { paused = false; resume?.() })
  // A worker that cannot start makes the pool emit 'error' (and its tasks never settle): fail
  // at once then; the timeout catches a pool that neither answers nor fails.
  let timer: NodeJS.Timeout | undefined
  let onPoolError: ((err: Error) => void) | undefined
  const stopped = new Promise<never>((_resolve, reject) => {
    onPoolError = (err) => reject(err)
    pool.on('error', onPoolError)
    timer = setTimeout(() => reject(new FeedmatchError('FM_ERR_WORKER',
      `the match workers did not match ${Math.round(opts.bytes / 1048576)} MiB of start-up events within ${Math.round(opts.timeoutMs / 1000)} s`)), opts.timeoutMs)
  })
  const run = async (): Promise<void> => {
    let line = 0
    for (let done = 0; done < opts.bytes && failed === undefined; done += text.length) {
      for (let pos = 0; pos < text.length; line++) {
        const nl = text.indexOf(0x0a, pos)
        d.push(text, pos, nl, peers[line % peers.length])
        pos = nl + 1
        // Paced like a TCP sender the dispatcher pushes back on: its queue stays bounded.
        if (paused) await new Promise<void>((resolve) => { resume = resolve })
      }
    }
    await d.idle()
  }
  try {
    await Promise.race([run(), stopped])
  } finally {
    clearTimeout(timer)
    if (onPoolError !== undefined) pool.off('error', onPoolError)
    d.detach()
  }
  if (failed !== undefined) throw new FeedmatchError('FM_ERR_WORKER', `the match workers failed on start-up events: ${failed.message}`, { cause: failed })
  return performance.now() - t0
}
