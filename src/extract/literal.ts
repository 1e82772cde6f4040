/**
 * A literal that every match of an RE2 pattern contains, as a cheap prefilter for the rules a
 * source adds beside the byte scanner: when the event lacks it, RE2 cannot match, and one native
 * search (memchr-based) costs far less than an RE2 call.
 */

// Characters that stand for themselves outside a class in RE2 syntax.
const PLAIN = /[A-Za-z0-9 =:_/@#%&,;'"<>~!-]/
// Escapes of punctuation stand for the character; escapes of letters and digits are classes.
const ESCAPED = /[^A-Za-z0-9]/

/**
 * The pattern's leading run of literal characters (3 bytes at least), or null when there is none
 * or when a top-level alternation could match without it. A quantifier after the run's last
 * character makes that one optional, so it is left out.
 */
export function requiredLiteral (pattern: string): Buffer | null {
  if (topLevelAlternation(pattern)) return null
  let lit = ''
  let i = 0
  // Zero-width anchors in front take no byte: the literal after them still is required.
  while (pattern.startsWith('^', i) || /^\\[bBA]/.test(pattern.slice(i, i + 2))) i += pattern[i] === '^' ? 1 : 2
  while (i < pattern.length) {
    const ch = pattern[i]!
    if (ch === '\\') {
      const n = pattern[i + 1]
      if (n === undefined || !ESCAPED.test(n)) break
      lit += n
      i += 2
    } else if (PLAIN.test(ch)) {
      lit += ch
      i++
    } else {
      break
    }
  }
  const q = pattern[i]
  if (q === '?' || q === '*' || q === '{') lit = lit.slice(0, -1)
  return Buffer.byteLength(lit) >= 3 ? Buffer.from(lit) : null
}

function topLevelAlternation (pattern: string): boolean {
  let depth = 0
  let inClass = false
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]
    if (ch === '\\') { i++; continue }
    if (inClass) { if (ch === ']') inClass = false; continue }
    if (ch === '[') inClass = true
    else if (ch === '(') depth++
    else if (ch === ')') depth--
    else if (ch === '|' && depth === 0) return true
  }
  return false
}
