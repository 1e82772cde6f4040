/**
 * Feed health: per feed, when it last loaded or fetched successfully, the last error, and whether
 * it is stale (older than its `maxAge`) or failing (its last attempt failed). The service turns
 * the transitions into `feed_stale` and `feed_fresh` service events, and /health, /stats and
 * /metrics read the entries. The age of a local file is its modification time; the age of a
 * remote feed is its last successful fetch (a 304 counts: the publisher confirmed the copy).
 */
import { EventEmitter } from 'node:events'
import type { ResolvedFeed } from '../config/types.js'

export interface FeedHealthEntry {
  feed: string
  source: 'file' | 'http' | 'taxii' | 'misp'
  /** Epoch ms. */
  lastSuccess?: number
  lastError?: { time: number, code: string, message: string }
  /** Seconds since lastSuccess. */
  ageSec?: number
  /** Seconds, when configured. */
  maxAgeSec?: number
  stale: boolean
  failing: boolean
}

interface Entry {
  source: FeedHealthEntry['source']
  maxAge?: number
  lastSuccess?: number
  lastError?: FeedHealthEntry['lastError']
  stale: boolean
}

/** How often staleness is looked at. */
const CHECK_MS = 5_000

export class FeedHealth extends EventEmitter {
  private readonly byName = new Map<string, Entry>()
  private timer?: NodeJS.Timeout

  /** The feeds of the config (after a start or a SIGHUP): new ones join, gone ones leave. */
  setFeeds (feeds: ResolvedFeed[]): void {
    const names = new Set(feeds.map((f) => f.name))
    for (const name of this.byName.keys()) if (!names.has(name)) this.byName.delete(name)
    for (const f of feeds) {
      const e = this.byName.get(f.name) ?? { source: f.remote?.kind ?? 'file', stale: false }
      e.source = f.remote?.kind ?? 'file'
      e.maxAge = f.maxAge
      this.byName.set(f.name, e)
    }
  }

  /** The feed was good at `time` (epoch ms): loaded from a file of that age, or fetched then. */
  success (feed: string, time: number): void {
    const e = this.byName.get(feed)
    if (e === undefined) return
    e.lastSuccess = Math.max(e.lastSuccess ?? 0, time)
    this.check()
  }

  failure (feed: string, code: string, message: string): void {
    const e = this.byName.get(feed)
    if (e === undefined) return
    e.lastError = { time: Date.now(), code, message }
  }

  /** Starts the periodic staleness check (unref'd: it never keeps the process up). */
  start (): void {
    clearInterval(this.timer)
    this.timer = setInterval(() => this.check(), CHECK_MS)
    this.timer.unref()
    this.check()
  }

  close (): void {
    clearInterval(this.timer)
  }

  /** Emits 'stale' and 'fresh' (FeedHealthEntry) where a feed crossed its maxAge. */
  check (now = Date.now()): void {
    for (const [name, e] of this.byName) {
      if (e.maxAge === undefined) continue
      const stale = e.lastSuccess === undefined || now - e.lastSuccess > e.maxAge
      if (stale === e.stale) continue
      e.stale = stale
      this.emit(stale ? 'stale' : 'fresh', this.entry(name, e, now))
    }
  }

  entries (now = Date.now()): FeedHealthEntry[] {
    return [...this.byName].map(([name, e]) => this.entry(name, e, now))
  }

  /** True while a feed is stale or its last attempt failed. */
  degraded (): boolean {
    return this.entries().some((e) => e.stale || e.failing)
  }

  private entry (name: string, e: Entry, now: number): FeedHealthEntry {
    return {
      feed: name,
      source: e.source,
      ...(e.lastSuccess === undefined ? {} : { lastSuccess: e.lastSuccess, ageSec: Math.max(0, Math.round((now - e.lastSuccess) / 1000)) }),
      ...(e.lastError === undefined ? {} : { lastError: e.lastError }),
      ...(e.maxAge === undefined ? {} : { maxAgeSec: e.maxAge / 1000 }),
      stale: e.stale,
      failing: e.lastError !== undefined && (e.lastSuccess === undefined || e.lastError.time > e.lastSuccess)
    }
  }
}
