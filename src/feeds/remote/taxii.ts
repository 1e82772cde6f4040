/**
 * TAXII 2.1 collections (OASIS TAXII 2.1, sections 4 and 5): the API root from discovery (or as
 * configured), the collection by id or title, then its objects polled with `added_after` and
 * paged with `next` while `more` is true. Only what was added since the last poll is downloaded;
 * the objects are merged by id (the newest `modified` wins, revoked ones leave) into the bundle
 * held, which the `stix2` format reads. The cursor moves only once the new bundle went in.
 */
import { createWriteStream } from 'node:fs'
import { once } from 'node:events'
import { finished } from 'node:stream/promises'
import { streamJsonArrayBatches } from '../json-stream.js'
import { randomUUID } from 'node:crypto'
import { FeedmatchError } from '../../errors.js'
import type { RemoteSource } from '../../config/types.js'
import { getJson, redact, requestHeaders } from './http.js'
import { secretValue } from './secret.js'
import type { FetchState } from './state.js'

const MEDIA = 'application/taxii+json;version=2.1'
/** Objects asked for per page; servers may send fewer (and say `more`). */
const PAGE = 1000
/** Pages per poll at most: a runaway `more` cannot keep a poll going for ever. */
const MAX_PAGES = 10_000

export interface TaxiiResult {
  status: 'not-modified' | 'downloaded'
  taxii: NonNullable<FetchState['taxii']>
  added: number
}

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

function headersOf (src: RemoteSource, what: string): Record<string, string> {
  const t = src.taxii
  const auth: Record<string, string> = {}
  if (t?.token !== undefined) auth.authorization = `Bearer ${secretValue(t.token, `${what}: taxii.token`)}`
  else if (t?.username !== undefined) {
    const user = secretValue(t.username, `${what}: taxii.username`)
    const pass = t.password === undefined ? '' : secretValue(t.password, `${what}: taxii.password`)
    auth.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`
  }
  return requestHeaders(src, what, { accept: MEDIA, ...auth })
}

const slash = (u: string): string => u.endsWith('/') ? u : u + '/'

/** The collection's objects URL: from the API root (or discovery's default root), the collection by id or title. */
async function objectsUrl (src: RemoteSource, what: string, headers: Record<string, string>): Promise<string> {
  const t = src.taxii as NonNullable<RemoteSource['taxii']>
  let apiRoot = t.apiRoot
  if (apiRoot === undefined) {
    const { body } = await getJson(src, what, t.discovery as string, headers)
    const roots = isObj(body) ? [body.default, ...(Array.isArray(body.api_roots) ? body.api_roots : [])].filter((r): r is string => typeof r === 'string') : []
    if (roots.length === 0) throw new FeedmatchError('FM_ERR_FEED_FETCH', `${what}: the discovery answer of ${redact(t.discovery as string)} names no API root`)
    apiRoot = new URL(roots[0], t.discovery).toString()
  }
  const { body } = await getJson(src, what, slash(apiRoot) + 'collections/', headers)
  const list = isObj(body) && Array.isArray(body.collections) ? body.collections.filter(isObj) : []
  const c = list.find((x) => x.id === t.collection) ?? list.find((x) => x.title === t.collection)
  if (c === undefined) {
    const names = list.map((x) => `${String(x.title)} (${String(x.id)})`).join(', ') || 'none'
    throw new FeedmatchError('FM_ERR_FEED_FETCH', `${what}: the API root ${redact(apiRoot)} has no collection "${t.collection}" (it has: ${names})`)
  }
  if (c.can_read === false) throw new FeedmatchError('FM_ERR_FEED_FETCH', `${what}: collection "${t.collection}" cannot be read with these credentials`)
  return `${slash(apiRoot)}collections/${encodeURIComponent(String(c.id))}/objects/`
}

/** Polls what was added since the cursor into `file` (the merged bundle); `current` is the bundle held. */
export async function fetchTaxii (src: RemoteSource, what: string, file: string, current: string, held: FetchState['taxii'] = {}): Promise<TaxiiResult> {
  const headers = headersOf(src, what)
  const url = held.objectsUrl ?? await objectsUrl(src, what, headers)
  const fresh: Obj[] = []
  let addedAfter = held.addedAfter
  let next: string | undefined
  for (let page = 0; page < MAX_PAGES; page++) {
    const q = new URLSearchParams({ limit: String(PAGE) })
    if (held.addedAfter !== undefined) q.set('added_after', held.addedAfter)
    if (next !== undefined) q.set('next', next)
    const { body, headers: h } = await getJson(src, what, `${url}?${q.toString()}`, headers)
    if (!isObj(body)) throw new FeedmatchError('FM_ERR_FEED_FETCH', `${what}: the objects answer is not a TAXII envelope`)
    const objects = Array.isArray(body.objects) ? body.objects.filter(isObj) : []
    fresh.push(...objects)
    const last = h['x-taxii-date-added-last']
    if (typeof last === 'string' && last !== '') addedAfter = last
    if (body.more !== true || objects.length === 0) break
    next = typeof body.next === 'string' ? body.next : undefined
    // Without `next`, a server pages by added_after alone.
    if (next === undefined && typeof last === 'string') held = { ...held, addedAfter: last }
  }
  const taxii = { objectsUrl: url, ...(addedAfter === undefined ? {} : { addedAfter }) }
  if (fresh.length === 0) return { status: 'not-modified', taxii, added: 0 }
  const byId = new Map<string, Obj>()
  for await (const o of heldObjects(current)) if (typeof o.id === 'string') byId.set(o.id, o)
  for (const o of fresh) {
    if (typeof o.id !== 'string' || o.type !== 'indicator') continue
    const had = byId.get(o.id)
    if (had !== undefined && String(had.modified ?? '') > String(o.modified ?? '')) continue
    if (o.revoked === true) byId.delete(o.id)
    else byId.set(o.id, o)
  }
  await writeBundle(file, byId.values())
  return { status: 'downloaded', taxii, added: fresh.length }
}

/**
 * The objects of the bundle held, streamed (json-stream.ts): a big collection is read in chunks
 * with the event loop let through between them, never as one string on the service's thread.
 */
async function * heldObjects (path: string): AsyncGenerator<Obj> {
  try {
    for await (const batch of streamJsonArrayBatches(path, 'objects')) {
      for (const item of batch) if ('value' in item && isObj(item.value)) yield item.value
    }
  } catch (err) {
    // No bundle yet (the first poll) is the normal case; anything else would lose what was held.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !(err instanceof FeedmatchError && err.code === 'FM_ERR_FEED_NOT_FOUND')) throw err
  }
}

/** Writes a STIX bundle object by object, with backpressure: no single string of the whole collection. */
async function writeBundle (file: string, objects: Iterable<Obj>): Promise<void> {
  const out = createWriteStream(file)
  const put = async (text: string): Promise<void> => { if (!out.write(text)) await once(out, 'drain') }
  await put(`{"type":"bundle","id":"bundle--${randomUUID()}","objects":[\n`)
  let first = true
  for (const o of objects) {
    await put((first ? '' : ',\n') + JSON.stringify(o))
    first = false
  }
  out.end('\n]}\n')
  await finished(out)
}
