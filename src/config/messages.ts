/**
 * How configuration errors read: `SOURCE: PATH: expected WHAT; found VALUE`, with the line in the
 * file when there is one, and a suggestion for a mistyped key or value. A value that came from a
 * command-line flag is named by the flag instead (`--output: expected ...`).
 */
import type { ErrorObject } from 'ajv'
import { FeedmatchError } from '../errors.js'

/** A step of a path into the config: an object key or an array index. */
export type Seg = string | number

/** Where a config came from, and how to name a place in it. */
export interface Where {
  /** The file as the user named it, or the entry point (`HTTP API`). */
  source: string
  /** The CLI flag that set the value at `segs`, if one did. */
  flagFor?: (segs: Seg[]) => string | undefined
  /**
   * ` at line L, column C` of the value at `segs` in the file (of its key with `atKey`), or of
   * its nearest ancestor there; '' when the file has no such place.
   */
  locate?: (segs: Seg[], atKey?: boolean) => string
}

/** A problem found at a place: `text` comes before the location, `hint` after it. */
export interface Problem {
  segs: Seg[]
  text: string
  hint?: string
  /** Where to point in the file when it differs from `segs`. */
  locSegs?: Seg[]
  /** Point at the key of the last step rather than its value (an unknown key). */
  atKey?: boolean
}

/** `feeds.sources[2].format` from path steps. */
export function formatPath (segs: readonly Seg[]): string {
  let out = ''
  for (const seg of segs) {
    if (typeof seg === 'number') out += `[${seg}]`
    else if (/^[A-Za-z_$][\w$-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`
    else out += `[${JSON.stringify(seg)}]`
  }
  return out
}

/** How a place is named in a message: the flag that set it, else its path in the file. */
export function label (where: Where, segs: Seg[]): string {
  return where.flagFor?.(segs) ?? formatPath(segs)
}

/** The FM_ERR_CONFIG error for a problem. */
export function configError (where: Where, p: Problem): FeedmatchError {
  const flag = where.flagFor?.(p.segs)
  const path = formatPath(p.segs)
  const prefix = flag !== undefined ? `${flag}: ` : `${where.source}: ${path === '' ? '' : `${path}: `}`
  const at = flag !== undefined ? '' : where.locate?.(p.locSegs ?? p.segs, p.atKey) ?? ''
  return new FeedmatchError('FM_ERR_CONFIG', `${prefix}${p.text}${at}${p.hint ?? ''}`)
}

/** A value as a message shows it: strings quoted, long values cut. */
export function formatFound (value: unknown): string {
  if (value === undefined) return 'nothing'
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value)
  let s: string
  try { s = JSON.stringify(value) ?? String(value) } catch { s = String(value) }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s
}

function editDistance (a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = row
  }
  return prev[b.length]!
}

/** The candidate the user most likely meant, if one is close enough (`lisen` -> `listen`). */
export function suggest (word: string, candidates: readonly string[]): string | undefined {
  // snake_case, kebab-case and wrong case are the commonest slips from other tools' configs.
  const squash = (s: string): string => s.toLowerCase().replace(/[-_]/g, '')
  const same = candidates.find(c => squash(c) === squash(word))
  if (same !== undefined) return same
  let best: string | undefined
  let bestDistance = Math.min(3, Math.max(1, Math.ceil(word.length / 3))) + 1
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase())
    if (d < bestDistance) { best = c; bestDistance = d }
  }
  return best
}

type Schema = Record<string, unknown>

function describeType (type: string, s: Schema): string {
  const min = s.minimum as number | undefined
  const max = s.maximum as number | undefined
  switch (type) {
    case 'integer':
    case 'number': {
      const noun = type === 'integer' ? 'an integer' : 'a number'
      if (min !== undefined && max !== undefined) return `${noun} from ${min} to ${max}`
      if (min !== undefined) return `${noun} >= ${min}`
      return max !== undefined ? `${noun} <= ${max}` : noun
    }
    case 'string': return s.minLength === 1 ? 'a non-empty string' : 'a string'
    case 'boolean': return 'true or false'
    case 'array': return 'a list'
    case 'object': return 'an object'
    default: return type
  }
}

/** What a schema asks for, in words. */
export function describeSchema (schema: unknown): string {
  if (typeof schema !== 'object' || schema === null) return 'a valid value'
  const s = schema as Schema
  if (typeof s.expected === 'string') return s.expected
  if (Array.isArray(s.enum)) return `one of ${s.enum.join(', ')}`
  if ('const' in s) return JSON.stringify(s.const)
  if (Array.isArray(s.anyOf)) return s.anyOf.map(describeSchema).join(' or ')
  const types = Array.isArray(s.type) ? s.type as string[] : typeof s.type === 'string' ? [s.type] : []
  if (types.length === 0) return 'a valid value'
  return types.map(t => describeType(t, s)).join(' or ')
}

/** JSON pointer (`/feeds/sources/2`) to path steps; array indexes become numbers. */
export function pointerToSegs (pointer: string, root: unknown): Seg[] {
  if (pointer === '') return []
  const segs: Seg[] = []
  let node = root
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    const seg: Seg = Array.isArray(node) && /^\d+$/.test(key) ? Number(key) : key
    segs.push(seg)
    node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[seg] : undefined
  }
  return segs
}

/**
 * The error to report from ajv's list. With `allErrors: false` the list is the chain of one
 * failure: errors of failed anyOf branches, then the anyOf itself (whose `expected` says it best),
 * then any `if` wrappers, which say nothing useful.
 */
export function pickAjvError (errors: readonly ErrorObject[]): ErrorObject {
  for (let i = errors.length - 1; i >= 0; i--) {
    if (errors[i]!.keyword !== 'if') return errors[i]!
  }
  return errors[0]!
}

/** An ajv error (compiled with `verbose: true`) as a Problem. */
export function ajvProblem (err: ErrorObject, root: unknown): Problem {
  const segs = pointerToSegs(err.instancePath, root)
  const parent = err.parentSchema as Schema | undefined
  switch (err.keyword) {
    case 'required': {
      const key = String(err.params.missingProperty)
      const sub = (parent?.properties as Schema | undefined)?.[key]
      return { segs: [...segs, key], locSegs: segs, text: `expected ${describeSchema(sub)}; found nothing` }
    }
    case 'additionalProperties': {
      const key = String(err.params.additionalProperty)
      const known = Object.keys((parent?.properties as Schema | undefined) ?? {})
      const guess = suggest(key, known)
      return {
        segs,
        locSegs: [...segs, key],
        atKey: true,
        text: `unknown key ${JSON.stringify(key)}`,
        hint: guess !== undefined ? ` (did you mean ${JSON.stringify(guess)}?)` : `; expected one of ${known.join(', ')}`,
      }
    }
    case 're2':
      return {
        segs,
        text: `expected an RE2 pattern; found ${formatFound(err.data)}`,
        hint: `, which RE2 rejects: ${String(err.params.reason)}`,
      }
    case 'minItems':
    case 'maxItems':
      return { segs, text: `expected a list with ${err.keyword === 'minItems' ? 'at least' : 'at most'} ${String(err.params.limit)} items; found ${formatFound(err.data)}` }
    default: {
      const found = err.data
      const allowed = parent?.enum
      const guess = typeof found === 'string' && Array.isArray(allowed) ? suggest(found, allowed as string[]) : undefined
      return {
        segs,
        text: `expected ${describeSchema(parent)}; found ${formatFound(found)}`,
        ...(guess !== undefined ? { hint: ` (did you mean ${JSON.stringify(guess)}?)` } : {}),
      }
    }
  }
}
