import type { Command } from 'commander'
import { syslogOptionsOf } from '../../render/syslog.js'
import { loadConfig } from '../../config/load.js'
import type { Config, FeedConfig } from '../../config/types.js'
import { createRenderer } from '../../render/renderer.js'
import { sourceSpecs } from '../../service/sources.js'
import { namesNoFeeds } from '../open-feeds.js'
import { existsSync } from 'node:fs'
import { FeedmatchError } from '../../errors.js'
import { compileFilter } from '../../feeds/filter.js'
import { expandFeedSources } from '../../config/feed-sources.js'
import { buildGeneration } from '../../feeds/build.js'

/** `feedmatch config check FILE`: validate a configuration file with the one schema. */
export function registerConfig (program: Command, run: (fn: () => Promise<number>) => void): void {
  const config = program.command('config').description('work with configuration files')
  config.command('check')
    .description('validate a configuration file: prints OK and a summary (exit 0), or what is wrong and where (exit 2)')
    .argument('<file>', 'the configuration file (YAML or JSON)')
    .option('--no-feeds', 'do not load the feeds (schema, templates and filters only)')
    .action((file: string, opts: { feeds: boolean }) => run(async () => await check(file, opts.feeds)))
}

function feedList (entries: readonly FeedConfig[]): string {
  if (entries.length === 0) return 'none'
  return entries.map((f) => `${f.path}${f.format === undefined ? '' : ` (${f.format})`}${f.enabled ? '' : ' [disabled]'}`).join(', ')
}

/** The lines of the summary: what the service would do with this file. */
function summary (c: Config): string[] {
  const out = c.output
  const rules = c.input.sources.map((s) => `${s.name} (${s.preset}${s.rules.length > 0 ? ` + ${s.rules.length} rules` : ''}${s.match.length > 0 ? `, from ${s.match.join(' ')}` : ''})`)
  return [
    `input:   ${c.input.listen.map((l) => l.url).join(', ')}; framing ${c.input.framing}${c.input.delimiter !== null ? ` /${c.input.delimiter}/` : ''}; max event ${c.input.maxEventSize} bytes`,
    `sources: ${rules.join(', ')}`,
    `output:  ${out.target.url}; preset ${out.preset}; header ${out.header}; framing ${out.framing}${Object.keys(out.templates).length > 0 ? `; custom templates: ${Object.keys(out.templates).join(', ')}` : ''}`,
    `feeds:   ${feedList(c.feeds.sources)}${namesNoFeeds(c) ? ' (serve loads the demo feeds)' : ''}`,
    `allowlist: ${feedList(c.feeds.allowlist)}; blocklist: ${feedList(c.feeds.blocklist)}${c.feeds.snapshot !== null ? `; snapshot: ${c.feeds.snapshot}` : ''}`,
    `workers: ${c.workers}; api: ${c.api.listen?.url ?? 'off'}; log level ${c.log.level}`,
  ]
}

/** Every feed filter compiled, so that a bad expression fails here with the feed's place. */
function checkFilters (config: Config, path: string): void {
  for (const [key, list] of [['sources', config.feeds.sources], ['allowlist', config.feeds.allowlist], ['blocklist', config.feeds.blocklist]] as const) {
    list.forEach((f, i) => {
      if (f.filter === undefined) return
      try {
        compileFilter(f.filter)
      } catch (err) {
        throw new FeedmatchError('FM_ERR_CONFIG', `${path}: feeds.${key}[${i}].filter: ${(err as Error).message}`, { cause: err })
      }
    })
  }
}

/**
 * The feeds loaded as serve would load them, in a build worker: each failure printed with its
 * code (exit 2). A path that does not exist here is a warning (a config is often checked before
 * it goes to the host that has the feeds); a remote feed is checked from its cached copy, without
 * downloading it.
 */
async function checkFeeds (config: Config): Promise<string[]> {
  const feeds = await expandFeedSources(config, { keepMissing: true })
  const absent = feeds.filter((f) => !existsSync(f.path))
  const local = feeds.filter((f) => !absent.includes(f))
  const problems = absent.map((f) => f.remote !== undefined
    ? `WARNING: remote feed "${f.name}" is not downloaded yet (serve fetches it at start; or run feedmatch feeds fetch)`
    : `WARNING: feed "${f.name}": ${f.path} does not exist on this machine`)
  if (local.length === 0) return problems
  const build = await buildGeneration(local)
  for (const f of build.failed) problems.push(`FAILED ${f.code}: feed "${f.name}" (${f.path}): ${f.message}`)
  const records = build.loaded.reduce((n, l) => n + l.meta.records, 0)
  process.stdout.write(`  loaded:  ${build.loaded.length} feeds, ${records} records in ${Math.round(build.buildMs)} ms\n`)
  return problems
}

async function check (path: string, loadFeeds = true): Promise<number> {
  const config = await loadConfig(path)
  checkFilters(config, path)
  // Templates are only compiled when a renderer is built: do it here with the rule names serve
  // uses, so a bad placeholder fails the check rather than the start of the service.
  const ruleNames = [...new Set(sourceSpecs(config.input.sources).flatMap((s) => s.rules.map((r) => r.name)))]
  const out = config.output
  createRenderer({
    preset: out.preset,
    templates: out.templates,
    ruleNames,
    syslog: syslogOptionsOf(out),
  })
  if (namesNoFeeds(config)) process.stderr.write('WARNING: no feeds are configured: serve would load the demo feeds (fixtures/feeds), which hold test records only\n')
  process.stdout.write(`OK: ${path}\n${summary(config).map((l) => `  ${l}\n`).join('')}`)
  if (!loadFeeds || namesNoFeeds(config)) return 0
  const problems = await checkFeeds(config)
  for (const p of problems) process.stderr.write(`${p}\n`)
  const failed = problems.filter((p) => p.startsWith('FAILED')).length
  if (failed > 0) process.stdout.write(`FAILED: ${failed} feed(s) would not load (the service would start without them)\n`)
  return failed > 0 ? 2 : 0
}
