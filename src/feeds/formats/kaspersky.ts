import { feedError } from '../detect.js'
import { mappedIndicators, noIndicator } from '../fields.js'
import { streamJsonArrayBatches } from '../json-stream.js'
import type { FeedParser, FeedRecord, IndicatorField, IndicatorKind, ParsedItem, RawIndicator, SkippedRecord } from '../record.js'
import { elementSkip, jsonLayout, jsonRecords, type JsonValue } from './json.js'

const NO_INDICATOR = 'no indicator field (expected MD5, SHA1, SHA256, ip or mask)'

/**
 * The kind of a Kaspersky URL-feed mask (DESIGN.md section 3): `type` 1 is a domain, 2 a host;
 * otherwise a mask with `/` or `*` is a URL mask and a bare host a domain.
 */
export function maskKind (mask: string, type: unknown): IndicatorKind {
  if (type === 1 || type === '1') return 'domain'
  if (type === 2 || type === '2') return 'host'
  return mask.includes('/') || mask.includes('*') ? 'url' : 'domain'
}

// Hot path: one call per record of feeds that reach millions of records, so the default fields are
// read directly rather than through the generic mapping walk.
function defaultRecord (rec: Record<string, unknown>, line: number): FeedRecord | SkippedRecord {
  const indicators: RawIndicator[] = []
  const { MD5, SHA1, SHA256, ip, mask } = rec
  if (typeof MD5 === 'string' && MD5 !== '') indicators.push({ value: MD5, kind: 'md5' })
  if (typeof SHA1 === 'string' && SHA1 !== '') indicators.push({ value: SHA1, kind: 'sha1' })
  if (typeof SHA256 === 'string' && SHA256 !== '') indicators.push({ value: SHA256, kind: 'sha256' })
  if (typeof ip === 'string' && ip !== '') indicators.push({ value: ip, kind: 'ip' })
  if (typeof mask === 'string' && mask !== '') indicators.push({ value: mask, kind: maskKind(mask, rec.type) })
  if (indicators.length === 0) return { skipped: true, reason: NO_INDICATOR, line }
  return { indicators, context: rec, line }
}

function mappedRecord (rec: Record<string, unknown>, line: number, fields: IndicatorField[]): FeedRecord | SkippedRecord {
  const indicators = mappedIndicators(rec, fields)
  return indicators.length === 0 ? noIndicator(fields, line) : { indicators, context: rec, line }
}

/**
 * Kaspersky Threat Data Feeds (JSON): a top-level array of records, or the older layout of an
 * object holding the array under a key (`records:`, else the first key that holds an array).
 * Indicators: `MD5`, `SHA1`, `SHA256`, `ip`, `mask` (+ `type`), or the feed's field mapping; the
 * whole record is the context.
 */
export const parseKaspersky: FeedParser = async function * (opts): AsyncGenerator<ParsedItem | ParsedItem[]> {
  const fields = opts.indicators.length > 0 ? opts.indicators : undefined
  const toItem = (item: JsonValue | SkippedRecord | { error: string, line: number }): ParsedItem => {
    if ('error' in item) return elementSkip(opts.path, item)
    if ('skipped' in item) return item
    const rec = item.value
    if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) {
      return { skipped: true, reason: 'record is not a JSON object', line: item.line }
    }
    return fields === undefined
      ? defaultRecord(rec as Record<string, unknown>, item.line)
      : mappedRecord(rec as Record<string, unknown>, item.line, fields)
  }
  try {
    const layout = await jsonLayout(opts.path, opts.records)
    if (!layout.ndjson && layout.inner === '') {
      // The usual layout: a chunk's records at a time, straight from the scanner (the hot path of builds).
      for await (const batch of streamJsonArrayBatches(opts.path, layout.at)) yield batch.map(toItem)
    } else {
      for await (const item of jsonRecords(opts.path, layout)) yield toItem(item)
    }
  } catch (err) {
    throw feedError(opts.path, err)
  }
}
