/**
 * Glob patterns for `scan` PATH arguments, for shells that pass them quoted (and for `**`, which
 * not every shell expands): `*` and `?` within one path segment, `[abc]` / `[!abc]`, `{a,b}`,
 * and `**` for any number of folders. Translated to one RegExp over `/`-separated relative paths.
 */

/** True when the argument holds glob syntax. */
export function hasMagic (s: string): boolean {
  return /[*?[{]/.test(s)
}

/** Splits a pattern into the folder to walk (its leading plain segments) and the rest, relative to it. */
export function globBase (pattern: string): { base: string, rest: string } {
  const parts = pattern.split('/')
  let i = 0
  while (i < parts.length - 1 && !hasMagic(parts[i])) i++
  const base = parts.slice(0, i).join('/')
  return { base: base === '' && pattern.startsWith('/') ? '/' : base, rest: parts.slice(i).join('/') }
}

/** A RegExp matching the relative paths that `rest` (a pattern without its base) names. */
export function globToRegExp (rest: string): RegExp {
  let re = ''
  let braces = 0
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i]
    if (c === '*') {
      if (rest[i + 1] === '*' && (i === 0 || rest[i - 1] === '/') && (i + 2 === rest.length || rest[i + 2] === '/')) {
        // `**` as a whole segment: any number of folders (also none).
        re += i + 2 === rest.length ? '.*' : '(?:[^/]*/)*'
        i += 2
      } else {
        re += '[^/]*'
      }
    } else if (c === '?') {
      re += '[^/]'
    } else if (c === '[') {
      const close = rest.indexOf(']', i + 2)
      if (close < 0) { re += '\\['; continue }
      let body = rest.slice(i + 1, close)
      const negate = body.startsWith('!') || body.startsWith('^')
      if (negate) body = body.slice(1)
      re += `[${negate ? '^/' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`
      i = close
    } else if (c === '{') {
      braces++
      re += '(?:'
    } else if (c === '}' && braces > 0) {
      braces--
      re += ')'
    } else if (c === ',' && braces > 0) {
      re += '|'
    } else {
      re += c.replace(/[.+^$()|\\{}]/g, '\\$&')
    }
  }
  return new RegExp(`^${re}$`)
}
