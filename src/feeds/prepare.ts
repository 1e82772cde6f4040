/**
 * The part of a feed load that does not touch the index: reading the feed with its format's
 * parser, applying the feed's record policy, normalizing indicators into index keys, and keeping
 * the feed's tallies (records, keys, skips, filtered, next expiry). Both ways of loading a feed
 * (one thread, or a parse thread feeding the build thread: src/feeds/pipeline.ts) run this code,
 * so they cannot drift apart.
 */
import type { ResolvedFeed } from '../config/feed-sources.js'
import type { IndexBuilder } from '../index/builder.js'
import type { FeedMeta } from '../index/types.js'
import { FeedmatchError } from '../errors.js'
import { indicatorKeys, type IndexKey } from '../match/keys.js'
import type { FeedFormat } from './detect.js'
import { PARSERS } from './formats/index.js'
import { recordPolicy, type DropReason } from './filter.js'
import { isSkipped, type FeedRecord, type ParsedItem } from './record.js'

/** How many skipped records a feed keeps with their line, for `feeds check` and the log. */
const SKIP_SAMPLES = 10

/** The counts a feed load ends with (the FeedMeta fields it fills), plus its earliest expiry. */
export interface FeedTally {
  records: number
  keys: FeedMeta['keys']
  skipped: number
  skippedByReason: Record<string, number>
  skippedSamples: Array<{ line?: number, reason: string }>
  filtered: number
  /** Earliest `expires` (epoch seconds) among kept records, so a service can rebuild then. */
  nextExpiry?: number
}

/**
 * Turns parsed items into index keys and counts what it sees. One per feed load: it holds the
 * feed's policy (built once, with one `now` for the whole build) and its running tally.
 */
export class RecordPreparer {
  readonly tally: FeedTally = { records: 0, keys: {}, skipped: 0, skippedByReason: {}, skippedSamples: [], filtered: 0 }
  private readonly policy: (rec: FeedRecord) => DropReason | null
  private readonly keys: IndexKey[] = []

  constructor (feed: ResolvedFeed, now: number) {
    this.policy = recordPolicy({ filter: feed.filter, required: feed.required, expiry: feed.expiry, now })
  }

  /**
   * The keys of a record to index, counted as kept; or null when the item is a skip, is dropped
   * by the policy, or has no usable indicator (counted as such). The array is reused by the next
   * call: index it before taking the next item.
   */
  take (item: ParsedItem): IndexKey[] | null {
    const t = this.tally
    if (isSkipped(item)) { this.skip(item.reason, item.line); return null }
    if (item.notForDetection === true || this.policy(item) !== null) { t.filtered++; return null }
    const keys = this.keys
    keys.length = 0
    let firstError: string | undefined
    for (const ind of item.indicators) {
      const res = indicatorKeys(ind.value, ind.kind)
      if ('error' in res) firstError ??= res.error
      else for (const k of res) keys.push(k)
    }
    // A record with one good indicator out of three is still useful; one with none is skipped.
    if (keys.length === 0) { this.skip(firstError ?? 'record has no indicator', item.line); return null }
    for (const k of keys) {
      const c = keyCounter(k)
      t.keys[c] = (t.keys[c] ?? 0) + 1
    }
    t.records++
    if (item.expires !== undefined && (t.nextExpiry === undefined || item.expires < t.nextExpiry)) t.nextExpiry = item.expires
    return keys
  }

  private skip (reason: string, line?: number): void {
    const t = this.tally
    t.skipped++
    const kind = reasonKind(reason)
    t.skippedByReason[kind] = (t.skippedByReason[kind] ?? 0) + 1
    if (t.skippedSamples.length < SKIP_SAMPLES) t.skippedSamples.push({ line, reason })
  }
}

/** The feed's records as its format's parser streams them (items or arrays of items, in file order). */
export function parseFeed (feed: ResolvedFeed, format: FeedFormat): AsyncIterable<ParsedItem | ParsedItem[]> {
  return PARSERS[format]({
    path: feed.path,
    indicators: (feed.indicators ?? []).map((i) => ({ field: i.field, kind: i.type })),
    records: feed.records,
    csv: feed.csv,
    allAttributes: feed.misp?.allAttributes === true
  })
}

/** What a failure while reading a feed becomes: our own errors keep their code, others are FM_ERR_FEED_READ. */
export function feedReadError (feed: ResolvedFeed, err: unknown): FeedmatchError {
  if (err instanceof FeedmatchError) return err
  return new FeedmatchError('FM_ERR_FEED_READ', `feed "${feed.name}" (${feed.path}) could not be read: ${(err as Error).message}`, { cause: err })
}

/** Adds one key of a record to the builder, under the record's context ref. */
export function addKey (builder: IndexBuilder, k: IndexKey, feedId: number, ctx: number): void {
  switch (k.t) {
    case 'hash': return builder.addHash(k.bytes, feedId, ctx)
    case 'ip': return builder.addIp(k.bytes, k.prefix, feedId, ctx)
    case 'domain':
    case 'host': return builder.addDomain(k.host, k.t, feedId, ctx)
    case 'url': return builder.addUrlMask(k.mask, feedId, ctx)
  }
}

/** The FeedMeta.keys counter a key goes to (before duplicates are taken out). */
function keyCounter (k: IndexKey): keyof FeedMeta['keys'] {
  switch (k.t) {
    case 'hash': return k.type
    case 'ip': return k.prefix === k.bytes.length * 8 ? (k.bytes.length === 4 ? 'ipv4' : 'ipv6') : 'cidr'
    default: return k.t
  }
}

/** The stable part of a skip reason (before any quoted value or colon), so counts group by cause. */
function reasonKind (reason: string): string {
  const cut = reason.search(/[:"(]/)
  return (cut > 0 ? reason.slice(0, cut) : reason).trim()
}
