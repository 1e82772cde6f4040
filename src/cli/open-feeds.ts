import { fileURLToPath } from 'node:url'
import { loadConfig } from '../config/load.js'
import { expandFeedSources } from '../config/feed-sources.js'
import type { Config } from '../config/types.js'
import { buildGeneration } from '../index/generation.js'
import { readSnapshot } from '../index/snapshot.js'
import { FeedIndex } from '../index/feed-index.js'
import type { BuildResponse } from '../index/build-worker.js'
import { log } from '../log.js'

/** The demo feeds shipped in the package, used when neither a config nor `--feeds` names any. */
export const DEMO_FEEDS = fileURLToPath(new URL('../../fixtures/feeds/', import.meta.url))

/** Options every command that needs feeds accepts. */
export interface FeedOptions {
  config?: string
  feeds?: string[]
  snapshot?: string
}

/** A loaded generation, with what the build reported (absent when read from a snapshot). */
export interface OpenedFeeds {
  config: Config
  index: FeedIndex
  build?: BuildResponse
  loadMs: number
}

/** Loads the config, then the feeds it names (or a snapshot), built in a worker thread. */
export async function openFeeds (opts: FeedOptions): Promise<OpenedFeeds> {
  const config = await loadConfig(opts.config, { feeds: opts.feeds })
  const started = performance.now()
  const snapshot = opts.snapshot ?? config.feeds.snapshot ?? undefined
  if (snapshot !== undefined && snapshot !== null) {
    const handle = await readSnapshot(snapshot)
    return { config, index: new FeedIndex(handle), loadMs: performance.now() - started }
  }
  let effective = config
  if (config.feeds.sources.length === 0 && config.feeds.blocklist.length === 0) {
    log.info({ path: DEMO_FEEDS }, 'no feeds configured: using the demo feeds')
    effective = await loadConfig(opts.config, { feeds: [DEMO_FEEDS] })
  }
  const feeds = await expandFeedSources(effective)
  const build = await buildGeneration(feeds)
  for (const f of build.failed) log.error({ feed: f.name, path: f.path, code: f.code }, f.message)
  for (const m of build.loaded) {
    for (const s of m.meta.skippedSamples) log.warn({ feed: m.meta.name, file: m.meta.path, line: s.line }, `skipped record: ${s.reason}`)
    if (m.meta.skipped > m.meta.skippedSamples.length) {
      log.warn({ feed: m.meta.name, file: m.meta.path }, `${m.meta.skipped - m.meta.skippedSamples.length} more records skipped`)
    }
  }
  return { config: effective, index: new FeedIndex(build.handle), build, loadMs: performance.now() - started }
}
