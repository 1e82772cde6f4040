/**
 * One rule compiled to RE2 and run on event bytes. RE2 is linear in the input whatever the
 * pattern, so a user's rule can never stall a worker; on a Buffer it reports byte offsets.
 *
 * Bytes that are not UTF-8 (binary events, Latin-1 text) are passed as they are: RE2 never
 * throws on them, and no character class, not even `.`, matches such a byte, so it ends any
 * token around it. A Latin-1 view was considered and refused: it would cost a copy per event
 * and rule, and would break `\p{L}` on the UTF-8 text that nearly all events are.
 */
import RE2 from 're2'
import { FeedmatchError } from '../errors.js'

/** A compiled pattern: `d` for the byte offsets of groups, `g` to walk matches with lastIndex. */
export function compilePattern (pattern: string, flags: string, what: string): RE2 {
  try {
    return new RE2(pattern, flags)
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err)
    throw new FeedmatchError('FM_ERR_CONFIG', `${what}: invalid RE2 pattern ${JSON.stringify(pattern)}: ${why}`, { cause: err })
  }
}

/**
 * Calls `found(start, end)` (offsets in `text`) for each match's first group, or for the whole
 * match when the pattern has no group; a match whose group took no part gives nothing. `found`
 * says whether it took the value; with `first`, the walk stops at the first value taken.
 */
export function forEachMatch (re: RE2, text: Buffer, first: boolean, found: (start: number, end: number) => boolean): void {
  re.lastIndex = 0
  for (;;) {
    const m = re.exec(text)
    if (m === null) return // exec also reset lastIndex
    const idx = m.indices as Array<[number, number] | undefined>
    const whole = idx[0] as [number, number]
    // An empty match would be found again at the same place: step over one byte.
    if (whole[0] === whole[1]) re.lastIndex++
    const span = idx.length > 1 ? idx[1] : whole
    if (span !== undefined && found(span[0], span[1]) && first) return
  }
}
