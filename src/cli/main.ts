#!/usr/bin/env node
import { Command, Option, CommanderError } from 'commander'
import { isFeedmatchError } from '../errors.js'
import { log, setLogLevel } from '../log.js'
import { registerLookup } from './commands/lookup.js'
import { registerFeeds } from './commands/feeds.js'
import { registerServe } from './commands/serve.js'
import { registerScan } from './commands/scan.js'
import { registerVerify } from './commands/verify.js'
import { registerConnector } from './commands/connector.js'
import { registerConfig } from './commands/config.js'
import { registerToken } from './commands/token.js'

/** Exit code for errors, as antivirus scanners do: 0 clean, 1 found, 2 error. */
const EXIT_ERROR = 2

// Every command runs through here, so errors print one way: code, message, what to do.
// Stack traces are for the log at debug level, never for users.
function run (fn: () => Promise<number>): void {
  fn().then((code) => { process.exitCode = code }, (err: unknown) => {
    if (isFeedmatchError(err)) {
      process.stderr.write(`feedmatch: ${err.code}: ${err.message}\n  ${err.hint}\n`)
    } else {
      process.stderr.write(`feedmatch: FM_ERR_INTERNAL: ${(err as Error)?.message ?? String(err)}\n  This is a bug, please report it with the log.\n`)
    }
    log.debug({ err }, 'command failed')
    process.exitCode = EXIT_ERROR
  })
}

const program = new Command()
program
  .name('feedmatch')
  .description('Threat-intelligence matching: syslog events in, feed detections out in the SIEM\'s format')
  .version(process.env.npm_package_version ?? '0.1.0')
  .option('-c, --config <file>', 'configuration file (YAML or JSON)')
  .option('--feeds <path>', 'add a feed file or a folder of feeds (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
  // Read by log.ts before commander runs (the logger exists first); declared here for --help and validation.
  .addOption(new Option('--log-format <format>', 'the log on stderr: json lines, or short pretty lines (default: pretty on a terminal, else json)').choices(['json', 'pretty']))
  .option('-v, --verbose', 'scan, lookup, feeds, config: log at info level too (they log warnings and errors only by default)')
  .showHelpAfterError()
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) })

// Commands a person runs and reads: quiet unless asked (-v, FEEDMATCH_LOG_LEVEL). serve and
// verify keep info: their log is their report.
const QUIET = new Set(['scan', 'lookup', 'feeds', 'config'])
program.hook('preAction', (_root, action) => {
  let top = action
  while (top.parent !== null && top.parent !== program) top = top.parent
  const verbose = (program.opts() as { verbose?: boolean }).verbose === true
  if (QUIET.has(top.name()) && !verbose && process.env.FEEDMATCH_LOG_LEVEL === undefined) setLogLevel('warn')
})

registerServe(program, run)
registerScan(program, run)
registerLookup(program, run)
registerFeeds(program, run)
registerVerify(program, run)
registerConnector(program, run)
registerConfig(program, run)
registerToken(program, run)

try {
  await program.parseAsync(process.argv)
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version end through here with exit code 0.
    if (err.exitCode !== 0) process.stderr.write('feedmatch: FM_ERR_USAGE: see the message above\n')
    process.exitCode = err.exitCode === 0 ? 0 : EXIT_ERROR
  } else {
    throw err
  }
}
