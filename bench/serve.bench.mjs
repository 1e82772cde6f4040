// `feedmatch serve` measured as a SIEM sees it: the compiled CLI is spawned with the bench feeds,
// a TCP sender streams the corpus into its listener over loopback (with backpressure: the sender
// waits whenever the socket's buffer is full), and a TCP receiver counts the detection frames it
// sends out. Throughput is timed from the first byte sent to the `alert=stopping` frame, which
// the service sends after SIGTERM once every event taken has been matched and its detections
// written. A second run sends at half that rate for a few seconds and reads the p99 batch latency
// from the service's `final statistics` log line. A third has a receiver that reads slowly, so
// the service has to push back on its input rather than grow; a fourth replaces a feed file while
// events flow, so the service rebuilds and swaps its feeds mid-run. Never asserts a time.
import { spawn } from 'node:child_process'
import { createReadStream, statSync } from 'node:fs'
import { mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises'
import { once } from 'node:events'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { basename, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { watchPeakRss, within } from './lib/proc.mjs'

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))
/** Slow receiver: how long reading every detection at its capped rate should take, at least... */
const SLOW_SECONDS = { quick: 4, full: 15 }
/** ... and how many times slower than the full-rate run produced them it reads, at least. */
const SLOW_FACTOR = 2
/** Slow receiver: output to aim for, about three times what the loopback sockets' buffers hold. */
const SLOW_MIN_OUTPUT = 12e6
/** Slow receiver: most passes of the corpus (the quick corpus would need dozens: it stays at one). */
const SLOW_MAX_PASSES = { quick: 1, full: 3 }
/** Slow receiver: the service's output queue (output.queue.maxBytes; write() says wait from half of it). */
const SLOW_QUEUE_BYTES = 1 << 20
/** Slow receiver: the service's statistics interval, to see its output queue and pending batches during the run. */
const SLOW_STATS_INTERVAL = '500ms'
/** Slow receiver: after the sender is done, how long the receiver may get nothing before we stop waiting. */
const SLOW_QUIET_MS = 5_000
/** Feed swap: the feed file is replaced once this share of the first pass was sent. */
const SWAP_AT = 0.2
/** Feed swap: after the swap, at least this share of a pass is sent against the new feeds. */
const AFTER_SWAP = 0.5
/** Feed swap: no new pass is started after this long without a swap. */
const SWAP_MAX_MS = { quick: 30_000, full: 120_000 }
/** Drop counters that are not losses: processed anyway, or left out on purpose by the user's rules. */
const NOT_LOSSES = new Set(['invalid_utf8_processed', 'ignored_by_rule'])

/**
 * A TCP server that counts LF-framed detection frames and notices the service events; with
 * `tally` it also counts each distinct frame, and `onDetection(line, now)` sees each detection
 * line. With a `rate` (bytes/s) it reads no faster: past a
 * small burst it pauses its socket until the rate allows what it read, so the unread bytes back up
 * into the kernel and then into the service.
 */
export async function startReceiver ({ rate = Infinity, tally = false, onDetection = null } = {}) {
  const r = { detections: 0, alerts: [], alertAt: {}, bytes: 0, started: null, stopping: null, lastByteAt: null, pauses: 0, tally: tally ? new Map() : null }
  let resolveStarted, resolveStopping
  r.onStarted = new Promise((resolve) => { resolveStarted = resolve })
  r.onStopping = new Promise((resolve) => { resolveStopping = resolve })
  const burst = Math.min(16 << 10, rate)
  const server = createServer((socket) => {
    let carry = ''
    let tokens = burst
    let last = performance.now()
    socket.on('data', (chunk) => {
      const now = performance.now()
      r.bytes += chunk.length
      r.lastByteAt = now
      // Detections are about 1% of events, so parsing the output as text costs nothing that matters.
      const text = carry + chunk.toString('latin1')
      let start = 0
      for (let lf = text.indexOf('\n'); lf !== -1; lf = text.indexOf('\n', start)) {
        const line = text.slice(start, lf)
        start = lf + 1
        const alert = /\balert=(\w+)/.exec(line)
        if (alert === null) {
          r.detections++
          if (onDetection !== null) onDetection(line, now)
          if (r.tally !== null) r.tally.set(line, (r.tally.get(line) ?? 0) + 1)
          continue
        }
        r.alerts.push(alert[1])
        r.alertAt[alert[1]] ??= now
        if (alert[1] === 'started') { r.started = now; resolveStarted() }
        if (alert[1] === 'stopping') { r.stopping = now; resolveStopping() }
      }
      carry = text.slice(start)
      if (rate === Infinity) return
      // Token bucket: what was read beyond the allowance is paid for by a pause.
      tokens = Math.min(burst, tokens + (now - last) * rate / 1000) - chunk.length
      last = now
      if (tokens < 0) {
        r.pauses++
        socket.pause()
        setTimeout(() => socket.resume(), -tokens / rate * 1000)
      }
    })
    socket.on('error', () => {})
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  r.port = /** @type {import('node:net').AddressInfo} */ (server.address()).port
  r.close = () => /** @type {Promise<void>} */ (new Promise((resolve) => { server.close(() => resolve()) }))
  return r
}

/**
 * Spawns `feedmatch serve` (with `configFile` when given); resolves with the child and its input
 * port once it is listening.
 */
export async function startService (feedFiles, outPort, timeoutMs, configFile) {
  const args = [CLI, 'serve', ...(configFile === undefined ? [] : ['--config', configFile]), ...feedFiles.flatMap((f) => ['--feeds', f]),
    '--listen', 'tcp://127.0.0.1:0', '--output', `tcp://127.0.0.1:${outPort}`, '--preset', 'alienvault']
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  const rss = watchPeakRss(child.pid, 100)
  const logs = []
  // The periodic statistics, reduced to what the slow-receiver run reports: the fullest queues seen.
  const queues = { samples: 0, maxOutputBuffered: 0, maxPending: 0 }
  let listenPort = null
  let apiPort = null
  let resolvePort
  const port = new Promise((resolve) => { resolvePort = resolve })
  let buf = ''
  child.stderr.setEncoding('utf8').on('data', (s) => {
    buf += s
    let lf
    while ((lf = buf.indexOf('\n')) !== -1) {
      const line = buf.slice(0, lf)
      buf = buf.slice(lf + 1)
      let rec
      try { rec = JSON.parse(line) } catch { logs.push({ msg: line }); continue }
      if (rec.msg === 'feedmatch is serving' && Array.isArray(rec.listen)) {
        listenPort = rec.listen.find((a) => a.protocol === 'tcp')?.port ?? null
        apiPort = rec.listen.find((a) => a.protocol === 'http')?.port ?? null
        resolvePort(listenPort)
      }
      if (rec.msg === 'statistics') {
        queues.samples++
        queues.maxOutputBuffered = Math.max(queues.maxOutputBuffered, rec.outputBuffered ?? 0)
        queues.maxPending = Math.max(queues.maxPending, rec.queues?.pending ?? 0)
      }
      // Keep what the report needs, not every line of a long run.
      if (rec.level >= 40 || rec.msg === 'final statistics' || rec.msg === 'feeds updated') logs.push({ ...rec, seenAt: performance.now() })
    }
  })
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => { resolvePort(null); resolve({ code, signal }) }))
  const p = await within(port, timeoutMs, 'feedmatch serve start')
  if (p === null) throw new Error(`feedmatch serve exited before listening: ${JSON.stringify(logs.slice(-3))}`)
  return { child, port: p, apiPort, logs, queues, exited, rss }
}

/**
 * Streams `corpus` into the service at full speed, or paced to `rate` bytes/s for `maxMs`
 * (starting over at its end when it is shorter: latency wants enough batches for a p99). At full
 * speed, `again(passes)` at the end of each whole pass says whether to send the corpus once more;
 * `onChunk(sent)` sees the bytes sent so far. Counts the writes that had to wait for 'drain'.
 * @param {number} port
 * @param {string} corpus
 * @param {{ rate?: number, maxMs?: number, again?: (passes: number) => boolean, onChunk?: (sent: number) => void }} [options]
 */
async function send (port, corpus, { rate = Infinity, maxMs = Infinity, again = () => false, onChunk = () => {} } = {}) {
  const socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  socket.setNoDelay(true)
  let sent = 0
  let first = null
  let passes = 0
  let blocked = 0
  let blockedMs = 0
  const paced = rate !== Infinity
  const chunkSize = paced ? 64 << 10 : 1 << 20
  let more = true
  while (more) {
    more = false
    let whole = true
    for await (const chunk of createReadStream(corpus, { highWaterMark: chunkSize })) {
      if (first === null) first = performance.now()
      if (paced) {
        const wait = first + (sent / rate) * 1000 - performance.now()
        if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait))
        if (performance.now() - first > maxMs) { whole = false; break }
      }
      sent += chunk.length
      onChunk(sent)
      if (!socket.write(chunk)) {
        blocked++
        const t = performance.now()
        await once(socket, 'drain')
        blockedMs += performance.now() - t
      }
    }
    if (whole) passes++
    more = paced ? performance.now() - first <= maxMs : again(passes)
  }
  socket.end()
  // The service ends its side once it has read everything we sent: only then is SIGTERM safe.
  await once(socket, 'close')
  return { first, sent, passes, blocked, blockedMs, endedAt: performance.now() }
}

/**
 * Detections missing from `got`, and beyond, `passes` times the `ref` tally of one pass (both
 * Map<frame, count>). The alienvault frames carry no time, so the same event gives the same frame
 * in every run: this tells lost and duplicated detections apart where a count could hide both.
 */
function compareTally (ref, got, passes) {
  if (ref === null || got === null) return { missing: null, extra: null }
  let missing = 0
  let extra = 0
  for (const [line, n] of ref) {
    const d = (got.get(line) ?? 0) - n * passes
    if (d < 0) missing -= d
    else extra += d
  }
  for (const [line, n] of got) if (!ref.has(line)) extra += n
  return { missing, extra }
}

/** What the service dropped, from its `final statistics` line: output bytes and events (null when unknown). */
function dropsOf (final) {
  if (final.output === undefined && final.dropped === undefined) return { outputBytes: null, events: null }
  const events = Object.entries(final.dropped ?? {})
    .filter(([k]) => !NOT_LOSSES.has(k) && !k.startsWith('output_'))
    .reduce((n, [, v]) => n + v, 0)
  return { outputBytes: final.output?.bytesDropped ?? null, events }
}

/**
 * One run: start, send, SIGTERM, wait for `stopping` and the exit. `receiverRate` caps the
 * receiver's reading, `configFile` is passed to the service, `sendOpts(receiver)` gives the
 * sender's options, `beforeStop(receiver)` is awaited before SIGTERM and `tally` keeps a count of
 * each distinct detection frame.
 * @param {{ feedFiles: string[], corpus: string, sendOpts?: (receiver: any) => object, receiverRate?: number, configFile?: string, beforeStop?: (receiver: any) => Promise<void>, tally?: boolean }} options
 * @param {number} timeoutMs
 */
async function runOnce ({ feedFiles, corpus, sendOpts = () => ({}), receiverRate, configFile, beforeStop, tally = false }, timeoutMs) {
  const receiver = await startReceiver({ rate: receiverRate, tally })
  const spawnedAt = performance.now()
  const svc = await startService(feedFiles, receiver.port, timeoutMs, configFile)
  try {
    await within(receiver.onStarted, timeoutMs, 'the alert=started frame')
    const setupMs = receiver.started - spawnedAt
    svc.rss.mark()
    const s = await within(send(svc.port, corpus, sendOpts(receiver)), timeoutMs, 'sending the corpus')
    if (beforeStop !== undefined) await beforeStop(receiver)
    svc.child.kill('SIGTERM')
    await within(receiver.onStopping, timeoutMs, 'the alert=stopping frame')
    await within(svc.exited, timeoutMs, 'feedmatch serve exit')
    const final = svc.logs.find((l) => l.msg === 'final statistics') ?? {}
    const since = (t) => t === undefined || t === null ? null : t - s.first
    const rss = svc.rss.sinceMark()
    return {
      setupMs, bytes: s.sent, ms: receiver.stopping - s.first, sendMs: s.endedAt - s.first,
      passes: s.passes, blocked: s.blocked, blockedMs: s.blockedMs,
      detections: receiver.detections, tally: receiver.tally, alerts: receiver.alerts, outBytes: receiver.bytes, receiverPauses: receiver.pauses,
      alertAtMs: Object.fromEntries(Object.entries(receiver.alertAt).map(([k, t]) => [k, since(t)])),
      events: final.events ?? null, latencyP50Ms: final.latencyP50Ms ?? null, latencyP99Ms: final.latencyP99Ms ?? null,
      peakRssMb: svc.rss.stop(), rssAtTrafficMb: rss.atMarkMb, rssMaxDuringTrafficMb: rss.maxMb,
      warnings: svc.logs.filter((l) => l.level >= 40).map((l) => l.msg), drops: dropsOf(final), queues: svc.queues, store: final.store ?? null,
      feedsUpdated: svc.logs.filter((l) => l.msg === 'feeds updated').map((l) => ({ buildMs: l.buildMs ?? null, generation: l.generation ?? null, atMs: since(l.seenAt) }))
    }
  } finally {
    svc.rss.stop()
    if (svc.child.exitCode === null && svc.child.signalCode === null) svc.child.kill('SIGKILL')
    await receiver.close()
  }
}

/**
 * The full-rate run again with the detection store on (store.path in the scratch folder): what
 * keeping every detection in SQLite costs the event path, and whether every one was stored.
 */
async function storeRun ({ corpus, feedFiles, full, timeoutMs }, dir) {
  const configFile = join(dir, 'serve.yaml')
  await writeFile(configFile, `store:\n  path: ${JSON.stringify(join(dir, 'detections.db'))}\n`)
  const run = await runOnce({ feedFiles, corpus, configFile }, timeoutMs)
  const st = run.store ?? {}
  return {
    mbPerSec: run.bytes / 1e6 / (run.ms / 1000), detections: run.detections, fullRateDetections: full.detections,
    stored: st.written ?? null, overflow: st.overflow ?? null, storeBytes: st.bytes ?? null, peakRssMb: run.peakRssMb, drops: run.drops,
  }
}

/** Runs `fn` in a scratch folder that is removed after; a failure becomes `{ skipped: reason }`. */
async function subMeasurement (name, fn) {
  const dir = await mkdtemp(join(tmpdir(), 'feedmatch-bench-'))
  try {
    return await fn(dir)
  } catch (err) {
    console.log(`  feedmatch serve, ${name}: FAILED: ${err.message}`)
    return { skipped: `failed: ${err.message.split('\n')[0]}` }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/**
 * Slow receiver: the receiver reads at most a rate at which the detections take SLOW_SECONDS to
 * read, and SLOW_FACTOR times slower than the full-rate run produced them. The loopback sockets'
 * buffers alone take a few MB (~4 MB measured here: tcp_wmem's maximum), which no service memory
 * bound ever sees; so the corpus is sent, whole, as many times as it takes for the output to reach
 * SLOW_MIN_OUTPUT (at most SLOW_MAX_PASSES), and the service runs with a small output queue
 * (SLOW_QUEUE_BYTES). Past those buffers it must stop taking input, and the sender must wait: its
 * statistics every SLOW_STATS_INTERVAL show how full the queue got. SIGTERM is sent once every
 * expected detection arrived (or the receiver got nothing for SLOW_QUIET_MS): stopping earlier
 * would leave the backlog to the emitter's close timeout (5 s), and what it cannot send by then
 * is dropped.
 */
async function slowReceiverRun ({ quick, corpus, lines, feedFiles, full, expected, timeoutMs }, dir) {
  if (!(full.outBytes > 0)) throw new Error('the full-rate run received no output to size the read rate from')
  const mode = quick ? 'quick' : 'full'
  const passes = Math.max(1, Math.min(SLOW_MAX_PASSES[mode], Math.ceil(SLOW_MIN_OUTPUT / full.outBytes)))
  const want = expected * passes
  const producedPerSec = full.outBytes / (full.ms / 1000)
  const readRate = Math.min(full.outBytes * passes / SLOW_SECONDS[mode], producedPerSec / SLOW_FACTOR)
  const configFile = join(dir, 'serve.yaml')
  await writeFile(configFile, `output:\n  queue:\n    maxBytes: ${SLOW_QUEUE_BYTES}\nlog:\n  statsInterval: ${SLOW_STATS_INTERVAL}\n`)
  const beforeStop = async (receiver) => {
    while (receiver.detections < want && performance.now() - (receiver.lastByteAt ?? 0) < SLOW_QUIET_MS) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  const sendOpts = () => ({ again: (n) => n < passes })
  const run = await runOnce({ feedFiles, corpus, receiverRate: readRate, configFile, beforeStop, sendOpts, tally: true }, timeoutMs)
  const sec = run.ms / 1000
  return {
    mbPerSec: run.bytes / 1e6 / sec, linesPerSec: lines * run.passes / sec, seconds: sec, bytes: run.bytes, passes: run.passes,
    readCapKbPerSec: readRate / 1e3, producedKbPerSecAtFullRate: producedPerSec / 1e3, outputMb: run.outBytes / 1e6,
    // The emitter's write() says wait from half its queue (its default highWaterMark): from there on the service holds its input.
    queueMaxBytes: SLOW_QUEUE_BYTES, queueWaitMarkBytes: Math.floor(SLOW_QUEUE_BYTES / 2),
    maxOutputBufferedBytes: run.queues.samples === 0 ? null : run.queues.maxOutputBuffered,
    maxPendingBatches: run.queues.samples === 0 ? null : run.queues.maxPending, statsSamples: run.queues.samples,
    sendSeconds: run.sendMs / 1000, fullRateSendSeconds: full.sendMs / 1000 * run.passes,
    senderBlocked: run.blocked, senderBlockedSeconds: run.blockedMs / 1000, receiverPauses: run.receiverPauses,
    peakRssMb: run.peakRssMb, rssAtTrafficMb: run.rssAtTrafficMb, rssMaxDuringTrafficMb: run.rssMaxDuringTrafficMb,
    detections: run.detections, expected: want, ...compareTally(full.tally, run.tally, run.passes),
    drops: run.drops, warnings: run.warnings, events: run.events
  }
}

/**
 * Feed swap: the service reads the feeds through symlinks in a scratch folder (bench/corpus is
 * never touched); once SWAP_AT of the first pass was sent, one of them is replaced by rename, as a
 * downloader updates a file. The service watches its feeds' folders, so it rebuilds them all (after
 * its reload debounce) and swaps the new generation in while events flow. The corpus is sent
 * again, whole, until the swap was seen and AFTER_SWAP of a pass went in after it, so the count
 * to expect is the passes times one pass's detections (the feeds' contents do not change).
 */
async function feedSwapRun ({ quick, corpus, feedFiles, full, expected, timeoutMs }, dir) {
  const links = feedFiles.map((f) => join(dir, basename(f)))
  await Promise.all(feedFiles.map((f, i) => symlink(resolve(f), links[i])))
  const passBytes = statSync(corpus).size
  const maxMs = SWAP_MAX_MS[quick ? 'quick' : 'full']
  let t0 = null
  let changedAt = null
  let changedAtBytes = null
  let changeFailed = null
  let sentAtSwap = null
  const replace = async () => {
    const fresh = `${links[0]}.new`
    await symlink(resolve(feedFiles[0]), fresh)
    await rename(fresh, links[0])
  }
  const sendOpts = (receiver) => ({
    onChunk (sent) {
      t0 ??= performance.now()
      if (changedAt === null && sent >= passBytes * SWAP_AT) {
        changedAt = performance.now()
        changedAtBytes = sent
        replace().catch((err) => { changeFailed = err })
      }
      if (sentAtSwap === null && receiver.alertAt.feeds_updated !== undefined) sentAtSwap = sent
    },
    again (passes) {
      if (sentAtSwap === null) return changeFailed === null && performance.now() - t0 < maxMs
      return passes * passBytes - sentAtSwap < passBytes * AFTER_SWAP
    }
  })
  const run = await runOnce({ feedFiles: links, corpus, sendOpts, tally: true }, timeoutMs)
  if (changeFailed !== null) throw new Error(`replacing the feed file: ${changeFailed.message}`)
  const sec = run.ms / 1000
  const swap = run.feedsUpdated[0]
  const changedMs = changedAt - t0
  return {
    mbPerSec: run.bytes / 1e6 / sec, seconds: sec, bytes: run.bytes, passes: run.passes,
    changedAtSeconds: changedMs / 1000, changedAtMb: changedAtBytes / 1e6,
    swapSeen: run.alertAtMs.feeds_updated !== undefined,
    swapDuringRun: run.alertAtMs.feeds_updated !== undefined && run.alertAtMs.feeds_updated < run.sendMs,
    swaps: run.feedsUpdated.length,
    buildMs: swap?.buildMs ?? null,
    changeToSwapMs: run.alertAtMs.feeds_updated === undefined ? null : run.alertAtMs.feeds_updated - changedMs,
    mbAfterSwap: sentAtSwap === null ? null : (run.bytes - sentAtSwap) / 1e6,
    detections: run.detections, expected: expected * run.passes, perPass: expected, ...compareTally(full.tally, run.tally, run.passes),
    peakRssMb: run.peakRssMb, rssMaxDuringTrafficMb: run.rssMaxDuringTrafficMb,
    drops: run.drops, warnings: run.warnings, events: run.events
  }
}

/**
 * Runs the serve benchmark on `corpus` (whose sidecar gives `lines` and `expectedDetections`)
 * with the Kaspersky-format `feedFiles`; returns the figures of the full-speed run, the half-rate
 * latency run, the slow-receiver run and the feed-swap run (each of the last two is
 * `{ skipped: reason }` when it failed).
 */
export async function runServeBench ({ quick = false, corpus, lines, feedFiles, expectedDetections }) {
  const timeoutMs = quick ? 120_000 : 600_000
  const full = await runOnce({ feedFiles, corpus, tally: true }, timeoutMs)
  const sec = full.ms / 1000
  const result = {
    mbPerSec: full.bytes / 1e6 / sec, linesPerSec: lines / sec, detections: full.detections,
    peakRssMb: full.peakRssMb, setupMs: full.setupMs, seconds: sec, events: full.events,
    latencyP99MsAtFullRate: full.latencyP99Ms, warnings: full.warnings.length,
    rssAtTrafficMb: full.rssAtTrafficMb, rssMaxDuringTrafficMb: full.rssMaxDuringTrafficMb, outputMb: full.outBytes / 1e6, drops: full.drops
  }
  // Latency means something only below saturation: at full rate it is the time spent in full queues.
  const rate = full.bytes / sec / 2
  const half = await runOnce({ feedFiles, corpus, sendOpts: () => ({ rate, maxMs: quick ? 3000 : 10_000 }) }, timeoutMs)
  result.halfRate = { mbPerSec: rate / 1e6, seconds: half.ms / 1000, bytes: half.bytes, latencyP50Ms: half.latencyP50Ms, latencyP99Ms: half.latencyP99Ms, peakRssMb: half.peakRssMb }
  const ctx = { quick, corpus, lines, feedFiles, full, expected: expectedDetections ?? full.detections, timeoutMs }
  result.slowReceiver = await subMeasurement('slow receiver', (dir) => slowReceiverRun(ctx, dir))
  result.feedSwap = await subMeasurement('feed swap', (dir) => feedSwapRun(ctx, dir))
  result.store = await subMeasurement('detection store', (dir) => storeRun(ctx, dir))
  return result
}
