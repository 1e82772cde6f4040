import type { FeedParser } from '../record.js'
import type { FeedFormat } from '../detect.js'
import { parseKaspersky } from './kaspersky.js'
import { parseJson } from './json.js'
import { parseXml } from './xml.js'
import { parseCsv } from './csv.js'
import { parseList } from './list.js'
import { parseStix2 } from './stix2.js'
import { parseMisp } from './misp.js'

/** Every feed format feedmatch reads, by the name used in `format:`. */
export const PARSERS: Record<FeedFormat, FeedParser> = {
  kaspersky: parseKaspersky,
  json: parseJson,
  xml: parseXml,
  csv: parseCsv,
  stix2: parseStix2,
  misp: parseMisp,
  list: parseList
}
