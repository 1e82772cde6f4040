import pino from 'pino'
import pretty from 'pino-pretty'

/**
 * The process logger. It writes to stderr (fd 2) so that stdout stays clean for data:
 * `scan` and `lookup` print results there and users pipe them.
 *
 * Format: JSON lines (for journald, a collector, the tests) or short pretty lines for a person,
 * chosen before anything logs: `--log-format json|pretty` on the command line (read here from
 * argv, as the logger exists before commander runs), else FEEDMATCH_LOG_FORMAT, else pretty when
 * stderr is a terminal and JSON otherwise.
 */
export type LogFormat = 'json' | 'pretty'

function chosenFormat (): LogFormat {
  const argv = process.argv
  const i = argv.findIndex((a) => a === '--log-format' || a.startsWith('--log-format='))
  const given = i < 0 ? process.env.FEEDMATCH_LOG_FORMAT : argv[i]!.includes('=') ? argv[i]!.split('=')[1] : argv[i + 1]
  if (given === 'json' || given === 'pretty') return given
  return process.stderr.isTTY === true ? 'pretty' : 'json'
}

/** The format the process logs in. */
export const logFormat: LogFormat = chosenFormat()

const options = { level: process.env.FEEDMATCH_LOG_LEVEL ?? 'info', base: undefined }

export const log = logFormat === 'pretty'
  ? pino(options, pretty({ destination: 2, sync: true, singleLine: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss', colorize: process.stderr.isTTY === true }))
  : pino(options, pino.destination({ dest: 2, sync: true }))

/** Change the level at run time (from the config's `log.level` or `-v`). */
export function setLogLevel (level: string): void {
  log.level = level
}
