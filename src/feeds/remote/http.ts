/**
 * One HTTP(S) download of a remote feed, with undici: conditional (If-None-Match and
 * If-Modified-Since from the last success, so a 304 costs a round trip), bounded (a timeout per
 * request, a size limit on the body), retried with backoff on network errors, 429 and 5xx, and
 * through the feed's CA bundle and proxy. The body is written to a file; gzip (as a transfer
 * encoding or as the file itself) and zip bodies are unpacked there.
 */
import { createReadStream, createWriteStream, readFileSync } from 'node:fs'
import { open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { createGunzip } from 'node:zlib'
import { pipeline } from 'node:stream/promises'
import { Transform } from 'node:stream'
import { Agent, ProxyAgent, interceptors, request, type Dispatcher } from 'undici'
import { unzipSync } from 'fflate'
import { FeedmatchError } from '../../errors.js'
import type { RemoteSource } from '../../config/types.js'
import { secretValue } from './secret.js'

/** Validators a server gave with the last body it sent. */
export interface Validators { etag?: string, lastModified?: string }

export type HttpResult =
  | { status: 'not-modified' }
  | { status: 'downloaded', bytes: number, validators: Validators }

/** How long a retry waits: 1 s, 2 s, 4 s... at most 30 s (a test sets it lower). */
export let RETRY_BASE_MS = 1000
export function setRetryBase (ms: number): void { RETRY_BASE_MS = ms }

const agents = new Map<string, Dispatcher>()

/** One dispatcher per (CA, proxy): connections are kept alive across polls. */
function dispatcherFor (src: RemoteSource): Dispatcher {
  const key = `${src.ca ?? ''}|${src.proxy ?? ''}`
  let d = agents.get(key)
  if (d === undefined) {
    const ca = src.ca === undefined ? undefined : readFileSync(src.ca)
    const base = src.proxy !== undefined
      ? new ProxyAgent({ uri: src.proxy, requestTls: ca === undefined ? undefined : { ca } })
      : new Agent({ connect: ca === undefined ? undefined : { ca } })
    // Publishers move files behind redirects (a CDN, a release page): follow a few.
    d = base.compose(interceptors.redirect({ maxRedirections: 5 }))
    agents.set(key, d)
  }
  return d
}

/** The request headers: the feed's own (secrets read now), plus what the caller adds. */
export function requestHeaders (src: RemoteSource, what: string, extra: Record<string, string> = {}): Record<string, string> {
  const h: Record<string, string> = { 'user-agent': 'feedmatch', 'accept-encoding': 'gzip' }
  for (const [name, value] of Object.entries(src.headers)) h[name.toLowerCase()] = secretValue(value, `${what}: header ${name}`)
  return { ...h, ...extra }
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

function fetchError (what: string, message: string, cause?: unknown): FeedmatchError {
  return new FeedmatchError('FM_ERR_FEED_FETCH', `${what}: ${message}`, cause === undefined ? undefined : { cause })
}

/** Status codes worth another try: the server or something on the way is busy or broken. */
function retryable (status: number): boolean {
  return status === 408 || status === 429 || status >= 500
}

/**
 * Sends a request with the feed's timeout, retries and dispatcher and hands a 2xx/304 answer to
 * `take`; other answers fail with FM_ERR_FEED_FETCH (after the retries, for retryable ones).
 */
export async function withRetries<T> (src: RemoteSource, what: string, url: string, headers: Record<string, string>, take: (res: Dispatcher.ResponseData) => Promise<T>): Promise<T> {
  let last: FeedmatchError | undefined
  for (let attempt = 0; attempt <= src.retries; attempt++) {
    if (attempt > 0) await sleep(Math.min(RETRY_BASE_MS * 2 ** (attempt - 1), 30_000))
    let res: Dispatcher.ResponseData
    try {
      res = await request(url, { method: 'GET', headers, dispatcher: dispatcherFor(src), headersTimeout: src.timeout, bodyTimeout: src.timeout }) as Dispatcher.ResponseData
    } catch (err) {
      last = fetchError(what, `request to ${redact(url)} failed: ${(err as Error).message}`, err)
      continue
    }
    if (res.statusCode >= 200 && res.statusCode < 300 || res.statusCode === 304) {
      try {
        return await take(res)
      } catch (err) {
        if (err instanceof FeedmatchError && !/timeout|terminated|socket/i.test(err.message)) throw err
        last = err instanceof FeedmatchError ? err : fetchError(what, `reading the answer of ${redact(url)} failed: ${(err as Error).message}`, err)
        continue
      }
    }
    await res.body.dump().catch(() => {})
    last = fetchError(what, `${redact(url)} answered HTTP ${res.statusCode}`)
    if (!retryable(res.statusCode)) throw last
  }
  throw last ?? fetchError(what, 'no attempt was made')
}

/** The URL without its userinfo and query (which may hold keys), for messages. */
export function redact (url: string): string {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.host}${u.pathname}${u.search === '' ? '' : '?…'}`
  } catch {
    return '(a URL)'
  }
}

/** Counts bytes through a stream and fails it past `max`. */
function limit (max: number, what: string): Transform {
  let n = 0
  return new Transform({
    transform (chunk: Buffer, _enc, done) {
      n += chunk.length
      if (n > max) done(fetchError(what, `the download is larger than maxBytes (${max} bytes)`))
      else done(null, chunk)
    }
  })
}

/**
 * Downloads `src.url` into `file`: 304 when the validators still hold, otherwise the body
 * (unpacked when gzip or zip) and the new validators.
 */
export async function download (src: RemoteSource, what: string, file: string, previous: Validators): Promise<HttpResult> {
  const cond: Record<string, string> = {}
  if (previous.etag !== undefined) cond['if-none-match'] = previous.etag
  if (previous.lastModified !== undefined) cond['if-modified-since'] = previous.lastModified
  return await withRetries(src, what, src.url, requestHeaders(src, what, cond), async (res) => {
    if (res.statusCode === 304) { await res.body.dump(); return { status: 'not-modified' } }
    const encoding = String(res.headers['content-encoding'] ?? '').toLowerCase()
    const steps: NodeJS.ReadWriteStream[] = [limit(src.maxBytes, what)]
    if (encoding === 'gzip' || encoding === 'x-gzip') steps.push(createGunzip(), limit(src.maxBytes, what))
    try {
      await pipeline(res.body, ...(steps as [Transform]), createWriteStream(file))
    } catch (err) {
      await rm(file, { force: true })
      if (err instanceof FeedmatchError) throw err
      throw fetchError(what, `reading the body of ${redact(src.url)} failed: ${(err as Error).message}`, err)
    }
    const bytes = await unpack(file, src.maxBytes, what)
    const header = (name: string): string | undefined => { const v = res.headers[name]; return typeof v === 'string' ? v : undefined }
    return { status: 'downloaded', bytes, validators: { etag: header('etag'), lastModified: header('last-modified') } }
  })
}

/** A gzip or zip file (by its magic bytes) replaced by what it holds; returns the size. */
async function unpack (file: string, max: number, what: string): Promise<number> {
  const magic = Buffer.alloc(4)
  const fh = await open(file, 'r')
  const { bytesRead } = await fh.read(magic, 0, 4, 0).finally(() => fh.close())
  if (bytesRead >= 2 && magic[0] === 0x1f && magic[1] === 0x8b) {
    // Streamed, and bounded as it inflates: a small gzip can hold gigabytes.
    const out = `${file}.gunzip`
    try {
      await pipeline(createReadStream(file), createGunzip(), limit(max, what), createWriteStream(out))
    } catch (err) {
      await rm(out, { force: true })
      if (err instanceof FeedmatchError) throw err
      throw fetchError(what, `the download is not a valid gzip file: ${(err as Error).message}`, err)
    }
    await rename(out, file)
    return (await stat(file)).size
  }
  if (bytesRead < 4 || magic.readUInt32LE(0) !== 0x04034b50) return (await stat(file)).size
  // A zip of one feed file (as abuse.ch and others ship them): the first file in it, its
  // declared size counted against maxBytes before it is inflated.
  const buf = await readFile(file)
  let total = 0
  const files = guard(() => unzipSync(buf, {
    filter: (f) => { total += f.originalSize; return !f.name.endsWith('/') && total <= max }
  }), what, 'zip')
  const first = Object.keys(files).sort()[0]
  if (first === undefined) throw fetchError(what, total > max ? `the unpacked download is larger than maxBytes (${max} bytes)` : 'the zip holds no file')
  await writeFile(file, files[first])
  return files[first].length
}

function guard<T> (f: () => T, what: string, kind: string): T {
  try {
    return f()
  } catch (err) {
    throw fetchError(what, `the download is not a valid ${kind} file: ${(err as Error).message}`, err)
  }
}

/** A JSON answer, read whole but at most maxBytes (manifests, TAXII envelopes, MISP events). */
export async function getJson (src: RemoteSource, what: string, url: string, headers: Record<string, string>): Promise<{ body: unknown, headers: Record<string, string | string[] | undefined> }> {
  return await withRetries(src, what, url, headers, async (res) => {
    const chunks: Buffer[] = []
    let n = 0
    const encoding = String(res.headers['content-encoding'] ?? '').toLowerCase()
    const body = encoding === 'gzip' ? res.body.pipe(createGunzip()) : res.body
    for await (const chunk of body as AsyncIterable<Buffer>) {
      n += chunk.length
      if (n > src.maxBytes) { res.body.destroy(); throw fetchError(what, `the answer of ${redact(url)} is larger than maxBytes (${src.maxBytes} bytes)`) }
      chunks.push(chunk)
    }
    try {
      return { body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown, headers: res.headers }
    } catch (err) {
      throw fetchError(what, `${redact(url)} did not answer JSON: ${(err as Error).message}`, err)
    }
  })
}
