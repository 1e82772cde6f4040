/**
 * Escaping of inserted values, one escaper per output format (DESIGN.md section 5). The one promise
 * every escaper keeps: whatever a feed or an event holds, the escaped text holds no line break and
 * no other control character (0x00-0x1f, 0x7f), and no character that would end the value early
 * in its format. So a frame is always one line, and a value always parses back as one value.
 *
 * The rules, per escaper:
 * - `cef-header` (CEF header fields): `\` -> `\\`, `|` -> `\|`; every control character, line
 *   breaks included, -> space (the CEF spec allows no line break in the header and has no escape
 *   for one).
 * - `cef-ext` (CEF extension values): `\` -> `\\`, `=` -> `\=`, LF -> `\n`, CR -> `\r` (the escapes
 *   the CEF spec defines); any other control character, tab included, -> space. `|` stays as is:
 *   the spec says it needs no escape in the extension, and ArcSight would show a `\|` literally.
 * - `leef-header` (LEEF header fields): as `cef-header` (the LEEF guide escapes `|` with `\`).
 * - `leef` (LEEF attribute values): LEEF has no escape at all in attribute values, and QRadar would
 *   show a backslash sequence literally, so the attribute delimiter (tab unless the LEEF 2.0 header
 *   names another) and every control character are replaced by a space. Lossy, but readable.
 * - `kv` (key=value, as our AlienVault plugin parses it): `\` -> `\\`, `=` -> `\=`, LF -> `\n`,
 *   CR -> `\r`, tab -> `\t`, any other control character -> space. Spaces stay. Why `\=`: values
 *   hold spaces and `=` (URLs with queries, dates, record contexts), so a parser cannot split on
 *   spaces; with every `=` of a value escaped, the only unescaped `=` in a line are the ones after
 *   keys. The plugin's regexes then read `key=((?:[^\\=]|\\.)*?) nextkey=`: the lazy value cannot
 *   run past ` nextkey=`, since a value can hold no unescaped `=`. The last field (`context=`) is
 *   simply `(.*)$`.
 * - `json` (inside a JSON string literal; the template supplies the quotes): JSON string escaping,
 *   plus DEL as `\u007f`. Lossless.
 * - `none`: control characters -> space, nothing else.
 */

/** The escapers by name; `cef`, `leef` templates pick the header or extension one by position. */
export type EscapeName = 'cef-header' | 'cef-ext' | 'leef-header' | 'leef' | 'kv' | 'json' | 'none'

export const ESCAPE_NAMES: readonly EscapeName[] = ['cef-header', 'cef-ext', 'leef-header', 'leef', 'kv', 'json', 'none']

/** Turns a raw value into text that is safe at its place in a frame. */
export type Escaper = (value: string) => string

/** Options of `escaper()`: the LEEF attribute delimiter (tab by default). */
export interface EscaperOptions {
  delimiter?: string
}

type Table = Array<string | undefined>

/** A 128-entry replacement table for ASCII: every control character becomes a space. */
function baseTable (): Table {
  const t: Table = new Array(128).fill(undefined)
  for (let c = 0; c < 0x20; c++) t[c] = ' '
  t[0x7f] = ' '
  return t
}

function withRules (rules: Record<string, string>): Table {
  const t = baseTable()
  for (const [ch, rep] of Object.entries(rules)) t[ch.charCodeAt(0)] = rep
  return t
}

const TABLES = {
  header: withRules({ '\\': '\\\\', '|': '\\|' }),
  cefExt: withRules({ '\\': '\\\\', '=': '\\=', '\n': '\\n', '\r': '\\r' }),
  kv: withRules({ '\\': '\\\\', '=': '\\=', '\n': '\\n', '\r': '\\r', '\t': '\\t' }),
  none: baseTable(),
}

/**
 * Table-driven escaper. Hot path (runs for every inserted value of every detection): one scan
 * without allocation when nothing needs escaping, which is the common case (hashes, IPs, names);
 * `extra` is one non-ASCII character to replace too (a LEEF delimiter given as hex).
 */
function tableEscaper (table: Table, extra = -1, extraRep = ' '): Escaper {
  return (s) => {
    const n = s.length
    let i = 0
    for (; i < n; i++) {
      const c = s.charCodeAt(i)
      if (c < 128 ? table[c] !== undefined : c === extra) break
    }
    if (i === n) return s
    let out = ''
    let last = 0
    for (; i < n; i++) {
      const c = s.charCodeAt(i)
      const rep = c < 128 ? table[c] : c === extra ? extraRep : undefined
      if (rep !== undefined) {
        if (i > last) out += s.slice(last, i)
        out += rep
        last = i + 1
      }
    }
    return last < n ? out + s.slice(last) : out
  }
}

/** JSON string content: V8's JSON.stringify is the fastest correct escaper (lone surrogates too). */
function jsonEscape (s: string): string {
  const q = JSON.stringify(s)
  // JSON allows a raw DEL, but we promise no control character in any frame.
  const body = q.slice(1, -1)
  return body.includes('\x7f') ? body.replaceAll('\x7f', '\\u007f') : body
}

const escapers = {
  header: tableEscaper(TABLES.header),
  cefExt: tableEscaper(TABLES.cefExt),
  kv: tableEscaper(TABLES.kv),
  none: tableEscaper(TABLES.none),
}

const leefCache = new Map<string, Escaper>()

/** The escaper for a format; `leef` takes the attribute delimiter (one character, tab by default). */
export function escaper (name: EscapeName, opts: EscaperOptions = {}): Escaper {
  switch (name) {
    case 'cef-header': case 'leef-header': return escapers.header
    case 'cef-ext': return escapers.cefExt
    case 'kv': return escapers.kv
    case 'json': return jsonEscape
    case 'none': return escapers.none
    case 'leef': {
      const delimiter = opts.delimiter ?? '\t'
      let e = leefCache.get(delimiter)
      if (e === undefined) {
        const c = delimiter.charCodeAt(0)
        const t = baseTable()
        if (c < 128) t[c] = ' '
        e = tableEscaper(t, c < 128 ? -1 : c)
        leefCache.set(delimiter, e)
      }
      return e
    }
  }
}
