/**
 * Small readers for the field syntaxes of the output presets, the inverse of src/render/escape.ts:
 * key=value (kv and alienvault), the CEF header and extension, LEEF 1.0 and 2.0 attributes. They
 * read what feedmatch writes and the usual variants of the same formats; they are not validators.
 */

/** Field values by key; the first occurrence of a key wins. */
export type Fields = Map<string, string>

const BACKSLASH = 0x5c
const EQ = 0x3d
const PIPE = 0x7c

const isKeyChar = (c: number): boolean =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x2e || c === 0x2d
const isSpace = (c: number): boolean => c === 0x20 || c === 0x09

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t' }

/** Undoes backslash escapes: `\n`, `\r`, `\t` as controls, any other `\X` as X (`\=`, `\\`, `\|`). */
export function unescapeValue (s: string): string {
  return s.includes('\\') ? s.replace(/\\([\s\S])/g, (_, c: string) => ESCAPES[c] ?? c) : s
}

/**
 * `key=value key=value` with backslash escapes, as the kv escaper and the CEF extension write
 * them. Values hold spaces (contexts, dates), so a value runs to the next unescaped `=` that ends
 * a key: the escapers turn every `=` of a value into `\=`, so such an `=` always belongs to a key.
 */
export function parsePairs (text: string): Fields {
  const keys: Array<{ start: number, eq: number }> = []
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === BACKSLASH) { i++; continue }
    if (c !== EQ) continue
    let k = i
    while (k > 0 && isKeyChar(text.charCodeAt(k - 1))) k--
    // A key starts the text or follows a blank; `a=b=c` from a foreign writer stays in the value.
    if (k < i && (k === 0 || isSpace(text.charCodeAt(k - 1)))) keys.push({ start: k, eq: i })
  }
  const fields: Fields = new Map()
  for (let n = 0; n < keys.length; n++) {
    const { start, eq } = keys[n]
    const key = text.slice(start, eq)
    const end = n + 1 < keys.length ? keys[n + 1].start : text.length
    if (!fields.has(key)) fields.set(key, unescapeValue(text.slice(eq + 1, end).trim()))
  }
  return fields
}

/** Splits at the first `count` unescaped pipes: `count` header fields (unescaped) and the rest. */
function splitHeader (text: string, count: number): { header: string[], rest: string } | undefined {
  const header: string[] = []
  let from = 0
  for (let i = 0; i < text.length && header.length < count; i++) {
    const c = text.charCodeAt(i)
    if (c === BACKSLASH) { i++; continue }
    if (c === PIPE) { header.push(unescapeValue(text.slice(from, i))); from = i + 1 }
  }
  return header.length < count ? undefined : { header, rest: text.slice(from) }
}

/** A CEF message: the seven header fields (`CEF:0`, vendor, product, version, signature id, name, severity) and the extension. */
export interface Cef {
  header: string[]
  extension: Fields
}

/** Reads `CEF:0|...|...|...|ID|NAME|SEV|ext`; undefined when the header is incomplete. */
export function parseCef (message: string): Cef | undefined {
  const split = splitHeader(message, 7)
  if (split === undefined) return undefined
  return { header: split.header, extension: parsePairs(split.rest) }
}

/** A LEEF message: its event id and attributes. */
export interface Leef {
  eventId: string
  attributes: Fields
}

/** The LEEF 2.0 delimiter field: one character, or its code as `xHH` / `0xHH`; tab when empty. */
function leefDelimiter (field: string): string {
  const hex = /^(?:0?x)([0-9a-fA-F]{1,4})$/.exec(field)
  if (hex !== null) return String.fromCharCode(parseInt(hex[1], 16))
  return field === '' ? '\t' : field[0]
}

/**
 * Reads `LEEF:1.0|vendor|product|version|id|attrs` (tab-delimited) or
 * `LEEF:2.0|vendor|product|version|id|delimiter|attrs`. LEEF has no escape in attribute values
 * (our writer replaces the delimiter), so a value runs from its first `=` to the next delimiter.
 */
export function parseLeef (message: string): Leef | undefined {
  const v2 = message.startsWith('LEEF:2')
  const split = splitHeader(message, v2 ? 6 : 5)
  if (split === undefined) return undefined
  const delimiter = v2 ? leefDelimiter(split.header[5]) : '\t'
  const attributes: Fields = new Map()
  for (const part of split.rest.split(delimiter)) {
    const eq = part.indexOf('=')
    if (eq <= 0) continue
    const key = part.slice(0, eq).trim()
    if (!attributes.has(key)) attributes.set(key, part.slice(eq + 1).trim())
  }
  return { eventId: split.header[4], attributes }
}
