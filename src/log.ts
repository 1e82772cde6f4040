import pino from 'pino'

/**
 * The process logger. It writes to stderr (fd 2) so that stdout stays clean for data:
 * `scan` and `lookup` print results there and users pipe them.
 */
export const log = pino(
  { level: process.env.FEEDMATCH_LOG_LEVEL ?? 'info', base: undefined },
  pino.destination({ dest: 2, sync: true })
)

/** Change the level at run time (from the config's `log.level` or `-v`). */
export function setLogLevel (level: string): void {
  log.level = level
}
