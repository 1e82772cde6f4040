import { FeedmatchError } from '../errors.js'

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
}

// One number and one unit: `1h30m` is rare in configs and "90m" says the same thing.
const DURATION = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/

/** Milliseconds of a duration (`500ms`, `30s`, `5m`, `1h`, `2d`, `1w`, or a number of ms), or undefined. */
export function tryParseDuration (value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isFinite(value) && value >= 0 ? Math.round(value) : undefined
  }
  if (typeof value !== 'string') return undefined
  const m = DURATION.exec(value)
  if (m === null) return undefined
  const ms = Math.round(Number(m[1]) * UNITS[m[2] ?? 'ms']!)
  return Number.isSafeInteger(ms) ? ms : undefined
}

/** Milliseconds of a duration; throws FM_ERR_CONFIG naming `where` when it is not one. */
export function parseDuration (value: unknown, where = 'duration'): number {
  const ms = tryParseDuration(value)
  if (ms === undefined) {
    throw new FeedmatchError('FM_ERR_CONFIG', `${where}: expected a duration like 30s; found ${JSON.stringify(value) ?? 'nothing'}`)
  }
  return ms
}
