/**
 * A feed publisher on loopback for the remote-feed tests: a real node:http server whose answers a
 * test sets per path (body, status, delay, gzip), with ETag and Last-Modified validators and 304
 * for a conditional request that still holds, and a log of every request it got.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { createHash } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import type { AddressInfo } from 'node:net'

export interface Route {
  body?: string | Buffer
  status?: number
  /** ms before the headers go out. */
  delay?: number
  /** Send the body with Content-Encoding: gzip when the client accepts it. */
  gzip?: boolean
  /** Answer 503 this many times first. */
  failFirst?: number
  headers?: Record<string, string>
  /** Called per request; a thrown error answers 500. */
  check?: (req: IncomingMessage) => void
  /** Answer from the request (the TAXII server's pages). */
  handle?: (req: IncomingMessage, url: URL) => { status?: number, body: unknown, headers?: Record<string, string> }
}

export interface Hit { path: string, status: number, headers: IncomingMessage['headers'] }

export class FeedServer {
  readonly routes = new Map<string, Route>()
  readonly hits: Hit[] = []
  private constructor (private readonly server: Server) {}

  static async start (): Promise<FeedServer> {
    const holder: { self?: FeedServer } = {}
    const server = createServer((req, res) => { void holder.self?.answer(req, res) })
    const self = holder.self = new FeedServer(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return self
  }

  get url (): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }

  set (path: string, route: Route): void {
    this.routes.set(path, route)
  }

  /** Requests to `path` (without the query) and their statuses. */
  hitsOf (path: string): Hit[] {
    return this.hits.filter((h) => h.path === path)
  }

  async close (): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private async answer (req: IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url)
    const route = this.routes.get(url.pathname)
    const done = (status: number, body: string | Buffer = '', headers: Record<string, string> = {}): void => {
      this.hits.push({ path: url.pathname, status, headers: req.headers })
      res.writeHead(status, headers)
      res.end(body)
    }
    if (route === undefined) { done(404, 'not found'); return }
    if (route.delay !== undefined) await new Promise((resolve) => setTimeout(resolve, route.delay))
    if (res.destroyed) return
    if ((route.failFirst ?? 0) > 0) { route.failFirst = (route.failFirst ?? 0) - 1; done(503, 'busy'); return }
    try {
      route.check?.(req)
    } catch (err) {
      done(500, (err as Error).message)
      return
    }
    if (route.handle !== undefined) {
      const r = route.handle(req, url)
      done(r.status ?? 200, JSON.stringify(r.body), { 'content-type': 'application/taxii+json;version=2.1', ...r.headers })
      return
    }
    const body = Buffer.from(route.body ?? '')
    const etag = `"${createHash('sha1').update(body).digest('hex').slice(0, 16)}"`
    const headers: Record<string, string> = { etag, 'last-modified': new Date(1_700_000_000_000).toUTCString(), ...route.headers }
    if (route.status === undefined && req.headers['if-none-match'] === etag) { done(304, '', headers); return }
    if (route.gzip === true && /gzip/.test(String(req.headers['accept-encoding']))) {
      done(route.status ?? 200, gzipSync(body), { ...headers, 'content-encoding': 'gzip' })
      return
    }
    done(route.status ?? 200, body, headers)
  }
}
