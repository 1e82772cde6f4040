import { createReadStream } from 'node:fs'

/** One element of a streamed JSON array: its parsed value, or why it could not be parsed (`record`: one element's loss, the scan went on; else the document is broken). */
export type JsonArrayItem =
  | { value: unknown, line: number }
  | { error: string, line: number, record?: true }

const QUOTE = 0x22
const BACKSLASH = 0x5c
const LBRACKET = 0x5b
const RBRACKET = 0x5d
const LBRACE = 0x7b
const RBRACE = 0x7d
const COMMA = 0x2c
const COLON = 0x3a
const NEWLINE = 0x0a

/** A record larger than this is skipped (as XML's 16 MiB and CSV's 4 MiB caps): one record must not take gigabytes of memory. */
export const MAX_JSON_RECORD_BYTES = 16 * 1024 * 1024
/** A record nested deeper than this is skipped: feed records are shallow, and deep ones blow the stack of whatever walks them. */
export const MAX_JSON_DEPTH = 100

function isSpace (c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09
}

/** One element at a time: the simple form of `streamJsonArrayBatches`. */
export async function * streamJsonArray (path: string, at = '', chunkSize = 1 << 20): AsyncGenerator<JsonArrayItem> {
  for await (const batch of streamJsonArrayBatches(path, at, chunkSize)) yield * batch
}

/**
 * Streams the elements of a JSON array out of a file of any size without holding the file as one
 * string: a byte scanner cuts each element at depth 1 of the array and `JSON.parse` reads it.
 * This is hand-written rather than taken from a streaming-JSON library because those build every
 * value token by token in JS, several times slower than V8's native `JSON.parse` on each element,
 * and feed builds have a time budget (1M records in 5 s).
 *
 * `at` names the array: '' (default) for a top-level array, or a key of the top-level object
 * (`objects` in a STIX bundle). A broken element is yielded as an error with its line and the scan
 * goes on at the next element; a broken document structure ends the stream with an error item.
 * Elements come in one array per chunk read: an async generator step per element costs more than
 * parsing it, so hot consumers (feed builds) iterate the batches.
 * `chunkSize` exists for tests that cut the file at every possible place.
 */
export async function * streamJsonArrayBatches (path: string, at = '', chunkSize = 1 << 20): AsyncGenerator<JsonArrayItem[]> {
  // State of the scanner across chunks.
  let state: 'seek' | 'array' | 'done' = 'seek'
  let depth = 0 // nesting depth inside the current element
  let inString = false
  let escaped = false
  let line = 1
  let elemLine = 1
  let parts: Buffer[] = [] // pieces of the current element
  let elemStart = -1
  let elemBytes = 0 // bytes of the current element in earlier chunks
  // Why the current element is being skipped ('' when it is not): its bytes are no longer kept.
  let skipping = ''
  // Seeking `at` in the top-level object: depth of the object scan, and the last key seen at depth 1.
  let seekDepth = 0
  let keyStart = -1
  let lastKey = ''
  let keyParts: Buffer[] = []
  let expectValueOf = ''

  const stream = createReadStream(path, { highWaterMark: chunkSize })
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const out: JsonArrayItem[] = []
    let i = 0
    const n = chunk.length
    while (i < n) {
      const c = chunk[i]
      if (c === NEWLINE) line++
      if (state === 'done') break
      if (state === 'seek') {
        // Finding the array: either the first `[` (top level) or the value of key `at` at depth 1.
        if (inString) {
          if (escaped) escaped = false
          else if (c === BACKSLASH) escaped = true
          else if (c === QUOTE) {
            inString = false
            if (keyStart >= 0) { keyParts.push(chunk.subarray(keyStart, i)); lastKey = Buffer.concat(keyParts).toString(); keyParts = []; keyStart = -1 }
          }
        } else if (c === QUOTE) {
          inString = true
          if (seekDepth === 1) { keyStart = i + 1; keyParts = [] }
        } else if (c === COLON && seekDepth === 1) {
          expectValueOf = lastKey
        } else if (c === LBRACKET && ((at === '' && seekDepth === 0) || (at !== '' && seekDepth === 1 && expectValueOf === at))) {
          state = 'array'
        } else if (c === LBRACE || c === LBRACKET) {
          seekDepth++
          expectValueOf = ''
        } else if (c === RBRACE || c === RBRACKET) {
          seekDepth--
        } else if (c === COMMA) {
          expectValueOf = ''
        }
        i++
        continue
      }
      // state === 'array': cut elements at depth 0 of the array.
      if (inString) {
        // Hot path: feed records are mostly string bytes, so jump to the next quote natively
        // (memchr) instead of visiting every byte, then look back for an escaping backslash run.
        // Raw LFs cannot occur inside JSON strings, so skipping them keeps line numbers exact.
        if (escaped) { escaped = false; i++; continue }
        const end = stringEnd(chunk, i)
        if (end < 0) { escaped = end === -2; i = n; break }
        inString = false
        i = end + 1
        continue
      } else if (c === QUOTE) {
        inString = true
        if (elemStart < 0 && parts.length === 0 && skipping === '') { elemStart = i; elemLine = line }
      } else if (c === LBRACE || c === LBRACKET) {
        if (elemStart < 0 && parts.length === 0 && skipping === '') { elemStart = i; elemLine = line }
        if (++depth > MAX_JSON_DEPTH && skipping === '') skipping = `a record nested more than ${MAX_JSON_DEPTH} levels deep`
      } else if ((c === RBRACE || c === RBRACKET) && depth > 0) {
        depth--
      } else if ((c === COMMA || c === RBRACKET) && depth === 0) {
        if (elemStart >= 0 && skipping === '' && elemBytes + i - elemStart > MAX_JSON_RECORD_BYTES) skipping = `a record larger than ${MAX_JSON_RECORD_BYTES / 1024 / 1024} MiB`
        if (elemStart >= 0 && skipping === '') parts.push(chunk.subarray(elemStart, i))
        if (skipping !== '') {
          out.push({ error: `${skipping}, skipped`, line: elemLine, record: true })
        } else if (parts.length > 0) {
          out.push(parseElement(parts, elemLine))
        }
        parts = []
        elemStart = -1
        elemBytes = 0
        skipping = ''
        if (c === RBRACKET) state = 'done'
      } else if (!isSpace(c) && elemStart < 0 && parts.length === 0 && skipping === '') {
        elemStart = i; elemLine = line // a bare scalar element
      }
      i++
    }
    if (keyStart >= 0) { keyParts.push(chunk.subarray(keyStart)); keyStart = 0 }
    if (elemStart >= 0) {
      elemBytes += chunk.length - elemStart
      if (skipping === '' && elemBytes > MAX_JSON_RECORD_BYTES) skipping = `a record larger than ${MAX_JSON_RECORD_BYTES / 1024 / 1024} MiB`
      if (skipping === '') parts.push(chunk.subarray(elemStart))
      else parts = []
      elemStart = skipping === '' ? 0 : -1
    }
    if (out.length > 0) yield out
  }
  if (state === 'seek') {
    yield [{ error: at === '' ? 'no JSON array found' : `no array "${at}" found in the JSON object`, line }]
  } else if (state === 'array') {
    yield [{ error: 'the JSON array is not closed (file cut short?)', line: elemLine }]
  }
}

/**
 * Position of the quote that closes a string whose bytes start at `from`, or -1 when the chunk
 * ends first (-2 when it ends in an odd run of backslashes, so the next chunk's first byte is escaped).
 */
function stringEnd (chunk: Buffer, from: number): number {
  let at = from
  for (;;) {
    const q = chunk.indexOf(QUOTE, at)
    if (q === -1) {
      let b = chunk.length - 1
      while (b >= at && chunk[b] === BACKSLASH) b--
      return (chunk.length - 1 - b) % 2 === 1 ? -2 : -1
    }
    let b = q - 1
    while (b >= at && chunk[b] === BACKSLASH) b--
    if ((q - 1 - b) % 2 === 0) return q
    at = q + 1
  }
}

function parseElement (parts: Buffer[], line: number): JsonArrayItem {
  const text = parts.length === 1 ? parts[0].toString() : Buffer.concat(parts).toString()
  try {
    return { value: JSON.parse(text), line }
  } catch (err) {
    return { error: `invalid JSON: ${(err as Error).message}`, line, record: true }
  }
}
