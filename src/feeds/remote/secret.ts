/**
 * Credentials and header values of remote feeds: written in the config, or read from an
 * environment variable or a file each time a request is made. Values never reach the log: a
 * message names where a value comes from (`env URLHAUS_KEY`), never the value.
 */
import { readFileSync } from 'node:fs'
import { FeedmatchError } from '../../errors.js'
import type { Secret } from '../../config/types.js'

/** The value now; FM_ERR_FEED_FETCH naming the variable or file when it cannot be read. */
export function secretValue (s: Secret, what: string): string {
  if (typeof s === 'string') return s
  if ('env' in s) {
    const v = process.env[s.env]
    if (v === undefined || v === '') throw new FeedmatchError('FM_ERR_FEED_FETCH', `${what}: the environment variable ${s.env} is not set`)
    return v
  }
  try {
    return readFileSync(s.file, 'utf8').trim()
  } catch (err) {
    throw new FeedmatchError('FM_ERR_FEED_FETCH', `${what}: cannot read ${s.file}: ${(err as Error).message}`, { cause: err })
  }
}
