import { readFileSync } from 'node:fs'
import { syslogOptionsOf } from '../render/syslog.js'
import { FeedManager, recordCount, type LoadReport } from './feed-manager.js'
import { Dispatcher, type BatchDone } from '../pipeline/dispatcher.js'
import { ServiceStats, type ServiceSnapshot } from './stats.js'
import { SourceSelector, sourceSpecs } from './sources.js'
import { PRESETS } from '../extract/presets.js'
import { MatchPool } from '../pipeline/match-pool.js'
import { WARMUP_BYTES } from '../match/warmup.js'
import { warmUp } from './warmup.js'
import type { MatchTask, WorkerConfig } from '../pipeline/protocol.js'
import { Emitter, spoolOptions } from '../output/emitter.js'
import { createRenderer, type Renderer, type RendererOptions } from '../render/renderer.js'
import { TcpListener, type Connection } from '../input/syslog-tcp.js'
import { UdpListener } from '../input/syslog-udp.js'
import { ApiServer, type ApiSource } from './api.js'
import { LatencyMetric, prometheusText } from './metrics.js'
import { FeedIndex } from '../index/feed-index.js'
import type { Config } from '../config/types.js'
import { FeedmatchError } from '../errors.js'
import { log, logFormat } from '../log.js'
import { expandFeedSources } from '../config/feed-sources.js'
import { FeedFetcher } from '../feeds/remote/scheduler.js'
import type { FetchOutcome } from '../feeds/remote/fetch.js'
import { FeedHealth, type FeedHealthEntry } from './feed-health.js'
import type { ResolvedFeed } from '../config/types.js'
import { stat } from 'node:fs/promises'
import { EntryError, LiveLists, entryOf, type EntryRequest, type ListEntry, type ListName } from './live-lists.js'
import { isAddressOrCidr } from '../config/endpoint.js'
import { mergeReports, unintendedDrops, type ComponentReport } from '../util/telemetry.js'
import { DetectionStore } from '../store/detection-store.js'

/** Batch geometry: big enough to amortize a thread hop, small enough for low latency. */
const BATCH_BYTES = 256 * 1024
const BATCH_EVENTS = 4096
const BATCH_DELAY_MS = 5
/** How long the match workers may take to start and warm up before start-up fails (FM_ERR_WORKER). */
const WORKER_START_TIMEOUT_MS = 60_000
/** Delimiter framing: emit a held last event after this much quiet. */
const DELIMITER_FLUSH_MS = 1000

/** How wide a false positive's allowlist entry is (POST /detections/ID/false-positive). */
const FP_SCOPES = ['both', 'sender', 'feed', 'all']

/** Where a running service listens, once started (ports resolved when 0 was asked for). */
export interface ServiceAddress { protocol: string, host: string, port: number }

/**
 * `feedmatch serve`: listeners -> dispatcher (batches, backpressure) -> worker pool (extract,
 * match, render) -> one emitter (batched syslog out). Feeds are rebuilt in the background and
 * swapped per batch; service events go out through the preset's AlertFormat.
 */
export class Service {
  readonly stats = new ServiceStats()
  /** Batch latency for /metrics, as a Prometheus histogram (the stats keep their own for quantiles). */
  private readonly latencyMetric = new LatencyMetric()
  readonly addresses: ServiceAddress[] = []
  private readonly feeds: FeedManager
  /** Downloads the remote feeds on their schedules; set when the config has any. */
  private fetcher?: FeedFetcher
  private readonly health = new FeedHealth()
  /** The API's live allowlist and blocklist, matched as an overlay beside the feeds. */
  private readonly lists: LiveLists
  private emitter!: Emitter
  private pool!: MatchPool
  /** Set once the pool is up; the listeners bind before (held paused), so it may still be unset. */
  private dispatcher?: Dispatcher
  private renderer!: Renderer
  private workerCfg!: WorkerConfig
  private selector!: SourceSelector
  private tcp: TcpListener[] = []
  private udp: UdpListener[] = []
  private statsTimer?: NodeJS.Timeout
  private stopping = false
  private api?: ApiServer
  /** The API's view of the generation in service (lookups on this thread), rebuilt on a swap. */
  private apiIndex?: FeedIndex
  /** The same for the live lists' overlay. */
  private apiOverlay?: FeedIndex
  /** The detection store, when `store.path` is set. */
  private store?: DetectionStore

  constructor (private config: Config) {
    this.feeds = new FeedManager(config)
    this.lists = new LiveLists(config.feeds.lists)
  }

  /** Loads feeds, starts the pool, the emitter and the listeners, then sends `started`. */
  async start (): Promise<void> {
    this.compile(this.config, 1)
    // Bind first: a port that is taken fails the start in a second, not after the feed build.
    // TCP listeners stay paused (connections wait in the kernel) until the pipeline is up.
    await this.listen()
    const out = this.config.output
    this.emitter = new Emitter({
      target: out.target,
      tls: out.tls,
      framing: out.framing,
      batch: out.batch,
      queue: out.queue,
      ...spoolOptions(out.spool),
      ...(out.queue.resendBytes === null ? {} : { resendBytes: out.queue.resendBytes }),
      relpWindow: out.relp.window,
      reconnect: out.reconnect
    })
    this.emitter.on('lost', (err: Error) => {
      log.warn({ err: err?.message, target: out.target.url }, 'output lost: detections are queued until it is back')
      // Queued like any frame: the SIEM sees when it lost us once it is back.
      this.alert('output_lost', { target: out.target.url, reason: err?.message ?? 'connection closed' })
    })
    this.emitter.on('regained', () => this.alert('output_regained', { target: out.target.url }))
    this.emitter.on('error', (err: Error) => log.error({ err: err.message }, 'output error'))
    // The emitter drops only what it cannot ever send (or what came past its bound): counted in
    // bytes, and reported with the other drops by the next `events_dropped` service event.
    this.emitter.on('drop', (reason: string, bytes: number) => this.stats.drop(`output_${reason}_bytes`, bytes))
    await this.emitter.start()

    this.feeds.on('loaded', (r: LoadReport) => this.onFeedsLoaded(r))
    this.feeds.on('failed', (r: LoadReport) => this.onFeedsFailed(r))
    this.feeds.on('error', (err: Error & { code?: string }) => {
      log.error({ err: err.message, code: err.code }, 'feed reload failed: the feeds in service stay')
      this.alert('feed_failed', { feed: '*', code: err.code ?? 'FM_ERR_FEED_READ', reason: err.message, kept: 'previous' })
    })
    await this.startFetcher()
    try {
      this.lists.load()
    } catch (err) {
      throw new FeedmatchError('FM_ERR_CONFIG', `the live lists in ${this.config.feeds.lists} cannot be read: ${(err as Error).message}; fix or move lists.json`, { cause: err })
    }
    if (this.config.store.path !== null) {
      const { path, maxAge, maxBytes } = this.config.store
      this.store = await DetectionStore.open({ path, maxAge, maxBytes })
      let lastError = ''
      this.store.onWriteError = (message) => {
        if (message !== lastError) log.error({ path, err: message }, 'the detection store could not write a batch: those detections are not stored (the SIEM has them)')
        lastError = message
      }
      log.info({ path, rows: this.store.stats().rows }, 'detection store open')
    }
    const first = await this.feeds.load()
    if (first.feeds === 0 && first.failed.length > 0) {
      throw new FeedmatchError('FM_ERR_FEED_READ', `no feed could be loaded; first failure "${first.failed[0].name}": ${first.failed[0].message}`)
    }

    this.pool = new MatchPool({ threads: this.config.workers, maxInFlight: this.config.workers * 2 })
    this.pool.on('error', (err: Error) => log.error({ err: err.message }, 'worker pool error'))
    const task = (): Omit<MatchTask, 'batch'> => ({ gen: this.feeds.current, overlay: this.lists.overlay, cfg: this.workerCfg })
    const dispatch = { batchBytes: BATCH_BYTES, batchEvents: BATCH_EVENTS, batchDelay: BATCH_DELAY_MS, maxPending: this.config.workers * 4 }
    // Before the first event: the whole matching path gets compiled, and the workers show they run.
    const warmMs = await warmUp(this.pool, task, dispatch, { bytes: WARMUP_BYTES * this.config.workers, sources: this.workerCfg.sources.length, timeoutMs: WORKER_START_TIMEOUT_MS })
    log.info({ ms: Math.round(warmMs) }, 'match pipeline warmed up')
    this.dispatcher = new Dispatcher(this.pool, this.emitter, task, dispatch)
    this.dispatcher.on('batch', (b: BatchDone) => this.onBatch(b))
    this.dispatcher.on('error', (err: Error) => log.error({ err: err.message }, 'a batch failed'))
    this.dispatcher.on('pause', () => { for (const l of this.tcp) l.pause() })
    this.dispatcher.on('resume', () => { for (const l of this.tcp) l.resume() })

    for (const l of this.tcp) l.resume()
    await this.startApi()
    if (this.config.feeds.watch) this.feeds.watch()
    await this.fetcher?.start()
    this.health.on('stale', (e: FeedHealthEntry) => {
      log.warn({ feed: e.feed, ageSec: e.ageSec, maxAgeSec: e.maxAgeSec }, 'feed is stale: older than its maxAge')
      this.alert('feed_stale', { feed: e.feed, ageSec: e.ageSec ?? -1, maxAgeSec: e.maxAgeSec ?? -1, lastSuccess: e.lastSuccess === undefined ? 'never' : new Date(e.lastSuccess).toISOString() })
    })
    this.health.on('fresh', (e: FeedHealthEntry) => {
      log.info({ feed: e.feed, ageSec: e.ageSec }, 'feed is fresh again')
      this.alert('feed_fresh', { feed: e.feed, ageSec: e.ageSec ?? -1, maxAgeSec: e.maxAgeSec ?? -1 })
    })
    this.health.start()
    // statsInterval 0 means no statistics lines (setInterval would take it as 1 ms: a busy loop);
    // drops are still reported, once a minute.
    const every = this.config.log.statsInterval
    this.statsTimer = setInterval(() => { this.reportDrops(); if (every > 0) this.logStats('statistics') }, every > 0 ? every : 60_000)
    this.statsTimer.unref()
    this.alert('started', { listen: this.addresses.map((a) => `${a.protocol}://${a.host}:${a.port}`).join(' '), feeds: first.feeds, records: first.records, workers: this.pool.threads })
  }

  /** SIGHUP: re-read the configuration (rules, templates, feeds) and reload the feeds. */
  async reload (config: Config): Promise<void> {
    if (JSON.stringify(config.input.listen) !== JSON.stringify(this.config.input.listen) ||
        JSON.stringify(config.output.target) !== JSON.stringify(this.config.output.target) ||
        JSON.stringify(config.api.listen) !== JSON.stringify(this.config.api.listen)) {
      log.warn('listeners, API and output target changes take effect at the next restart')
    }
    if (JSON.stringify(config.store) !== JSON.stringify(this.config.store)) {
      log.warn('detection store changes (store.*) take effect at the next restart')
      config = { ...config, store: this.config.store }
    }
    this.config = config
    this.compile(config, this.workerCfg.version + 1)
    this.api?.setTokens(config.api)
    this.feeds.setConfig(config)
    const resolved = await expandFeedSources(config, { keepMissing: true })
    this.health.setFeeds(resolved)
    const remote = FeedFetcher.remote(resolved)
    if (this.fetcher !== undefined) await this.fetcher.setFeeds(remote)
    else if (remote.length > 0) await this.makeFetcher(remote).start()
    // A remote feed new in this config is fetched before the reload, as at start-up.
    await this.fetcher?.fetchMissing()
    await this.feeds.load()
  }

  /**
   * Remote feeds: those without a cached copy are fetched before the first build (start-up waits
   * for them, bounded by their timeouts and retries); the others are served from the cache at
   * once and fetched on their schedules from start().
   */
  private async startFetcher (): Promise<void> {
    const resolved = await expandFeedSources(this.config, { keepMissing: true })
    this.health.setFeeds(resolved)
    const remote = FeedFetcher.remote(resolved)
    if (remote.length === 0) return
    await this.makeFetcher(remote).fetchMissing()
  }

  private makeFetcher (remote: ResolvedFeed[]): FeedFetcher {
    const f = new FeedFetcher(remote, () => this.feeds.maybeCurrent)
    f.on('fetched', (o: FetchOutcome) => this.onFetched(o))
    this.fetcher = f
    return f
  }

  private onFetched (o: FetchOutcome): void {
    if (o.status === 'failed') {
      const e = o.error as NonNullable<FetchOutcome['error']>
      this.health.failure(o.feed, e.code, e.message)
      const kept = this.feeds.maybeCurrent?.feeds.some((f) => f.name === o.feed) === true ? 'previous' : 'none'
      log.error({ feed: o.feed, code: e.code, kept }, e.message)
      this.alert('feed_failed', { feed: o.feed, code: e.code, reason: e.message, kept })
      return
    }
    this.health.success(o.feed, Date.now())
    log.info({ feed: o.feed, status: o.status, records: o.records, ms: Math.round(o.ms) }, o.status === 'updated' ? 'feed downloaded' : 'feed unchanged at its source')
    if (o.status === 'updated' && this.feedsLoaded) void this.feeds.load().catch((err: Error) => this.feeds.emit('error', err))
  }

  /** SIGTERM: stop accepting, match and send what was taken, then close. */
  async stop (): Promise<void> {
    if (this.stopping) return
    this.stopping = true
    clearInterval(this.statsTimer)
    this.feeds.close()
    this.fetcher?.close()
    this.health.close()
    this.lists.close()
    // From here the output's pushback no longer holds the pipeline: a SIEM that is down would
    // hold it for ever. What the output cannot send by its close timeout is spooled, or dropped
    // and counted.
    this.dispatcher?.finish()
    // Take in what senders already sent, match it, and only then close the TCP connections:
    // reply-back clients get the detections of their last events on them.
    await Promise.all([...this.tcp.map(async (l) => await l.drain()), ...this.udp.map(async (l) => await l.close())])
    await this.dispatcher?.idle()
    await Promise.all(this.tcp.map(async (l) => await l.close()))
    this.alert('stopping', this.stats.snapshot())
    await this.api?.close()
    await this.pool?.close()
    await this.store?.close()
    await this.emitter?.close()
    // After the output closed, so that what it could not deliver is in the figures.
    this.logStats('final statistics')
  }

  /**
   * A start that failed part way (a port that is taken): closes what did start, without draining,
   * so that nothing keeps the process alive. Safe on any state.
   */
  async abort (): Promise<void> {
    this.stopping = true
    clearInterval(this.statsTimer)
    this.feeds.close()
    this.fetcher?.close()
    this.health.close()
    this.lists.close()
    await Promise.allSettled([...this.tcp.map(async (l) => await l.close()), ...this.udp.map(async (l) => await l.close()), this.api?.close()])
    await Promise.allSettled([this.pool?.close(), this.emitter?.close(), this.store?.close()])
  }

  private compile (config: Config, version: number): void {
    const sources = sourceSpecs(config.input.sources)
    const out = config.output
    // A source's rules are its preset's plus its own, and a template may name any of them
    // (`%SRC_IP%` of the generic preset in a custom event template).
    const ruleNames = [...new Set(sources.flatMap((s) => [...PRESETS[s.preset].map((r) => r.name), ...s.rules.map((r) => r.name)]))]
    const rendererOpts: RendererOptions = {
      preset: out.preset,
      templates: out.templates,
      ruleNames,
      syslog: syslogOptionsOf(out)
    }
    // Compiled here first so a bad template or pattern fails start-up, not a worker.
    this.renderer = createRenderer(rendererOpts)
    this.selector = new SourceSelector(config.input.sources)
    this.workerCfg = { version, sources, output: rendererOpts, maxDetectionsPerEvent: out.maxDetectionsPerEvent, finishedEvents: out.finishedEvents, store: config.store.path === null ? null : { eventBytes: config.store.eventBytes } }
  }

  private async listen (): Promise<void> {
    const input = this.config.input
    const tlsFiles = input.tls === undefined
      ? undefined
      : { cert: readFileSync(input.tls.cert), key: readFileSync(input.tls.key), ca: input.tls.ca === undefined ? undefined : readFileSync(input.tls.ca), requireClientCert: input.tls.requireClientCert }
    for (const l of input.listen) {
      if (l.protocol === 'udp') {
        const udp = new UdpListener({ host: l.host, port: l.port, maxEventSize: input.maxEventSize, recvBufferSize: input.udpReceiveBuffer }, (buf, s, e, ip) =>
          // UDP cannot wait: a datagram before the pipeline is up is dropped and counted.
          this.dispatcher?.push(buf, s, e, this.selector.peer(ip), undefined, true) ?? false)
        this.addresses.push({ protocol: 'udp', host: l.host, port: await udp.listen() })
        // Linux grants at most net.core.rmem_max (and reports twice what it grants).
        if (udp.recvBufferSize > 0 && udp.recvBufferSize < input.udpReceiveBuffer) {
          log.warn({ asked: input.udpReceiveBuffer, granted: udp.recvBufferSize }, 'the UDP receive buffer is smaller than input.udpReceiveBuffer: raise net.core.rmem_max, or bursts are dropped by the kernel (counted as udp_kernel_dropped)')
        }
        this.udp.push(udp)
        continue
      }
      const tcp = new TcpListener({
        protocol: l.protocol,
        host: l.host,
        port: l.port,
        tls: tlsFiles,
        framing: { mode: input.framing, delimiter: input.delimiter ?? undefined, maxEventSize: input.maxEventSize },
        maxConnections: input.maxConnections,
        maxConnectionsPerSource: input.maxConnectionsPerSource,
        idleTimeout: input.idleTimeout,
        firstByteTimeout: input.firstByteTimeout,
        delimiterFlush: DELIMITER_FLUSH_MS
      }, (buf, s, e, conn: Connection) => {
        this.dispatcher?.push(buf, s, e, this.selector.peer(conn.ip), conn.replyBack ? conn : undefined)
      })
      // Held until the pipeline is up (start() resumes it): accepted connections wait unread.
      tcp.pause()
      tcp.on('error', (err: Error) => log.error({ err: err.message }, 'listener error'))
      tcp.on('ended', (conn: Connection) => this.dispatcher?.endReply(conn))
      this.addresses.push({ protocol: l.protocol, host: l.host, port: await tcp.listen() })
      this.tcp.push(tcp)
    }
  }

  /** The HTTP API, when `api.listen` is set (api.ts); its address joins `addresses` as http. */
  private async startApi (): Promise<void> {
    const at = this.config.api.listen
    if (at === null) return
    this.api = new ApiServer({
      index: () => {
        const gen = this.feeds.current
        if (this.apiIndex?.handle.id !== gen.id) this.apiIndex = new FeedIndex(gen)
        return this.apiIndex
      },
      health: () => {
        const gen = this.feeds.current
        const feedHealth = this.health.entries()
        const degraded = feedHealth.filter((f) => f.stale || f.failing)
        return {
          // degraded: serving, but a feed is failing or past its maxAge (which, in `degradedFeeds`).
          status: this.stopping ? 'stopping' : degraded.length > 0 ? 'degraded' : 'ok',
          generation: gen.id,
          feeds: gen.feeds.length,
          records: recordCount(gen),
          uptimeSec: this.stats.uptimeSec,
          degradedFeeds: degraded.map((f) => ({ feed: f.feed, stale: f.stale, failing: f.failing, ...(f.lastError === undefined ? {} : { code: f.lastError.code }) }))
        }
      },
      stats: () => this.snapshot(),
      feeds: () => {
        const gen = this.feeds.current
        const health = new Map(this.health.entries().map((h) => [h.feed, h]))
        const name = (id: number): string => gen.feeds[id]?.name ?? String(id)
        return {
          generation: gen.id,
          builtAt: new Date(gen.builtAt).toISOString(),
          feeds: gen.feeds.map((f) => {
            const h = health.get(f.name)
            return { name: f.name, category: f.category, role: f.role, format: f.format, records: f.records, keys: f.keys, skipped: f.skipped, duplicates: f.duplicates ?? 0, ageSec: h?.ageSec ?? null, stale: h?.stale ?? false, failing: h?.failing ?? false, ...(h?.lastError === undefined ? {} : { lastError: h.lastError }), ...(f.carriedOver === undefined ? {} : { carriedOver: f.carriedOver }) }
          }),
          // Keys (a record's MD5, SHA1 and SHA256 are three) that both feeds of a pair hold.
          intersections: (gen.overlaps ?? []).map(([a, b, shared]) => ({ a: name(a), b: name(b), shared })).sort((x, y) => y.shared - x.shared),
        }
      },
      metrics: async () => await prometheusText(this.snapshot(), this.feeds.current.id, this.latencyMetric),
      overlay: () => {
        const o = this.lists.overlay
        if (o === null) return null
        if (this.apiOverlay?.handle.id !== o.id) this.apiOverlay = new FeedIndex(o)
        return this.apiOverlay
      },
      lists: {
        all: (list) => this.lists.all(list),
        add: (list, req, by) => this.addListEntry(list, req, by),
        remove: (list, id, by) => {
          const gone = this.lists.remove(list, id)
          if (gone !== undefined) this.audit('remove', gone, by)
          return gone
        }
      },
      ...(this.store === undefined ? {} : { store: this.storeApi(this.store) })
    }, this.config.api)
    this.addresses.push({ protocol: at.protocol, host: at.host, port: await this.api.listen(at.host, at.port) })
  }

  private addListEntry (list: ListName, req: EntryRequest, by: string): ListEntry {
    const entry = entryOf(list, req, by)
    this.lists.add(entry)
    this.audit('add', entry, by)
    return entry
  }

  /** The API's view of the detection store; a false positive becomes a scoped allowlist entry. */
  private storeApi (store: DetectionStore): NonNullable<ApiSource['store']> {
    return {
      detections: async (q) => await store.detections(q),
      indicators: async (q) => await store.indicators(q),
      get: async (id) => await store.get(id),
      falsePositive: async (id, req, by) => {
        const d = await store.get(id)
        if (d === null) return null
        const width = req.scope ?? 'both'
        if (typeof width !== 'string' || !FP_SCOPES.includes(width)) throw new EntryError(`"scope": expected ${FP_SCOPES.join(', ')} (both: this sender and this feed, the default; all: everywhere); found ${JSON.stringify(width)}`)
        const scope: { sender?: string, feed?: string } = {}
        if ((width === 'both' || width === 'sender') && isAddressOrCidr(d.sender)) scope.sender = d.sender
        if (width === 'both' || width === 'feed') scope.feed = d.feed
        const reason = req.reason ?? `false positive (detection ${id} of ${d.feed})`
        const entry = this.addListEntry('allowlist', { value: d.indicator, reason, scope, ...(req.expires === undefined ? {} : { expires: req.expires }) }, by)
        await store.mark(id, entry.id)
        return { entry, detection: { ...d, falsePositive: entry.id } }
      }
    }
  }

  private onBatch (b: BatchDone): void {
    const counted = b.reply === undefined || b.reply.saveStatistics
    this.stats.addBatch(b.result.counters, b.feeds, b.result.frames.length, b.latency, counted)
    if (b.result.stored !== null) this.store?.add(b.result.stored)
    this.latencyMetric.observe(b.latency)
  }

  private onFeedsLoaded (r: LoadReport): void {
    this.stats.setFeeds(this.feeds.current.feeds)
    // A local feed's age is its file's; a remote one's is its last fetch (onFetched), or the copy's.
    for (const l of r.loaded) {
      const { name, path } = l.meta
      void stat(path).then((st) => this.health.success(name, st.mtimeMs), () => this.health.success(name, Date.now()))
    }
    log.info({ generation: r.generation, feeds: r.feeds, records: r.records, buildMs: Math.round(r.buildMs) }, this.feedsLoaded ? 'feeds updated' : 'feeds loaded')
    // The first load is announced by `started`; later ones by their own service event, unless no
    // feed was read anew (all failed: their feed_failed events say so, nothing was updated).
    if (this.feedsLoaded && r.loaded.length > 0) this.alert('feeds_updated', { feeds: r.feeds, records: r.records, generation: r.generation, failed: r.failed.length })
    this.feedsLoaded = true
  }

  private feedsLoaded = false

  private onFeedsFailed (r: LoadReport): void {
    for (const f of r.failed) {
      this.health.failure(f.name, f.code, f.message)
      log.error({ feed: f.name, path: f.path, code: f.code, kept: f.kept }, f.message)
      this.alert('feed_failed', { feed: f.name, path: f.path, code: f.code, reason: f.message, kept: f.kept })
    }
  }

  /** Every change of a live list: to the log (audit: true) and to the SIEM as `list_changed`. */
  private audit (action: 'add' | 'remove', e: ListEntry, by: string): void {
    log.info({ audit: true, action, list: e.list, id: e.id, value: e.value, reason: e.reason, scope: e.scope, expires: e.expires, by }, `live ${e.list}: ${action} ${e.value}`)
    this.alert('list_changed', { action, list: e.list, id: e.id, value: e.value, reason: e.reason, by })
  }

  /** A service event through AlertFormat, to the SIEM with the detections. */
  alert (name: string, context: Record<string, unknown>): void {
    if (this.emitter === undefined) return
    const frame = this.renderer.alertFrame({ time: Date.now(), alert: name, context })
    this.emitter.write(Buffer.from(frame))
  }

  /** Inputs' counters, summed: what the listeners dropped or cut. */
  private inputCounters (): Record<string, number> {
    const sum: Record<string, number> = {}
    const add = (c: object): void => { for (const [k, v] of Object.entries(c)) if (typeof v === 'number') sum[k] = (sum[k] ?? 0) + v }
    for (const l of this.tcp) add(l.counters)
    for (const l of this.udp) add(l.counters)
    return sum
  }

  private lastDropTotal = 0

  /** Every component's report (util/telemetry.ts): listeners of one kind merged, in flow order. */
  private components (): ComponentReport[] {
    return mergeReports([...this.tcp.map((l) => l.report()), ...this.udp.map((l) => l.report()), this.stats.report(), ...(this.emitter === undefined ? [] : [this.emitter.report()]), ...(this.store === undefined ? [] : [this.store.report()])])
  }

  /** A service event when something was lost (not dropped on purpose) since the last report. */
  private reportDrops (): void {
    const drops = unintendedDrops(this.components())
    const total = Object.values(drops).reduce((a, b) => a + b, 0)
    if (total > this.lastDropTotal) this.alert('events_dropped', { since: this.lastDropTotal, total, ...drops })
    this.lastDropTotal = total
  }

  private logStats (msg: string): void {
    const snap = this.snapshot()
    if (logFormat === 'pretty') {
      // A person at a terminal gets the figures that matter in one short line; JSON logs (and
      // /stats) keep the whole snapshot.
      const dropped = Object.values(snap.dropped).reduce((a, b) => a + b, 0)
      log.info({ events: snap.events, detections: snap.detections, dropped, outputBuffered: this.emitter?.buffered, p99Ms: snap.latencyP99Ms }, msg)
      return
    }
    log.info({ ...snap, outputBuffered: this.emitter?.buffered }, msg)
  }

  /** Statistics now, for tests and the API. */
  snapshot (): ServiceSnapshot {
    return { ...this.stats.snapshot(), input: this.inputCounters(), feedHealth: this.health.entries(), components: this.components(), queues: this.dispatcher?.depths, output: this.emitter?.counters, ...(this.store === undefined ? {} : { store: this.store.stats() }) }
  }
}
