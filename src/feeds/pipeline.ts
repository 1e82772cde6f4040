import { stat } from 'node:fs/promises'
import type { IndexBuilder } from '../index/builder.js'
import type { FeedMeta } from '../index/types.js'
import type { ResolvedFeed } from '../config/feed-sources.js'
import { detectFormat, type FeedFormat } from './detect.js'
import { ParseThread } from './parse-thread.js'
import { RecordPreparer, addKey, feedReadError, parseFeed, type FeedTally } from './prepare.js'
import type { FeedRecord, ParsedItem } from './record.js'

/**
 * Feeds from this size on are parsed in a thread of their own. Starting one costs some 50 ms of
 * module loading, about what parsing 2 MB costs: below a few MB (test fixtures, demo feeds,
 * most custom lists) one thread is as fast.
 */
export const PARSE_THREAD_MIN_BYTES = 4 * 1024 * 1024

/** What loading one feed produced, beside what went into the builder. */
export interface FeedLoadResult {
  meta: FeedMeta
  /** Earliest `expires` (epoch seconds) among kept records, so a service can rebuild then. */
  nextExpiry?: number
  /** The same record (key and context) twice in this feed: kept once. */
  duplicates: number
}

/** Options of startFeed and loadFeed. */
export interface LoadOptions {
  /** Files of at least this many bytes are parsed in a second thread (default PARSE_THREAD_MIN_BYTES; Infinity: never). */
  parseThreadMinBytes?: number
  /** Bytes of prepared records per chunk the parse thread posts (tests make it small to cut feeds everywhere). */
  parseChunkBytes?: number
  /** What startFeed returned for this feed, when its reading started ahead of loadFeed. */
  start?: Promise<FeedStart>
}

/** How a feed is read: its format, and for a large file the parse thread already reading it. */
export interface FeedStart {
  format: FeedFormat
  thread?: ParseThread
}

/**
 * Detects a feed's format and, for a large file, starts its parse thread, so that the feed can be
 * parsed while the build thread still indexes the one before (the thread's window bounds how far
 * it gets). Pass the promise to loadFeed as `start`; whoever starts a feed and does not load it
 * must close its thread.
 */
export async function startFeed (feed: ResolvedFeed, now: number, opts: LoadOptions = {}): Promise<FeedStart> {
  const format = feed.format ?? await detectFormat(feed.path)
  if (await fileSize(feed.path) < (opts.parseThreadMinBytes ?? PARSE_THREAD_MIN_BYTES)) return { format }
  return { format, thread: new ParseThread(feed, format, now, opts.parseChunkBytes) }
}

/**
 * Reads one feed as a stream and adds its records to the builder: parse, apply the feed's policy
 * (filter, required fields, expiry), normalize every indicator into index keys, index them with
 * one shared context. Bad records are skipped and counted with their line; a feed that cannot be
 * read at all throws FM_ERR_FEED_READ and the caller decides what stays in service.
 * A large feed file is parsed in a second thread while this one indexes (src/feeds/parse-thread.ts);
 * both ways give the same index.
 */
export async function loadFeed (builder: IndexBuilder, feed: ResolvedFeed, now = Date.now(), opts: LoadOptions = {}): Promise<FeedLoadResult> {
  const { format, thread } = await (opts.start ?? startFeed(feed, now, opts))
  const meta: Omit<FeedMeta, 'id'> = {
    name: feed.name,
    category: feed.category,
    role: feed.role,
    actionable: { ...feed.actionable },
    path: feed.path,
    format,
    records: 0,
    keys: {},
    skipped: 0,
    skippedByReason: {},
    skippedSamples: [],
    filtered: 0
  }
  // Made first, so that a bad policy fails before the feed is registered (a parse thread reports
  // it as its error instead, and the caller's rollback takes the feed back).
  const prep = thread === undefined ? new RecordPreparer(feed, now) : undefined
  const feedId = builder.addFeed(meta)
  const duplicatesBefore = builder.duplicates
  const { nextExpiry, ...tally } = prep === undefined
    ? await (thread as ParseThread).load(builder, feedId)
    : await loadHere(builder, feedId, feed, format, prep)
  Object.assign(meta, tally)
  builder.setFeedMeta(feedId, meta)
  return { meta: { ...meta, id: feedId }, nextExpiry, duplicates: builder.duplicates - duplicatesBefore }
}

/** The one-thread load: parse and index record by record. */
async function loadHere (builder: IndexBuilder, feedId: number, feed: ResolvedFeed, format: FeedFormat, prep: RecordPreparer): Promise<FeedTally> {
  const take = (item: ParsedItem): void => {
    const keys = prep.take(item)
    if (keys === null) return
    const ctx = builder.addContext((item as FeedRecord).context)
    for (const k of keys) addKey(builder, k, feedId, ctx)
  }
  try {
    for await (const got of parseFeed(feed, format)) {
      if (Array.isArray(got)) for (const item of got) take(item)
      else take(got)
    }
  } catch (err) {
    throw feedReadError(feed, err)
  }
  return prep.tally
}

/** The size of a feed file; -1 for a folder (a MISP feed: many small files) or what cannot be read (the parser says why). */
async function fileSize (path: string): Promise<number> {
  try {
    const s = await stat(path)
    return s.isFile() ? s.size : -1
  } catch {
    return -1
  }
}
