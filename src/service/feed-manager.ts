import { statSync, watch, type FSWatcher } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { EventEmitter } from 'node:events'
import { buildGeneration } from '../feeds/build.js'
import { readSnapshot } from '../index/snapshot.js'
import { expandFeedSources } from '../config/feed-sources.js'
import type { Config } from '../config/types.js'
import type { GenerationHandle } from '../index/types.js'
import type { FeedLoadResult } from '../feeds/pipeline.js'
import type { FeedFailure } from '../workers/build-worker.js'

/** What one (re)load did, for service events and the log. */
export interface LoadReport {
  generation: number
  /** Feeds and records in the generation: those read now and those carried over. */
  feeds: number
  records: number
  /** Feeds that failed; each says whether its previous version stays in service (`kept`). */
  failed: FeedFailure[]
  /** True when the new generation went into service. */
  swapped: boolean
  buildMs: number
  /** Feeds read now. */
  loaded: FeedLoadResult[]
}

/** Records of a generation, all feeds together (load reports, the API's /health). */
export function recordCount (gen: GenerationHandle): number {
  return gen.feeds.reduce((n, f) => n + f.records, 0)
}

/**
 * Holds the FeedIndex generation in service and builds new ones in the background. A swap is one
 * assignment: every batch carries the handle it was submitted with, so no event is matched half
 * against the old feeds and half against the new. When a feed fails to load, the new generation
 * holds its previous version, copied from the generation in service (FeedMeta.carriedOver), while
 * the other feeds go in updated: one broken file never holds back the others' updates.
 * Emits 'failed' (LoadReport, before 'loaded') when a feed failed, and 'loaded' (LoadReport).
 */
export class FeedManager extends EventEmitter {
  private gen?: GenerationHandle
  private watchers: FSWatcher[] = []
  private reloadTimer?: NodeJS.Timeout
  private building?: Promise<LoadReport>
  private again = false
  private expiryTimer?: NodeJS.Timeout

  constructor (private config: Config) {
    super()
  }

  /** The generation in service (after `load`). */
  get current (): GenerationHandle {
    if (this.gen === undefined) throw new Error('feeds are not loaded yet')
    return this.gen
  }

  /** The generation in service, or undefined before the first load. */
  get maybeCurrent (): GenerationHandle | undefined {
    return this.gen
  }

  /** Replaces the configuration used by the next reload (SIGHUP). */
  setConfig (config: Config): void {
    this.config = config
    this.rewatch()
  }

  /**
   * Builds a generation from the configured feeds and puts it into service. A feed that fails
   * keeps its version from the generation in service; at start-up there is none, so it is left out.
   */
  async load (): Promise<LoadReport> {
    if (this.building !== undefined) { this.again = true; return await this.building }
    this.building = this.build().finally(() => { this.building = undefined })
    const report = await this.building
    if (this.again) { this.again = false; return await this.load() }
    return report
  }

  /** Watches the feed files and folders; a change reloads after `reloadDebounce` ms of quiet. */
  watch (): void {
    this.rewatch()
  }

  close (): void {
    for (const w of this.watchers) w.close()
    this.watchers = []
    clearTimeout(this.reloadTimer)
    clearTimeout(this.expiryTimer)
  }

  private async build (): Promise<LoadReport> {
    const snapshot = this.config.feeds.snapshot
    if (this.gen === undefined && snapshot !== null) {
      const started = performance.now()
      this.gen = await readSnapshot(snapshot)
      const report: LoadReport = { generation: this.gen.id, feeds: this.gen.feeds.length, records: recordCount(this.gen), failed: [], swapped: true, buildMs: performance.now() - started, loaded: [] }
      this.emit('loaded', report)
      return report
    }
    const feeds = await expandFeedSources(this.config, { keepMissing: this.gen !== undefined })
    // At start-up there is no generation in service: a feed that fails is left out.
    const res = await buildGeneration(feeds, { previous: this.gen })
    const inService = res.handle.feeds
    const report: LoadReport = {
      generation: res.handle.id,
      feeds: inService.length,
      records: recordCount(res.handle),
      failed: res.failed,
      swapped: true,
      buildMs: res.buildMs,
      loaded: res.loaded
    }
    this.gen = res.handle
    this.scheduleExpiry(res.loaded)
    if (res.failed.length > 0) this.emit('failed', report)
    this.emit('loaded', report)
    return report
  }

  /** Records with an expiry (STIX `valid_until`) leave the index by a rebuild at the earliest one. */
  private scheduleExpiry (loaded: FeedLoadResult[]): void {
    clearTimeout(this.expiryTimer)
    const next = Math.min(...loaded.map((l) => l.nextExpiry ?? Infinity))
    if (!Number.isFinite(next)) return
    // setTimeout holds at most ~24.8 days; a later expiry is re-checked then.
    const delay = Math.min(Math.max(0, next * 1000 - Date.now()) + 1000, 2 ** 31 - 1)
    this.expiryTimer = setTimeout(() => { void this.load().catch((err) => this.emit('error', err)) }, delay)
    this.expiryTimer.unref()
  }

  /**
   * Watches exactly the feeds: a feed folder for changes to its entries, and for a feed file the
   * folder it is in, but only events that name the file (a downloader replaces it by rename, which
   * a watch on the file itself would miss). Nothing else in those folders counts: a log, a SIEM
   * capture or feedmatch's own output written next to the feeds rebuilt them in a loop, and kept
   * real updates waiting for a quiet moment that never came.
   */
  private rewatch (): void {
    for (const w of this.watchers) w.close()
    this.watchers = []
    if (!this.config.feeds.watch) return
    const { sources, allowlist, blocklist } = this.config.feeds
    const own = ownPaths(this.config)
    const byFolder = new Map<string, Set<string> | null>()
    for (const f of [...sources, ...allowlist, ...blocklist]) {
      // Remote feeds change by their fetch, which reloads by itself.
      if (!f.enabled || f.remote !== undefined) continue
      if (isFolder(f.path)) {
        byFolder.set(f.path, null)
      } else {
        const names = byFolder.get(dirname(f.path))
        if (names === null) continue
        byFolder.set(dirname(f.path), (names ?? new Set()).add(basename(f.path)))
      }
    }
    for (const [folder, names] of byFolder) {
      try {
        const w = watch(folder, { persistent: false }, (_event, name) => {
          const file = name === null ? null : String(name)
          if (file === null) { this.changed(); return }
          if (names !== null ? !names.has(file) : (file.startsWith('.') || own.has(join(folder, file)))) return
          this.changed()
        })
        w.on('error', () => { /* a watched path that disappears is picked up at the next reload */ })
        this.watchers.push(w)
      } catch { /* a path that does not exist yet: its absence is reported by the load */ }
    }
  }

  private changed (): void {
    clearTimeout(this.reloadTimer)
    this.reloadTimer = setTimeout(() => { void this.load().catch((err) => this.emit('error', err)) }, this.config.feeds.reloadDebounce)
  }
}

function isFolder (path: string): boolean {
  try { return statSync(path).isDirectory() } catch { return false }
}

/** Files feedmatch itself writes: its output file and its spool, never feeds. */
function ownPaths (config: Config): Set<string> {
  const own = new Set<string>()
  const t = config.output.target
  if (t.protocol === 'file') own.add(t.path)
  if (config.output.spool !== null) own.add(config.output.spool.dir)
  return own
}
