import { Option, type Command } from 'commander'
import { syslogOptionsOf } from '../../render/syslog.js'
import { openFeeds, requireAllFeeds } from '../open-feeds.js'
import { FeedmatchError } from '../../errors.js'
import { log, setLogLevel } from '../../log.js'
import { parseOutputTarget, type RawTarget } from '../../config/endpoint.js'
import type { Config } from '../../config/types.js'
import type { SourceSpec } from '../../extract/types.js'
import { sourceSpecs } from '../../service/sources.js'
import { runScan } from '../../scan/scan.js'
import { chooseOutput, chooseSource, splitPresets, FORMATS, type OutputChoice } from '../../scan/options.js'
import type { ScanWorkerData } from '../../scan/protocol.js'
import { emitterSink, fileSink, stdoutSink, type Sink } from '../../scan/sink.js'
import { spoolOptions } from '../../output/emitter.js'
import { CSV_HEADER } from '../../scan/records.js'
import { ProgressBar, formatSummary, summaryJson } from '../../scan/progress.js'
import { ScanPool } from '../../scan/scan-pool.js'
import { loadConfig } from '../../config/load.js'

interface ScanOptions {
  config?: string
  feeds?: string[]
  snapshot?: string
  format?: string
  output?: string
  to?: string
  preset?: string[]
  source?: string
  workers?: string
  maxDetections?: string
  summary?: boolean
  summaryJson?: boolean
  progress: boolean
  rangeBytes?: string
}

/** Lines longer than this are matched on their first bytes (memory stays bounded whatever the input). */
const MAX_LINE_BYTES = 1024 * 1024
/** Exit codes, as antivirus scanners do. */
const EXIT = { clean: 0, found: 1, error: 2 } as const

const collect = (v: string, prev: string[] = []): string[] => [...prev, v]

function positiveInt (flag: string, v: string | undefined, min = 1): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isSafeInteger(n) || n < min) throw new FeedmatchError('FM_ERR_USAGE', `${flag}: expected an integer of at least ${min}; found "${v}"`)
  return n
}

/** `feedmatch scan PATH...`: match log files and archives against the feeds. */
export function registerScan (program: Command, run: (fn: () => Promise<number>) => void): void {
  program
    .command('scan')
    .description('scan log files, folders, globs, .gz/.tar/.tar.gz archives or - (stdin) for indicators: exit 0 when nothing was found, 1 on detections, 2 on error')
    .argument('<path...>', 'files, folders (recursive), globs, or - for stdin')
    .option('--format <format>', `output format: ${FORMATS.join(', ')} (default ndjson; with --to, the output preset's syslog frames)`)
    .option('-o, --output <file>', 'write detections to this file instead of stdout')
    .option('--to <url>', 'send detections to a SIEM: tcp://HOST:PORT, udp://HOST:PORT or tls://HOST:PORT (output section of the config for the rest)')
    .option('--preset <name>', 'extraction rules (generic, cef, dns) and/or output preset for cef, kv and --to (alienvault, fortisiem, arcsight, qradar, ecs, kv); repeatable', collect)
    .option('--source <name>', 'extract with the rules of this source of the config (default: its `default` source)')
    .option('--workers <n>', 'worker threads (default: the config\'s workers, one per core)')
    .option('--max-detections <n>', 'stop after this many detections')
    .option('--snapshot <file>', 'read the index from a snapshot written by `feeds build`')
    .option('--summary', 'print a summary to stderr at the end (always on a TTY)')
    .option('--summary-json', 'print the summary to stderr as one JSON object (for scripts)')
    .option('--no-progress', 'no progress bar (there is none when stderr is not a TTY)')
    // For tests: force small ranges to check that cuts fall anywhere without changing the result.
    .addOption(new Option('--range-bytes <n>').hideHelp())
    .action((paths: string[], opts: ScanOptions, cmd: Command) => run(async () => await scan(paths, { ...cmd.optsWithGlobals(), ...opts })))
}

async function openSink (opts: ScanOptions, out: Config['output'], target: RawTarget | undefined, warn: (msg: string) => void): Promise<Sink> {
  if (opts.output !== undefined) return await fileSink(opts.output)
  if (target === undefined) return stdoutSink()
  const t = target as { protocol: 'tcp' | 'udp' | 'tls' | 'relp', host: string, port: number }
  // UDP cannot spool (it cannot tell when the SIEM is away): the config's spool serves the others.
  const spool = spoolOptions(t.protocol === 'udp' ? null : out.spool)
  return await emitterSink(
    { target: t, tls: out.tls, framing: out.framing, batch: out.batch, queue: out.queue, ...spool, relpWindow: out.relp.window, reconnect: out.reconnect },
    (err) => warn(`output ${opts.to as string} lost (${err.message}): detections are queued until it is back`))
}

/** The command-line flags checked on their own, before anything is loaded. */
function parseFlags (opts: ScanOptions): { workers?: number, maxDetections: number, rangeBytes?: number, target?: RawTarget } {
  const target = opts.to === undefined ? undefined : parseOutputTarget(opts.to)
  if (opts.to !== undefined && (target === undefined || !['tcp', 'udp', 'tls', 'relp'].includes(target.protocol))) {
    throw new FeedmatchError('FM_ERR_USAGE', `--to: expected tcp://HOST:PORT, udp://HOST:PORT, tls://HOST:PORT or relp://HOST:PORT; found "${opts.to}"`)
  }
  if (opts.output !== undefined && opts.to !== undefined) throw new FeedmatchError('FM_ERR_USAGE', '-o and --to: give one destination')
  return {
    workers: positiveInt('--workers', opts.workers),
    maxDetections: positiveInt('--max-detections', opts.maxDetections) ?? Infinity,
    rangeBytes: positiveInt('--range-bytes', opts.rangeBytes, 512),
    target
  }
}

/** What the workers compile once: the rules, the record format, the output templates. */
function workerData (config: Config, choice: OutputChoice, source: SourceSpec): ScanWorkerData {
  const out = config.output
  return {
    source,
    maxPerEvent: out.maxDetectionsPerEvent,
    maxLineBytes: MAX_LINE_BYTES,
    format: choice.record,
    renderer: {
      preset: choice.preset,
      templates: out.templates,
      ruleNames: source.rules.map((r) => r.name),
      syslog: syslogOptionsOf(out)
    },
    time: Date.now()
  }
}

async function scan (paths: string[], opts: ScanOptions): Promise<number> {
  // stderr carries warnings only (and the bar, the summary): info logs would drown them.
  if (process.env.FEEDMATCH_LOG_LEVEL === undefined) setLogLevel('warn')
  const presets = splitPresets(opts.preset ?? [])
  const flags = parseFlags(opts)
  // The config first (fast), so the workers start (load code, compile rules) while feeds load.
  const config = await loadConfig(opts.config, { feeds: opts.feeds })
  const choice = chooseOutput(opts.format, presets.output, config.output.preset, opts.to !== undefined)
  const source = chooseSource(sourceSpecs(config.input.sources), presets.rules, opts.source)
  const pool = new ScanPool(flags.workers ?? config.workers, workerData(config, choice, source))
  let started = false
  try {
    const { index } = requireAllFeeds(await openFeeds({ config: opts.config, feeds: opts.feeds, snapshot: opts.snapshot }))
    const tty = process.stderr.isTTY === true
    let bar: ProgressBar | null = null
    const say = (msg: string, fields: Record<string, unknown> = {}): void => { bar?.clear(); log.warn(fields, msg) }
    const sink = await openSink(opts, config.output, flags.target, say)
    if (choice.record === 'csv') sink.write(Buffer.from(CSV_HEADER))
    started = true
    let stats
    try {
      stats = await runScan({
        paths,
        pool,
        gen: index.handle,
        format: choice.record,
        maxLineBytes: MAX_LINE_BYTES,
        feeds: index.handle.feeds,
        sink,
        maxDetections: flags.maxDetections,
        rangeBytes: flags.rangeBytes,
        warn: (label, message, error) => say(`${label}: ${message}`, { file: label, ...(error ? { code: 'FM_ERR_SCAN_INPUT' } : {}) }),
        onStart: (s) => { if (tty && opts.progress) { bar = new ProgressBar(s, process.stderr); bar.start() } }
      })
    } catch (err) {
      await sink.close()
      throw err
    } finally {
      ;(bar as ProgressBar | null)?.stop()
    }
    const lost = await sink.close()
    if (lost !== null) say(`output: ${lost}`, { code: 'FM_ERR_SCAN_OUTPUT' })
    if (opts.summaryJson === true) process.stderr.write(summaryJson(stats))
    else if (opts.summary === true || tty) process.stderr.write(formatSummary(stats))
    // Detections that never reached --to are an error, not a result: exit 2 even when some were found.
    if (lost !== null) return EXIT.error
    if (stats.detections > 0) return EXIT.found
    return stats.failed > 0 ? EXIT.error : EXIT.clean
  } finally {
    // runScan closes the pool; before it runs (feeds or output failed), it is ended here.
    if (!started) await pool.destroy().catch(() => {})
  }
}
