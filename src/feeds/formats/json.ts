import { createReadStream } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { extname } from 'node:path'
import { createInterface } from 'node:readline'
import { FeedmatchError } from '../../errors.js'
import { feedError, readHead, sniffJson } from '../detect.js'
import { GUESSED_FIELDS, getField, guessIndicatorFields, mappedIndicators, noIndicator } from '../fields.js'
import { MAX_JSON_RECORD_BYTES, streamJsonArray } from '../json-stream.js'
import type { FeedParser, FeedRecord, IndicatorField, ParsedItem, SkippedRecord } from '../record.js'

/** Where the records of a JSON feed are. */
export interface JsonLayout {
  /** One JSON value a line instead of one array. */
  ndjson: boolean
  /** The array streamed: '' for a top-level array, else a key of the top-level object. */
  at: string
  /** A path inside each streamed element where the records are ('' = the element itself). */
  inner: string
}

/** A parsed JSON value and the line it starts on. */
export interface JsonValue { value: unknown, line: number }

// Reading a whole document is the fallback for record paths streamJsonArray cannot stream; past this
// size it is refused rather than risk the memory (V8 strings stop near 512 MiB anyway).
const WHOLE_FILE_LIMIT = 256 * 1024 * 1024

/**
 * Finds the records of a JSON feed from `records` (`a/b`) and the file's head: a top-level array,
 * the array under a top-level key (given, or the first key holding an array), or NDJSON.
 */
export async function jsonLayout (path: string, records = ''): Promise<JsonLayout> {
  const segs = records.split('/').filter((s) => s !== '')
  const ext = extname(path).toLowerCase()
  if (ext === '.ndjson' || ext === '.jsonl') return { ndjson: true, at: '', inner: segs.join('/') }
  const sniff = sniffJson((await readHead(path)).toString('utf8'))
  if (sniff.ndjson) return { ndjson: true, at: '', inner: segs.join('/') }
  if (sniff.top !== 'object') return { ndjson: false, at: '', inner: segs.join('/') }
  if (segs.length > 0) return { ndjson: false, at: segs[0], inner: segs.slice(1).join('/') }
  if (sniff.arrayKey !== undefined) return { ndjson: false, at: sniff.arrayKey, inner: '' }
  throw new FeedmatchError('FM_ERR_FEED_FORMAT',
    `feed ${path}: the top-level JSON object holds no array of records in its first 64 KiB; name the array with \`records:\``)
}

/**
 * The skip for an element streamJsonArray could not parse. A broken document (no array, array not
 * closed) fails the whole feed instead, so that a cut-short download never replaces a good one.
 */
export function elementSkip (path: string, item: { error: string, line: number, record?: true }): SkippedRecord {
  if (item.record === true) return { skipped: true, reason: item.error, line: item.line }
  throw new FeedmatchError('FM_ERR_FEED_READ', `feed ${path}, line ${item.line}: ${item.error}`)
}

/** Streams the record values of a JSON feed laid out as `layout`, in file order, with skips for broken ones. */
export async function * jsonRecords (path: string, layout: JsonLayout): AsyncGenerator<JsonValue | SkippedRecord> {
  if (layout.ndjson) {
    yield * ndjsonRecords(path, layout.inner)
    return
  }
  let first = true
  for await (const item of streamJsonArray(path, layout.at)) {
    if ('error' in item) {
      if (first && layout.inner !== '' && item.error.startsWith('no array')) {
        // `a/b` where `a` is an object, not an array: only a whole read can reach `b`.
        yield * wholeFileRecords(path, `${layout.at}/${layout.inner}`)
        return
      }
      yield elementSkip(path, item)
    } else if (layout.inner === '') {
      yield item
    } else {
      yield * innerRecords(item.value, layout.inner, item.line)
    }
    first = false
  }
}

function * innerRecords (value: unknown, inner: string, line: number | undefined): Generator<JsonValue | SkippedRecord> {
  const v = getField(value, inner)
  if (v === undefined || v === null) {
    yield { skipped: true, reason: `no "${inner}" in the element`, line }
  } else if (Array.isArray(v)) {
    for (const el of v) yield { value: el, line: line as number }
  } else {
    yield { value: v, line: line as number }
  }
}

async function * ndjsonRecords (path: string, inner: string): AsyncGenerator<JsonValue | SkippedRecord> {
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Infinity })
  let line = 0
  for await (const raw of rl) {
    line++
    const text = (line === 1 ? raw.replace(/^\ufeff/, '') : raw).trim()
    if (text === '') continue
    if (text.length > MAX_JSON_RECORD_BYTES) {
      yield { skipped: true, reason: `a record larger than ${MAX_JSON_RECORD_BYTES / 1024 / 1024} MiB, skipped`, line }
      continue
    }
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (err) {
      yield { skipped: true, reason: `invalid JSON: ${(err as Error).message}`, line }
      continue
    }
    if (inner === '') yield { value, line }
    else yield * innerRecords(value, inner, line)
  }
}

// Records of a path that cannot be streamed. Lines are unknown here: the parse is of the whole text.
async function * wholeFileRecords (path: string, records: string): AsyncGenerator<JsonValue | SkippedRecord> {
  const { size } = await stat(path)
  if (size > WHOLE_FILE_LIMIT) {
    throw new FeedmatchError('FM_ERR_FEED_FORMAT',
      `feed ${path}: records "${records}" are not under a top-level array, which only files up to 256 MiB support; ` +
      'point `records:` at a top-level array')
  }
  let doc: unknown
  try {
    doc = JSON.parse(await readFile(path, 'utf8'))
  } catch (err) {
    throw new FeedmatchError('FM_ERR_FEED_READ', `feed ${path}: invalid JSON: ${(err as Error).message}`, { cause: err })
  }
  for (const item of innerRecords(doc, records, undefined)) {
    if ('skipped' in item) throw new FeedmatchError('FM_ERR_FEED_FORMAT', `feed ${path}: no records at "${records}"`)
    yield item
  }
}

function isPlainObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

const GUESS_NAMES = [...GUESSED_FIELDS.keys()].join(', ')

/**
 * Generic JSON feeds: records in a top-level array, under a key (`records: a` or `a/b`), or one a
 * line (NDJSON); indicators from the mapping, else from fields named like indicators (`ip`, `url`,
 * `md5`...). An element that is a bare string is an `auto` indicator.
 *
 * Limitation: a path `a/b` streams the array `a` and takes `b` from each element; when `a` is an
 * object rather than an array, the whole file is parsed at once (up to 256 MiB) and lines are unknown.
 */
export const parseJson: FeedParser = async function * (opts): AsyncGenerator<ParsedItem> {
  const mapped = opts.indicators.length > 0 ? opts.indicators : undefined
  // Without a mapping, the fields guessed from the first record serve the next ones; a record they
  // miss gets its own guess (feeds that mix record shapes).
  let guessed: IndicatorField[] | undefined
  try {
    const layout = await jsonLayout(opts.path, opts.records)
    for await (const item of jsonRecords(opts.path, layout)) {
      if ('skipped' in item) { yield item; continue }
      const { value, line } = item
      if (typeof value === 'string' && mapped === undefined) {
        const s = value.trim()
        yield s === ''
          ? { skipped: true, reason: 'empty string', line }
          : { indicators: [{ value: s, kind: 'auto' }], context: {}, line }
        continue
      }
      if (!isPlainObject(value)) { yield { skipped: true, reason: 'record is not a JSON object', line }; continue }
      yield toRecord(value, line, mapped ?? (guessed ??= guessIndicatorFields(Object.keys(value))), mapped === undefined)
    }
  } catch (err) {
    throw feedError(opts.path, err)
  }
}

function toRecord (value: Record<string, unknown>, line: number | undefined, fields: IndicatorField[], guessing: boolean): FeedRecord | SkippedRecord {
  let indicators = mappedIndicators(value, fields)
  if (indicators.length === 0 && guessing) indicators = mappedIndicators(value, guessIndicatorFields(Object.keys(value)))
  if (indicators.length > 0) return { indicators, context: value, line }
  if (!guessing) return noIndicator(fields, line)
  return { skipped: true, reason: `no indicator field (no field mapping, and no field named ${GUESS_NAMES})`, line }
}
