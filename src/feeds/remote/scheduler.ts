/**
 * Fetches the remote feeds of a config on their schedules (`every`), in the service's main thread
 * (the work is I/O; validation builds run in a worker). A feed is fetched at start-up when it has
 * no cached copy or its copy is older than `every`, then every `every`; one feed's fetches never
 * overlap. Emits 'fetched' (FetchOutcome) after each fetch; the service reloads the feeds when one
 * was updated.
 */
import { EventEmitter } from 'node:events'
import { stat } from 'node:fs/promises'
import type { ResolvedFeed } from '../../config/types.js'
import type { GenerationHandle } from '../../index/types.js'
import { fetchFeed, type FetchOutcome } from './fetch.js'
import { readState } from './state.js'

export class FeedFetcher extends EventEmitter {
  private timers = new Map<string, NodeJS.Timeout>()
  private running = new Map<string, Promise<FetchOutcome>>()
  private closed = false

  constructor (private feeds: ResolvedFeed[], private readonly previous: () => GenerationHandle | undefined) {
    super()
  }

  /** The remote feeds among `feeds`. */
  static remote (feeds: ResolvedFeed[]): ResolvedFeed[] {
    return feeds.filter((f) => f.remote !== undefined)
  }

  /** Fetches now the feeds that have no cached copy yet (start-up waits for these), in parallel. */
  async fetchMissing (): Promise<FetchOutcome[]> {
    const missing: ResolvedFeed[] = []
    for (const f of this.feeds) if (!await exists(f.path)) missing.push(f)
    return await Promise.all(missing.map(async (f) => await this.fetch(f)))
  }

  /** Schedules every feed: due ones at once, the others when `every` has passed since their last success. */
  async start (): Promise<void> {
    for (const f of this.feeds) {
      const state = await readState(remoteOf(f).dir)
      const due = (state.lastSuccess ?? 0) + remoteOf(f).every - Date.now()
      this.schedule(f, Math.max(0, due))
    }
  }

  /** New feeds (SIGHUP): timers of feeds gone are cleared, new ones scheduled. */
  async setFeeds (feeds: ResolvedFeed[]): Promise<void> {
    this.close()
    this.closed = false
    this.feeds = feeds
    await this.start()
  }

  close (): void {
    this.closed = true
    for (const t of this.timers.values()) clearTimeout(t)
    this.timers.clear()
  }

  /** One fetch of one feed (joined when one is running). */
  async fetch (feed: ResolvedFeed): Promise<FetchOutcome> {
    const running = this.running.get(feed.name)
    if (running !== undefined) return await running
    const p = fetchFeed(feed, { previous: this.previous() }).then((outcome) => {
      this.emit('fetched', outcome, feed)
      return outcome
    }).finally(() => this.running.delete(feed.name))
    this.running.set(feed.name, p)
    return await p
  }

  private schedule (feed: ResolvedFeed, delay: number): void {
    if (this.closed) return
    clearTimeout(this.timers.get(feed.name))
    const t = setTimeout(() => {
      void this.fetch(feed).finally(() => this.schedule(feed, remoteOf(feed).every))
    }, Math.min(delay, 2 ** 31 - 1))
    t.unref()
    this.timers.set(feed.name, t)
  }
}

/** The remote source of a feed this fetcher holds (only remote feeds are given to it). */
function remoteOf (f: ResolvedFeed): NonNullable<ResolvedFeed['remote']> {
  return f.remote as NonNullable<ResolvedFeed['remote']>
}

async function exists (path: string): Promise<boolean> {
  try { await stat(path); return true } catch { return false }
}
