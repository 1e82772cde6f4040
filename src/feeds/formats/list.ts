import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { feedError } from '../detect.js'
import type { FeedParser, ParsedItem } from '../record.js'

// A trailing comment needs whitespace before `#` or `;` (Spamhaus DROP: `1.10.16.0/20 ; SBL256894`),
// so that URL fragments (`/page#top`) and parameters (`/a;b`) stay values.
const TRAILING_COMMENT = /\s[#;]/

/**
 * Plain lists: one indicator a line, `#` and `;` comments (whole lines, and after whitespace at the
 * end of a line), blank lines ignored, LF or CRLF. This reads FireHOL netsets, Spamhaus DROP and
 * maltrail trails as they are published. The kind is `auto`, or the kind of the feed's mapping.
 * A line holding more than one value (a hosts file's `0.0.0.0 evil.com`) is skipped, not guessed at.
 */
export const parseList: FeedParser = async function * (opts): AsyncGenerator<ParsedItem> {
  const kind = opts.indicators[0]?.kind ?? 'auto'
  try {
    const rl = createInterface({ input: createReadStream(opts.path), crlfDelay: Infinity })
    let line = 0
    for await (const raw of rl) {
      line++
      let value = (line === 1 ? raw.replace(/^\ufeff/, '') : raw).trim()
      if (value === '' || value.startsWith('#') || value.startsWith(';')) continue
      let comment: string | undefined
      const hash = value.search(TRAILING_COMMENT)
      if (hash > 0) {
        comment = value.slice(hash + 2).trim()
        value = value.slice(0, hash).trim()
      }
      if (/\s/.test(value)) {
        yield { skipped: true, reason: `more than one value on the line ("${value.slice(0, 80)}")`, line }
        continue
      }
      yield { indicators: [{ value, kind }], context: comment ? { comment } : {}, line }
    }
  } catch (err) {
    throw feedError(opts.path, err)
  }
}
