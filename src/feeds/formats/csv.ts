import { createReadStream } from 'node:fs'
import { parse, type CsvError, type Info } from 'csv-parse'
import { FeedmatchError } from '../../errors.js'
import { feedError, readHead } from '../detect.js'
import { guessIndicatorFields, isColumnNames, looksLikeIndicator, parseCells } from '../fields.js'
import type { FeedParser, IndicatorKind, ParsedItem, ParserOptions } from '../record.js'

// csv-parse holds a record whole; an unclosed quote would otherwise grow one field to the end of the file.
const MAX_RECORD_CHARS = 4 * 1024 * 1024
const DELIMITERS = [',', ';', '\t', '|']

/** What the head of the file says: the dialect, the column names, where the data starts. */
interface CsvSetup {
  delimiter: string
  comment: string
  names: string[]
  /** Byte offset and line number where the data rows start (after the header, if any). */
  offset: number
  line: number
  /** The cells of the first row (header or data): what a column holds when no name says it. */
  firstRow: string[]
}

/** Where parsing resumes after a record csv-parse cannot recover from. */
interface Resume { offset: number, line: number, restOfLine: boolean, reason: string }

type Columns = Array<{ name: string, kind: IndicatorKind }>

// The delimiter that occurs most often outside quotes in the first row; `,` when none does.
function detectDelimiter (row: string): string {
  let best = ','
  let bestCount = 0
  for (const d of DELIMITERS) {
    let count = 0
    let quoted = false
    for (const c of row) {
      if (c === '"') quoted = !quoted
      else if (c === d && !quoted) count++
    }
    if (count > bestCount) { best = d; bestCount = count }
  }
  return best
}

function isSkippable (text: string, comment: string): boolean {
  return text.trim() === '' || (comment !== '' && text.startsWith(comment))
}

/** A cell no header holds: an indicator, or a number (an id, a port, a score). */
function isData (cell: string): boolean {
  return looksLikeIndicator(cell) || /^\d+(\.\d+)?$/.test(cell.trim())
}

/**
 * Column names from a comment line just above the data (`# id,dateadded,url,...` as abuse.ch
 * writes them), when it has as many cells as the first row and every cell reads as a name.
 */
function commentHeader (comment: string | undefined, commentChar: string, delimiter: string, width: number): string[] | undefined {
  if (comment === undefined) return undefined
  const text = comment.slice(commentChar.length).trim()
  if (text === '') return undefined
  const cells = parseCells(text, delimiter)
  if (cells.length !== width || cells.length < 2) return undefined
  return isColumnNames(cells) ? cells : undefined
}

async function csvSetup (opts: ParserOptions): Promise<CsvSetup> {
  const head = await readHead(opts.path)
  const comment = opts.csv?.comment ?? '#'
  let pos = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0
  let lastComment: string | undefined
  for (let line = 1; pos < head.length; line++) {
    const nl = head.indexOf(0x0a, pos)
    const end = nl < 0 ? head.length : nl
    const text = head.toString('utf8', pos, end).replace(/\r$/, '')
    const next = nl < 0 ? head.length : nl + 1
    if (isSkippable(text, comment)) {
      if (text.trim() !== '') lastComment = text
      pos = next
      continue
    }
    // The first row decides the delimiter, the width and whether there is a header.
    const delimiter = opts.csv?.delimiter ?? detectDelimiter(text)
    const cells = parseCells(text, delimiter)
    let header = opts.csv?.header ?? !cells.some(isData)
    let given = opts.csv?.columns ?? []
    let start = { offset: pos, line }
    if (header) start = { offset: next, line: line + 1 }
    else if (opts.csv?.header === undefined && opts.csv?.columns === undefined) {
      // No header row: the names may sit in the comment line above the data.
      const named = commentHeader(lastComment, comment, delimiter, cells.length)
      if (named !== undefined) { given = named; header = true }
    }
    const seen = new Set<string>()
    const names = cells.map((cell, i) => {
      let name = (given[i] ?? (header && given.length === 0 ? cell.trim() : '')) || `col${i}`
      if (seen.has(name)) name = `${name}_${i}`
      seen.add(name)
      return name
    })
    return { delimiter, comment, names, offset: start.offset, line: start.line, firstRow: cells }
  }
  return { delimiter: opts.csv?.delimiter ?? ',', comment, names: [], offset: head.length, line: 1, firstRow: [] }
}

// Indicator columns: the mapping (names, or 0-based numbers as strings), else guessed by name,
// else the columns whose first data value looks like an indicator, else column 0.
function indicatorColumns (opts: ParserOptions, setup: CsvSetup): Columns {
  const names = setup.names
  if (opts.indicators.length === 0) {
    const guessed = guessIndicatorFields(names).map((f) => ({ name: f.field, kind: f.kind }))
    if (guessed.length > 0) return guessed
    const data = setup.firstRow.some((c) => looksLikeIndicator(c)) ? setup.firstRow : [] // a header row holds names
    const byValue = names.filter((_, i) => data[i] !== undefined && looksLikeIndicator(data[i])).map((name) => ({ name, kind: 'auto' as const }))
    return byValue.length > 0 ? byValue : [{ name: names[0], kind: 'auto' }]
  }
  return opts.indicators.map((f) => {
    const name = /^\d+$/.test(f.field) ? names[Number(f.field)] : f.field
    if (name === undefined || !names.includes(name)) {
      throw new FeedmatchError('FM_ERR_FEED_FORMAT',
        `feed ${opts.path}: indicator field "${f.field}" is not a column (columns: ${names.join(', ')})`)
    }
    return { name, kind: f.kind }
  })
}

function skipReason (err: CsvError, width: number): string {
  switch (err.code) {
    case 'CSV_RECORD_INCONSISTENT_COLUMNS':
    case 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH':
      return `expected ${width} columns, found ${Array.isArray(err.record) ? err.record.length : 'another number'}`
    case 'CSV_INVALID_CLOSING_QUOTE': return 'bad quote: a closing quote followed by other characters (double a quote inside a quoted field)'
    case 'INVALID_OPENING_QUOTE': return 'bad quote: a quote inside an unquoted field'
    case 'CSV_QUOTE_NOT_CLOSED': return 'bad quote: a quote is not closed'
    case 'CSV_MAX_RECORD_SIZE': return 'record larger than 4 MiB (a quote not closed?)'
    default: return err.message
  }
}

/**
 * Parses from `offset` until the end or until a record breaks csv-parse's state. csv-parse can skip
 * a record with the wrong width, but after a bad closing quote or an unclosed one it stays inside
 * the quote and eats the records after it (its maintainers say the next record cannot be known:
 * adaltas/node-csv#214). So this stops there and returns where the broken record's region starts;
 * the caller resumes at the next line, assuming, as spreadsheet tools do, no newline inside it.
 */
async function * parseFrom (path: string, setup: CsvSetup, cols: Columns, offset: number, firstLine: number): AsyncGenerator<ParsedItem, Resume | undefined> {
  const out: ParsedItem[] = []
  let broken: string | undefined
  // The end of the last record handled, and csv-parse's counters then: the next record starts on
  // the line after it, past the comment and empty lines counted since.
  let endOffset = offset
  let endLine = firstLine - 1
  let restOfLine = false
  let comments = 0
  let empties = 0
  const startLine = (info: Info): number => endLine + 1 + (info.comment_lines - comments) + (info.empty_lines - empties)
  const ended = (info: Info, endsRecord: boolean): void => {
    endLine = firstLine - 1 + info.lines
    comments = info.comment_lines
    empties = info.empty_lines
    endOffset = offset + info.bytes
    restOfLine = !endsRecord
  }
  const parser = parse({
    delimiter: setup.delimiter,
    comment: setup.comment === '' ? undefined : setup.comment,
    comment_no_infix: true, // `#` inside a value (a URL fragment) is data
    columns: setup.names,
    bom: offset === 0,
    trim: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    max_record_size: MAX_RECORD_CHARS,
    // Records are taken here, in order with the skips, and not pushed into the stream.
    on_record: (record: Record<string, string>, info) => {
      if (broken === undefined) {
        out.push(toItem(record, startLine(info), cols))
        ended(info, true)
      }
      return null
    },
    on_skip: (err) => {
      if (broken !== undefined || err === undefined) return
      const code = err.code
      if (code === 'CSV_RECORD_INCONSISTENT_COLUMNS' || code === 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH' || code === 'INVALID_OPENING_QUOTE') {
        // csv-parse recovers from these by itself.
        out.push({ skipped: true, reason: skipReason(err, setup.names.length), line: startLine(err as unknown as Info) })
        ended(err as unknown as Info, code !== 'INVALID_OPENING_QUOTE')
      } else {
        broken = skipReason(err, setup.names.length)
      }
    }
  })
  let failure: Error | undefined
  parser.on('error', (err) => { failure ??= err })
  const input = createReadStream(path, { start: offset, highWaterMark: 1 << 20 })
  for await (const chunk of input) {
    parser.write(chunk) // parses synchronously: on_record and on_skip have run when it returns
    if (failure !== undefined) throw failure
    if (out.length > 0) yield * out.splice(0)
    if (broken !== undefined) break
  }
  if (broken === undefined) {
    const done = new Promise((resolve, reject) => { parser.once('finish', resolve); parser.once('error', reject) })
    parser.end()
    await done
    yield * out.splice(0)
  }
  parser.destroy()
  return broken === undefined ? undefined : { offset: endOffset, line: endLine + 1, restOfLine, reason: broken }
}

function toItem (record: Record<string, string>, line: number, cols: Columns): ParsedItem {
  const indicators = []
  for (const c of cols) {
    const v = record[c.name]
    if (v !== undefined && v !== '') indicators.push({ value: v, kind: c.kind })
  }
  if (indicators.length > 0) return { indicators, context: record, line }
  return { skipped: true, reason: `no indicator (empty ${cols.map((c) => c.name).join(', ')})`, line }
}

/** The first line of the broken record (the first line from `from` that is not blank or a comment), and the offset after it. */
async function brokenRecord (path: string, from: Resume, comment: string): Promise<{ line: number, next: number } | undefined> {
  let line = from.line
  let skipping = from.restOfLine
  let pos = from.offset
  let prefix = '' // enough of the line to tell a blank or comment line
  for await (const chunk of createReadStream(path, { start: from.offset, highWaterMark: 64 * 1024 }) as AsyncIterable<Buffer>) {
    for (let i = 0; i < chunk.length;) {
      const nl = chunk.indexOf(0x0a, i)
      const end = nl < 0 ? chunk.length : nl
      if (prefix.length < 256) prefix += chunk.toString('utf8', i, Math.min(end, i + 256))
      if (nl < 0) break
      if (skipping) skipping = false
      else if (!isSkippable(prefix.replace(/\r$/, ''), comment)) return { line, next: pos + nl + 1 }
      else line++
      prefix = ''
      i = nl + 1
    }
    pos += chunk.length
  }
  return !skipping && !isSkippable(prefix, comment) ? { line, next: pos } : undefined
}

/**
 * CSV feeds, streamed with csv-parse. Delimiter (`,` `;` tab `|`) and header are detected from the
 * first row unless `csv:` sets them; `#` comment lines are skipped. Indicators come from the mapping
 * (column names, or numbers as strings), else a column named like an indicator, else column 0.
 * Rows of the wrong width or with bad quotes are skipped with their line. The context is the row
 * as an object: column name (header, `csv.columns`, or `col0`...) to value.
 */
export const parseCsv: FeedParser = async function * (opts): AsyncGenerator<ParsedItem> {
  try {
    const setup = await csvSetup(opts)
    if (setup.names.length === 0) return
    const cols = indicatorColumns(opts, setup)
    let offset = setup.offset
    let line = setup.line
    for (;;) {
      const resume = yield * parseFrom(opts.path, setup, cols, offset, line)
      if (resume === undefined) return
      const bad = await brokenRecord(opts.path, resume, setup.comment)
      if (bad === undefined) return
      yield { skipped: true, reason: resume.reason, line: bad.line }
      offset = bad.next
      line = bad.line + 1
    }
  } catch (err) {
    throw feedError(opts.path, err)
  }
}
