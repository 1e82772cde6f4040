/**
 * The two inputs of a verification: the events to send and the detections they must produce.
 * By default the package's own fixtures/verification/ (one event per demo feed and indicator type,
 * like CyberTrace's kl_verification_test.txt); users give their own pair for their own feeds.
 */
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { FeedmatchError } from '../errors.js'

// ../../fixtures from both src/verify/ (tsx) and dist/verify/ (compiled), as DEMO_FEEDS is found.
/** The verification events shipped in the package. */
export const DEFAULT_EVENTS = fileURLToPath(new URL('../../fixtures/verification/events.txt', import.meta.url))
/** The detections the shipped events produce against the demo feeds. */
export const DEFAULT_EXPECTED = fileURLToPath(new URL('../../fixtures/verification/expected.json', import.meta.url))

/** One event to send, with its 1-based line in the events file. */
export interface VerifyEvent {
  line: number
  text: string
}

/** One detection that must come back: its feed or category (or both) and the matched indicator. */
export interface ExpectedDetection {
  feed?: string
  category?: string
  matched: string
  /** Shown in the report when present: the indicator type and kind, and what the event carried. */
  type?: string
  kind?: string
  query?: string
}

async function read (path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    throw new FeedmatchError('FM_ERR_VERIFY_FILE', `${what} ${path}: cannot read the file (${(err as Error).message})`, { cause: err })
  }
}

/** Reads the events file: one event a line; blank lines are skipped, CR before LF dropped. */
export async function readEvents (path: string): Promise<VerifyEvent[]> {
  const text = await read(path, '--events')
  const events: VerifyEvent[] = []
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    if (line.trim() !== '') events.push({ line: i + 1, text: line })
  }
  if (events.length === 0) throw new FeedmatchError('FM_ERR_VERIFY_FILE', `--events ${path}: no event in the file (one event a line)`)
  return events
}

const optionalString = (v: unknown): v is string | undefined => v === undefined || typeof v === 'string'

/** Checks one expected entry; `where` names it in messages (`entry 3` or `line 5`). */
function toExpected (v: unknown, path: string, where: string): ExpectedDetection {
  const bad = (what: string): FeedmatchError =>
    new FeedmatchError('FM_ERR_VERIFY_FILE', `--expected ${path}: ${where}: ${what}; found ${JSON.stringify(v)?.slice(0, 120) ?? String(v)}`)
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('expected an object { feed or category, matched }')
  const o = v as Record<string, unknown>
  if (typeof o.matched !== 'string' || o.matched === '') throw bad('expected "matched", the feed\'s indicator or mask, as a string')
  if (typeof o.feed !== 'string' && typeof o.category !== 'string') throw bad('expected "feed" or "category" as a string')
  for (const k of ['feed', 'category', 'type', 'kind', 'query']) {
    if (!optionalString(o[k])) throw bad(`expected "${k}" as a string`)
  }
  // In the order of expected.json, so that JSON reports read the same way.
  const e: Partial<ExpectedDetection> = {}
  for (const k of ['feed', 'category', 'type', 'kind', 'query'] as const) if (typeof o[k] === 'string') e[k] = o[k]
  return { ...e, matched: o.matched }
}

/**
 * Reads the expected detections: a JSON array (as fixtures/verification/expected.json), or JSON
 * lines, so that NDJSON detections (`feed`, `category`, `matched`, ...) can serve as they are.
 */
export async function readExpected (path: string): Promise<ExpectedDetection[]> {
  const text = await read(path, '--expected')
  const parse = (json: string, where: string): unknown => {
    try {
      return JSON.parse(json)
    } catch (err) {
      throw new FeedmatchError('FM_ERR_VERIFY_FILE', `--expected ${path}: ${where}: not valid JSON (${(err as Error).message})`, { cause: err })
    }
  }
  let entries: ExpectedDetection[]
  if (text.trimStart().startsWith('[')) {
    const all = parse(text, 'the file') as unknown[]
    entries = all.map((v, i) => toExpected(v, path, `entry ${i + 1}`))
  } else {
    entries = []
    for (const [i, line] of text.split('\n').entries()) {
      if (line.trim() === '') continue
      entries.push(toExpected(parse(line, `line ${i + 1}`), path, `line ${i + 1}`))
    }
  }
  if (entries.length === 0) throw new FeedmatchError('FM_ERR_VERIFY_FILE', `--expected ${path}: no expected detection in the file`)
  return entries
}
