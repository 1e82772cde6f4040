import { parentPort, workerData } from 'node:worker_threads'
import { FeedmatchError } from '../errors.js'
import { IndexBuilder } from '../index/builder.js'
import { FeedIndex } from '../index/feed-index.js'
import { loadFeed, startFeed, type FeedLoadResult, type FeedStart, type LoadOptions } from '../feeds/pipeline.js'
import type { ResolvedFeed } from '../config/feed-sources.js'
import type { GenerationHandle } from '../index/types.js'

/** What the main thread sends: the feeds to read, the id of the generation to build, the one in service. */
export interface BuildRequest {
  id: number
  feeds: ResolvedFeed[]
  now: number
  /** The generation in service: a feed that fails keeps its version from there (shared, not copied). */
  previous?: GenerationHandle
  /** BuildOptions.parseThreadMinBytes. */
  parseThreadMinBytes?: number
}

/** A feed that failed to load as a whole, and what stands in for it in the new generation. */
export interface FeedFailure {
  name: string
  path: string
  code: string
  message: string
  /** 'previous': its records in the previous generation were carried over; 'none': it is absent. */
  kept: 'previous' | 'none'
}

/** What comes back: the generation (its SharedArrayBuffers are shared, not copied) and per-feed results. */
export interface BuildResponse {
  handle?: GenerationHandle
  /** Feeds read now; the carried-over ones are in `failed` (kept 'previous') and in the handle's feeds. */
  loaded: FeedLoadResult[]
  failed: FeedFailure[]
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
  // Each feed starts reading (a large one in a parse thread of its own) as the one before it starts
  // loading, so that its parsing overlaps the previous feed's: the parse threads and this one keep
  // both cores busy, and each parse thread's window bounds how far it reads ahead.
  const opts: LoadOptions = { parseThreadMinBytes: req.parseThreadMinBytes }
  let next = startAhead(req.feeds[0], req.now, opts)
  try {
    for (let i = 0; i < req.feeds.length; i++) {
      const feed = req.feeds[i]
      const start = next
      next = startAhead(req.feeds[i + 1], req.now, opts)
      const mark = builder.mark()
      try {
        const loaded = await loadFeed(builder, feed, req.now, { start })
        checkCount(feed, loaded.meta.records, previousVersion(req.previous, feed)?.records)
        res.loaded.push(loaded)
      } catch (err) {
        // What the feed added before it failed goes: half a feed must not mix with its previous version.
        builder.rollback(mark)
        const e = err as { code?: string, message: string }
        const failure: FeedFailure = { name: feed.name, path: feed.path, code: e.code ?? 'FM_ERR_FEED_READ', message: e.message, kept: 'none' }
        carryOver(builder, req.previous, feed, failure)
        res.failed.push(failure)
      }
    }
  } finally {
    // Only when the loop broke off: a feed started and never loaded keeps no thread running.
    await (await next?.catch(() => undefined))?.thread?.close()
  }
  res.handle = builder.build(req.id)
  res.duplicates = builder.duplicates
  res.buildMs = performance.now() - started
  return res
}

/** startFeed for the feed after this one, if any; its failure waits for loadFeed to report it. */
function startAhead (feed: ResolvedFeed | undefined, now: number, opts: LoadOptions): Promise<FeedStart> | undefined {
  if (feed === undefined) return undefined
  const started = startFeed(feed, now, opts)
  started.catch(() => {}) // not unhandled: loadFeed awaits it and throws
  return started
}

/** The same feed in the generation in service: the same file (or folder) in the same role. */
function previousVersion (previous: GenerationHandle | undefined, feed: ResolvedFeed): GenerationHandle['feeds'][number] | undefined {
  // Names default to file names, so two folders may give two feeds one name: match by path.
  const path = feed.inServiceAs ?? feed.path
  return previous?.feeds.find((f) => f.role === feed.role && f.path === path)
}

/**
 * A feed overwritten with garbage or emptied parses "fine" into nothing: it must not replace its
 * good version. Feeds need at least `minRecords` (default 1; lists 0, an empty allowlist is
 * normal) and may lose at most `maxShrink` of their last good count (default half; lists: any).
 */
function checkCount (feed: ResolvedFeed, records: number, before: number | undefined): void {
  const list = feed.role !== 'feed'
  const min = feed.minRecords ?? (list ? 0 : 1)
  if (records < min) {
    throw new FeedmatchError('FM_ERR_FEED_EMPTY', `${feed.path}: ${records} records loaded, at least ${min} expected (minRecords)`)
  }
  const maxShrink = feed.maxShrink ?? (list ? 1 : 0.5)
  if (before !== undefined && before > 0 && records < before * (1 - maxShrink)) {
    throw new FeedmatchError('FM_ERR_FEED_SHRUNK', `${feed.path}: ${records} records loaded where the version in service has ${before}, more than maxShrink (${maxShrink * 100}%) fewer`)
  }
}

/**
 * Puts the failed feed's version from the generation in service into the one being built, in the
 * failed feed's place (DESIGN.md section 8), and sets failure.kept to say whether it could.
 */
function carryOver (builder: IndexBuilder, previous: GenerationHandle | undefined, feed: ResolvedFeed, failure: FeedFailure): void {
  const prev = previousVersion(previous, feed)
  if (previous === undefined || prev === undefined) return
  const mark = builder.mark()
  try {
    const { id, ...meta } = prev
    // A version carried over twice still names the generation that read it from the file.
    const origin = prev.carriedOver ?? { generation: previous.id, builtAt: previous.builtAt }
    const to = builder.addFeed({ ...meta, carriedOver: { generation: origin.generation, builtAt: origin.builtAt, code: failure.code, reason: failure.message } })
    builder.copyFeed(new FeedIndex(previous), id, to)
    failure.kept = 'previous'
  } catch (err) {
    builder.rollback(mark)
    failure.message += `; its previous version could not be kept either: ${(err as Error).message}`
  }
}

build(workerData as BuildRequest).then(
  (res) => parentPort?.postMessage(res),
  (err: Error & { code?: string }) => parentPort?.postMessage({
    loaded: [], failed: [], duplicates: 0, buildMs: 0, error: { code: err.code, message: err.message }
  } satisfies BuildResponse)
)
