/**
 * URL mask matching: `*` matches any run of characters (also empty, also `/`); every other char,
 * `?` included, is literal. Masks are bytes (UTF-8) and the URL a byte string (text.ts), and
 * UTF-8 is self-synchronizing, so matching bytes gives the same answer as matching characters.
 */

const STAR = 42

/**
 * True when mask bytes m[ms .. me) match the URL `host + rest` (never concatenated, so a miss
 * allocates nothing). Hot path: root-anchored masks run on every URL that holds their needle
 * (maskNeedle). Iterative two pointers: on a mismatch, back up to just after the last `*` and
 * let it swallow more chars. Only the last `*` is ever revisited, which keeps it near linear on
 * real masks (worst case O(mask * url), no regex and no recursion).
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
        // A trailing `*` takes whatever is left.
        if (p === me) return true
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
    // The `*` swallows one more char, then skips straight to where the literal after it can
    // start (m[afterStar] is never a `*`: consecutive stars move afterStar past them all).
    const first = m[afterStar]
    t = starT + 1
    while (t < n && (t < hl ? host.charCodeAt(t) : rest.charCodeAt(t - hl)) !== first) t++
    starT = t
    p = afterStar
  }
  while (p < me && m[p] === STAR) p++
  return p === me
}

/**
 * The longest run of mask bytes m[ms .. me) without a `*`, as a byte string (text.ts): every URL
 * the mask matches holds it. '' when the mask is all stars.
 */
export function maskNeedle (m: Uint8Array, ms: number, me: number): string {
  let best = ms
  let bestEnd = ms
  for (let s = ms; s < me;) {
    let e = s
    while (e < me && m[e] !== STAR) e++
    if (e - s > bestEnd - best) { best = s; bestEnd = e }
    s = e + 1
  }
  return Buffer.from(m.buffer, m.byteOffset + best, bestEnd - best).toString('latin1')
}

/**
 * True when the URL `host + rest` holds `needle` (never concatenated): in the host, in the rest
 * (native searches), or across the two. Hot path: the prefilter of root-anchored masks.
 */
export function holdsNeedle (host: string, rest: string, needle: string): boolean {
  if (host.includes(needle) || rest.includes(needle)) return true
  const n = needle.length
  const hl = host.length
  // Across: the needle's first k chars end the host, the others start the rest.
  for (let k = Math.max(1, n - rest.length); k < n && k <= hl; k++) {
    let j = 0
    while (j < k && host.charCodeAt(hl - k + j) === needle.charCodeAt(j)) j++
    if (j < k) continue
    while (j < n && rest.charCodeAt(j - k) === needle.charCodeAt(j)) j++
    if (j === n) return true
  }
  return false
}
