/**
 * URL mask matching: `*` matches any run of characters (also empty, also `/`); every other char,
 * `?` included, is literal. Masks are bytes (UTF-8) and the URL a byte string (text.ts), and
 * UTF-8 is self-synchronizing, so matching bytes gives the same answer as matching characters.
 */

const STAR = 42

/**
 * True when mask bytes m[ms .. me) match the URL `host + rest` (never concatenated, so a miss
 * allocates nothing). Iterative two pointers: on a mismatch, back up to just after the last `*`
 * and let it swallow one more char. Only the last `*` is ever revisited, which keeps it near
 * linear on real masks (worst case O(mask * url), no regex and no recursion).
 */
export function globMatch (m: Uint8Array, ms: number, me: number, host: string, rest: string): boolean {
  const hl = host.length
  const n = hl + rest.length
  let p = ms
  let t = 0
  let afterStar = -1
  let starT = 0
  while (t < n) {
    if (p < me) {
      const c = m[p]
      if (c === STAR) {
        afterStar = ++p
        starT = t
        continue
      }
      if (c === (t < hl ? host.charCodeAt(t) : rest.charCodeAt(t - hl))) {
        p++
        t++
        continue
      }
    }
    if (afterStar < 0) return false
    p = afterStar
    t = ++starT
  }
  while (p < me && m[p] === STAR) p++
  return p === me
}
