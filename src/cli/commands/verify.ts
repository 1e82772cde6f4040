import type { Command } from 'commander'
import { FeedmatchError } from '../../errors.js'
import { loadConfig } from '../../config/load.js'
import { tryParseDuration } from '../../config/duration.js'
import { exchange, parseTarget, ping, type Target } from '../../verify/client.js'
import { DEFAULT_EVENTS, DEFAULT_EXPECTED, readEvents, readExpected } from '../../verify/inputs.js'
import { compare, exitCode, renderJson, renderText } from '../../verify/report.js'
import { matchLocally, unextractable } from '../../verify/extractable.js'
import type { ExpectedDetection } from '../../verify/inputs.js'
import { openFeeds } from '../open-feeds.js'
import { setLogLevel } from '../../log.js'

interface VerifyOptions {
  config?: string
  feeds?: string[]
  target?: string
  events?: string
  expected?: string
  timeout: string
  format: string
}

/** The service's default input, as `serve` listens without a config. */
const DEFAULT_TARGET = '127.0.0.1:9999'

/**
 * `feedmatch verify`: what CyberTrace's Log Scanner does with kl_verification_test.txt. Sends the
 * verification events to a running service in reply-back mode and checks that every expected
 * detection comes back. Exit 0 when all did, 1 when some did not, 2 on error.
 */
export function registerVerify (program: Command, run: (fn: () => Promise<number>) => void): void {
  program
    .command('verify')
    .description('send verification events to a running service and check that every expected detection comes back: exit 0 when all did, 1 when some did not, 2 on error')
    .option('--target <host:port>', `the service's TCP input (default: the first tcp:// listener of -c CONFIG, else ${DEFAULT_TARGET})`)
    .option('--events <file>', 'events to send, one a line (default: the shipped verification events; give --expected with it)')
    .option('--expected <file>', 'detections that must come back: a JSON array, or JSON lines, of { feed or category, matched }')
    .option('--timeout <duration>', 'give up when the service has sent nothing back for this long (500ms, 10s, 1m)', '10s')
    .option('--format <format>', 'text or json', 'text')
    .action((opts: VerifyOptions, cmd: Command) => run(async () => await verify({ ...cmd.optsWithGlobals(), ...opts })))
}

async function verify (opts: VerifyOptions): Promise<number> {
  if (opts.format !== 'text' && opts.format !== 'json') {
    throw new FeedmatchError('FM_ERR_USAGE', `--format: expected text or json; found "${opts.format}"`)
  }
  // A bare number would be milliseconds as in the config, surely not what `--timeout 10` means.
  const timeoutMs = /[a-z]\s*$/i.test(opts.timeout) ? tryParseDuration(opts.timeout) : undefined
  if (timeoutMs === undefined || timeoutMs <= 0) {
    throw new FeedmatchError('FM_ERR_USAGE', `--timeout: expected a duration with its unit, like 10s or 500ms; found "${opts.timeout}"`)
  }
  if ((opts.events === undefined) !== (opts.expected === undefined)) {
    // The shipped expectations describe the shipped events only; half a pair would report nonsense.
    throw new FeedmatchError('FM_ERR_VERIFY_FILE', `--${opts.events === undefined ? 'expected' : 'events'} was given without --${opts.events === undefined ? 'events' : 'expected'}: they describe each other, give both or neither`)
  }
  const target = await resolveTarget(opts)
  const events = await readEvents(opts.events ?? DEFAULT_EVENTS)
  const expected = await readExpected(opts.expected ?? DEFAULT_EXPECTED)

  // A separate probe first, so that "nothing listens" and "not a feedmatch input" get their own
  // clear message instead of surfacing as a timeout halfway through the events.
  // What the service's rules can produce at all, matched here with the same config and feeds
  // (their warnings only: info logs would drown the report).
  if (process.env.FEEDMATCH_LOG_LEVEL === undefined) setLogLevel('warn')
  const { config, index } = await openFeeds({ config: opts.config, feeds: opts.feeds })
  const local = matchLocally(config, index, events, isLoopback(target.host) ? '127.0.0.1' : '')
  const skip = (e: ExpectedDetection): string | undefined => unextractable(e, local, events)
    ? `the rules of source "${local.source}" (preset ${local.preset}) cannot extract it from its event, so the service cannot detect it`
    : undefined

  await ping(target, timeoutMs)
  const ex = await exchange(target, events, timeoutMs)
  if (ex.replies === 0 && ex.ended !== 'complete') {
    const what = ex.ended === 'timeout' ? `sent nothing back for ${timeoutMs} ms` : 'closed the connection without sending anything back'
    throw new FeedmatchError('FM_ERR_VERIFY_REPLY', `${target.text} answered PONG, took ${ex.sent} events in reply-back mode, then ${what}`)
  }
  const report = compare(target, events, expected, ex, timeoutMs, skip)
  process.stdout.write(opts.format === 'json' ? renderJson(report) : renderText(report))
  return exitCode(report)
}

/** `--target`, else the first tcp:// listener of the configuration (wildcards as loopback), else the default. */
async function resolveTarget (opts: VerifyOptions): Promise<Target> {
  let text = opts.target
  if (text === undefined && opts.config !== undefined) {
    const config = await loadConfig(opts.config)
    const tcp = config.input.listen.find((l) => l.protocol === 'tcp')
    if (tcp === undefined) {
      throw new FeedmatchError('FM_ERR_USAGE', `${opts.config} has no tcp:// listener in input.listen (verify speaks plain TCP); give --target HOST:PORT`)
    }
    if (tcp.port === 0) {
      throw new FeedmatchError('FM_ERR_USAGE', `${opts.config} listens on port 0 (any free port): give --target HOST:PORT with the port the service logged`)
    }
    const host = tcp.host === '0.0.0.0' ? '127.0.0.1' : tcp.host === '::' ? '::1' : tcp.host
    text = host.includes(':') ? `[${host}]:${tcp.port}` : `${host}:${tcp.port}`
  }
  const target = parseTarget(text ?? DEFAULT_TARGET)
  if (target === undefined) {
    throw new FeedmatchError('FM_ERR_USAGE', `--target: expected HOST:PORT, [IPv6]:PORT or tcp://HOST:PORT; found "${text ?? ''}"`)
  }
  return target
}

function isLoopback (host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.')
}
