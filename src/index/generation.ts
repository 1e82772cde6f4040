import { Worker } from 'node:worker_threads'
import { FeedmatchError, reviveError } from '../errors.js'
import { workerUrl } from '../util/worker-url.js'
import type { ResolvedFeed } from '../config/feed-sources.js'
import type { BuildRequest, BuildResponse } from './build-worker.js'

let nextGenerationId = 1

/**
 * Builds a new FeedIndex generation in a worker thread and resolves with its handle. The main
 * thread only waits: parsing and indexing never stall I/O (DESIGN.md section 1, rule 5).
 * Feeds that fail as a whole are listed in `failed`; the others are in the generation.
 */
export async function buildGeneration (feeds: ResolvedFeed[], now = Date.now()): Promise<BuildResponse & { handle: NonNullable<BuildResponse['handle']> }> {
  const req: BuildRequest = { id: nextGenerationId++, feeds, now }
  const worker = new Worker(workerUrl('build-worker', import.meta.url), { workerData: req })
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
