/**
 * The service's HTTP API (`api.listen` in the config; off by default): read-only JSON for health
 * checks, dashboards and analysts' scripts, next to the syslog path, never in it.
 *
 *   GET  /ui/                      the web UI (ui.ts): the same endpoints, with a token given at login
 *   GET  /health                   {status, generation, feeds, records, uptimeSec}
 *   GET  /stats                    the statistics the log summarizes every minute
 *   GET  /metrics                  the same for Prometheus (metrics.ts)
 *   GET  /feeds                    the feeds in service, their freshness, and the keys each
 *                                  pair of them shares (supplier intersections)
 *   GET  /lookup?indicator=X&...   what `feedmatch lookup --format json` prints, against the
 *                                  feeds in service (it follows reloads and swaps)
 *   POST /lookup                   the same, indicators in the body: one a line, or a JSON array
 *   GET  /lists/allowlist|blocklist          the live lists (live-lists.ts)
 *   POST /lists/allowlist|blocklist          add an entry { value, reason, scope?, expires? }
 *   DELETE /lists/allowlist|blocklist/ID     remove one
 *   GET  /detections?from&to&feed&indicator&sender&type&limit&cursor
 *                                  the detection store (store/), newest first, a page at a time
 *   GET  /detections/indicators?...  per indicator and feed: first and last seen, hits
 *   GET  /detections/ID            one detection
 *   POST /detections/ID/false-positive   { reason, scope?: both|sender|feed|all, expires? }:
 *                                  a scoped allowlist entry for its value, and the mark
 *
 * Errors are JSON `{error: {code, message, hint}}` with the stable codes of errors.ts. Lookups run
 * on the main thread, so a request is bounded (MAX_INDICATORS, MAX_BODY) and looked up in slices
 * with the event loop let through between them: the event path never waits more than a slice
 * (1,000 mixed indicators on a 1M index take 6 ms warm, 30 ms on a first request). /lists needs
 * `read` to list and `write` to change.
 *
 * Authentication (api-auth.ts): with tokens configured, every endpoint needs a bearer token with
 * its scope (/stats, /metrics and the details of /health: read; /lookup: lookup); /health without
 * a token answers its status alone, for load balancers. Without tokens the API is open, which the
 * config allows on loopback only. `https://` serves TLS with `api.tls`. Requests the HTTP parser
 * refuses (headers over 64 KiB, a malformed request) get the same JSON error form, not a bare 431.
 */
import http from 'node:http'
import https from 'node:https'
import { readFileSync } from 'node:fs'
import { AuthError, TokenAuth } from './api-auth.js'
import type { ApiConfig, ApiScope } from '../config/types.js'
import { EntryError, type EntryRequest, type ListEntry, type ListName } from './live-lists.js'
import type { AddressInfo, Socket } from 'node:net'
import { FeedmatchError, type ErrorCode } from '../errors.js'
import { setImmediate } from 'node:timers/promises'
import { indicatorLines, lookupEntries, type LookupEntry } from '../match/query.js'
import type { FeedIndex } from '../index/feed-index.js'
import { listening } from '../util/listen.js'
import { loadUi, UI_HEADERS, type UiFile } from './ui.js'
import { tryParseDuration } from '../config/duration.js'
import { StoreQueryError, type DetectionPage, type DetectionQuery, type DetectionRecord, type IndicatorPage } from '../store/detection-store.js'

/** Indicators one request may look up. */
export const MAX_INDICATORS = 1000
/** Indicators looked up between two turns of the event loop. */
const LOOKUP_SLICE = 50
/** Bytes of a POST body. */
export const MAX_BODY = 256 * 1024
/** A longer body is read to its end (and thrown away) up to this, so the client gets its 413; past it the connection is cut. */
const DISCARD_LIMIT = 16 * 1024 * 1024

/** What the API reads from the running service. */
export interface ApiSource {
  /** The generation in service, as an index (built once per generation). */
  index: () => FeedIndex
  health: () => Record<string, unknown>
  stats: () => Record<string, unknown>
  /** GET /feeds: the generation's feeds with their health, and the keys each pair shares. */
  feeds: () => Record<string, unknown>
  /** The statistics in Prometheus' text format. */
  metrics: () => Promise<string>
  /** The live lists' overlay as an index (null: the lists are empty), for /lookup. */
  overlay?: () => FeedIndex | null
  /** The live lists (service/live-lists.ts); the service audits every change. */
  lists?: {
    all: (list: ListName) => ListEntry[]
    add: (list: ListName, req: EntryRequest, by: string) => ListEntry
    remove: (list: ListName, id: string, by: string) => ListEntry | undefined
  }
  /** The detection store (store/detection-store.ts), when `store.path` is set. */
  store?: {
    detections: (q: DetectionQuery) => Promise<DetectionPage>
    indicators: (q: DetectionQuery) => Promise<IndicatorPage>
    get: (id: number) => Promise<DetectionRecord | null>
    /** Adds the allowlist entry for a detection's value and marks it; null when there is no such detection. */
    falsePositive: (id: number, req: FalsePositiveRequest, by: string) => Promise<{ entry: ListEntry, detection: DetectionRecord } | null>
  }
}

/** POST /detections/ID/false-positive: why, how wide (default both: this sender and this feed), until when. */
export interface FalsePositiveRequest { reason?: unknown, scope?: unknown, expires?: unknown }

/** Detections (or indicator summaries) one page holds at most; 100 unless `limit` says. */
export const MAX_PAGE = 1000
const DETECTION_PARAMS = new Set(['from', 'to', 'feed', 'indicator', 'sender', 'type', 'limit', 'cursor'])

/** An API error: its HTTP status with one of our codes. */
class ApiError extends FeedmatchError {
  /** 405: the methods the path takes (the Allow header). */
  allow?: string
  constructor (readonly status: number, code: ErrorCode, message: string) {
    super(code, message)
  }
}

/** Largest request head the API reads (1,000 hashes fit in a GET); past it the answer is a JSON 431. */
const MAX_HEADER_BYTES = 64 * 1024

const API_MAX_CONNECTIONS = 256
const API_MAX_PER_SOURCE = 32
const API_FIRST_BYTE_MS = 5_000

export class ApiServer {
  private server?: http.Server
  private auth: TokenAuth
  private readonly ui: Map<string, UiFile> = loadUi()

  constructor (private readonly source: ApiSource, private readonly config: Pick<ApiConfig, 'tls' | 'tokens' | 'tokenFile'> = { tokens: [] }) {
    this.auth = TokenAuth.of(config)
  }

  /** New tokens (SIGHUP: the config's and the token file's, read again). */
  setTokens (config: Pick<ApiConfig, 'tokens' | 'tokenFile'>): void {
    this.auth = TokenAuth.of(config)
  }

  /** Listens on host:port (0: any free port); returns the port. Fails with FM_ERR_LISTEN. */
  async listen (host: string, port: number): Promise<number> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => { this.handle(req, res) }
    const tlsFiles = this.config.tls
    const server: http.Server = tlsFiles === undefined
      ? http.createServer({ maxHeaderSize: MAX_HEADER_BYTES }, handler)
      : https.createServer({ maxHeaderSize: MAX_HEADER_BYTES, cert: readFileSync(tlsFiles.cert), key: readFileSync(tlsFiles.key) }, handler)
    // What Node's parser refuses gets our JSON error form instead of a bare status line or a reset.
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      if (!socket.writable) { socket.destroy(); return }
      const big = err.code === 'HPE_HEADER_OVERFLOW'
      const status = big ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400
      const body = JSON.stringify({ error: { code: 'FM_ERR_API', message: big ? `request headers over ${MAX_HEADER_BYTES} bytes` : `malformed request (${err.code ?? err.message})`, hint: new FeedmatchError('FM_ERR_API', '').hint } }) + '\n'
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`)
    })
    // One slow or idle client must not hold a socket for ever.
    server.requestTimeout = 10_000
    server.headersTimeout = 10_000
    server.keepAliveTimeout = 5_000
    server.maxConnections = API_MAX_CONNECTIONS
    // Lockout guard (as the syslog inputs): one address holds at most a few connections, and one
    // that sends nothing goes after a short while, so idle sockets cannot keep /health out.
    const perSource = new Map<string, Set<Socket>>()
    const silent = new Set<Socket>()
    server.on('connection', (socket: Socket) => {
      const ip = socket.remoteAddress ?? ''
      const mine = perSource.get(ip) ?? new Set<Socket>()
      perSource.set(ip, mine)
      if (mine.size >= API_MAX_PER_SOURCE) {
        // Full: the oldest of this address's connections that never sent a byte makes room;
        // without one, the new connection is the one refused.
        const idle = [...mine].find((s) => silent.has(s))
        if (idle === undefined) { socket.destroy(); return }
        idle.destroy()
      }
      mine.add(socket)
      silent.add(socket)
      const timer = setTimeout(() => socket.destroy(), API_FIRST_BYTE_MS)
      socket.once('data', () => { clearTimeout(timer); silent.delete(socket) })
      socket.once('close', () => {
        clearTimeout(timer)
        silent.delete(socket)
        mine.delete(socket)
        if (mine.size === 0 && perSource.get(ip) === mine) perSource.delete(ip)
      })
    })
    this.server = server
    server.listen(port, host)
    await listening(server, `api.listen http://${host}:${port}`)
    return (server.address() as AddressInfo).port
  }

  async close (): Promise<void> {
    const server = this.server
    if (server === undefined) return
    this.server = undefined
    await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections() })
  }

  private handle (req: http.IncomingMessage, res: http.ServerResponse): void {
    const done = (body: unknown): void => send(res, 200, body)
    const fail = (err: unknown): void => {
      const e = err instanceof ApiError || err instanceof AuthError
        ? err
        : err instanceof FeedmatchError ? new ApiError(500, err.code, err.message) : new ApiError(500, 'FM_ERR_INTERNAL', (err as Error)?.message ?? String(err))
      if (e instanceof AuthError && e.retryAfter !== undefined) res.setHeader('retry-after', String(e.retryAfter))
      if (e.status === 401) res.setHeader('www-authenticate', 'Bearer realm="feedmatch"')
      if (e instanceof ApiError && e.allow !== undefined) res.setHeader('allow', e.allow)
      send(res, e.status, { error: { code: e.code, message: e.message, hint: e.hint } })
    }
    const may = (scope: ApiScope): string => this.auth.check(req.headers.authorization, scope)?.name ?? 'local'
    try {
      const url = requestUrl(req)
      const route = `${req.method ?? ''} ${url.pathname}`
      const listRoute = /^\/lists\/(allowlist|blocklist)(?:\/([\w-]{1,64}))?$/.exec(url.pathname)
      if (listRoute !== null && this.source.lists !== undefined) {
        this.lists(req, res, url.pathname, listRoute[1] as ListName, listRoute[2], may).then((body) => body !== undefined && send(res, req.method === 'POST' ? 201 : 200, body), fail)
        return
      }
      if (req.method === 'GET' && (url.pathname === '/' || url.pathname === '/ui' || url.pathname.startsWith('/ui/'))) return this.serveUi(res, url.pathname)
      const detectionRoute = /^\/detections(?:\/(indicators|\d{1,15})(\/false-positive)?)?$/.exec(url.pathname)
      if (detectionRoute !== null) {
        if (this.source.store === undefined) throw new ApiError(404, 'FM_ERR_API', `${url.pathname}: the detection store is off; set store.path in the configuration to keep detections`)
        this.detections(req, url, detectionRoute[1], detectionRoute[2] !== undefined, may).then((body) => send(res, 200, body), fail)
        return
      }
      if (route === 'GET /health') {
        // A load balancer's probe carries no token: it gets the status alone.
        if (!this.auth.open && req.headers.authorization === undefined) return done({ status: this.source.health().status })
        may('read')
        return done(this.source.health())
      }
      if (ROUTE_SCOPES[route] !== undefined) may(ROUTE_SCOPES[route])
      switch (route) {
        case 'GET /stats': return done(this.source.stats())
        case 'GET /feeds': return done(this.source.feeds())
        case 'GET /metrics':
          this.source.metrics().then((text) => sendText(res, 200, text, 'text/plain; version=0.0.4; charset=utf-8'), fail)
          return
        case 'GET /lookup':
          this.lookup(url.searchParams.getAll('indicator')).then(done, fail)
          return
        case 'POST /lookup':
          readBody(req).then(async (text) => await this.lookup(parseIndicators(text))).then(done, fail)
          return
      }
      if (['/health', '/stats', '/feeds', '/metrics', '/lookup'].includes(url.pathname)) {
        res.setHeader('allow', url.pathname === '/lookup' ? 'GET, POST' : 'GET')
        throw new ApiError(405, 'FM_ERR_API', `${req.method ?? '?'} ${url.pathname}: method not allowed`)
      }
      throw new ApiError(404, 'FM_ERR_API', `${url.pathname}: no such endpoint`)
    } catch (err) {
      fail(err)
    }
  }

  /** GET /lists/NAME (read), POST /lists/NAME (write; a JSON entry), DELETE /lists/NAME/ID (write). */
  private async lists (req: http.IncomingMessage, res: http.ServerResponse, path: string, list: ListName, id: string | undefined, may: (s: ApiScope) => string): Promise<unknown> {
    const lists = this.source.lists as NonNullable<ApiSource['lists']>
    const route = `${req.method ?? ''} ${id === undefined ? 'list' : 'entry'}`
    if (route === 'GET list') { may('read'); return lists.all(list) }
    if (route === 'POST list') {
      const by = may('write')
      const body = parseObject(await readBody(req), `POST /lists/${list}`, '{ value, reason, scope?, expires? }')
      try {
        return lists.add(list, body as EntryRequest, by)
      } catch (err) {
        if (err instanceof EntryError) throw new ApiError(400, 'FM_ERR_API', `POST /lists/${list}: ${err.message}`)
        throw err
      }
    }
    if (route === 'DELETE entry') {
      const by = may('write')
      const gone = lists.remove(list, id as string, by)
      if (gone === undefined) throw new ApiError(404, 'FM_ERR_API', `DELETE /lists/${list}/${id as string}: no such entry`)
      return gone
    }
    res.setHeader('allow', id === undefined ? 'GET, POST' : 'DELETE')
    throw new ApiError(405, 'FM_ERR_API', `${req.method ?? '?'} ${path}: method not allowed`)
  }

  private serveUi (res: http.ServerResponse, path: string): void {
    if (path === '/' || path === '/ui') {
      res.writeHead(302, { location: '/ui/', 'content-length': 0 })
      res.end()
      return
    }
    const f = this.ui.get(path)
    if (f === undefined) {
      throw new ApiError(404, 'FM_ERR_API', this.ui.size === 0 ? 'the web UI is not built: run `npm run build` (it writes dist/ui)' : `${path}: no such file of the web UI`)
    }
    res.writeHead(200, { ...UI_HEADERS, 'content-type': f.type, 'content-length': f.body.length })
    res.end(f.body)
  }

  /** GET /detections[/indicators|/ID] (read), POST /detections/ID/false-positive (write). */
  private async detections (req: http.IncomingMessage, url: URL, sub: string | undefined, fp: boolean, may: (s: ApiScope) => string): Promise<unknown> {
    const store = this.source.store as NonNullable<ApiSource['store']>
    const method = req.method ?? ''
    if (fp) {
      if (method !== 'POST') throw methodNotAllowed(req, url, 'POST')
      const by = may('write')
      const body = parseObject(await readBody(req), `POST ${url.pathname}`, '{ reason, scope?, expires? }')
      try {
        const done = await store.falsePositive(Number(sub), body as FalsePositiveRequest, by)
        if (done === null) throw new ApiError(404, 'FM_ERR_API', `${url.pathname}: no such detection (it may have aged out of the store)`)
        return done
      } catch (err) {
        if (err instanceof EntryError) throw new ApiError(400, 'FM_ERR_API', `POST ${url.pathname}: ${err.message}`)
        throw err
      }
    }
    if (method !== 'GET') throw methodNotAllowed(req, url, 'GET')
    may('read')
    if (sub !== undefined && sub !== 'indicators') {
      const d = await store.get(Number(sub))
      if (d === null) throw new ApiError(404, 'FM_ERR_API', `${url.pathname}: no such detection (it may have aged out of the store)`)
      return d
    }
    const q = detectionQuery(url)
    try {
      return sub === 'indicators' ? await store.indicators(q) : await store.detections(q)
    } catch (err) {
      if (err instanceof StoreQueryError) throw new ApiError(400, 'FM_ERR_API', `GET ${url.pathname}: ${err.message}`)
      throw err
    }
  }

  private async lookup (indicators: string[]): Promise<LookupEntry[]> {
    const queries = indicators.map((q) => q.trim()).filter((q) => q !== '')
    if (queries.length === 0) throw new ApiError(400, 'FM_ERR_API', 'lookup: give at least one indicator (?indicator=VALUE, or one a line in a POST body)')
    if (queries.length > MAX_INDICATORS) throw new ApiError(413, 'FM_ERR_API', `lookup: ${queries.length} indicators in one request; at most ${MAX_INDICATORS}`)
    const index = this.source.index() // one generation for the whole request
    const overlay = this.source.overlay?.() ?? undefined
    const out: LookupEntry[] = []
    for (let i = 0; i < queries.length; i += LOOKUP_SLICE) {
      if (i > 0) await setImmediate()
      out.push(...lookupEntries(index, queries.slice(i, i + LOOKUP_SLICE), overlay))
    }
    return out
  }
}

/** The scope each endpoint needs when tokens are configured (/health: see handle). */
const ROUTE_SCOPES: Record<string, ApiScope> = {
  'GET /stats': 'read',
  'GET /feeds': 'read',
  'GET /metrics': 'read',
  'GET /lookup': 'lookup',
  'POST /lookup': 'lookup',
}

function methodNotAllowed (req: http.IncomingMessage, url: URL, allow: string): ApiError {
  const e = new ApiError(405, 'FM_ERR_API', `${req.method ?? '?'} ${url.pathname}: method not allowed (${allow})`)
  e.allow = allow
  return e
}

/** A JSON object body, or a 400 naming the request and the shape it wants. */
function parseObject (text: string, what: string, shape: string): Record<string, unknown> {
  let body: unknown
  try { body = JSON.parse(text) } catch (err) {
    throw new ApiError(400, 'FM_ERR_API', `${what}: the body is not valid JSON (${(err as Error).message})`)
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ApiError(400, 'FM_ERR_API', `${what}: expected a JSON object ${shape}`)
  return body as Record<string, unknown>
}

/** A time parameter: epoch ms, an ISO 8601 date, or a duration back from now (`24h`). */
function timeParam (name: string, v: string, now: number): number {
  if (/^\d{10,16}$/.test(v)) return Number(v)
  const ago = tryParseDuration(v)
  if (ago !== undefined && !/^\d+$/.test(v)) return now - ago
  const t = Date.parse(v)
  if (Number.isFinite(t)) return t
  throw new ApiError(400, 'FM_ERR_API', `${name}=${JSON.stringify(v)}: expected a date (ISO 8601), epoch milliseconds, or a duration back from now (24h, 7d)`)
}

/** The filters of GET /detections from its query string; an unknown parameter is a 400 (a typo would otherwise widen the search). */
function detectionQuery (url: URL): DetectionQuery {
  const p = url.searchParams
  for (const k of p.keys()) {
    if (!DETECTION_PARAMS.has(k)) throw new ApiError(400, 'FM_ERR_API', `GET ${url.pathname}: unknown parameter ${JSON.stringify(k)}; known: ${[...DETECTION_PARAMS].join(', ')}`)
    if (p.getAll(k).length > 1) throw new ApiError(400, 'FM_ERR_API', `GET ${url.pathname}: ${k} given twice`)
  }
  const now = Date.now()
  const q: DetectionQuery = { limit: 100 }
  const limit = p.get('limit')
  if (limit !== null) {
    q.limit = Number(limit)
    if (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > MAX_PAGE) throw new ApiError(400, 'FM_ERR_API', `limit=${JSON.stringify(limit)}: expected 1 to ${MAX_PAGE}`)
  }
  for (const k of ['from', 'to'] as const) {
    const v = p.get(k)
    if (v !== null) q[k] = timeParam(k, v, now)
  }
  for (const k of ['feed', 'indicator', 'sender', 'type', 'cursor'] as const) {
    const v = p.get(k)
    if (v !== null && v !== '') q[k] = v.trim()
  }
  return q
}

/** The request's URL; one that does not parse (`GET http://[bad HTTP/1.1`) is a 400, not a crash. */
function requestUrl (req: http.IncomingMessage): URL {
  try {
    return new URL(req.url ?? '/', 'http://api')
  } catch {
    throw new ApiError(400, 'FM_ERR_API', `${JSON.stringify(req.url)}: not a valid request target`)
  }
}

function send (res: http.ServerResponse, status: number, body: unknown): void {
  sendText(res, status, JSON.stringify(body) + '\n', 'application/json; charset=utf-8')
}

function sendText (res: http.ServerResponse, status: number, text: string, type: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

/** The body as text; refused past MAX_BODY (what follows is read and dropped, see DISCARD_LIMIT). */
async function readBody (req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > DISCARD_LIMIT) { req.socket.destroy(); break }
    if (size <= MAX_BODY) chunks.push(chunk)
  }
  if (size > MAX_BODY) throw new ApiError(413, 'FM_ERR_API', `lookup: request body over ${MAX_BODY} bytes; send at most ${MAX_INDICATORS} indicators a request`)
  return Buffer.concat(chunks).toString('utf8')
}

/** A POST body: a JSON array of strings, or one indicator a line (`#` starts a comment line). */
function parseIndicators (text: string): string[] {
  const t = text.trim()
  if (!t.startsWith('[') && !t.startsWith('{')) return indicatorLines(t)
  let v: unknown
  try { v = JSON.parse(t) } catch (err) { throw new ApiError(400, 'FM_ERR_API', `lookup: the body is not valid JSON (${(err as Error).message})`) }
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new ApiError(400, 'FM_ERR_API', 'lookup: a JSON body must be an array of strings')
  return v
}
