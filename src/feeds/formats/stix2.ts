import { FeedmatchError, isFeedmatchError } from '../../errors.js'
import { streamJsonArray } from '../json-stream.js'
import type { FeedParser, ParsedItem, RawIndicator } from '../record.js'

/**
 * STIX 2.x bundles: the `objects` array is streamed, and every `indicator` whose pattern is a
 * disjunction of equality tests on the object paths below becomes one record. Anything a pattern
 * says beyond that (AND, LIKE, qualifiers, other paths) would need an event model feedmatch does
 * not have, so such an indicator is skipped, with a reason that names the part, never half-read.
 */

const HASH_KINDS: Record<string, RawIndicator['kind']> = { MD5: 'md5', SHA1: 'sha1', SHA256: 'sha256' }
const VALUE_KINDS: Record<string, RawIndicator['kind']> = {
  'ipv4-addr': 'ip', 'ipv6-addr': 'ip', 'domain-name': 'domain', url: 'url'
}
const CONTEXT_FIELDS = [
  'name', 'description', 'labels', 'indicator_types', 'confidence', 'created', 'modified',
  'valid_from', 'valid_until', 'id', 'external_references', 'kill_chain_phases'
]
const OPERATOR_WORDS = new Set(['LIKE', 'MATCHES', 'IN', 'ISSUBSET', 'ISSUPERSET', 'NOT'])
const QUALIFIERS = new Set(['WITHIN', 'REPEATS', 'START', 'STOP'])

/** Reads a STIX 2.x bundle: indicators with simple patterns become records; other objects are ignored. */
export const parseStix2: FeedParser = async function * (opts) {
  try {
    for await (const item of streamJsonArray(opts.path, 'objects')) {
      if ('error' in item) {
        // Only a broken element is one record's loss; a bundle without `objects` or cut short is not a feed.
        if (item.record !== true) {
          throw new FeedmatchError('FM_ERR_FEED_READ', `${opts.path}: not a readable STIX bundle: ${item.error} (line ${item.line})`)
        }
        yield { skipped: true, reason: item.error, line: item.line }
        continue
      }
      const out = indicatorRecord(item.value, item.line)
      if (out !== undefined) yield out
    }
  } catch (err) {
    if (isFeedmatchError(err)) throw err
    throw new FeedmatchError('FM_ERR_FEED_READ', `cannot read STIX bundle ${opts.path}: ${(err as Error).message}`, { cause: err })
  }
}

function indicatorRecord (obj: unknown, line: number): ParsedItem | undefined {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    return { skipped: true, reason: 'not a STIX object: expected a JSON object in "objects"', line }
  }
  const o = obj as Record<string, unknown>
  if (o.type !== 'indicator') return undefined
  if (o.revoked === true) return { skipped: true, reason: 'revoked', line }
  if (o.pattern_type !== undefined && o.pattern_type !== 'stix') {
    return { skipped: true, reason: `unsupported pattern_type: ${JSON.stringify(o.pattern_type)}`, line }
  }
  if (typeof o.pattern !== 'string') return { skipped: true, reason: 'indicator without a pattern', line }
  let expires: number | undefined
  if (o.valid_until !== undefined) {
    const ms = typeof o.valid_until === 'string' ? Date.parse(o.valid_until) : NaN
    if (Number.isNaN(ms)) return { skipped: true, reason: `invalid valid_until: ${JSON.stringify(o.valid_until)}`, line }
    expires = Math.floor(ms / 1000)
  }
  let indicators: RawIndicator[]
  try {
    indicators = parsePattern(o.pattern)
  } catch (err) {
    if (!(err instanceof PatternError)) throw err
    return { skipped: true, reason: err.message, line }
  }
  const context: Record<string, unknown> = {}
  for (const f of CONTEXT_FIELDS) if (o[f] !== undefined) context[f] = o[f]
  // Past valid_until still yields the record: the pipeline drops it and counts it as filtered.
  return expires === undefined ? { indicators, context, line } : { indicators, context, line, expires }
}

/** Why a pattern is skipped; its message is the skip reason (`kind: detail`). */
class PatternError extends Error {}

type Tok = { t: '[' | ']' | '(' | ')' | ',' | 'op' | 'str' | 'word', v: string } | { t: 'path', v: string, parts: string[] }

/** The indicators of a pattern (`[a = 'x' OR b = 'y'] OR [c = 'z']`); throws PatternError otherwise. */
export function parsePattern (pattern: string): RawIndicator[] {
  const toks = tokenize(pattern)
  let i = 0
  const out: RawIndicator[] = []
  const seen = new Set<string>()
  const peek = (): Tok | undefined => toks[i]
  const unexpected = (tok: Tok | undefined): PatternError =>
    new PatternError(tok === undefined ? 'invalid STIX pattern: unexpected end' : `invalid STIX pattern: unexpected ${JSON.stringify(tok.v)}`)
  const expect = (t: Tok['t']): Tok => {
    const tok = toks[i++]
    if (tok?.t !== t) throw unexpected(tok)
    return tok
  }
  // Both levels (observations and comparisons) only allow OR, so one routine serves both.
  const disjunction = (term: () => void, closer: ']' | ')' | undefined): void => {
    term()
    for (let tok = peek(); tok !== undefined && tok.t !== closer; tok = peek()) {
      if (tok.t !== 'word') throw unexpected(tok)
      const w = tok.v.toUpperCase()
      if (w === 'OR') { i++; term(); continue }
      if (w === 'AND' || w === 'FOLLOWEDBY') throw new PatternError(`unsupported STIX operator: ${w}`)
      if (QUALIFIERS.has(w)) throw new PatternError(`unsupported STIX qualifier: ${w}`)
      throw unexpected(tok)
    }
  }
  const comparison = (): void => {
    if (peek()?.t === '(') { i++; disjunction(comparison, ')'); expect(')'); return }
    const path = expect('path') as Extract<Tok, { t: 'path' }>
    const op = toks[i++]
    if (op?.t === 'word' && OPERATOR_WORDS.has(op.v.toUpperCase())) throw new PatternError(`unsupported STIX operator: ${op.v.toUpperCase()}`)
    if (op?.t !== 'op') throw unexpected(op)
    if (op.v !== '=') throw new PatternError(`unsupported STIX operator: ${op.v}`)
    const value = toks[i++]
    if (value?.t !== 'str') throw new PatternError(`unsupported STIX value: ${value === undefined ? 'none' : value.v} (only 'strings' are read)`)
    const kind = pathKind(path.parts)
    if (kind === undefined) throw new PatternError(`unsupported STIX object path: ${path.v}`)
    const v = value.v.trim()
    if (v === '') throw new PatternError(`empty STIX value for ${path.v}`)
    if (!seen.has(kind + ' ' + v)) { seen.add(kind + ' ' + v); out.push({ value: v, kind }) }
  }
  const observation = (): void => {
    if (peek()?.t === '(') { i++; disjunction(observation, ')'); expect(')'); return }
    expect('[')
    disjunction(comparison, ']')
    expect(']')
  }
  disjunction(observation, undefined)
  return out
}

function pathKind (parts: string[]): RawIndicator['kind'] | undefined {
  const [type, ...props] = parts
  if (type === 'file' && props.length === 2 && props[0] === 'hashes') {
    return HASH_KINDS[props[1].toUpperCase().replace('-', '')]
  }
  return props.length === 1 && props[0] === 'value' ? VALUE_KINDS[type] : undefined
}

const WORD = /[\w:.-]/

function tokenize (s: string): Tok[] {
  const out: Tok[] = []
  let i = 0
  // A quoted STIX string: `\'` and `\\` are its escapes (also `\"` in double-quoted producers' output).
  const quoted = (): string => {
    const q = s[i++]
    let v = ''
    while (i < s.length && s[i] !== q) {
      if (s[i] === '\\' && (s[i + 1] === q || s[i + 1] === '\\')) i++
      v += s[i++]
    }
    if (i >= s.length) throw new PatternError('invalid STIX pattern: unterminated string')
    i++
    return v
  }
  while (i < s.length) {
    const c = s[i]
    if (/\s/.test(c)) { i++; continue }
    if (c === '[' || c === ']' || c === '(' || c === ')' || c === ',') { out.push({ t: c, v: c }); i++; continue }
    if (c === "'" || c === '"') { out.push({ t: 'str', v: quoted() }); continue }
    const op = /^(!=|<=|>=|=|<|>)/.exec(s.slice(i, i + 2))
    if (op !== null) { out.push({ t: 'op', v: op[1] }); i += op[1].length; continue }
    if (!WORD.test(c)) throw new PatternError(`invalid STIX pattern: unexpected ${JSON.stringify(c)}`)
    const start = i
    while (i < s.length && WORD.test(s[i])) i++
    let word = s.slice(start, i)
    // t'...', h'...', b'...': typed literals (timestamps, hex, binary), none of which we index.
    if (/^[thb]$/.test(word) && (s[i] === "'" || s[i] === '"')) { out.push({ t: 'word', v: word + `'${quoted()}'` }); continue }
    if (!word.includes(':')) { out.push({ t: 'word', v: word }); continue }
    // An object path: `file:hashes.'SHA-256'`, `a:b[*].c`; quoted and indexed steps are read whole.
    const parts = [word.slice(0, word.indexOf(':'))]
    let step = word.slice(word.indexOf(':') + 1)
    for (;;) {
      if (step.endsWith('.') && (s[i] === "'" || s[i] === '"')) {
        parts.push(...step.slice(0, -1).split('.').filter(Boolean), quoted())
        step = ''
      } else if (s[i] === '[') {
        const end = s.indexOf(']', i)
        if (end < 0) throw new PatternError('invalid STIX pattern: unclosed [ in an object path')
        step += s.slice(i, end + 1)
        i = end + 1
      } else {
        parts.push(...step.split('.').filter(Boolean))
        break
      }
      const more = i
      while (i < s.length && WORD.test(s[i])) i++
      step += s.slice(more, i)
    }
    word = s.slice(start, i)
    out.push({ t: 'path', v: word, parts })
  }
  return out
}
