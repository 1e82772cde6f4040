// `feedmatch serve` measured as a SIEM sees it: the compiled CLI is spawned with the bench feeds,
// a TCP sender streams the corpus into its listener over loopback (with backpressure: the sender
// waits whenever the socket's buffer is full), and a TCP receiver counts the detection frames it
// sends out. Throughput is timed from the first byte sent to the `alert=stopping` frame, which
// the service sends after SIGTERM once every event taken has been matched and its detections
// written. A second run sends at half that rate for a few seconds and reads the p99 batch latency
// from the service's `final statistics` log line. Never asserts a time.
import { spawn } from 'node:child_process'
import { createReadStream } from 'node:fs'
import { once } from 'node:events'
import { createServer, connect } from 'node:net'
import { fileURLToPath } from 'node:url'
import { watchPeakRss, within } from './lib/proc.mjs'

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))
const LF = 0x0a

/** A TCP server that counts LF-framed detection frames and notices the service events. */
async function startReceiver () {
  const r = { detections: 0, alerts: [], bytes: 0, started: null, stopping: null }
  let resolveStarted, resolveStopping
  r.onStarted = new Promise((resolve) => { resolveStarted = resolve })
  r.onStopping = new Promise((resolve) => { resolveStopping = resolve })
  const server = createServer((socket) => {
    let carry = ''
    socket.on('data', (chunk) => {
      r.bytes += chunk.length
      // Detections are about 1% of events, so parsing the output as text costs nothing that matters.
      const text = carry + chunk.toString('latin1')
      let start = 0
      for (let lf = text.indexOf('\n'); lf !== -1; lf = text.indexOf('\n', start)) {
        const line = text.slice(start, lf)
        start = lf + 1
        const alert = /\balert=(\w+)/.exec(line)
        if (alert === null) { r.detections++; continue }
        r.alerts.push(alert[1])
        if (alert[1] === 'started') { r.started = performance.now(); resolveStarted() }
        if (alert[1] === 'stopping') { r.stopping = performance.now(); resolveStopping() }
      }
      carry = text.slice(start)
    })
    socket.on('error', () => {})
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  r.port = server.address().port
  r.close = () => new Promise((resolve) => { server.close(() => resolve()); server.closeAllConnections?.() })
  return r
}

/** Spawns `feedmatch serve`; resolves with the child and its input port once it is listening. */
async function startService (feedFiles, outPort, timeoutMs) {
  const args = [CLI, 'serve', ...feedFiles.flatMap((f) => ['--feeds', f]), '--listen', 'tcp://127.0.0.1:0', '--output', `tcp://127.0.0.1:${outPort}`, '--preset', 'alienvault']
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  const rss = watchPeakRss(child.pid, 100)
  const logs = []
  let listenPort = null
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
        resolvePort(listenPort)
      }
      // Keep what the report needs, not every line of a long run.
      if (rec.level >= 40 || rec.msg === 'final statistics') logs.push(rec)
    }
  })
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => { resolvePort(null); resolve({ code, signal }) }))
  const p = await within(port, timeoutMs, 'feedmatch serve start')
  if (p === null) throw new Error(`feedmatch serve exited before listening: ${JSON.stringify(logs.slice(-3))}`)
  return { child, port: p, logs, exited, rss }
}

/**
 * Streams `corpus` into the service once at full speed, or paced to `rate` bytes/s for `maxMs`
 * (starting over at its end when it is shorter: latency wants enough batches for a p99).
 */
async function send (port, corpus, { rate = Infinity, maxMs = Infinity } = {}) {
  const socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  socket.setNoDelay(true)
  let sent = 0
  let first = null
  const paced = rate !== Infinity
  const chunkSize = paced ? 64 << 10 : 1 << 20
  let more = true
  while (more) {
    more = false
    for await (const chunk of createReadStream(corpus, { highWaterMark: chunkSize })) {
      if (first === null) first = performance.now()
      if (paced) {
        const wait = first + (sent / rate) * 1000 - performance.now()
        if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait))
        if (performance.now() - first > maxMs) break
      }
      sent += chunk.length
      if (!socket.write(chunk)) await once(socket, 'drain')
    }
    more = paced && performance.now() - first <= maxMs
  }
  socket.end()
  // The service ends its side once it has read everything we sent: only then is SIGTERM safe.
  await once(socket, 'close')
  return { first, sent, endedAt: performance.now() }
}

/** One run: start, send, SIGTERM, wait for `stopping` and the exit. */
async function runOnce (feedFiles, corpus, opts, timeoutMs) {
  const receiver = await startReceiver()
  const spawnedAt = performance.now()
  const svc = await startService(feedFiles, receiver.port, timeoutMs)
  try {
    await within(receiver.onStarted, timeoutMs, 'the alert=started frame')
    const setupMs = receiver.started - spawnedAt
    const s = await within(send(svc.port, corpus, opts), timeoutMs, 'sending the corpus')
    svc.child.kill('SIGTERM')
    await within(receiver.onStopping, timeoutMs, 'the alert=stopping frame')
    await within(svc.exited, timeoutMs, 'feedmatch serve exit')
    const final = svc.logs.find((l) => l.msg === 'final statistics') ?? {}
    return {
      setupMs, bytes: s.sent, ms: receiver.stopping - s.first, sendMs: s.endedAt - s.first,
      detections: receiver.detections, alerts: receiver.alerts, events: final.events ?? null,
      latencyP50Ms: final.latencyP50Ms ?? null, latencyP99Ms: final.latencyP99Ms ?? null,
      peakRssMb: svc.rss.stop(), warnings: svc.logs.filter((l) => l.level >= 40).length
    }
  } finally {
    svc.rss.stop()
    if (svc.child.exitCode === null && svc.child.signalCode === null) svc.child.kill('SIGKILL')
    await receiver.close()
  }
}

/**
 * Runs the serve benchmark on `corpus` (whose sidecar gives `lines`) with the Kaspersky-format
 * `feedFiles`; returns the figures of the full-speed run and the half-rate latency run.
 */
export async function runServeBench ({ quick = false, corpus, lines, feedFiles }) {
  const timeoutMs = quick ? 120_000 : 600_000
  const full = await runOnce(feedFiles, corpus, {}, timeoutMs)
  const sec = full.ms / 1000
  const result = {
    mbPerSec: full.bytes / 1e6 / sec, linesPerSec: lines / sec, detections: full.detections,
    peakRssMb: full.peakRssMb, setupMs: full.setupMs, seconds: sec, events: full.events,
    latencyP99MsAtFullRate: full.latencyP99Ms, warnings: full.warnings
  }
  // Latency means something only below saturation: at full rate it is the time spent in full queues.
  const rate = full.bytes / sec / 2
  const half = await runOnce(feedFiles, corpus, { rate, maxMs: quick ? 3000 : 10_000 }, timeoutMs)
  result.halfRate = { mbPerSec: rate / 1e6, seconds: half.ms / 1000, bytes: half.bytes, latencyP50Ms: half.latencyP50Ms, latencyP99Ms: half.latencyP99Ms, peakRssMb: half.peakRssMb }
  return result
}
