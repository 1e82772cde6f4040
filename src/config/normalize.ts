/**
 * From a schema-valid config to the run-time shape: the cross-field checks a schema cannot state
 * (tls listeners need a certificate, rule names are unique...), durations in milliseconds, URLs
 * parsed, paths absolute. Runs only after the schema passed, so shapes are trusted here.
 */
import { availableParallelism, hostname } from 'node:os'
import { join, resolve } from 'node:path'
import type { IndicatorKind } from '../feeds/record.js'
import { tryParseDuration } from './duration.js'
import { applyFeedPreset } from './feed-presets.js'
import { parseHttpUrl, parseListenUrl, parseOutputTarget } from './endpoint.js'
import { configError, formatFound, formatPath, label } from './messages.js'
import type { Seg } from './messages.js'
import type {
  ApiConfig, ApiToken, Config, FeedConfig, FeedsConfig, InputConfig, LogConfig, OutputConfig, RemoteSource, Secret, SourceConfig, SpoolConfig,
} from './types.js'
import type { ValidateContext } from './validate.js'

type Duration = string | number

interface RawFeed extends Omit<FeedConfig, 'origin' | 'expiry' | 'indicators' | 'path' | 'remote' | 'maxAge'> {
  path?: string
  expiry?: { field?: string, maxAge?: Duration }
  indicators?: Array<{ field: string | number, type: IndicatorKind }>
  url?: string
  taxii?: NonNullable<RemoteSource['taxii']>
  every?: Duration
  headers?: Record<string, Secret>
  ca?: string
  proxy?: string
  timeout?: Duration
  retries?: number
  maxBytes?: number
  maxAge?: Duration
}

/** The config as the schema guarantees it, defaults applied, before conversion. */
export interface RawConfig {
  input: Omit<InputConfig, 'listen' | 'idleTimeout' | 'firstByteTimeout'> & { listen: string[], idleTimeout: Duration, firstByteTimeout: Duration }
  output: Omit<OutputConfig, 'target' | 'hostname' | 'batch' | 'reconnect' | 'spool'> & {
    target: string
    spool: string | null | (Omit<SpoolConfig, 'fsyncInterval'> & { fsyncInterval: Duration })
    hostname: string | null
    batch: { maxBytes: number, maxDelay: Duration }
    reconnect: { initialDelay: Duration, maxDelay: Duration }
  }
  feeds: Omit<FeedsConfig, 'sources' | 'allowlist' | 'blocklist' | 'reloadDebounce' | 'cache' | 'lists'> & {
    cache: string
    lists: string
    sources: Array<string | RawFeed>
    allowlist: Array<string | RawFeed>
    blocklist: Array<string | RawFeed>
    reloadDebounce: Duration
  }
  workers: 'auto' | number
  api: { listen: string | null, tls?: { cert: string, key: string }, tokens: RawToken[], tokenFile?: string }
  store: { path: string | null, maxAge: Duration, maxBytes: number, eventBytes: number }
  log: Omit<LogConfig, 'statsInterval'> & { statsInterval: Duration }
}

// The schema checked every duration's format, so the parse cannot fail here.
const ms = (d: Duration): number => tryParseDuration(d)!

/** Throws for the first key seen twice; `shown(i)` is what the message quotes for entry i. */
function checkUnique (
  ctx: ValidateContext, keys: readonly string[], segsOf: (i: number) => Seg[], what: string,
  shown: (i: number) => unknown = i => keys[i]
): void {
  const seen = new Map<string, number>()
  keys.forEach((key, i) => {
    const first = seen.get(key)
    if (first !== undefined) {
      throw configError(ctx, {
        segs: segsOf(i),
        text: `expected ${what}; found ${formatFound(shown(i))}`,
        hint: ` (also ${label(ctx, segsOf(first))})`,
      })
    }
    seen.set(key, i)
  })
}

function inputSection (raw: RawConfig['input'], ctx: ValidateContext): InputConfig {
  const listen = raw.listen.map(url => parseListenUrl(url)!)
  // tcp:// and tls:// listeners both take a TCP port; port 0 is a fresh one each time.
  checkUnique(
    ctx,
    listen.map((l, i) => l.port === 0 ? `#${i}` : `${l.protocol === 'udp' ? 'udp' : 'tcp'} ${l.host} ${l.port}`),
    i => ['input', 'listen', i],
    'each address once',
    i => listen[i]!.url
  )
  const tlsAt = listen.findIndex(l => l.protocol === 'tls')
  if (tlsAt >= 0 && raw.tls === undefined) {
    throw configError(ctx, {
      segs: ['input', 'tls'],
      locSegs: ['input'],
      text: `expected { cert, key } for the tls:// listener ${formatFound(listen[tlsAt]!.url)} ` +
        `(${label(ctx, ['input', 'listen', tlsAt])}); found nothing`,
    })
  }
  if (raw.framing === 'delimiter' && raw.delimiter === null) {
    throw configError(ctx, {
      segs: ['input', 'delimiter'],
      locSegs: ['input', 'framing'],
      text: 'expected an RE2 pattern, as input.framing is delimiter; found nothing',
    })
  }
  if (raw.framing !== 'delimiter' && raw.delimiter !== null) {
    throw configError(ctx, {
      segs: ['input', 'framing'],
      locSegs: ['input', 'delimiter'],
      text: `expected delimiter, as input.delimiter is set; found ${formatFound(raw.framing)}`,
    })
  }
  checkUnique(ctx, raw.sources.map(s => s.name), i => ['input', 'sources', i, 'name'], 'a name no other source has')
  raw.sources.forEach((s, i) => {
    checkUnique(ctx, s.rules.map(r => r.name), j => ['input', 'sources', i, 'rules', j, 'name'], 'a rule name unique within its source')
  })
  const sources: SourceConfig[] = [...raw.sources]
  // Events from senders no source matches go to `default`, so there always is one.
  if (!sources.some(s => s.name === 'default')) {
    sources.push({ name: 'default', match: [], preset: 'generic', normalize: [], refang: false, rules: [] })
  }
  const { tls } = raw
  if (tls?.requireClientCert === true && tls.ca === undefined) {
    throw configError(ctx, {
      segs: ['input', 'tls', 'ca'],
      locSegs: ['input', 'tls', 'requireClientCert'],
      text: 'expected the CA that signs client certificates, as input.tls.requireClientCert is true; found nothing',
    })
  }
  const path = (key: string, p: string): string => resolve(ctx.baseFor(['input', 'tls', key]), p)
  return {
    ...raw,
    listen,
    ...(tls === undefined
      ? {}
      : { tls: { cert: path('cert', tls.cert), key: path('key', tls.key), ...(tls.ca === undefined ? {} : { ca: path('ca', tls.ca) }), ...(tls.requireClientCert === undefined ? {} : { requireClientCert: tls.requireClientCert }) } }),
    idleTimeout: ms(raw.idleTimeout),
    firstByteTimeout: ms(raw.firstByteTimeout),
    sources,
  }
}

function outputSection (raw: RawConfig['output'], ctx: ValidateContext): OutputConfig {
  const parsed = parseOutputTarget(raw.target)!
  const target = parsed.protocol === 'file'
    ? { ...parsed, path: resolve(ctx.baseFor(['output', 'target']), parsed.path) }
    : parsed
  const tls = { ...raw.tls }
  for (const key of ['ca', 'cert', 'key'] as const) {
    const p = tls[key]
    if (p !== undefined) tls[key] = resolve(ctx.baseFor(['output', 'tls', key]), p)
  }
  // A client certificate is useless without its key, and the other way round.
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    const [missing, given] = tls.cert === undefined ? ['cert', 'key'] : ['key', 'cert']
    throw configError(ctx, {
      segs: ['output', 'tls', missing],
      locSegs: ['output', 'tls', given],
      text: `expected a path, as output.tls.${given} is set; found nothing`,
    })
  }
  const reconnect = { initialDelay: ms(raw.reconnect.initialDelay), maxDelay: ms(raw.reconnect.maxDelay) }
  if (reconnect.initialDelay > reconnect.maxDelay) {
    throw configError(ctx, {
      segs: ['output', 'reconnect', 'initialDelay'],
      text: `expected at most output.reconnect.maxDelay (${formatFound(raw.reconnect.maxDelay)}); ` +
        `found ${formatFound(raw.reconnect.initialDelay)}`,
    })
  }
  return {
    ...raw,
    target,
    tls,
    hostname: raw.hostname ?? hostname(),
    batch: { maxBytes: raw.batch.maxBytes, maxDelay: ms(raw.batch.maxDelay) },
    spool: spoolConfig(raw.spool, target.protocol, ctx),
    reconnect,
  }
}

function spoolConfig (raw: RawConfig['output']['spool'], protocol: string, ctx: ValidateContext): SpoolConfig | null {
  if (raw === null) return null
  if (protocol === 'udp') {
    throw configError(ctx, {
      segs: ['output', 'spool'],
      text: 'expected no spool with a udp:// target (UDP cannot tell when the SIEM is away); found a spool. Remove it, or send over tcp://, tls:// or relp://',
    })
  }
  if (typeof raw === 'string') {
    return { dir: resolve(ctx.baseFor(['output', 'spool']), raw), mode: 'overflow', maxBytes: 1024 * 1024 * 1024, fsync: 'off', fsyncInterval: 1000 }
  }
  return { ...raw, dir: resolve(ctx.baseFor(['output', 'spool', 'dir']), raw.dir), fsyncInterval: ms(raw.fsyncInterval) }
}

/** A token as the schema takes it. */
export interface RawToken { name: string, hash: string, scopes: ApiToken['scopes'], rate?: number }

/** A token of the config or a token file, as the API keeps it. */
export function apiTokenOf (t: RawToken): ApiToken {
  return { name: t.name, sha256: t.hash.slice('sha256:'.length), scopes: t.scopes, rate: t.rate ?? 20 }
}

/** Loopback addresses: an API there may run without tokens (only this machine reaches it). */
function isLoopback (host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.')
}

function apiSection (raw: RawConfig['api'], ctx: ValidateContext): ApiConfig {
  const listen = raw.listen === null ? null : parseHttpUrl(raw.listen)!
  const api: ApiConfig = { listen, tokens: raw.tokens.map(apiTokenOf) }
  if (raw.tls !== undefined) api.tls = { cert: resolve(ctx.baseFor(['api', 'tls', 'cert']), raw.tls.cert), key: resolve(ctx.baseFor(['api', 'tls', 'key']), raw.tls.key) }
  if (raw.tokenFile !== undefined) api.tokenFile = resolve(ctx.baseFor(['api', 'tokenFile']), raw.tokenFile)
  if (listen === null) return api
  if (listen.protocol === 'https' && api.tls === undefined) {
    throw configError(ctx, { segs: ['api', 'tls'], text: `expected { cert, key } for the https:// API "${listen.url}"; found nothing` })
  }
  if (!isLoopback(listen.host) && api.tokens.length === 0 && api.tokenFile === undefined) {
    throw configError(ctx, {
      segs: ['api', 'listen'],
      text: `expected api.tokens or api.tokenFile for an API on ${listen.host}, which other machines reach; found none`,
      hint: ' (anyone who reaches an open API can use /lookup as an oracle on your feeds: create a token with `feedmatch token new`, or listen on 127.0.0.1)'
    })
  }
  const names = new Set<string>()
  for (const t of api.tokens) {
    if (names.has(t.name)) throw configError(ctx, { segs: ['api', 'tokens'], text: `expected token names used once; found "${t.name}" twice` })
    names.add(t.name)
  }
  return api
}

/** Defaults of remote feeds: fetched hourly, a minute per request, 3 retries, at most 1 GiB. */
const REMOTE_DEFAULTS = { every: 3_600_000, timeout: 60_000, retries: 3, maxBytes: 1024 * 1024 * 1024 }

/** The name a remote feed gets when none is written: the URL's last path segment, or the collection. */
function remoteName (raw: RawFeed): string {
  if (raw.taxii !== undefined) return `taxii-${raw.taxii.collection}`
  const u = new URL(raw.url as string)
  const last = u.pathname.split('/').filter((x) => x !== '').pop()
  const stem = last === undefined ? u.hostname : last.replace(/\.(gz|zip)$/i, '').replace(/\.[^.]*$/, '')
  return (stem === '' ? u.hostname : stem).replace(/[^\w.-]/g, '_')
}

/** The file a remote feed's validated copy is kept in, inside its cache folder. */
function remoteFile (raw: RawFeed): string {
  if (raw.taxii !== undefined) return 'bundle.json'
  if (raw.format === 'misp') return 'misp'
  const last = new URL(raw.url as string).pathname.split('/').filter((x) => x !== '').pop() ?? ''
  const inner = last.replace(/\.(gz|zip)$/i, '')
  const ext = /\.[A-Za-z0-9]{1,8}$/.exec(inner)?.[0] ?? ''
  return `feed${ext}`
}

function feedEntry (entry: string | RawFeed, segs: Seg[], ctx: ValidateContext, cache: string): FeedConfig {
  const raw = typeof entry === 'string' ? { path: entry, enabled: true } as RawFeed : entry
  const { expiry, indicators, url, taxii, every, headers, ca, proxy, timeout, retries, maxBytes, maxAge, ...rest } = raw
  const where = (key: string): string => `${ctx.source}: ${formatPath([...segs, key])}`
  const given = [rest.path, url, taxii].filter((x) => x !== undefined).length
  if (given !== 1) {
    throw configError(ctx, { segs, text: `expected one of path:, url: or taxii:; found ${given}` })
  }
  let feed: FeedConfig
  if (rest.path !== undefined) {
    if (/^https?:\/\//i.test(rest.path)) {
      throw configError(ctx, { segs: typeof entry === 'string' ? segs : [...segs, 'path'], text: `expected a file or folder; found the URL ${formatFound(rest.path)}`, hint: ' (write it as url: to have feedmatch download it)' })
    }
    const pathSegs = typeof entry === 'string' ? segs : [...segs, 'path']
    feed = {
      ...rest,
      path: resolve(ctx.baseFor(pathSegs), rest.path),
      origin: ctx.flagFor?.(pathSegs) ?? `${ctx.source}: ${formatPath(pathSegs)}`,
    }
  } else {
    const name = rest.name ?? remoteName(raw)
    const dir = join(cache, name)
    const base = ctx.baseFor([...segs, 'ca'])
    feed = {
      ...rest,
      name,
      path: join(dir, remoteFile(raw)),
      origin: where(taxii !== undefined ? 'taxii' : 'url'),
      remote: {
        kind: taxii !== undefined ? 'taxii' : rest.format === 'misp' ? 'misp' : 'http',
        url: url ?? taxii?.apiRoot ?? taxii?.discovery ?? '',
        ...(taxii === undefined ? {} : { taxii }),
        every: every === undefined ? REMOTE_DEFAULTS.every : ms(every),
        headers: headers ?? {},
        ...(ca === undefined ? {} : { ca: resolve(base, ca) }),
        ...(proxy === undefined ? {} : { proxy }),
        timeout: timeout === undefined ? REMOTE_DEFAULTS.timeout : ms(timeout),
        retries: retries ?? REMOTE_DEFAULTS.retries,
        maxBytes: maxBytes ?? REMOTE_DEFAULTS.maxBytes,
        dir,
      },
    }
    if (taxii !== undefined && taxii.apiRoot === undefined && taxii.discovery === undefined) {
      throw configError(ctx, { segs: [...segs, 'taxii'], text: 'expected taxii.apiRoot or taxii.discovery (the server\'s URL); found neither' })
    }
    if (rest.format === undefined && taxii !== undefined) feed.format = 'stix2'
  }
  if (maxAge !== undefined) feed.maxAge = ms(maxAge)
  if (indicators !== undefined) feed.indicators = indicators.map(i => ({ field: String(i.field), type: i.type }))
  if (expiry !== undefined) {
    feed.expiry = {
      ...(expiry.field === undefined ? {} : { field: expiry.field }),
      ...(expiry.maxAge === undefined ? {} : { maxAge: ms(expiry.maxAge) }),
    }
  }
  return applyFeedPreset(feed)
}

function feedsSection (raw: RawConfig['feeds'], ctx: ValidateContext): FeedsConfig {
  const cache = resolve(ctx.baseFor(['feeds', 'cache']), raw.cache)
  const list = (key: 'sources' | 'allowlist' | 'blocklist'): FeedConfig[] =>
    raw[key].map((entry, i) => feedEntry(entry, ['feeds', key, i], ctx, cache))
  return {
    cache,
    lists: resolve(ctx.baseFor(['feeds', 'lists']), raw.lists),
    sources: list('sources'),
    allowlist: list('allowlist'),
    blocklist: list('blocklist'),
    snapshot: raw.snapshot === null ? null : resolve(ctx.baseFor(['feeds', 'snapshot']), raw.snapshot),
    watch: raw.watch,
    reloadDebounce: ms(raw.reloadDebounce),
  }
}

/** The run-time config from a schema-valid one; throws FM_ERR_CONFIG for cross-field problems. */
export function normalizeConfig (raw: RawConfig, ctx: ValidateContext): Config {
  return {
    input: inputSection(raw.input, ctx),
    output: outputSection(raw.output, ctx),
    feeds: feedsSection(raw.feeds, ctx),
    // Piscina wants an integer thread count; the schema caps explicit counts at 256 too.
    workers: raw.workers === 'auto' ? Math.min(256, Math.max(1, availableParallelism())) : raw.workers,
    api: apiSection(raw.api, ctx),
    store: {
      path: raw.store.path === null ? null : resolve(ctx.baseFor(['store', 'path']), raw.store.path),
      maxAge: ms(raw.store.maxAge),
      maxBytes: raw.store.maxBytes,
      eventBytes: raw.store.eventBytes,
    },
    log: { level: raw.log.level, statsInterval: ms(raw.log.statsInterval) },
  }
}
