import type { Command } from 'commander'
import { openFeeds, type FeedOptions, type OpenedFeeds } from '../open-feeds.js'
import { writeSnapshot } from '../../index/snapshot.js'
import { FeedmatchError } from '../../errors.js'
import { loadConfig } from '../../config/load.js'
import { expandFeedSources } from '../../config/feed-sources.js'
import { FeedFetcher } from '../../feeds/remote/scheduler.js'
import { humanBytes, table } from '../../util/text.js'
import type { FeedMeta } from '../../index/types.js'

interface FeedsOptions extends FeedOptions { output?: string, json?: boolean }

const KEY_TYPES = ['md5', 'sha1', 'sha256', 'ipv4', 'ipv6', 'cidr', 'domain', 'host', 'url'] as const

/** `feedmatch feeds list | check | build -o SNAPSHOT`. */
export function registerFeeds (program: Command, run: (fn: () => Promise<number>) => void): void {
  const feeds = program.command('feeds').description('what is loaded, validate feeds, write a snapshot')
  feeds.command('list')
    .description('records per feed and per type, build time and memory')
    .option('--snapshot <file>', 'describe a snapshot instead of building from the feeds')
    .option('--json', 'print JSON instead of a table')
    .action((opts: FeedsOptions, cmd: Command) => run(async () => list({ ...cmd.optsWithGlobals(), ...opts })))
  feeds.command('check')
    .description('validate the feeds: skipped records with file, line and reason; exit 0 clean, 1 records skipped, 2 a feed failed')
    .option('--json', 'print JSON instead of text')
    .action((opts: FeedsOptions, cmd: Command) => run(async () => check({ ...cmd.optsWithGlobals(), ...opts })))
  feeds.command('fetch')
    .description('download the remote feeds (url:, taxii:) into a folder, each validated; copy it to an isolated host and point feeds.cache at it. Exit 0 all fetched, 2 a feed failed')
    .requiredOption('-o, --output <dir>', 'folder to download into (the layout of feeds.cache)')
    .option('--json', 'print JSON instead of text')
    .action((opts: FeedsOptions, cmd: Command) => run(async () => fetch({ ...cmd.optsWithGlobals(), ...opts })))
  feeds.command('build')
    .description('build the index from the feeds and write it to a snapshot file')
    .requiredOption('-o, --output <file>', 'snapshot file to write')
    .action((opts: FeedsOptions, cmd: Command) => run(async () => build({ ...cmd.optsWithGlobals(), ...opts })))
}

function summary (opened: OpenedFeeds): { feeds: FeedMeta[], indexBytes: number, arenaBytes: number, keys: number, loadMs: number, rss: number } {
  const stats = opened.index.stats()
  const feeds = opened.index.handle.feeds
  const keys = feeds.reduce((n, f) => n + Object.values(f.keys).reduce((a, b) => a + (b ?? 0), 0), 0)
  const arenaBytes = stats.byTable.arena ?? 0
  return { feeds, indexBytes: stats.bytes, arenaBytes, keys, loadMs: opened.loadMs, rss: process.memoryUsage().rss }
}

function printSummary (s: ReturnType<typeof summary>): void {
  const rows = s.feeds.map((f) => [
    f.name, f.role, f.format, f.category, String(f.records),
    KEY_TYPES.filter((t) => (f.keys[t] ?? 0) > 0).map((t) => `${t}:${f.keys[t]}`).join(' '),
    String(f.skipped), String(f.filtered)
  ])
  process.stdout.write(table(['FEED', 'ROLE', 'FORMAT', 'CATEGORY', 'RECORDS', 'KEYS', 'SKIPPED', 'FILTERED'], rows, 60))
  const perKey = s.keys > 0 ? (s.indexBytes / s.keys).toFixed(1) : '-'
  process.stdout.write(`\n${s.feeds.length} feeds, ${s.keys} keys in ${s.loadMs.toFixed(0)} ms; index ${humanBytes(s.indexBytes)} (${perKey} bytes/key), context ${humanBytes(s.arenaBytes)}, process RSS ${humanBytes(s.rss)}\n`)
}

async function list (opts: FeedsOptions): Promise<number> {
  const opened = await openFeeds(opts)
  const s = summary(opened)
  if (opts.json === true) process.stdout.write(JSON.stringify({ ...s, failed: opened.build?.failed ?? [] }, null, 2) + '\n')
  else printSummary(s)
  return (opened.build?.failed.length ?? 0) > 0 ? 2 : 0
}

async function check (opts: FeedsOptions): Promise<number> {
  const opened = await openFeeds(opts)
  const s = summary(opened)
  const failed = opened.build?.failed ?? []
  if (opts.json === true) {
    process.stdout.write(JSON.stringify({ ...s, failed }, null, 2) + '\n')
  } else {
    printSummary(s)
    for (const f of s.feeds) {
      if (f.skipped === 0) continue
      process.stdout.write(`\n${f.name} (${f.path}): ${f.skipped} records skipped\n`)
      for (const x of f.skippedSamples) process.stdout.write(`  ${f.path}${x.line !== undefined ? `:${x.line}` : ''}: ${x.reason}\n`)
      if (f.skipped > f.skippedSamples.length) process.stdout.write(`  ... and ${f.skipped - f.skippedSamples.length} more\n`)
      for (const [reason, n] of Object.entries(f.skippedByReason)) process.stdout.write(`  ${n} x ${reason}\n`)
    }
    for (const f of failed) process.stdout.write(`\n${f.name} (${f.path}): FAILED ${f.code}: ${f.message}\n`)
  }
  if (failed.length > 0) return 2
  return s.feeds.some((f) => f.skipped > 0) ? 1 : 0
}

async function fetch (opts: FeedsOptions): Promise<number> {
  const config = await loadConfig(opts.config, { feeds: opts.feeds, feedCache: opts.output })
  const remote = FeedFetcher.remote(await expandFeedSources(config, { keepMissing: true }))
  if (remote.length === 0) {
    throw new FeedmatchError('FM_ERR_USAGE', `${opts.config ?? 'the configuration'} names no remote feed (url: or taxii:); there is nothing to fetch`)
  }
  const fetcher = new FeedFetcher(remote, () => undefined)
  const outcomes = []
  for (const f of remote) outcomes.push(await fetcher.fetch(f))
  if (opts.json === true) process.stdout.write(JSON.stringify({ cache: config.feeds.cache, feeds: outcomes }, null, 2) + '\n')
  else {
    for (const o of outcomes) {
      const what = o.status === 'failed' ? `FAILED ${o.error?.code ?? ''}: ${o.error?.message ?? ''}` : o.status === 'updated' ? `downloaded, ${o.records ?? 0} records` : 'unchanged at its source'
      process.stdout.write(`${o.feed}: ${what} (${Math.round(o.ms)} ms)\n`)
    }
    process.stdout.write(`into ${config.feeds.cache}\n`)
  }
  return outcomes.some((o) => o.status === 'failed') ? 2 : 0
}

async function build (opts: FeedsOptions): Promise<number> {
  const opened = await openFeeds(opts)
  const failed = opened.build?.failed ?? []
  if (failed.length > 0) {
    throw new FeedmatchError('FM_ERR_FEED_READ', `not writing a snapshot: ${failed.length} feed(s) failed, first "${failed[0].name}": ${failed[0].message}`)
  }
  const started = performance.now()
  await writeSnapshot(opened.index.handle, opts.output as string)
  printSummary(summary(opened))
  process.stdout.write(`snapshot written to ${opts.output} in ${(performance.now() - started).toFixed(0)} ms\n`)
  return 0
}
