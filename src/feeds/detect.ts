import { open, stat } from 'node:fs/promises'
import { extname, join } from 'node:path'
import { FeedmatchError } from '../errors.js'
import { isColumnNames, looksLikeIndicator, parseCells } from './fields.js'

import { FEED_FORMATS, type FeedFormat } from '../config/types.js'

/** The feed formats feedmatch reads: one type, defined with the configuration's schema. */
export type { FeedFormat }

const FORMATS = FEED_FORMATS.join(', ')

/** How much of a file detection and sniffing look at. */
export const HEAD_BYTES = 64 * 1024

/** Field names that mark a Kaspersky Threat Data Feed record (hash, IP reputation and URL feeds). */
export const KASPERSKY_KEYS: readonly string[] = ['MD5', 'SHA1', 'SHA256', 'ip', 'mask']

/** Wraps a failure to read a feed as the user-facing error (not found, or unreadable). */
export function feedError (path: string, err: unknown): FeedmatchError {
  if (err instanceof FeedmatchError) return err
  const code = (err as NodeJS.ErrnoException | null)?.code
  if (code === 'ENOENT') return new FeedmatchError('FM_ERR_FEED_NOT_FOUND', `feed not found: ${path}`, { cause: err })
  return new FeedmatchError('FM_ERR_FEED_READ', `cannot read feed ${path}: ${(err as Error).message}`, { cause: err })
}

/** The first `bytes` of a file (less if the file is shorter). */
export async function readHead (path: string, bytes = HEAD_BYTES): Promise<Buffer> {
  try {
    const fh = await open(path, 'r')
    try {
      const buf = Buffer.alloc(bytes)
      const { bytesRead } = await fh.read(buf, 0, bytes, 0)
      return buf.subarray(0, bytesRead)
    } finally {
      await fh.close()
    }
  } catch (err) {
    throw feedError(path, err)
  }
}

/** What the start of a JSON file says about its layout. */
export interface JsonSniff {
  top: 'array' | 'object' | 'none'
  /** For a top-level object: the first key whose value is an array. */
  arrayKey?: string
  /** The first record (first element of the array), when it is complete in the head. */
  first?: unknown
  /** The text of the first record as far as the head holds it. */
  firstText?: string
  /** One JSON value after another (NDJSON written to a `.json` file). */
  ndjson: boolean
}

/**
 * Reads the layout of a JSON file from its head, without parsing more than the first record: the
 * head may end anywhere, so every step checks that the value it looks at is complete.
 */
export function sniffJson (head: string): JsonSniff {
  const i = skipWs(head, head.charCodeAt(0) === 0xfeff ? 1 : 0)
  if (head[i] === '[') return { top: 'array', ndjson: false, ...firstElement(head, i) }
  if (head[i] !== '{') return { top: 'none', ndjson: false }
  const end = valueEnd(head, i)
  if (end > 0) {
    const next = head[skipWs(head, end)]
    if (next === '{') return { top: 'object', ndjson: true, first: tryParse(head.slice(i, end)), firstText: head.slice(i, end) }
  }
  // Walk the keys at depth 1 until one holds an array.
  let p = i + 1
  for (;;) {
    p = skipWs(head, p)
    if (head[p] !== '"') return { top: 'object', ndjson: false }
    const keyEnd = valueEnd(head, p)
    if (keyEnd < 0) return { top: 'object', ndjson: false }
    const key = tryParse(head.slice(p, keyEnd))
    p = skipWs(head, keyEnd)
    if (head[p] !== ':') return { top: 'object', ndjson: false }
    p = skipWs(head, p + 1)
    if (head[p] === '[' && typeof key === 'string') return { top: 'object', arrayKey: key, ndjson: false, ...firstElement(head, p) }
    const vEnd = valueEnd(head, p)
    if (vEnd < 0) return { top: 'object', ndjson: false }
    p = skipWs(head, vEnd)
    if (head[p] === ',') p++
  }
}

function firstElement (s: string, bracket: number): { first?: unknown, firstText?: string } {
  const j = skipWs(s, bracket + 1)
  if (j >= s.length || s[j] === ']') return {}
  const end = valueEnd(s, j)
  if (end < 0) return { firstText: s.slice(j) }
  return { first: tryParse(s.slice(j, end)), firstText: s.slice(j, end) }
}

function skipWs (s: string, i: number): number {
  while (i < s.length && (s[i] === ' ' || s[i] === '\n' || s[i] === '\r' || s[i] === '\t')) i++
  return i
}

// The index just past the JSON value that starts at `i`, or -1 when the head ends inside it.
function valueEnd (s: string, i: number): number {
  let depth = 0
  let inString = false
  for (let k = i; k < s.length; k++) {
    const c = s[k]
    if (inString) {
      if (c === '\\') k++
      else if (c === '"') { inString = false; if (depth === 0) return k + 1 }
    } else if (c === '"') inString = true
    else if (c === '{' || c === '[') depth++
    else if (c === '}' || c === ']') { depth--; if (depth === 0) return k + 1; if (depth < 0) return k }
    else if (depth === 0 && (c === ',' || c === ' ' || c === '\n' || c === '\r' || c === '\t')) return k
  }
  return -1
}

function tryParse (text: string): unknown {
  try { return JSON.parse(text) } catch { return undefined }
}

function isKasperskyRecord (sniff: JsonSniff): boolean {
  const first = sniff.first
  if (typeof first === 'object' && first !== null && !Array.isArray(first)) {
    return KASPERSKY_KEYS.some((k) => k in first)
  }
  // A first record too long for the head: look for the key names in what there is of it.
  return sniff.first === undefined && sniff.firstText !== undefined &&
    /"(MD5|SHA1|SHA256|ip|mask)"\s*:/.test(sniff.firstText)
}

function jsonFormat (text: string): FeedFormat {
  if (/"type"\s*:\s*"bundle"/.test(text) && /"objects"\s*:/.test(text)) return 'stix2'
  const sniff = sniffJson(text)
  return !sniff.ndjson && isKasperskyRecord(sniff) ? 'kaspersky' : 'json'
}

// A CSV with a header: a first row of two or more names (no cell an indicator) split by one of the
// usual delimiters, and a second row with as many cells; or, as abuse.ch writes them, the names in
// the `#` comment line just above the data. `;` lines are comments too (Spamhaus DROP is a list).
function looksLikeCsv (text: string): boolean {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''))
  const rows: string[] = []
  let commentAbove: string | undefined
  for (const l of lines) {
    if (l.trim() === '') continue
    if (l.startsWith('#') || l.startsWith(';')) { if (rows.length === 0) commentAbove = l.slice(1); continue }
    rows.push(l)
    if (rows.length === 2) break
  }
  if (rows.length < 2) return false
  for (const d of [',', ';', '\t', '|']) {
    const cells = parseCells(rows[0], d)
    if (cells.length < 2 || parseCells(rows[1], d).length !== cells.length) continue
    if (isColumnNames(cells)) return true
    if (commentAbove !== undefined && cells.some((c) => looksLikeIndicator(c))) {
      const names = parseCells(commentAbove.trim(), d)
      if (names.length === cells.length && isColumnNames(names)) return true
    }
  }
  return false
}

function unknownFormat (path: string, why: string): FeedmatchError {
  return new FeedmatchError('FM_ERR_FEED_FORMAT',
    `cannot tell the format of feed ${path} (${why}); set \`format:\` (${FORMATS}) in its feed configuration`)
}

/**
 * The format of a feed file or folder, from its extension and the first 64 KiB of its content.
 * A folder holding `manifest.json` is a MISP feed.
 */
export async function detectFormat (path: string): Promise<FeedFormat> {
  let isDir: boolean
  try {
    isDir = (await stat(path)).isDirectory()
  } catch (err) {
    throw feedError(path, err)
  }
  if (isDir) {
    try {
      await stat(join(path, 'manifest.json'))
      return 'misp'
    } catch {
      throw unknownFormat(path, 'a folder without manifest.json')
    }
  }
  const ext = extname(path).toLowerCase()
  if (ext === '.ndjson' || ext === '.jsonl') return 'json'
  if (ext === '.xml') return 'xml'
  if (ext === '.csv' || ext === '.tsv') return 'csv'
  const head = await readHead(path)
  if (ext === '.json') return jsonFormat(head.toString('utf8'))
  // .netset and .ipset: FireHOL's IP lists.
  const known = ext === '' || ext === '.txt' || ext === '.list' || ext === '.lst' || ext === '.netset' || ext === '.ipset'
  if (head.includes(0)) throw unknownFormat(path, 'binary content; compressed?')
  const text = head.toString('utf8').replace(/^\ufeff/, '')
  const start = text.trimStart()
  if (start.startsWith('{') || start.startsWith('[')) return jsonFormat(text)
  if (start.startsWith('<')) return 'xml'
  if (!known) throw unknownFormat(path, `extension "${ext}"`)
  return looksLikeCsv(text) ? 'csv' : 'list'
}
