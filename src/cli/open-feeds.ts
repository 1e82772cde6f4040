import { FeedmatchError, ourCode } from '../errors.js'
import { FeedFetcher } from '../feeds/remote/scheduler.js'
import { fileURLToPath } from 'node:url'
import { loadConfig } from '../config/load.js'
import { expandFeedSources } from '../config/feed-sources.js'
import type { Config, ConfigOverrides } from '../config/types.js'
import { buildGeneration } from '../feeds/build.js'
import { readSnapshot } from '../index/snapshot.js'
import { FeedIndex } from '../index/feed-index.js'
import type { BuildResponse } from '../workers/build-worker.js'
import { log } from '../log.js'

/** The demo feeds shipped in the package, used when neither a config nor `--feeds` names any. */
export const DEMO_FEEDS = fileURLToPath(new URL('../../fixtures/feeds/', import.meta.url))

/** True when a config names no feeds at all: then `serve`, `lookup` and `feeds` use the demo feeds. */
export function namesNoFeeds (config: Config): boolean {
  return config.feeds.sources.length === 0 && config.feeds.blocklist.length === 0 && config.feeds.snapshot === null
}

/** Loads the config; when it names no feeds, loads it again with the demo feeds added. */
export async function loadConfigOrDemo (path: string | undefined, overrides: ConfigOverrides): Promise<Config> {
  const config = await loadConfig(path, overrides)
  if (!namesNoFeeds(config)) return config
  log.info({ path: DEMO_FEEDS }, 'no feeds configured: using the demo feeds')
  return await loadConfig(path, { ...overrides, feeds: [DEMO_FEEDS] })
}

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
  const started = performance.now()
  if (opts.snapshot !== undefined) {
    const config = await loadConfig(opts.config, { feeds: opts.feeds })
    const handle = await readSnapshot(opts.snapshot)
    return { config, index: new FeedIndex(handle), loadMs: performance.now() - started }
  }
  const effective = await loadConfigOrDemo(opts.config, { feeds: opts.feeds })
  if (effective.feeds.snapshot !== null) {
    const handle = await readSnapshot(effective.feeds.snapshot)
    return { config: effective, index: new FeedIndex(handle), loadMs: performance.now() - started }
  }
  const feeds = await expandFeedSources(effective)
  // A remote feed not downloaded yet is fetched now; the others are used as cached
  // (`feedmatch feeds fetch` refreshes them).
  for (const o of await new FeedFetcher(FeedFetcher.remote(feeds), () => undefined).fetchMissing()) {
    if (o.error !== undefined) log.error({ feed: o.feed, code: o.error.code }, o.error.message)
  }
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

/**
 * For commands whose answer would be wrong without every feed (`lookup`, `scan`): a feed that
 * failed to load (unreadable, 0 records, shrunk) fails the command with exit code 2, instead of a
 * scan that finds nothing and exits 0.
 */
export function requireAllFeeds (opened: OpenedFeeds): OpenedFeeds {
  const failed = opened.build?.failed ?? []
  if (failed.length > 0) {
    const f = failed[0]
    // The first failure's own code, so that its hint is the one that helps (FM_ERR_FEED_EMPTY...).
    throw new FeedmatchError(ourCode(f.code, 'FM_ERR_FEED_READ'), `${failed.length} feed(s) failed to load, first "${f.name}": ${f.message}`)
  }
  return opened
}
