/**
 * The one error module. Every error a user can see carries a stable `code` (`FM_ERR_...`) and a
 * message that says what was wrong and what to do. Match on `code`, never on the class or the text.
 * Codes are never reused for another meaning.
 */

/** What each code means and what the user should do about it; the CLI prints the hint. */
export const ERROR_CODES = {
  FM_ERR_USAGE: 'Check the command line against `feedmatch --help`.',
  FM_ERR_CONFIG: 'Fix the configuration file at the path named, then start again.',
  FM_ERR_CONFIG_READ: 'Check that the configuration file exists and is readable.',
  FM_ERR_FEED_NOT_FOUND: 'Check the feed path in the configuration or on the command line.',
  FM_ERR_FEED_FORMAT: 'Name the format with `format:` in the feed configuration.',
  FM_ERR_FEED_READ: 'Check that the feed file is complete and readable; the previous feeds stay in service.',
  FM_ERR_FEED_EMPTY: 'The feed yielded fewer records than `minRecords` (a feed needs 1 by default); its previous version stays in service: check the file, its format and field mapping.',
  FM_ERR_FEED_SHRUNK: 'The feed lost more records than `maxShrink` allows (half by default) since the version in service, which stays: check the file, or raise maxShrink if the drop is real.',
  FM_ERR_FEED_FETCH: 'A remote feed could not be downloaded (network, TLS, HTTP status, size, or a TAXII/MISP answer that is not what the protocol says): check its url, credentials, ca and proxy; the cached copy stays in service.',
  FM_ERR_INDICATOR: 'Give a hash (MD5, SHA1, SHA256), an IP address, a URL or a domain.',
  FM_ERR_SNAPSHOT: 'Rebuild the snapshot with `feedmatch feeds build -o FILE`.',
  FM_ERR_INDEX_FULL: 'The feeds exceed what one index generation can hold (4 GiB per table); split or filter them.',
  FM_ERR_OUTPUT: 'Check the output target (`output.target`, `--output`): that it is reachable, and that its TLS files are readable.',
  FM_ERR_SPOOL: 'Check that the spool folder (`output.spool`) is writable and the disk has room; a damaged segment is set aside.',
  FM_ERR_VERIFY_CONNECT: 'Start the service with `feedmatch serve`, or point --target at the HOST:PORT of its TCP input (`input.listen`).',
  FM_ERR_VERIFY_PING: 'Point --target at a TCP input of `feedmatch serve` (`input.listen`): verify speaks plain TCP, and UDP or TLS inputs and other services do not answer its reply-back handshake.',
  FM_ERR_VERIFY_REPLY: 'Check the service\'s log; verify reads replies in the output presets\' formats (custom templates must keep their keys).',
  FM_ERR_VERIFY_FILE: 'Give --events (one event a line) and --expected (a JSON array, or JSON lines, of { feed or category, matched }) together.',
  FM_ERR_WRITE: 'Check that the output folder is writable and the disk has room.',
  FM_ERR_SCAN_INPUT: 'A file could not be read or is damaged, and was skipped (the scan went on): check its permissions and integrity.',
  FM_ERR_SCAN_OUTPUT: 'Some detections could not be written or delivered: check the -o file\'s disk or the --to destination.',
  FM_ERR_STORE: 'The detection store (`store.path`) cannot be opened or written: check that its folder is writable and the disk has room; a file that is not a feedmatch store (or is damaged) must be moved away, a new one is made in its place.',
  FM_ERR_LISTEN: 'Another process holds the port, or the address is not on this machine: pick a free port (`--listen`, `input.listen`, `api.listen`) or stop the other process; ports under 1024 need privileges.',
  FM_ERR_API: 'Check the request against the API in the README: GET /health, /stats, /metrics, /lookup?indicator=VALUE (repeatable), or POST /lookup with one indicator a line.',
  FM_ERR_API_AUTH: 'Send `Authorization: Bearer TOKEN` with a token of the config (`api.tokens`, `api.tokenFile`) that has the scope the endpoint needs (read, lookup, write, admin); `feedmatch token new` makes one.',
  FM_ERR_API_RATE: 'This token sent more requests than its `rate` allows; wait the seconds of Retry-After, or raise the token\'s rate.',
  FM_ERR_WORKER: 'A worker thread failed or did not start: check that the installation is complete (npm ci, then npm run build); if it is, this is a bug, please report it with the log.',
  FM_ERR_INTERNAL: 'This is a bug, please report it with the log.',
} as const

export type ErrorCode = keyof typeof ERROR_CODES

/** An error a user may see: a stable code, a message naming what was wrong, the foreign error as cause. */
export class FeedmatchError extends Error {
  readonly code: ErrorCode
  readonly hint: string

  constructor (code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'FeedmatchError'
    this.code = code
    this.hint = ERROR_CODES[code]
  }
}

/** True for errors that carry one of our codes (also across a worker boundary, where the class is lost). */
export function isFeedmatchError (err: unknown): err is FeedmatchError {
  return typeof err === 'object' && err !== null &&
    typeof (err as { code?: unknown }).code === 'string' &&
    (err as { code: string }).code in ERROR_CODES
}

/** `code` when it is one of ours (a failure's code that crossed a thread as a string), else `fallback`. */
export function ourCode (code: unknown, fallback: ErrorCode): ErrorCode {
  return typeof code === 'string' && code in ERROR_CODES ? code as ErrorCode : fallback
}

/** Rebuild a FeedmatchError from a plain `{ code, message }` object that crossed a thread boundary. */
export function reviveError (err: unknown): Error {
  if (err instanceof Error) return err
  if (isFeedmatchError(err)) return new FeedmatchError(err.code, (err as { message: string }).message)
  const message = typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string'
    ? (err as { message: string }).message
    : String(err)
  return new FeedmatchError('FM_ERR_INTERNAL', message)
}
