import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { openFeeds, requireAllFeeds, type FeedOptions } from '../open-feeds.js'
import { indicatorLines, lookupEntries } from '../../match/query.js'
import { FeedmatchError } from '../../errors.js'
import { csvLine, flatContext, table } from '../../util/text.js'

type LookupFormat = 'table' | 'json' | 'csv'

interface LookupOptions extends FeedOptions {
  file?: string
  format?: LookupFormat
}

/** `feedmatch lookup INDICATOR... | -f FILE`: which feed records match, with their context. */
export function registerLookup (program: Command, run: (fn: () => Promise<number>) => void): void {
  program
    .command('lookup')
    .description('look indicators up in the feeds: exit 0 when something matched, 1 when nothing did, 2 on error')
    .argument('[indicator...]', 'hashes, IPs, URLs or domains')
    .option('-f, --file <file>', 'read indicators from a file, one a line (- for stdin)')
    .option('--format <format>', 'table (default on a TTY), json or csv')
    .option('--snapshot <file>', 'read the index from a snapshot written by `feeds build`')
    .action((indicators: string[], opts: LookupOptions, cmd: Command) => {
      run(async () => lookup(indicators, { ...cmd.optsWithGlobals(), ...opts }))
    })
}

async function lookup (args: string[], opts: LookupOptions): Promise<number> {
  const format = opts.format ?? (process.stdout.isTTY ? 'table' : 'json')
  if (!['table', 'json', 'csv'].includes(format)) {
    throw new FeedmatchError('FM_ERR_USAGE', `--format: expected table, json or csv; found "${format}"`)
  }
  const queries = [...args]
  if (opts.file !== undefined) {
    const text = opts.file === '-' ? await readStdin() : await readFile(opts.file, 'utf8').catch((err: Error) => {
      throw new FeedmatchError('FM_ERR_USAGE', `-f ${opts.file}: cannot read the file (${err.message})`, { cause: err })
    })
    queries.push(...indicatorLines(text))
  }
  if (queries.length === 0) throw new FeedmatchError('FM_ERR_USAGE', 'lookup: give at least one indicator, or -f FILE')

  const { index } = requireAllFeeds(await openFeeds(opts))
  const results = lookupEntries(index, queries)
  const matched = results.some((r) => r.matches.length > 0)
  const out: string[] = []
  if (format === 'json') {
    out.push(JSON.stringify(results, null, 2) + '\n')
  } else if (format === 'csv') {
    out.push(csvLine(['indicator', 'type', 'value', 'feed', 'category', 'matched', 'context']))
    for (const r of results) for (const m of r.matches) out.push(csvLine([r.indicator, r.type, r.value, m.feed, m.category, m.matched, m.context]))
  } else {
    const rows: string[][] = []
    for (const r of results) {
      if (r.type === null) rows.push([r.indicator, '?', 'not a hash, IP, URL or domain', '', '', ''])
      else if (r.matches.length === 0) rows.push([r.indicator, r.type, r.allowlisted ? '(allowlisted)' : '(no match)', '', '', ''])
      for (const m of r.matches) rows.push([r.indicator, r.type ?? '', m.feed, m.category, m.matched, flatContext(m.context)])
    }
    out.push(table(['INDICATOR', 'TYPE', 'FEED', 'CATEGORY', 'MATCHED', 'CONTEXT'], rows))
  }
  process.stdout.write(out.join(''))
  return matched ? 0 : 1
}

async function readStdin (): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
