import type { Command } from 'commander'
import { syslogOptionsOf } from '../../output/syslog.js'
import { loadConfig } from '../../config/load.js'
import type { Config, FeedConfig } from '../../config/types.js'
import { createRenderer } from '../../output/renderer.js'
import { sourceSpecs } from '../../service/sources.js'
import { namesNoFeeds } from '../open-feeds.js'

/** `feedmatch config check FILE`: validate a configuration file with the one schema. */
export function registerConfig (program: Command, run: (fn: () => Promise<number>) => void): void {
  const config = program.command('config').description('work with configuration files')
  config.command('check')
    .description('validate a configuration file: prints OK and a summary (exit 0), or what is wrong and where (exit 2)')
    .argument('<file>', 'the configuration file (YAML or JSON)')
    .action((file: string) => run(async () => await check(file)))
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

async function check (file: string): Promise<number> {
  const config = await loadConfig(file)
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
  process.stdout.write(`OK: ${file}\n${summary(config).map((l) => `  ${l}\n`).join('')}`)
  return 0
}
