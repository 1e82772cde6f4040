import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eachItem, isSkipped, type FeedParser, type FeedRecord, type ParsedItem, type ParserOptions, type SkippedRecord } from '../../src/feeds/record.js'

/** A temp folder for one format's test files, and that format's parser run to completion. */
export async function formatFixture (parser: FeedParser, name: string, ext: string): Promise<{
  file: (text: string, extension?: string) => Promise<string>
  parse: (path: string, more?: Partial<ParserOptions>) => Promise<ParsedItem[]>
  dir: string
}> {
  const dir = await mkdtemp(join(tmpdir(), `feedmatch-${name}-`))
  let n = 0
  return {
    dir,
    async file (text, extension = ext) {
      const path = join(dir, `f${n++}${extension}`)
      await writeFile(path, text)
      return path
    },
    async parse (path, more = {}) {
      const out: ParsedItem[] = []
      for await (const item of eachItem(parser({ path, indicators: [], ...more }))) out.push(item)
      return out
    }
  }
}

export const records = (items: ParsedItem[]): FeedRecord[] => items.filter((i): i is FeedRecord => !isSkipped(i))
export const skips = (items: ParsedItem[]): SkippedRecord[] => items.filter(isSkipped)
export const values = (r: FeedRecord): string[] => r.indicators.map((i) => `${i.kind}:${i.value}`)
