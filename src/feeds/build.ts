import { Worker } from 'node:worker_threads'
import { FeedmatchError, reviveError } from '../errors.js'
import { workerUrl } from '../util/worker-url.js'
import type { ResolvedFeed } from '../config/feed-sources.js'
import type { GenerationHandle } from '../index/types.js'
import type { BuildRequest, BuildResponse } from '../workers/build-worker.js'

let nextGenerationId = 1

/** Options of buildGeneration. */
export interface BuildOptions {
  /** The clock for feed expiry (epoch ms). */
  now?: number
  /** The generation in service: a feed that fails to load keeps its version from there. */
  previous?: GenerationHandle
  /** Feed files of at least this many bytes are parsed in a thread of their own (default: loadFeed's); tests set 0. */
  parseThreadMinBytes?: number
}

/**
 * Builds a new FeedIndex generation in a worker thread and resolves with its handle. The main
 * thread only waits: parsing and indexing never stall I/O (DESIGN.md section 1, rule 5).
 * Feeds that fail as a whole are listed in `failed`; with a previous generation, each keeps its
 * version from there (`kept: 'previous'`), else it is left out.
 */
export async function buildGeneration (feeds: ResolvedFeed[], opts: BuildOptions = {}): Promise<BuildResponse & { handle: NonNullable<BuildResponse['handle']> }> {
  // Posting the previous handle shares its SharedArrayBuffers with the worker: nothing is copied.
  const req: BuildRequest = { id: nextGenerationId++, feeds, now: opts.now ?? Date.now(), previous: opts.previous, parseThreadMinBytes: opts.parseThreadMinBytes }
  const worker = new Worker(workerUrl('build-worker'), { workerData: req })
  const res = await new Promise<BuildResponse>((resolve, reject) => {
    let settled = false
    worker.once('message', (msg: BuildResponse) => { settled = true; resolve(msg) })
    worker.once('error', (err) => { settled = true; reject(new FeedmatchError('FM_ERR_WORKER', `the feed build worker failed: ${err.message}`, { cause: err })) })
    worker.once('exit', (code) => {
      if (!settled) reject(new FeedmatchError('FM_ERR_WORKER', `the feed build worker exited with code ${code} before answering`))
    })
  })
  await worker.terminate()
  if (res.error !== undefined || res.handle === undefined) {
    throw reviveError(res.error ?? { message: 'the feed build worker returned no index' })
  }
  return res as BuildResponse & { handle: NonNullable<BuildResponse['handle']> }
}
