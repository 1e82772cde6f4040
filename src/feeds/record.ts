/**
 * What a feed parser yields. Parsers know file layouts, nothing about matching: they hand out raw
 * indicator strings with the kind the format or the field mapping says, plus the record's fields.
 */

/**
 * The kind of an indicator as a feed states it. `hash` means "MD5, SHA1 or SHA256 by length";
 * `auto` means `url` when the value has `/`, `?` or `*`, else `domain` (DESIGN.md section 3),
 * except that a value that parses as an IP address or network is an `ip`.
 */
export type { IndicatorKind } from '../config/types.js'
export { INDICATOR_KINDS } from '../config/types.js'
import type { IndicatorKind } from '../config/types.js'

/** One indicator of a record: a Kaspersky hash record carries MD5, SHA1 and SHA256 at once. */
export interface RawIndicator {
  value: string
  kind: IndicatorKind
}

/** A record as parsed: its indicators, and its fields (kept whole as the record's context). */
export interface FeedRecord {
  indicators: RawIndicator[]
  /** The record's fields, nested as in the source; dates stay strings. */
  context: Record<string, unknown>
  /** Where the record starts in its file (1-based line), for messages. */
  line?: number
  /** Seconds since the epoch after which the record no longer matches (STIX `valid_until`). */
  expires?: number
  /** The source marks it not for detection (MISP `to_ids: false`): counted as filtered, not indexed. */
  notForDetection?: boolean
}

/** A record a parser could not use: skipped, counted, and reported with file and line. */
export interface SkippedRecord {
  skipped: true
  reason: string
  line?: number
}

export type ParsedItem = FeedRecord | SkippedRecord

export function isSkipped (item: ParsedItem): item is SkippedRecord {
  return (item as SkippedRecord).skipped === true
}

/** Where a field sits in a record: `a/b` for nested fields, or a 0-based column number for CSV. */
export type FieldPath = string

/** How a format finds indicators in a record (the feed's field mapping). */
export interface IndicatorField {
  field: FieldPath
  kind: IndicatorKind
}

/** What every parser receives: the file and the mapping from the feed's configuration. */
export interface ParserOptions {
  /** The file (or for `misp`, the folder) to read. */
  path: string
  /** Fields that hold indicators. Empty means "the format's defaults" (Kaspersky names, CSV guesses...). */
  indicators: IndicatorField[]
  /** JSON and XML: where the records are (`a/b` path to an array, or an XML element name path). */
  records?: string
  /** CSV options. */
  csv?: { delimiter?: string, header?: boolean, comment?: string, columns?: string[] }
  /** MISP: index attributes whose `to_ids` is false too (default: only those marked for detection). */
  allAttributes?: boolean
}

/**
 * A parser: reads the file as a stream and yields records and skips in file order, one at a time
 * or in arrays (an async generator step per record costs about as much as parsing one, so parsers
 * of big feeds yield a chunk's records at once).
 */
export type FeedParser = (opts: ParserOptions) => AsyncIterable<ParsedItem | ParsedItem[]>

/** A parser's output one item at a time (for callers that do not care about batches). */
export async function * eachItem (items: AsyncIterable<ParsedItem | ParsedItem[]>): AsyncGenerator<ParsedItem> {
  for await (const got of items) {
    if (Array.isArray(got)) yield * got
    else yield got
  }
}
