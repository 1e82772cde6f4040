/**
 * A TAXII 2.1 server on loopback for the TAXII client tests, written from the OASIS TAXII 2.1
 * specification (sections 4.1 discovery, 5.1 collections, 5.3 get objects, 3.4 pagination): Basic
 * authentication, the taxii+json media type required in Accept, `added_after`, `limit`, `next`
 * and `more`, and the X-TAXII-Date-Added-First/Last headers. It stands in for OASIS's reference
 * server medallion, which is published on PyPI only and cannot be installed on these machines.
 */
import type { IncomingMessage } from 'node:http'
import { FeedServer } from './feed-server.js'

const MEDIA = 'application/taxii+json;version=2.1'

export interface Stored { obj: Record<string, unknown>, added: string }

export class TaxiiServer {
  readonly objects: Stored[] = []
  /** Each objects request's query, in order. */
  readonly queries: URLSearchParams[] = []
  private clock = Date.parse('2026-12-01T00:00:00.000Z')
  private constructor (readonly http: FeedServer, readonly collection: string, readonly user: string, readonly password: string) {}

  static async start (opts: { collection: string, user: string, password: string, pageLimit?: number }): Promise<TaxiiServer> {
    const http = await FeedServer.start()
    const t = new TaxiiServer(http, opts.collection, opts.user, opts.password)
    const limitMax = opts.pageLimit ?? 2
    const guard = (req: IncomingMessage): { status: number, body: unknown } | undefined => {
      const auth = req.headers.authorization ?? ''
      if (auth !== `Basic ${Buffer.from(`${t.user}:${t.password}`).toString('base64')}`) return { status: 401, body: { title: 'unauthorized' } }
      if (!String(req.headers.accept ?? '').includes(MEDIA)) return { status: 406, body: { title: 'media type not acceptable' } }
      return undefined
    }
    http.set('/taxii2/', { handle: (req) => guard(req) ?? { body: { title: 'test', default: `${http.url}/api1/`, api_roots: [`${http.url}/api1/`] } } })
    http.set('/api1/collections/', {
      handle: (req) => guard(req) ?? { body: { collections: [{ id: t.collection, title: 'Indicators', can_read: true, can_write: true, media_types: [MEDIA] }] } }
    })
    http.set(`/api1/collections/${t.collection}/objects/`, {
      handle: (req, url) => {
        const denied = guard(req)
        if (denied !== undefined) return denied
        t.queries.push(url.searchParams)
        const after = url.searchParams.get('added_after')
        const limit = Math.min(Number(url.searchParams.get('limit') ?? limitMax), limitMax)
        const start = Number(url.searchParams.get('next') ?? 0)
        const matching = t.objects.filter((s) => after === null || s.added > after)
        const page = matching.slice(start, start + limit)
        const more = start + limit < matching.length
        const headers: Record<string, string> = page.length === 0 ? {} : { 'X-TAXII-Date-Added-First': page[0].added, 'X-TAXII-Date-Added-Last': page[page.length - 1].added }
        return { body: { more, ...(more ? { next: String(start + limit) } : {}), objects: page.map((s) => s.obj) }, headers }
      }
    })
    return t
  }

  get discovery (): string { return `${this.http.url}/taxii2/` }

  /** Adds objects to the collection, each with a later date_added. */
  add (...objs: Array<Record<string, unknown>>): void {
    for (const obj of objs) this.objects.push({ obj, added: new Date(this.clock += 1000).toISOString() })
  }

  async close (): Promise<void> { await this.http.close() }
}

/** A STIX 2.1 indicator for one pattern. */
export function indicator (n: number, pattern: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const id = `indicator--00000000-0000-4000-8000-${String(n).padStart(12, '0')}`
  return { type: 'indicator', spec_version: '2.1', id, created: '2026-12-01T00:00:00.000Z', modified: '2026-12-01T00:00:00.000Z', name: `ind-${n}`, pattern, pattern_type: 'stix', valid_from: '2026-12-01T00:00:00.000Z', ...extra }
}
