/**
 * Regular expressions that read key=value output back, derived from the template text itself, so
 * a parser made from them cannot drift from what `serve` renders. They rely on the `kv` escaping
 * (render/escape.ts): a value holds no unescaped `=`, so the lazy value group
 * `(?:[^\\=]|\\.)*?` cannot run past the next ` key=`; the last field takes the rest of the line.
 */
import { FeedmatchError } from '../errors.js'

/** The value of one key=value field: anything but `\` and `=`, or an escape pair. */
export const KV_VALUE = '(?:[^\\\\=]|\\\\.)*?'

/** Regex dialect of the named groups: Python's `(?P<n>)` (ossim-agent) or PCRE/JS `(?<n>)`. */
export type RegexFlavor = 'python' | 'pcre'

/** A template turned into one regex, with the group names in order. */
export interface TemplateRegex {
  source: string
  groups: string[]
}

type Part = { lit: string } | { ph: string }

/** Cuts a template into literals and `%Placeholder%`s (`%%` is a literal `%`). */
function parts (template: string): Part[] {
  const out: Part[] = []
  let lit = ''
  for (let i = 0; i < template.length;) {
    if (template[i] === '%') {
      if (template[i + 1] === '%') { lit += '%'; i += 2; continue }
      const end = template.indexOf('%', i + 1)
      if (end === -1) throw new FeedmatchError('FM_ERR_CONFIG', `template "${template}": a lone % at character ${i + 1}`)
      if (lit !== '') out.push({ lit })
      lit = ''
      out.push({ ph: template.slice(i + 1, end) })
      i = end + 1
      continue
    }
    lit += template[i]
    i++
  }
  if (lit !== '') out.push({ lit })
  return out
}

// Every regex metacharacter escaped; spaces stay as they are (ossim-agent reads the pattern raw).
function escapeLiteral (s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}

/**
 * The regex of a key=value template: each `key=%Placeholder%` becomes a group named `key`; the
 * last placeholder of the template takes the rest of the line; a placeholder without a key
 * (`%ActionableFields%`, a list of pairs) becomes a group that may hold `=`. Unanchored: the
 * line may start with a syslog header or a file timestamp.
 */
export function kvTemplateRegex (template: string, flavor: RegexFlavor): TemplateRegex {
  const list = parts(template)
  const groups: string[] = []
  let source = ''
  list.forEach((p, i) => {
    if ('lit' in p) {
      source += escapeLiteral(p.lit)
      return
    }
    const prev = list[i - 1]
    const key = prev !== undefined && 'lit' in prev ? /([A-Za-z_][A-Za-z0-9_]*)=$/.exec(prev.lit)?.[1] : undefined
    let name = (key ?? p.ph).toLowerCase()
    for (let n = 2; groups.includes(name); n++) name = `${(key ?? p.ph).toLowerCase()}_${n}`
    groups.push(name)
    const last = i === list.length - 1
    const body = last ? '.*' : key !== undefined ? KV_VALUE : '(?:[^\\\\]|\\\\.)*?'
    source += flavor === 'python' ? `(?P<${name}>${body})` : `(?<${name}>${body})`
  })
  return { source, groups }
}

