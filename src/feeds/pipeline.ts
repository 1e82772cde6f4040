import type { IndexBuilder } from '../index/builder.js'
import type { FeedMeta } from '../index/types.js'
import type { ResolvedFeed } from '../config/feed-sources.js'
import { FeedmatchError } from '../errors.js'
import { indicatorKeys, type IndexKey } from '../match/keys.js'
import { detectFormat } from './detect.js'
import { PARSERS } from './formats/index.js'
import { recordPolicy } from './filter.js'
import { isSkipped, type ParsedItem } from './record.js'

/** How many skipped records a feed keeps with their line, for `feeds check` and the log. */
const SKIP_SAMPLES = 10

/** What loading one feed produced, beside what went into the builder. */
export interface FeedLoadResult {
  meta: FeedMeta
  /** Earliest `expires` (epoch seconds) among kept records, so a service can rebuild then. */
  nextExpiry?: number
  /** Same key twice in this feed: the first record is kept. */
  duplicates: number
}

/**
 * Reads one feed as a stream and adds its records to the builder: parse, apply the feed's policy
 * (filter, required fields, expiry), normalize every indicator into index keys, index them with
 * one shared context. Bad records are skipped and counted with their line; a feed that cannot be
 * read at all throws FM_ERR_FEED_READ and the caller decides what stays in service.
 */
export async function loadFeed (builder: IndexBuilder, feed: ResolvedFeed, now = Date.now()): Promise<FeedLoadResult> {
  const format = feed.format ?? await detectFormat(feed.path)
  const parse = PARSERS[format]
  const policy = recordPolicy({
    filter: feed.filter,
    required: feed.required,
    expiry: feed.expiry,
    now
  })
  const meta: Omit<FeedMeta, 'id'> = {
    name: feed.name,
    category: feed.category,
    role: feed.role,
    actionable: { ...(feed.actionable ?? {}) },
    path: feed.path,
    format,
    records: 0,
    keys: {},
    skipped: 0,
    skippedByReason: {},
    skippedSamples: [],
    filtered: 0
  }
  const feedId = builder.addFeed(meta)
  const skip = (reason: string, line?: number): void => {
    meta.skipped++
    const kind = reasonKind(reason)
    meta.skippedByReason[kind] = (meta.skippedByReason[kind] ?? 0) + 1
    if (meta.skippedSamples.length < SKIP_SAMPLES) meta.skippedSamples.push({ line, reason })
  }
  let nextExpiry: number | undefined
  const keys: IndexKey[] = []
  const duplicatesBefore = builder.duplicates

  const take = (item: ParsedItem): void => {
    if (isSkipped(item)) { skip(item.reason, item.line); return }
    const dropped = policy(item)
    if (dropped !== null) { meta.filtered++; return }
    keys.length = 0
    let firstError: string | undefined
    for (const ind of item.indicators) {
      const res = indicatorKeys(ind.value, ind.kind)
      if ('error' in res) firstError ??= res.error
      else for (const k of res) keys.push(k)
    }
    // A record with one good indicator out of three is still useful; one with none is skipped.
    if (keys.length === 0) { skip(firstError ?? 'record has no indicator', item.line); return }
    const ctx = builder.addContext(item.context)
    for (const k of keys) addKey(builder, k, feedId, ctx, meta)
    meta.records++
    if (item.expires !== undefined && (nextExpiry === undefined || item.expires < nextExpiry)) nextExpiry = item.expires
  }

  try {
    for await (const got of parse({
      path: feed.path,
      indicators: (feed.indicators ?? []).map((i) => ({ field: i.field, kind: i.type })),
      records: feed.records,
      csv: feed.csv
    })) {
      if (Array.isArray(got)) for (const item of got) take(item)
      else take(got)
    }
  } catch (err) {
    if (err instanceof FeedmatchError) throw err
    throw new FeedmatchError('FM_ERR_FEED_READ', `feed "${feed.name}" (${feed.path}) could not be read: ${(err as Error).message}`, { cause: err })
  }
  builder.setFeedMeta(feedId, meta)
  return { meta: { ...meta, id: feedId }, nextExpiry, duplicates: builder.duplicates - duplicatesBefore }
}

function addKey (builder: IndexBuilder, k: IndexKey, feedId: number, ctx: number, meta: Omit<FeedMeta, 'id'>): void {
  let counter: keyof FeedMeta['keys']
  switch (k.t) {
    case 'hash':
      builder.addHash(k.bytes, feedId, ctx)
      counter = k.type
      break
    case 'ip':
      builder.addIp(k.bytes, k.prefix, feedId, ctx)
      counter = k.prefix === k.bytes.length * 8 ? (k.bytes.length === 4 ? 'ipv4' : 'ipv6') : 'cidr'
      break
    case 'domain':
    case 'host':
      builder.addDomain(k.host, k.t, feedId, ctx)
      counter = k.t
      break
    case 'url':
      builder.addUrlMask(k.mask, feedId, ctx)
      counter = 'url'
      break
  }
  meta.keys[counter] = (meta.keys[counter] ?? 0) + 1
}

/** The stable part of a skip reason (before any quoted value or colon), so counts group by cause. */
function reasonKind (reason: string): string {
  const cut = reason.search(/[:"(]/)
  return (cut > 0 ? reason.slice(0, cut) : reason).trim()
}
