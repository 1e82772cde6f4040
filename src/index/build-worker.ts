import { parentPort, workerData } from 'node:worker_threads'
import { IndexBuilder } from './builder.js'
import { loadFeed, type FeedLoadResult } from '../feeds/pipeline.js'
import type { ResolvedFeed } from '../config/feed-sources.js'
import type { GenerationHandle } from './types.js'

/** What the main thread sends: the feeds to read and the id of the generation to build. */
export interface BuildRequest {
  id: number
  feeds: ResolvedFeed[]
  now: number
}

/** What comes back: the generation (its SharedArrayBuffers are shared, not copied) and per-feed results. */
export interface BuildResponse {
  handle?: GenerationHandle
  loaded: FeedLoadResult[]
  failed: Array<{ name: string, path: string, code: string, message: string }>
  duplicates: number
  buildMs: number
  error?: { code?: string, message: string }
}

// Worker entry: nothing runs at load time but reading workerData (CONVENTIONS.md rule 6).
// Parsing and building run here so that a 2 GB feed never stalls the thread that does I/O.
async function build (req: BuildRequest): Promise<BuildResponse> {
  const started = performance.now()
  const builder = new IndexBuilder()
  const res: BuildResponse = { loaded: [], failed: [], duplicates: 0, buildMs: 0 }
  for (const feed of req.feeds) {
    try {
      res.loaded.push(await loadFeed(builder, feed, req.now))
    } catch (err) {
      const e = err as { code?: string, message: string }
      res.failed.push({ name: feed.name, path: feed.path, code: e.code ?? 'FM_ERR_FEED_READ', message: e.message })
    }
  }
  res.handle = builder.build(req.id)
  res.duplicates = builder.duplicates
  res.buildMs = performance.now() - started
  return res
}

build(workerData as BuildRequest).then(
  (res) => parentPort?.postMessage(res),
  (err: Error & { code?: string }) => parentPort?.postMessage({
    loaded: [], failed: [], duplicates: 0, buildMs: 0, error: { code: err.code, message: err.message }
  } satisfies BuildResponse)
)
