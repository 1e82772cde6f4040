import { watch, type FSWatcher } from 'node:fs'
import { dirname } from 'node:path'
import { EventEmitter } from 'node:events'
import { buildGeneration } from '../index/generation.js'
import { readSnapshot } from '../index/snapshot.js'
import { expandFeedSources } from '../config/feed-sources.js'
import type { Config } from '../config/types.js'
import type { GenerationHandle } from '../index/types.js'
import type { FeedLoadResult } from '../feeds/pipeline.js'

/** What one (re)load did, for service events and the log. */
export interface LoadReport {
  generation: number
  feeds: number
  records: number
  failed: Array<{ name: string, path: string, code: string, message: string }>
  /** True when the new generation went into service. */
  swapped: boolean
  buildMs: number
  loaded: FeedLoadResult[]
}

/**
 * Holds the FeedIndex generation in service and builds new ones in the background. A swap is one
 * assignment: every batch carries the handle it was submitted with, so no event is matched half
 * against the old feeds and half against the new. When a feed fails to load, the generation in
 * service is kept whole (its previous version of that feed included) and 'failed' is emitted; the
 * other feeds' updates go in with the next successful reload.
 * Emits 'loaded' (LoadReport) and 'failed' (LoadReport).
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

  /** Replaces the configuration used by the next reload (SIGHUP). */
  setConfig (config: Config): void {
    this.config = config
    this.rewatch()
  }

  /**
   * Builds a generation from the configured feeds and puts it into service. At start-up there is
   * no previous generation, so feeds that failed are left out and reported.
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
      const report: LoadReport = { generation: this.gen.id, feeds: this.gen.feeds.length, records: this.gen.feeds.reduce((n, f) => n + f.records, 0), failed: [], swapped: true, buildMs: performance.now() - started, loaded: [] }
      this.emit('loaded', report)
      return report
    }
    const feeds = await expandFeedSources(this.config)
    const res = await buildGeneration(feeds)
    const report: LoadReport = {
      generation: res.handle.id,
      feeds: res.loaded.length,
      records: res.loaded.reduce((n, l) => n + l.meta.records, 0),
      failed: res.failed,
      swapped: false,
      buildMs: res.buildMs,
      loaded: res.loaded
    }
    if (res.failed.length > 0 && this.gen !== undefined) {
      this.emit('failed', report)
      return report
    }
    this.gen = res.handle
    report.swapped = true
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

  private rewatch (): void {
    for (const w of this.watchers) w.close()
    this.watchers = []
    if (!this.config.feeds.watch) return
    const { sources, allowlist, blocklist } = this.config.feeds
    const paths = new Set<string>()
    // Watching the folder too catches feeds replaced by rename (how downloaders update files).
    for (const f of [...sources, ...allowlist, ...blocklist]) { paths.add(f.path); paths.add(dirname(f.path)) }
    for (const p of paths) {
      try {
        const w = watch(p, { persistent: false }, () => this.changed())
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
