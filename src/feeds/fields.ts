import { isIP } from 'node:net'
import { parse as parseCsvLine } from 'csv-parse/sync'
import { stripPort } from '../match/keys.js'
import type { IndicatorField, IndicatorKind, RawIndicator, SkippedRecord } from './record.js'
import { getField } from '../util/field-path.js'

export { getField }

/**
 * Field access shared by the formats: `a/b/c` paths into parsed records, the indicator guesses used
 * when a feed has no field mapping, and the test that tells a CSV header from a data row.
 */

/** The non-empty string or number values at `path` (one, or each element when it holds an array), trimmed. */
export function fieldValues (obj: unknown, path: string): string[] {
  const v = getField(obj, path)
  const out: string[] = []
  if (Array.isArray(v)) {
    for (const el of v.flat(Infinity)) addValue(out, el)
  } else {
    addValue(out, v)
  }
  return out
}

function addValue (out: string[], v: unknown): void {
  if (typeof v === 'string') {
    const s = v.trim()
    if (s !== '') out.push(s)
  } else if (typeof v === 'number' && Number.isFinite(v)) {
    out.push(String(v))
  } else if (typeof v === 'object' && v !== null && typeof (v as Record<string, unknown>)['#text'] === 'string') {
    // An XML element with attributes: its value is its text (`<hash type="md5">...</hash>`).
    addValue(out, (v as Record<string, unknown>)['#text'])
  }
}

/** The indicators a mapping finds in a record, in mapping order. */
export function mappedIndicators (obj: unknown, fields: readonly IndicatorField[]): RawIndicator[] {
  const out: RawIndicator[] = []
  for (const f of fields) {
    for (const value of fieldValues(obj, f.field)) out.push({ value, kind: f.kind })
  }
  return out
}

/** The skip for a record in which none of the mapped fields holds a value. */
export function noIndicator (fields: readonly IndicatorField[], line: number | undefined): SkippedRecord {
  const names = fields.map((f) => f.field).join(', ')
  return { skipped: true, reason: `no indicator field (expected ${names})`, line }
}

/**
 * Field names that hold indicators in feeds without a mapping, lower-cased, with the kind the name
 * implies (`auto` for generic names, sorted out by the value later).
 */
export const GUESSED_FIELDS: ReadonlyMap<string, IndicatorKind> = new Map<string, IndicatorKind>([
  ['indicator', 'auto'], ['ioc', 'auto'], ['ioc_value', 'auto'], ['value', 'auto'], ['mask', 'auto'],
  ['ip', 'ip'], ['ip_address', 'ip'], ['dst_ip', 'ip'], ['cidr', 'ip'],
  ['url', 'url'], ['domain', 'domain'], ['hostname', 'host'],
  ['md5', 'md5'], ['sha1', 'sha1'], ['sha256', 'sha256'], ['hash', 'hash'],
])

/**
 * The fields among `names` that look like indicator fields by name (case-insensitive, an XML
 * attribute's `@` ignored), in `names` order.
 */
export function guessIndicatorFields (names: Iterable<string>): IndicatorField[] {
  const out: IndicatorField[] = []
  for (const name of names) {
    const kind = GUESSED_FIELDS.get((name.startsWith('@') ? name.slice(1) : name).toLowerCase())
    if (kind !== undefined) out.push({ field: name, kind })
  }
  return out
}

const HEX = /^[0-9a-f]+$/i
// A host with a dot and a letter TLD, optionally a port and a path: what feeds hold as domains and
// URL masks without a scheme. Header names rarely contain a dot, so this tells data from names.
const HOSTISH = /^(\*\.)?[a-z0-9_-]+(\.[a-z0-9_*-]+)*\.[a-z]{2,63}\.?(:\d+)?([/?]\S*)?$/i

/**
 * True when a cell looks like an indicator value (hash, IP or network, URL, domain). Used to tell
 * a CSV header row from data; it errs toward "not an indicator" for odd values, which only matters
 * for a first row, and `csv.header` overrides it.
 */
export function looksLikeIndicator (cell: string): boolean {
  const s = cell.trim()
  if (s === '') return false
  if ((s.length === 32 || s.length === 40 || s.length === 64) && HEX.test(s)) return true
  if (isIpOrNetwork(s)) return true
  if (/^[a-z][a-z0-9+.-]*:\/\/\S/i.test(s)) return true
  return HOSTISH.test(s)
}

// An address, a CIDR (`10.0.0.0/8`) or a range (`a-b`), as feeds write IPs; also `ip:port`.
function isIpOrNetwork (s: string): boolean {
  if (isIP(s) !== 0 || isIP(stripPort(s)) === 4) return true
  const slash = s.indexOf('/')
  if (slash > 0) return /^\d{1,3}$/.test(s.slice(slash + 1)) && isIP(s.slice(0, slash)) !== 0
  const dash = s.indexOf('-')
  return dash > 0 && isIP(s.slice(0, dash).trim()) !== 0 && isIP(s.slice(dash + 1).trim()) !== 0
}

/** The cells of one CSV row (csv-parse: quotes honoured, cells trimmed); [] for a row it cannot read. */
export function parseCells (text: string, delimiter: string): string[] {
  try {
    return (parseCsvLine(text, { delimiter, relax_quotes: true, relax_column_count: true, trim: true }) as string[][])[0] ?? []
  } catch {
    return []
  }
}

const COLUMN_NAME = /^[\w .:()/-]+$/

/** True when every cell reads as a column name (no indicator among them): a header row, or a `# a,b,c` comment header. */
export function isColumnNames (cells: string[]): boolean {
  return cells.every((c) => COLUMN_NAME.test(c) && !looksLikeIndicator(c))
}
