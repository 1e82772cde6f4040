import { FeedmatchError } from '../errors.js'
import { parseDuration } from '../config/duration.js'
import type { FeedRecord } from './record.js'

/**
 * Record filters, required fields and expiry: what the feed pipeline applies to every record
 * before indexing. The filter language is parsed once into closures (no eval), then runs per
 * record, so evaluation allocates little. Semantics, in short:
 * - a missing field (or JSON null) makes every comparison false, `!=` and `not in` included;
 *   `not (x = 1)` is how to keep records without `x`; `x = null` means `not exists x`;
 * - an array field matches a comparison when any element does;
 * - against `now...` the field is read as a date (ISO 8601, epoch s/ms, `DD.MM.YYYY HH:MM` UTC);
 *   numbers compare as numbers when both sides read as numbers; else strings (case-sensitive),
 *   except `contains`, which ignores case.
 */

/** A compiled filter: true keeps the record. */
export type RecordFilter = (ctx: Record<string, unknown>) => boolean

/** Why the policy drops a record (null keeps it). */
export type DropReason = 'filter' | 'required' | 'expired'

type Tok =
  | { t: 'op' | 'punct' | 'word' | 'sq' | 'dq' | 'num', v: string, col: number }
  | { t: 'date', v: string, col: number, offset: number }
  | { t: 'end', v: '', col: number }

type Lit =
  | { k: 'str' | 'num' | 'bool', s: string, n: number | undefined }
  | { k: 'null' }
  | { k: 'date', offset: number }

type Node = (ctx: Record<string, unknown>, now: number) => boolean

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'contains', 'exists', 'true', 'false', 'null'])
const NUMERIC = /^\s*-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\s*$/
const NUMBER_TOKEN = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y
// `now`, `now-90d`, `now + 12h`: tried before identifiers, since `-` may also sit inside a field name.
const DATE_TOKEN = /now(?:\s*([+-])\s*(\d+(?:\.\d+)?\s*(?:ms|s|m|h|d|w)))?(?![\w@$./-])/iy
const IDENT = /[A-Za-z_@$][\w@$./-]*/y
const VALUE_HINT = "a value (a number, 'text', true, false, null or a date like now-90d)"

/** Compile a filter expression once; throws FM_ERR_CONFIG with the column of a syntax error. */
export function compileFilter (expr: string, opts: { now?: () => number } = {}): RecordFilter {
  const parser = new Parser(expr)
  const root = parser.parse()
  const clock = opts.now ?? Date.now
  // Reading the clock per record costs little, but only filters with dates need it at all.
  if (!parser.usesNow) return (ctx) => root(ctx, 0)
  return (ctx) => root(ctx, clock())
}

/** Epoch milliseconds of a date: ISO 8601, epoch seconds or ms, or Kaspersky's `DD.MM.YYYY HH:MM` (UTC). */
export function parseDate (value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? epochMs(value) : undefined
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.getTime()
  if (typeof value !== 'string') return undefined
  const s = value.trim()
  if (NUMERIC.test(s)) return epochMs(Number(s))
  let m = /^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/.exec(s)
  if (m !== null) return utc(+m[3], +m[2], +m[1], +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0), 0, 0)
  m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(s)
  if (m === null) return undefined
  // A time without a zone is taken as UTC, as the Kaspersky dates are: never the host's zone.
  let offset = 0
  const zone = m[8]
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1
    const digits = zone.slice(1).replace(':', '')
    offset = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0))
  }
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'))
  return utc(+m[1], +m[2], +m[3], +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0), ms, offset)
}

/** Options of a feed's record policy (the feed's `filter`, `required` and `expiry`). */
export interface RecordPolicyOptions {
  filter?: string
  required?: string[]
  /** `field` + `maxAge`: the field's date must be newer than now - maxAge; `field` alone: it is the expiry date. */
  expiry?: { field?: string, maxAge?: string | number }
  /** The instant records are judged at (epoch ms); default: when the policy is made, once per build. */
  now?: number
}

/** Make the per-record check of a feed build: null keeps a record, else the reason it is dropped. */
export function recordPolicy (opts: RecordPolicyOptions): (rec: FeedRecord) => DropReason | null {
  // One instant for the whole build, so a record's fate does not depend on how long parsing took.
  const now = opts.now ?? Date.now()
  const filter = opts.filter === undefined ? undefined : compileFilter(opts.filter, { now: () => now })
  const required = (opts.required ?? []).map(fieldGetter)
  const expiryField = opts.expiry?.field === undefined ? undefined : fieldGetter(opts.expiry.field)
  const maxAgeOpt = opts.expiry?.maxAge
  const maxAge = maxAgeOpt === undefined ? undefined : typeof maxAgeOpt === 'number' ? maxAgeOpt : parseDuration(maxAgeOpt, 'expiry.maxAge')
  if (maxAge !== undefined && expiryField === undefined) {
    throw new FeedmatchError('FM_ERR_CONFIG', 'expiry.maxAge needs expiry.field: the record field holding its date, e.g. last_seen')
  }
  const nowSec = now / 1000
  return (rec) => {
    if (filter !== undefined && !filter(rec.context)) return 'filter'
    for (const get of required) {
      if (!get(rec.context).some(nonEmpty)) return 'required'
    }
    if (rec.expires !== undefined && rec.expires <= nowSec) return 'expired'
    if (expiryField !== undefined) {
      // Several dates (an array field): the latest one counts, so one fresh sighting keeps the record.
      let latest: number | undefined
      for (const v of expiryField(rec.context)) {
        const d = parseDate(v)
        if (d !== undefined && (latest === undefined || d > latest)) latest = d
      }
      // A record without a readable date is kept: `required` is how to demand the field.
      if (latest !== undefined && (maxAge === undefined ? latest <= now : latest < now - maxAge)) return 'expired'
    }
    return null
  }
}

function nonEmpty (v: unknown): boolean {
  return typeof v !== 'string' || v.trim() !== ''
}

function epochMs (n: number): number {
  // Below 1e11 a number reads as seconds (1e11 s is the year 5138; 1e11 ms is 1973).
  return Math.abs(n) < 1e11 ? n * 1000 : n
}

function utc (y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number, offsetMin: number): number | undefined {
  const t = Date.UTC(y, mo - 1, d, h, mi, s, ms)
  const back = new Date(t)
  // Date.UTC rolls 31.02 over into March; a date that does not read back is not a date.
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) {
    return undefined
  }
  return t - offsetMin * 60_000
}

/** The values at a field path (`a/b`): arrays are flattened, null and missing give nothing. */
function fieldGetter (name: string): (ctx: Record<string, unknown>) => unknown[] {
  const path = name.split('/')
  return (ctx) => {
    const out: unknown[] = []
    // A flat key that itself holds a `/` (a CSV header, say) wins over the nested reading.
    if (path.length > 1 && Object.hasOwn(ctx, name)) collect(ctx[name], path, path.length, out)
    else collect(ctx, path, 0, out)
    return out
  }
}

function collect (v: unknown, path: string[], i: number, out: unknown[]): void {
  if (v === undefined || v === null) return
  if (Array.isArray(v)) {
    for (const e of v) collect(e, path, i, out)
  } else if (i === path.length) {
    out.push(v)
  } else if (typeof v === 'object' && Object.hasOwn(v, path[i])) {
    collect((v as Record<string, unknown>)[path[i]], path, i + 1, out)
  }
}

function toNumber (v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined
  if (typeof v === 'string' && NUMERIC.test(v)) return Number(v)
  return undefined
}

function compare (v: unknown, lit: Lit, op: string, now: number): boolean {
  if (lit.k === 'null') return false
  if (lit.k === 'date') {
    const d = parseDate(v)
    return d !== undefined && order(d, now + lit.offset, op)
  }
  if (typeof v === 'object') return false
  const n = lit.n === undefined ? undefined : toNumber(v)
  if (n !== undefined) return order(n, lit.n as number, op)
  return order(String(v), lit.s, op)
}

function order<T extends number | string> (a: T, b: T, op: string): boolean {
  switch (op) {
    case '=': case '==': return a === b
    case '!=': return a !== b
    case '<': return a < b
    case '<=': return a <= b
    case '>': return a > b
    default: return a >= b
  }
}

class Parser {
  usesNow = false
  private readonly toks: Tok[]
  private i = 0

  constructor (private readonly expr: string) {
    this.toks = this.tokenize()
  }

  parse (): Node {
    const node = this.or()
    if (this.peek().t !== 'end') throw this.fail(this.peek(), 'expected "and", "or" or the end')
    return node
  }

  private or (): Node {
    return this.chain('or', () => this.and(), (a, b) => (ctx, now) => a(ctx, now) || b(ctx, now))
  }

  private and (): Node {
    return this.chain('and', () => this.not(), (a, b) => (ctx, now) => a(ctx, now) && b(ctx, now))
  }

  private chain (word: string, operand: () => Node, join: (a: Node, b: Node) => Node): Node {
    let left = operand()
    while (this.isWord(word)) { this.i++; left = join(left, operand()) }
    return left
  }

  private not (): Node {
    if (!this.isWord('not')) return this.primary()
    this.i++
    const inner = this.not()
    return (ctx, now) => !inner(ctx, now)
  }

  private primary (): Node {
    const tok = this.peek()
    if (tok.t === 'punct' && tok.v === '(') {
      this.i++
      const inner = this.or()
      this.expect(')')
      return inner
    }
    if (this.isWord('exists')) {
      this.i++
      const get = this.field()
      return (ctx) => get(ctx).length > 0
    }
    return this.comparison(this.field())
  }

  private field (): (ctx: Record<string, unknown>) => unknown[] {
    const tok = this.next()
    if (tok.t === 'dq' || (tok.t === 'word' && !KEYWORDS.has(tok.v.toLowerCase()))) return fieldGetter(tok.v)
    throw this.fail(tok, 'expected a field name')
  }

  private comparison (get: (ctx: Record<string, unknown>) => unknown[]): Node {
    const field = this.toks[this.i - 1].v
    const tok = this.next()
    if (tok.t === 'op') {
      const lit = this.literal()
      if (lit.k === 'null') {
        if (tok.v === '=' || tok.v === '==') return (ctx) => get(ctx).length === 0
        if (tok.v === '!=') return (ctx) => get(ctx).length > 0
        throw this.fail(this.toks[this.i - 1], `null compares only with = or !=`)
      }
      return (ctx, now) => get(ctx).some((v) => compare(v, lit, tok.v, now))
    }
    const negated = tok.t === 'word' && tok.v.toLowerCase() === 'not'
    const opTok = negated ? this.next() : tok
    const op = opTok.t === 'word' ? opTok.v.toLowerCase() : ''
    if (op === 'in') {
      const list = this.list()
      const missingIn = list.some((l) => l.k === 'null')
      const isIn = (v: unknown, now: number): boolean => list.some((l) => compare(v, l, '=', now))
      if (negated) return (ctx, now) => get(ctx).some((v) => !isIn(v, now))
      return (ctx, now) => { const vals = get(ctx); return (missingIn && vals.length === 0) || vals.some((v) => isIn(v, now)) }
    }
    if (op === 'contains') {
      const lit = this.literal()
      if (lit.k !== 'str' && lit.k !== 'num') throw this.fail(this.toks[this.i - 1], 'contains takes a text or a number')
      const needle = lit.s.toLowerCase()
      const has = (v: unknown): boolean => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') &&
        String(v).toLowerCase().includes(needle)
      if (negated) return (ctx) => get(ctx).some((v) => !has(v))
      return (ctx) => get(ctx).some(has)
    }
    throw this.fail(opTok, `expected an operator (= != < <= > >= in, not in, contains) after ${JSON.stringify(field)}`)
  }

  private list (): Lit[] {
    this.expect('(')
    const out = [this.literal()]
    while (this.peek().t === 'punct' && this.peek().v === ',') {
      this.i++
      out.push(this.literal())
    }
    this.expect(')')
    return out
  }

  private literal (): Lit {
    const tok = this.next()
    if (tok.t === 'num') return { k: 'num', s: tok.v, n: Number(tok.v) }
    if (tok.t === 'sq' || tok.t === 'dq') return { k: 'str', s: tok.v, n: toNumber(tok.v) }
    if (tok.t === 'date') { this.usesNow = true; return { k: 'date', offset: tok.offset } }
    const word = tok.t === 'word' ? tok.v.toLowerCase() : ''
    if (word === 'true' || word === 'false') return { k: 'bool', s: word, n: undefined }
    if (word === 'null') return { k: 'null' }
    throw this.fail(tok, `expected ${VALUE_HINT}`)
  }

  private peek (): Tok { return this.toks[this.i] }
  private next (): Tok { return this.toks[this.i < this.toks.length - 1 ? this.i++ : this.i] }
  private isWord (w: string): boolean {
    const tok = this.peek()
    return tok.t === 'word' && tok.v.toLowerCase() === w
  }

  private expect (p: string): void {
    const tok = this.next()
    if (tok.t !== 'punct' || tok.v !== p) throw this.fail(tok, `expected "${p}"`)
  }

  private fail (tok: Tok, expected: string): FeedmatchError {
    const what = tok.t === 'end' ? 'end' : JSON.stringify(tok.t === 'sq' ? `'${tok.v}'` : tok.v)
    return this.error(tok.col, `unexpected ${what} at column ${tok.col}, ${expected}`)
  }

  private error (col: number, msg: string): FeedmatchError {
    // The caret line points at the column: the way compilers show where an expression went wrong.
    return new FeedmatchError('FM_ERR_CONFIG', `filter ${JSON.stringify(this.expr)}: ${msg}\n  ${this.expr}\n  ${' '.repeat(col - 1)}^`)
  }

  private tokenize (): Tok[] {
    const s = this.expr
    const out: Tok[] = []
    let i = 0
    while (i < s.length) {
      const c = s[i]
      const col = i + 1
      if (/\s/.test(c)) { i++; continue }
      if (c === '(' || c === ')' || c === ',') { out.push({ t: 'punct', v: c, col }); i++; continue }
      const op = /^(==|!=|<=|>=|=|<|>)/.exec(s.slice(i, i + 2))
      if (op !== null) { out.push({ t: 'op', v: op[1], col }); i += op[1].length; continue }
      if (c === "'" || c === '"') {
        let v = ''
        let j = i + 1
        while (j < s.length && s[j] !== c) {
          if (s[j] === '\\' && j + 1 < s.length) j++
          v += s[j++]
        }
        if (j >= s.length) throw this.error(col, `unterminated string at column ${col}`)
        out.push({ t: c === "'" ? 'sq' : 'dq', v, col })
        i = j + 1
        continue
      }
      DATE_TOKEN.lastIndex = i
      const date = DATE_TOKEN.exec(s)
      if (date !== null) {
        const offset = date[1] === undefined ? 0 : (date[1] === '-' ? -1 : 1) * parseDuration(date[2].replace(/\s+/g, ''), 'filter date offset')
        out.push({ t: 'date', v: date[0], col, offset })
        i += date[0].length
        continue
      }
      NUMBER_TOKEN.lastIndex = i
      const num = /[-\d]/.test(c) ? NUMBER_TOKEN.exec(s) : null
      if (num !== null) { out.push({ t: 'num', v: num[0], col }); i += num[0].length; continue }
      IDENT.lastIndex = i
      const word = IDENT.exec(s)
      if (word === null) throw this.error(col, `unexpected ${JSON.stringify(c)} at column ${col}`)
      out.push({ t: 'word', v: word[0], col })
      i += word[0].length
    }
    out.push({ t: 'end', v: '', col: s.length + 1 })
    return out
  }
}
