import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { isIP } from 'node:net'
import { FeedmatchError } from '../../errors.js'
import type { FeedParser, ParsedItem, RawIndicator } from '../record.js'

/**
 * MISP feed folders: `manifest.json` lists the events, one `<uuid>.json` file each. Every attribute
 * of a known type becomes one record (its event's facts in the context); one marked `to_ids: false`
 * is yielded as not for detection (counted as filtered) unless the feed sets `misp.allAttributes`. Event files are read one
 * at a time and parsed whole: MISP writes them that way and each stays small next to the feed.
 */

type Obj = Record<string, unknown>

const HASH_LENGTHS: Record<string, number> = { md5: 32, sha1: 40, sha256: 64 }

/** Reads a MISP feed folder (manifest.json and one file per event); one record per usable attribute. */
export const parseMisp: FeedParser = async function * (opts) {
  const manifest = await readManifest(opts.path)
  for (const [key, entry] of Object.entries(manifest)) {
    const file = `${key}.json`
    // The manifest names files; a key that is not a plain uuid must not lead outside the folder.
    if (!/^[A-Za-z0-9-]+$/.test(key)) {
      yield { skipped: true, reason: `invalid event uuid in manifest.json: ${JSON.stringify(key)}` }
      continue
    }
    let event: Obj
    try {
      const doc = JSON.parse(await readFile(join(opts.path, file), 'utf8')) as unknown
      const ev = isObj(doc) ? doc.Event : undefined
      if (!isObj(ev)) throw new Error('no "Event" object')
      event = ev
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      const why = e.code === 'ENOENT' ? 'missing event file' : 'unreadable event file'
      yield { skipped: true, reason: `${why}: ${file}${e.code === 'ENOENT' ? '' : ` (${e.message})`}` }
      continue
    }
    yield * eventRecords(event, isObj(entry) ? entry : {}, key, file, opts.allAttributes === true)
  }
}

async function readManifest (dir: string): Promise<Obj> {
  let text: string
  try {
    text = await readFile(join(dir, 'manifest.json'), 'utf8')
  } catch (err) {
    throw new FeedmatchError('FM_ERR_FEED_READ', `MISP feed ${dir}: cannot read manifest.json (${(err as Error).message})`, { cause: err })
  }
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    throw new FeedmatchError('FM_ERR_FEED_READ', `MISP feed ${dir}: manifest.json is not valid JSON (${(err as Error).message})`, { cause: err })
  }
  if (!isObj(doc)) throw new FeedmatchError('FM_ERR_FEED_READ', `MISP feed ${dir}: manifest.json is not an object of events by uuid`)
  return doc
}

function * eventRecords (event: Obj, entry: Obj, key: string, file: string, allAttributes: boolean): Generator<ParsedItem> {
  const eventUuid = str(event.uuid) ?? key
  const eventTags = tagNames(event.Tag ?? entry.Tag)
  const base = { event_uuid: eventUuid, event_info: event.info ?? entry.info, threat_level_id: event.threat_level_id ?? entry.threat_level_id }
  const attributes: unknown[] = Array.isArray(event.Attribute) ? [...event.Attribute] : []
  for (const obj of Array.isArray(event.Object) ? event.Object : []) {
    if (isObj(obj) && !isDeleted(obj) && Array.isArray(obj.Attribute)) attributes.push(...obj.Attribute)
  }
  for (const a of attributes) {
    if (!isObj(a) || isDeleted(a)) continue
    const type = str(a.type) ?? ''
    const indicators = typeof a.value === 'string' ? attributeIndicators(type, a.value.trim()) : null
    // Types that carry no indicator we index (text, email-src, regkey...) are not errors.
    if (indicators === undefined) continue
    if (indicators === null) {
      const value = JSON.stringify(typeof a.value === 'string' ? a.value.slice(0, 200) : a.value ?? null)
      yield { skipped: true, reason: `malformed MISP attribute value: ${type} ${value} (event ${eventUuid}, attribute ${str(a.uuid) ?? '?'}, ${file})` }
      continue
    }
    const tags = [...new Set([...eventTags, ...tagNames(a.Tag)])]
    const context = compact({
      ...base,
      category: a.category,
      type,
      comment: a.comment,
      tags,
      timestamp: a.timestamp,
      first_seen: a.first_seen,
      last_seen: a.last_seen,
      to_ids: a.to_ids
    })
    // MISP's own switch for "use this to detect": an attribute marked false is context (a victim
    // address, a sinkholed domain), not an indicator, unless the feed says allAttributes.
    const forDetection = !(a.to_ids === false || a.to_ids === '0' || a.to_ids === 0)
    yield forDetection || allAttributes ? { indicators, context } : { indicators, context, notForDetection: true }
  }
}

/** The indicators of one attribute; null for a malformed value, undefined for a type not indexed. */
function attributeIndicators (type: string, value: string): RawIndicator[] | null | undefined {
  // Compound values are `left|right`; the right part (a port, a hash, an IP) never holds a `|`.
  const bar = value.lastIndexOf('|')
  const left = value.slice(0, bar)
  const right = value.slice(bar + 1)
  switch (type) {
    case 'md5': case 'sha1': case 'sha256':
      return isHash(value, type) ? [{ value, kind: type }] : null
    case 'ip-src': case 'ip-dst':
      return isIpOrNet(value) ? [{ value, kind: 'ip' }] : null
    case 'ip-src|port': case 'ip-dst|port':
      return bar > 0 && isIpOrNet(left) && isPort(right) ? [{ value: left, kind: 'ip' }] : null
    case 'domain': case 'hostname':
      return isHost(value) ? [{ value, kind: type === 'domain' ? 'domain' : 'host' }] : null
    case 'hostname|port':
      return bar > 0 && isHost(left) && isPort(right) ? [{ value: left, kind: 'host' }] : null
    case 'domain|ip':
      return bar > 0 && isHost(left) && isIpOrNet(right) ? [{ value: left, kind: 'domain' }, { value: right, kind: 'ip' }] : null
    case 'url':
      return value !== '' && !/\s/.test(value) ? [{ value, kind: 'url' }] : null
    case 'filename|md5': case 'filename|sha1': case 'filename|sha256': {
      const kind = type.slice(9) as 'md5' | 'sha1' | 'sha256'
      return bar > 0 && isHash(right, kind) ? [{ value: right, kind }] : null
    }
    default:
      return undefined
  }
}

function isHash (v: string, kind: string): boolean {
  return v.length === HASH_LENGTHS[kind] && /^[0-9a-fA-F]+$/.test(v)
}

function isIpOrNet (v: string): boolean {
  const slash = v.indexOf('/')
  if (slash < 0) return isIP(v) !== 0
  const family = isIP(v.slice(0, slash))
  const len = v.slice(slash + 1)
  return family !== 0 && /^\d{1,3}$/.test(len) && Number(len) <= (family === 4 ? 32 : 128)
}

function isPort (v: string): boolean {
  return /^\d{1,5}$/.test(v) && Number(v) <= 65535
}

function isHost (v: string): boolean {
  return v !== '' && !/[\s/|:@]/.test(v)
}

function isObj (v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function isDeleted (o: Obj): boolean {
  // Older MISP exports write booleans as "0"/"1" strings.
  return o.deleted === true || o.deleted === '1' || o.deleted === 1
}

function str (v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined
}

function tagNames (tags: unknown): string[] {
  if (!Array.isArray(tags)) return []
  return tags.map((t) => (isObj(t) ? str(t.name) : undefined)).filter((n): n is string => n !== undefined)
}

/** Drops empty fields, so contexts (stored per record, shown in every detection) stay short. */
function compact (o: Obj): Obj {
  const out: Obj = {}
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0)) continue
    out[k] = v
  }
  return out
}
