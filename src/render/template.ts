/**
 * CyberTrace-style output templates (DESIGN.md section 5): text with `%Placeholder%`s, `%%` for a
 * literal `%`. A template is compiled once into an array of parts (literal strings and value
 * functions); rendering only concatenates, so no regex runs per detection. Every inserted value is
 * escaped for the template's format, and for CEF and LEEF by its place: header or extension.
 */
import { FeedmatchError } from '../errors.js'
import type { Detection, FinishedEvent, ServiceEvent } from '../match/detection.js'
import { escaper, type Escaper } from './escape.js'
import { isoTime } from './syslog.js'

/** What a template's values are escaped for. */
export type TemplateFormat = 'cef' | 'leef' | 'kv' | 'json' | 'none'

export const TEMPLATE_FORMATS: readonly TemplateFormat[] = ['cef', 'leef', 'kv', 'json', 'none']

/** CyberTrace's default RecordFieldContextFormat: one `name:value ` per record field. */
export const DEFAULT_RECORD_CONTEXT = '%ParamName%:%ParamValue% '

/** CyberTrace's default ActionableFieldContextFormat: one `name=value ` per actionable field. */
export const DEFAULT_ACTIONABLE_CONTEXT = '%ParamName%=%ParamValue% '

/** A compiled template. */
export interface Template<T> {
  readonly name: string
  render (src: T): string
}

/** A template text and the name its errors carry (`output.templates.event`, `preset fortisiem event`). */
export interface NamedText {
  text: string
  name: string
}

/** Compile options: the escaping, the rule names known now, and the context formats. */
export interface TemplateOptions {
  format: TemplateFormat
  /** Rule names usable as `%NAME%`: only known at run time, so the caller passes them in. */
  ruleNames: readonly string[]
  recordContext?: NamedText
  actionableContext?: NamedText
}

type Slot<T> = (src: T) => string
type Part<T> = string | Slot<T>
/** A placeholder's source: a plain value (escaped; missing -> `-`) or pre-escaped composite text. */
type Binding<T> = { value: (src: T) => unknown } | { raw: (esc: Escaper) => Slot<T> }
type Token = { lit: string } | { ph: string, header: boolean }

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const MISSING = '-'

function configError (name: string, what: string): FeedmatchError {
  return new FeedmatchError('FM_ERR_CONFIG', `Template ${name}: ${what}`)
}

/** JSON.stringify that never throws: BigInts become strings and cycles `[Circular]`. */
export function safeStringify (v: unknown): string | undefined {
  try {
    return JSON.stringify(v)
  } catch {
    const seen = new WeakSet<object>()
    return JSON.stringify(v, (_k, x: unknown) => {
      if (typeof x === 'bigint') return x.toString()
      if (typeof x === 'object' && x !== null) {
        if (seen.has(x)) return '[Circular]'
        seen.add(x)
      }
      return x
    })
  }
}

/** A field value as text: strings as they are, nested values as compact JSON; undefined when missing. */
export function valueText (v: unknown): string | undefined {
  switch (typeof v) {
    case 'string': return v
    case 'number': case 'boolean': case 'bigint': return String(v)
    case 'object':
      if (v === null) return undefined
      if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : v.toISOString()
      return safeStringify(v)
    default: return undefined
  }
}

/**
 * Cuts a template into literals and placeholders. For CEF (`CEF:` + 7 header fields) and LEEF
 * (`LEEF:1.0` + 5, `LEEF:2.0` + 6) it notes whether each placeholder sits in the header, counting
 * unescaped `|`; for LEEF 2.0 it also reads the attribute delimiter from the header.
 */
function parse (text: string, name: string, format: TemplateFormat): { tokens: Token[], delimiter: string } {
  const headerPipes = format === 'cef' && text.startsWith('CEF:')
    ? 7
    : format === 'leef' && text.startsWith('LEEF:') ? (text.startsWith('LEEF:1.0|') ? 5 : 6) : 0
  const tokens: Token[] = []
  const fields = ['']
  let lit = ''
  let pipes = 0
  let escaped = false
  for (let i = 0; i < text.length;) {
    const c = text[i]
    if (c === '%') {
      if (text[i + 1] === '%') {
        lit += '%'
        i += 2
        continue
      }
      const end = text.indexOf('%', i + 1)
      const ph = end === -1 ? '' : text.slice(i + 1, end)
      if (!NAME.test(ph)) throw configError(name, `a lone % at character ${i + 1}; write %% for a literal %, or %Name% for a placeholder`)
      if (lit !== '') tokens.push({ lit })
      lit = ''
      tokens.push({ ph, header: pipes < headerPipes })
      // A placeholder in a header field makes that field unknowable now (matters for the delimiter).
      if (pipes < headerPipes) fields[fields.length - 1] += '\0'
      escaped = false
      i = end + 1
      continue
    }
    const code = text.charCodeAt(i)
    // Tab is allowed: it is LEEF's default delimiter. Anything else would split or corrupt frames.
    if ((code < 0x20 && code !== 9) || code === 0x7f) {
      throw configError(name, `control character 0x${code.toString(16).padStart(2, '0')} at character ${i + 1}; a template is one line (line breaks in values are escaped, not in templates)`)
    }
    lit += c
    if (pipes < headerPipes) {
      if (c === '|' && !escaped) {
        pipes++
        fields.push('')
      } else {
        fields[fields.length - 1] += c
      }
    }
    escaped = c === '\\' && !escaped
    i++
  }
  if (lit !== '') tokens.push({ lit })
  return { tokens, delimiter: headerPipes === 6 && pipes === 6 ? leefDelimiter(fields[5], name) : '\t' }
}

/** The LEEF 2.0 delimiter field: one character, or its code as `0x5E` / `x5E`; empty means tab. */
function leefDelimiter (field: string, name: string): string {
  if (field === '') return '\t'
  if (field.length === 1 && field !== '\0') return field
  const hex = /^(?:0x|x)([0-9a-fA-F]{1,4})$/.exec(field)
  if (hex !== null) return String.fromCharCode(parseInt(hex[1], 16))
  throw configError(name, `the LEEF 2.0 delimiter field must be one character or a hex code (x09, 0x5E), found "${field.replace(/\0/g, '%...%')}"`)
}

function escaperFor (format: TemplateFormat, header: boolean, delimiter: string): Escaper {
  switch (format) {
    case 'cef': return escaper(header ? 'cef-header' : 'cef-ext')
    case 'leef': return header ? escaper('leef-header') : escaper('leef', { delimiter })
    case 'kv': return escaper('kv')
    case 'json': return escaper('json')
    case 'none': return escaper('none')
  }
}

function describe<T> (bindings: Map<string, Binding<T>>, ruleNames: readonly string[] | null): string {
  const own = [...bindings.keys()].map((k) => `%${k}%`).join(', ')
  if (ruleNames === null) return own
  return `${own}, and the rule names (${ruleNames.length === 0 ? 'none configured' : ruleNames.join(', ')})`
}

function toTemplate<T> (name: string, parts: Array<Part<T>>): Template<T> {
  // Hot path: one pass of concatenation per detection.
  return {
    name,
    render (src: T): string {
      let out = ''
      for (let i = 0; i < parts.length; i++) {
        const p = parts[i]
        out += typeof p === 'string' ? p : p(src)
      }
      return out
    },
  }
}

/** Compiles a template against its placeholders; `rule` binds rule names (null: none allowed). */
function compile<T> (src: NamedText, format: TemplateFormat, bindings: Map<string, Binding<T>>,
  ruleNames: readonly string[] | null, rule: ((n: string) => Binding<T>) | null, kind: string): Template<T> {
  const { tokens, delimiter } = parse(src.text, src.name, format)
  const parts: Array<Part<T>> = []
  for (const t of tokens) {
    if ('lit' in t) {
      parts.push(t.lit)
      continue
    }
    // Built-in placeholders win over a rule of the same name.
    const b = bindings.get(t.ph) ?? (rule !== null && ruleNames?.includes(t.ph) === true ? rule(t.ph) : undefined)
    if (b === undefined) {
      throw configError(src.name, `unknown placeholder %${t.ph}%; ${kind} templates know ${describe(bindings, ruleNames)}`)
    }
    const esc = escaperFor(format, t.header, delimiter)
    if ('raw' in b) {
      parts.push(b.raw(esc))
    } else {
      const get = b.value
      parts.push((s: T) => {
        const v = valueText(get(s))
        return v === undefined || v === '' ? MISSING : esc(v)
      })
    }
  }
  return toTemplate(src.name, parts)
}

// Context formats compile to literals and two markers, so the per-field loop stays flat.
const PARAM_NAME = 0
const PARAM_VALUE = 1
type CtxPart = string | typeof PARAM_NAME | typeof PARAM_VALUE

function parseContext (src: NamedText): CtxPart[] {
  return parse(src.text, src.name, 'none').tokens.map((t) => {
    if ('lit' in t) return t.lit
    if (t.ph === 'ParamName') return PARAM_NAME
    if (t.ph === 'ParamValue') return PARAM_VALUE
    throw configError(src.name, `unknown placeholder %${t.ph}%; context formats know %ParamName% and %ParamValue%`)
  })
}

/** One field through a context format: names and values escaped like the placeholder they fill. */
function contextField (parts: CtxPart[], esc: Escaper, key: string, value: unknown): string {
  let out = ''
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]
    if (typeof p === 'string') {
      out += p
    } else {
      const v = p === PARAM_NAME ? key : valueText(value)
      out += v === undefined || v === '' ? MISSING : esc(v)
    }
  }
  return out
}

/** `%RecordContext%`: the record context format once per field, in the record's order. */
function recordSlot<T> (parts: CtxPart[], esc: Escaper, get: (src: T) => Record<string, unknown> | undefined): Slot<T> {
  return (src) => {
    const ctx = get(src)
    if (ctx == null) return MISSING
    let out = ''
    // for...in rather than Object.entries: no array per detection (records are plain objects).
    for (const key in ctx) out += contextField(parts, esc, key, ctx[key])
    return out === '' ? MISSING : out
  }
}

/**
 * `%ActionableFields%`: the actionable format once per pair. No pair renders as nothing, not `-`:
 * the list stands between other key=value pairs, where a lone `-` would join the previous value.
 */
function actionableSlot (parts: CtxPart[], esc: Escaper): Slot<Detection> {
  return (d) => {
    let out = ''
    const list = d.actionable
    if (list !== undefined) for (let i = 0; i < list.length; i++) out += contextField(parts, esc, list[i][0], list[i][1])
    return out
  }
}

function contexts (opts: TemplateOptions): { record: CtxPart[], actionable: CtxPart[] } {
  return {
    record: parseContext(opts.recordContext ?? { text: DEFAULT_RECORD_CONTEXT, name: 'recordContext' }),
    actionable: parseContext(opts.actionableContext ?? { text: DEFAULT_ACTIONABLE_CONTEXT, name: 'actionableContext' }),
  }
}

/** Checks the two context formats (FM_ERR_CONFIG naming the bad one), also where no template uses them. */
export function checkContextFormats (opts: TemplateOptions): void {
  contexts(opts)
}

/** The hash rule names of the presets: the generic preset's three and the CEF preset's one. */
const HASH_RULES = ['RE_HASH', 'RE_MD5', 'RE_SHA1', 'RE_SHA256']
const HASH_TYPES = new Set(['md5', 'sha1', 'sha256'])

/**
 * A hash placeholder (`fileHash=%RE_HASH%`, `hash=%RE_MD5%`) shows one hash whatever the rule
 * names: its own rule's value when the event had one; else, for a hash detection, the hash that
 * was detected, and for others the first hash any hash rule found. So a preset written for the
 * CEF rules (RE_HASH) shows the hash with the generic rules (RE_MD5, RE_SHA1, RE_SHA256) too.
 */
function hashValue (d: Detection, name: string): string | undefined {
  if (Object.hasOwn(d.rules, name)) return d.rules[name]
  if (HASH_TYPES.has(d.type)) return d.rules[d.rule] ?? d.value
  for (const n of HASH_RULES) if (Object.hasOwn(d.rules, n)) return d.rules[n]
  return undefined
}

/** Compiles an EventFormat (detections): every detection placeholder and every rule name. */
export function compileDetectionTemplate (src: NamedText, opts: TemplateOptions): Template<Detection> {
  const ctx = contexts(opts)
  const b = new Map<string, Binding<Detection>>([
    ['Date', { value: (d) => isoTime(d.time) }],
    ['Category', { value: (d) => d.category }],
    ['MatchedIndicator', { value: (d) => d.matched }],
    ['RecordContext', { raw: (esc) => recordSlot(ctx.record, esc, (d) => d.context) }],
    ['ActionableFields', { raw: (esc) => actionableSlot(ctx.actionable, esc) }],
    ['SourceIp', { value: (d) => d.sourceIp }],
    ['Feed', { value: (d) => d.feed }],
    ['Type', { value: (d) => d.type }],
    ['Value', { value: (d) => d.value }],
    ['Rule', { value: (d) => d.rule }],
    // Comma-separated (`ip-hex,userinfo`); `-` when the value was written plainly.
    ['Obfuscation', { value: (d) => d.obfuscation.length > 0 ? d.obfuscation.join(',') : undefined }],
  ])
  const rule = (n: string): Binding<Detection> => HASH_RULES.includes(n)
    ? { value: (d) => hashValue(d, n) }
    : { value: (d) => Object.hasOwn(d.rules, n) ? d.rules[n] : undefined }
  return compile(src, opts.format, b, opts.ruleNames, rule, 'event')
}

/** Compiles an AlertFormat (service events): `%Date%`, `%Alert%`, `%RecordContext%`. */
export function compileAlertTemplate (src: NamedText, opts: TemplateOptions): Template<ServiceEvent> {
  const ctx = contexts(opts)
  const b = new Map<string, Binding<ServiceEvent>>([
    ['Date', { value: (e) => isoTime(e.time) }],
    ['Alert', { value: (e) => e.alert }],
    ['RecordContext', { raw: (esc) => recordSlot(ctx.record, esc, (e) => e.context) }],
  ])
  return compile(src, opts.format, b, null, null, 'alert')
}

/** Compiles a FinishedEventFormat: `%Date%`, `%SourceIp%`, `%Detections%` (ours) and every rule name. */
export function compileFinishedTemplate (src: NamedText, opts: TemplateOptions): Template<FinishedEvent> {
  const b = new Map<string, Binding<FinishedEvent>>([
    ['Date', { value: (e) => isoTime(e.time) }],
    ['SourceIp', { value: (e) => e.sourceIp }],
    ['Detections', { value: (e) => e.detections }],
  ])
  const rule = (n: string): Binding<FinishedEvent> => ({ value: (e) => Object.hasOwn(e.rules, n) ? e.rules[n] : undefined })
  return compile(src, opts.format, b, opts.ruleNames, rule, 'finished')
}
