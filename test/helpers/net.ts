/**
 * End-to-end helpers for the service tests: the compiled CLI as a child process, a loopback
 * syslog receiver (the SIEM), senders with backpressure, condition waits with deadlines, and
 * readers for what the service reports (its pino log on stderr, its `alert=` service events).
 * Everything listens on 127.0.0.1 port 0, so test files can run side by side.
 */
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import dgram from 'node:dgram'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { parse as parseYaml } from 'yaml'
import type { ServiceSnapshot } from '../../src/service/stats.js'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const CLI = join(ROOT, 'dist/cli/main.js')
export const DEMO_FEEDS = join(ROOT, 'fixtures/feeds')
export const VERIFY_EVENTS = join(ROOT, 'fixtures/verification/events.txt')
export const VERIFY_EXPECTED = join(ROOT, 'fixtures/verification/expected.json')

/** Waits until `cond()` holds, polling; fails naming `what` after `timeout` ms, so a test never hangs. */
export async function waitFor (cond: () => boolean, what: string | (() => string), timeout = 15_000, every = 20): Promise<void> {
  const deadline = Date.now() + timeout
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${typeof what === 'string' ? what : what()}`)
    await sleep(every)
  }
}

/** Waits until `value()` has not changed for `quiet` ms (a stream that went still), at most `timeout` ms. */
export async function waitStill (value: () => number, quiet = 300, timeout = 15_000): Promise<void> {
  const deadline = Date.now() + timeout
  let last = value()
  let since = Date.now()
  while (Date.now() - since < quiet) {
    if (Date.now() > deadline) throw new Error(`still changing after ${timeout} ms`)
    await sleep(Math.min(50, quiet / 4))
    const v = value()
    if (v !== last) { last = v; since = Date.now() }
  }
}

/** A loopback port nobody listens on at the moment this resolves. */
export async function freePort (): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as net.AddressInfo).port
  server.close()
  await once(server, 'close')
  return port
}

/** A fresh temporary folder, and how to remove it. */
export async function tempDir (prefix = 'feedmatch-test-'): Promise<{ path: string, remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix))
  return { path, remove: async () => await rm(path, { recursive: true, force: true }) }
}

/** Writes a JSON configuration file (JSON is YAML) into `dir`; returns its path. */
export async function writeConfig (dir: string, config: unknown, name = 'feedmatch.json'): Promise<string> {
  const path = join(dir, name)
  await writeFile(path, JSON.stringify(config, null, 2))
  return path
}

// ---------------------------------------------------------------------------------------------
// The service as a user runs it

/** One line of the service's pino log (stderr), parsed. */
export type LogLine = Record<string, unknown> & { msg?: string, level?: number }

export interface ServiceAddress { protocol: string, host: string, port: number }

export interface StartOptions {
  cwd?: string
  env?: Record<string, string>
  /** ms to wait for `feedmatch is serving`. */
  readyTimeout?: number
  /** Do not wait for the service to be ready (it may be meant to fail). */
  noWait?: boolean
  /** Options for node itself, before the script (`node --max-old-space-size=N dist/cli/main.js`). */
  nodeArgs?: string[]
  /** The CLI entry to run (default: this checkout's dist/cli/main.js). */
  script?: string
}

/**
 * `node dist/cli/main.js serve ARGS` as a child process, its stdout and stderr captured: stderr is
 * the pino log (one JSON object a line), stdout holds detections when the output is `stdout`.
 */
export class ServiceProcess {
  readonly proc: ChildProcess
  readonly logs: LogLine[] = []
  /** stderr lines that are not JSON (usage errors, crashes). */
  readonly stderrText: string[] = []
  readonly stdout = new LineCollector()
  addresses: ServiceAddress[] = []
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  exit: { code: number | null, signal: NodeJS.Signals | null } | null = null

  private constructor (args: string[], opts: StartOptions) {
    const env: Record<string, string | undefined> = { ...process.env, ...opts.env }
    delete env.NODE_TEST_CONTEXT // the child is a program under test, not a test file
    this.proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), opts.script ?? CLI, 'serve', ...args], { cwd: opts.cwd ?? ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    this.exited = once(this.proc, 'exit').then(([code, signal]) => {
      this.exit = { code: code as number | null, signal: signal as NodeJS.Signals | null }
      return this.exit
    })
    this.proc.stdout?.on('data', (c: Buffer) => this.stdout.push(c))
    let rest = ''
    this.proc.stderr?.setEncoding('utf8')
    this.proc.stderr?.on('data', (c: string) => {
      const parts = (rest + c).split('\n')
      rest = parts.pop() ?? ''
      for (const p of parts) {
        if (p.trim() === '') continue
        try { this.logs.push(JSON.parse(p) as LogLine) } catch { this.stderrText.push(p) }
      }
    })
  }

  /** Spawns `serve ARGS` and waits until it listens (its ports are then in `addresses`). */
  static async start (args: string[], opts: StartOptions = {}): Promise<ServiceProcess> {
    const s = new ServiceProcess(args, opts)
    if (opts.noWait === true) return s
    const ready = (): LogLine | undefined => s.logged('feedmatch is serving')[0]
    try {
      await waitFor(() => ready() !== undefined || s.exit !== null, 'the service to listen', opts.readyTimeout ?? 20_000)
    } catch (err) {
      s.proc.kill('SIGKILL')
      throw new Error(`${(err as Error).message}\n${s.describe()}`)
    }
    if (s.exit !== null) throw new Error(`the service exited (${JSON.stringify(s.exit)}) before listening\n${s.describe()}`)
    s.addresses = (ready()?.listen as ServiceAddress[]) ?? []
    return s
  }

  get pid (): number { return this.proc.pid as number }

  /** The port of the first listener of `protocol`. */
  port (protocol = 'tcp'): number {
    const a = this.addresses.find((x) => x.protocol === protocol)
    if (a === undefined) throw new Error(`the service has no ${protocol} listener: ${JSON.stringify(this.addresses)}`)
    return a.port
  }

  /** Resident memory now, in bytes (VmRSS of /proc/PID/status; Linux only). */
  rss (): number {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'))
    return m === null ? 0 : Number(m[1]) * 1024
  }

  /** Log lines whose `msg` starts with `msg`. */
  logged (msg: string): LogLine[] {
    return this.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith(msg))
  }

  async waitForLog (msg: string, timeout = 15_000, count = 1): Promise<LogLine> {
    await waitFor(() => this.logged(msg).length >= count || this.exit !== null, `log "${msg}"`, timeout)
    const l = this.logged(msg)[count - 1]
    if (l === undefined) throw new Error(`the service exited before logging "${msg}"\n${this.describe()}`)
    return l
  }

  signal (sig: NodeJS.Signals): void {
    this.proc.kill(sig)
  }

  /** SIGTERM, then the exit status and the `final statistics` log line (SIGKILL after `timeout`). */
  async stop (timeout = 20_000): Promise<{ code: number | null, signal: NodeJS.Signals | null, stats: FinalStats }> {
    if (this.exit === null) this.proc.kill('SIGTERM')
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), timeout)
    const exit = await this.exited
    clearTimeout(timer)
    return { ...exit, stats: this.finalStats() }
  }

  /** The `final statistics` line (logged at SIGTERM); throws when there is none. */
  finalStats (): FinalStats {
    const l = this.logs.filter((x) => x.msg === 'final statistics').at(-1)
    if (l === undefined) throw new Error(`no "final statistics" in the log\n${this.describe()}`)
    return l as unknown as FinalStats
  }

  /** Kills at once (test clean-up; a no-op once exited). */
  kill (): void {
    if (this.exit === null) this.proc.kill('SIGKILL')
  }

  /** The end of stderr, for failure messages. */
  describe (lines = 30): string {
    const tail = this.logs.slice(-lines).map((l) => JSON.stringify(l).slice(0, 600))
    return ['--- service stderr (last lines) ---', ...this.stderrText.slice(-10), ...tail].join('\n')
  }
}

/** What the service logs as `final statistics`: its snapshot (and the output's buffered bytes). */
export type FinalStats = ServiceSnapshot & { outputBuffered?: number }

// ---------------------------------------------------------------------------------------------
// Frames: the SIEM side

/** Collects complete lines from a byte stream (used for a child's stdout). */
export class LineCollector {
  readonly lines: string[] = []
  private rest = ''
  push (chunk: Buffer): void {
    const parts = (this.rest + chunk.toString('utf8')).split('\n')
    this.rest = parts.pop() ?? ''
    for (const p of parts) this.lines.push(p.replace(/\r$/, ''))
  }
}

/**
 * Cuts one connection's bytes into frames: RFC 6587 octet counting when a frame starts with
 * `DIGITS SP`, else LF (a trailing CR dropped). Lengths are in bytes, so it works on Buffers.
 */
export class FrameParser {
  private buf: Buffer = Buffer.alloc(0)
  constructor (private readonly onFrame: (frame: string) => void) {}

  push (chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk])
    let i = 0
    for (;;) {
      const m = /^(\d{1,9}) /.exec(this.buf.toString('latin1', i, Math.min(i + 11, this.buf.length)))
      if (m !== null) {
        const start = i + m[0].length
        const end = start + Number(m[1])
        if (end > this.buf.length) break
        this.onFrame(this.buf.toString('utf8', start, end))
        i = end
        if (this.buf[i] === 0x0a) i++
        continue
      }
      const lf = this.buf.indexOf(0x0a, i)
      if (lf === -1) break
      this.onFrame(this.buf.toString('utf8', i, lf).replace(/\r$/, ''))
      i = lf + 1
    }
    this.buf = this.buf.subarray(i)
  }
}

/**
 * A TCP receiver on 127.0.0.1 standing for the SIEM: collects frames (LF or octet-counted), can
 * stop reading (a slow SIEM: TCP flow control then fills the service's socket), and can go down
 * and come back on the same port.
 */
export class Receiver {
  readonly frames: string[] = []
  /** Connections accepted since the start (the emitter's reconnects show here). */
  accepted = 0
  /** Called for every frame as it arrives (to count big streams without rescanning `frames`). */
  onFrame: ((frame: string) => void) | null = null
  private server: net.Server
  private readonly sockets = new Set<net.Socket>()
  private paused = false
  private _port = 0

  private constructor () {
    this.server = this.makeServer()
  }

  static async listen (port = 0): Promise<Receiver> {
    const r = new Receiver()
    await r.bind(port)
    return r
  }

  get port (): number { return this._port }
  get connections (): number { return this.sockets.size }
  get listening (): boolean { return this.server.listening }

  /** Bytes read so far across all connections (what the service got through). */
  bytesRead = 0

  /** Stops reading from every connection until `resume()`. */
  pause (): void {
    this.paused = true
    for (const s of this.sockets) s.pause()
  }

  resume (): void {
    this.paused = false
    for (const s of this.sockets) s.resume()
  }

  /** Goes down: connections reset (unread bytes are lost, as when a SIEM dies), port closed. */
  async close (): Promise<void> {
    // A receiver that comes back reads again.
    this.paused = false
    for (const s of this.sockets) s.resetAndDestroy()
    this.sockets.clear()
    if (this.server.listening) {
      this.server.close()
      await once(this.server, 'close')
    }
  }

  /** Comes back on the same port. */
  async restart (): Promise<void> {
    if (this.server.listening) return
    this.server = this.makeServer()
    await this.bind(this._port)
  }

  /** Frames that are detections (not `alert=` service events). */
  detections (from = 0): string[] {
    return this.frames.slice(from).filter((f) => !isAlert(f))
  }

  /** Service events (`alert=NAME ...`), by name. */
  alerts (name?: string, from = 0): string[] {
    return this.frames.slice(from).filter((f) => isAlert(f) && (name === undefined || alertName(f) === name))
  }

  private makeServer (): net.Server {
    return net.createServer((socket) => this.accept(socket))
  }

  private async bind (port: number): Promise<void> {
    // Right after close() the port may still be held by the previous server's sockets for a moment.
    for (let attempt = 0; ; attempt++) {
      try {
        this.server.listen({ port, host: '127.0.0.1', exclusive: true })
        await once(this.server, 'listening')
        break
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt > 50) throw err
        this.server = this.makeServer()
        await sleep(50)
      }
    }
    this._port = (this.server.address() as net.AddressInfo).port
  }

  private accept (socket: net.Socket): void {
    this.accepted++
    this.sockets.add(socket)
    if (this.paused) socket.pause()
    const parser = new FrameParser((f) => { this.frames.push(f); this.onFrame?.(f) })
    socket.on('data', (chunk: Buffer) => {
      if (!this.sockets.has(socket)) return
      this.bytesRead += chunk.length
      parser.push(chunk)
    })
    socket.on('error', () => {})
    socket.on('close', () => this.sockets.delete(socket))
  }
}

/** True for a service event of the `alienvault` preset (`alert=NAME context=...`). */
export function isAlert (frame: string): boolean {
  return /(?:^|\s)alert=\S/.test(frame) && !/category=\S+ detected=/.test(frame)
}

/** The name of a service event. */
export function alertName (frame: string): string | undefined {
  return /alert=(\S+)/.exec(frame)?.[1]
}

/** `category=C detected=M` of an `alienvault` detection: the identity the tests count by. */
export function detectionKey (frame: string): string | undefined {
  const m = /category=(\S+) detected=(\S+)/.exec(frame)
  return m === null ? undefined : `category=${m[1]} detected=${m[2]}`
}

/** The `src=` value of an `alienvault` detection (%SRC_IP%). */
export function detectionSrc (frame: string): string | undefined {
  return / src=(\S+)/.exec(frame)?.[1]
}

/**
 * Counts detections by the event number in their `src=` (see `event`), as frames arrive, for
 * streams too big to rescan. With `keyOf`, a detection whose `category=C detected=M` is not
 * `keyOf(event number)` is counted in `wrong` (with an example), not in `counts`.
 */
export class SeqCounter {
  readonly counts = new Map<number, number>()
  /** Detections that name no event number of ours. */
  others = 0
  wrong = 0
  example = ''

  constructor (siem: Receiver, private readonly keyOf?: (seq: number) => string) {
    siem.onFrame = (f) => this.add(f)
  }

  add (f: string): void {
    if (isAlert(f)) return
    const src = detectionSrc(f)
    if (src === undefined || !src.startsWith('10.')) { this.others++; this.example = f; return }
    const i = ipSeq(src)
    if (this.keyOf !== undefined && detectionKey(f) !== this.keyOf(i)) { this.wrong++; this.example = f; return }
    this.counts.set(i, (this.counts.get(i) ?? 0) + 1)
  }

  /** Distinct event numbers detected in [from, to). */
  seen (from: number, to: number): number {
    let n = 0
    for (const i of this.counts.keys()) if (i >= from && i < to) n++
    return n
  }
}

/** How many times each value occurs. */
export function tally (values: Iterable<string | undefined>): Map<string, number> {
  const m = new Map<string, number>()
  for (const v of values) if (v !== undefined) m.set(v, (m.get(v) ?? 0) + 1)
  return m
}

/** A SIEM, a scratch folder, and `serve` started from a config file written there for that SIEM. */
export interface ConfiguredService {
  siem: Receiver
  svc: ServiceProcess
  dir: { path: string, remove: () => Promise<void> }
  /** The config file, for tests that rewrite it (SIGHUP). */
  configPath: string
  /** Kills the service, closes the SIEM, removes the folder. */
  stop: () => Promise<void>
}

/**
 * The setup of the service tests that need a config file: a Receiver standing for the SIEM, a
 * scratch folder, and `feedmatch serve --config FILE` with the config `config(siemPort, dir)`
 * returns (it may first put feeds or other files in the folder). Nothing is left behind when the
 * service fails to start.
 */
export async function startWithConfig (config: (siemPort: number, dir: string) => unknown): Promise<ConfiguredService> {
  const siem = await Receiver.listen()
  const dir = await tempDir()
  try {
    const configPath = await writeConfig(dir.path, await config(siem.port, dir.path))
    const svc = await ServiceProcess.start(['--config', configPath])
    const stop = async (): Promise<void> => {
      svc.kill()
      await siem.close()
      await dir.remove()
    }
    return { siem, svc, dir, configPath, stop }
  } catch (err) {
    await siem.close()
    await dir.remove()
    throw err
  }
}

/**
 * Waits until every key of `keys` was seen among `frames()` after `from`, then until the output is
 * quiet, then checks: each key exactly once, and nothing else but service events.
 */
export async function expectOnce (frames: () => string[], from: number, keys: string[], what: string): Promise<void> {
  const window = (): string[] => frames().slice(from)
  const seen = (): Set<string | undefined> => new Set(window().map(detectionKey))
  await waitFor(() => keys.every((k) => seen().has(k)), () => `${what}: missing ${keys.filter((k) => !seen().has(k)).join(', ')}`)
  await waitStill(() => frames().length, 400)
  const got = tally(window().filter((f) => !isAlert(f)).map((f) => detectionKey(f) ?? `not a detection: ${f}`))
  const want = tally(keys)
  const diff: string[] = []
  for (const [k, n] of got) if (want.get(k) !== n) diff.push(`${k}: received ${n}, expected ${want.get(k) ?? 0}`)
  assert.deepEqual(diff, [], `${what}: every expected detection exactly once, nothing else`)
}

/** The detections `fixtures/verification/events.txt` must produce, as `category=C detected=M` keys. */
export function expectedVerificationKeys (): string[] {
  const expected = JSON.parse(readFileSync(VERIFY_EXPECTED, 'utf8')) as Array<{ category: string, matched: string }>
  return expected.map((e) => `category=${e.category} detected=${e.matched}`)
}

/** The verification events, one string each (no line ends). */
export function verificationEvents (): string[] {
  return readFileSync(VERIFY_EVENTS, 'utf8').split('\n').filter((l) => l.trim() !== '')
}

// ---------------------------------------------------------------------------------------------
// Events: the log-source side

/** An event number as a private IPv4 (`10.a.b.c`), carried as `src=` so that each detection names its event. */
export function seqIp (i: number): string {
  return `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`
}

/** The event number of `seqIp(i)`. */
export function ipSeq (ip: string): number {
  const p = ip.split('.').map(Number)
  return (p[1] << 16) | (p[2] << 8) | p[3]
}

/** The EICAR MD5: one detection in the demo feeds (kl_malicious_hash), and no other. */
export const EICAR_MD5 = '44d88612fea8a8f36de82e1278abb02f'

/**
 * A firewall-like event numbered `i` (its number as `src=`). With `hash`, the event carries that
 * indicator; `pad` adds filler so events can be made big.
 */
export function event (i: number, hash?: string, pad = 0): string {
  const ioc = hash === undefined ? 'file=report.pdf' : `hash=${hash}`
  return `<134>Mar  1 09:30:07 fw01 app[42]: act=allow src=${seqIp(i)} dst=198.51.100.${i % 250} ${ioc} user=alice${pad > 0 ? ' note=' + 'x'.repeat(pad) : ''}`
}

/** RFC 6587 octet counting of one event. */
export function octet (ev: string): string {
  return `${Buffer.byteLength(ev)} ${ev}`
}

export interface SenderStats {
  bytes: number
  /** write() calls that returned false. */
  backpressured: number
  /** The largest `writableLength` seen: bytes the service had not taken yet. */
  maxWritableLength: number
  /** ms spent waiting for 'drain', in all. */
  waitedMs: number
  /** True while a write is waiting for 'drain'. */
  waiting: boolean
  /** When the current wait for 'drain' started (epoch ms), else 0. */
  waitingSince: number
}

/**
 * A TCP client that writes with backpressure: `write` resolves at once while the socket takes
 * data, and only on 'drain' once it says false, so the test process never buffers a whole stream.
 */
export class Sender {
  readonly stats: SenderStats = { bytes: 0, backpressured: 0, maxWritableLength: 0, waitedMs: 0, waiting: false, waitingSince: 0 }
  /** Bytes the socket received back from the service (reply-back mode). */
  readonly replies = new LineCollector()

  private constructor (readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => this.replies.push(c))
    socket.on('error', () => {})
  }

  static async connect (port: number, host = '127.0.0.1'): Promise<Sender> {
    const socket = net.connect({ port, host })
    await once(socket, 'connect')
    return new Sender(socket)
  }

  get closed (): boolean { return this.socket.destroyed }

  async write (data: string | Buffer): Promise<void> {
    const ok = this.socket.write(data)
    this.stats.bytes += typeof data === 'string' ? Buffer.byteLength(data) : data.length
    this.stats.maxWritableLength = Math.max(this.stats.maxWritableLength, this.socket.writableLength)
    if (ok) return
    this.stats.backpressured++
    this.stats.waiting = true
    this.stats.waitingSince = Date.now()
    await new Promise<void>((resolve) => {
      const done = (): void => { this.socket.off('drain', done); this.socket.off('close', done); resolve() }
      this.socket.on('drain', done)
      this.socket.on('close', done)
    })
    this.stats.waitedMs += Date.now() - this.stats.waitingSince
    this.stats.waiting = false
    this.stats.waitingSince = 0
    if (this.socket.destroyed) throw new Error('the service closed the connection')
  }

  /** Writes lines (each with `eol`) in chunks of about 64 KiB. */
  async writeLines (lines: Iterable<string>, eol = '\n'): Promise<void> {
    let chunk = ''
    for (const l of lines) {
      chunk += l + eol
      if (chunk.length >= 65536) { await this.write(chunk); chunk = '' }
    }
    if (chunk.length > 0) await this.write(chunk)
  }

  /** Ends the connection once everything written was handed to the kernel. */
  async end (): Promise<void> {
    if (this.socket.destroyed) return
    const finished = once(this.socket, 'finish')
    this.socket.end()
    await finished
  }

  /** Ends and waits until the service closed its side too. */
  async close (): Promise<void> {
    if (this.socket.destroyed) return
    const closed = once(this.socket, 'close')
    this.socket.end()
    await closed
  }
}

/** Connects, writes `data` with backpressure, ends. */
export async function sendTcp (port: number, data: string | Buffer | Iterable<string>, eol = '\n'): Promise<SenderStats> {
  const s = await Sender.connect(port)
  if (typeof data === 'string' || Buffer.isBuffer(data)) await s.write(data)
  else await s.writeLines(data, eol)
  await s.close()
  return s.stats
}

/** Sends each message as one datagram, pacing a little so loopback buffers never overflow. */
export async function sendUdp (port: number, messages: Iterable<string | Buffer>, host = '127.0.0.1'): Promise<void> {
  const socket = dgram.createSocket('udp4')
  let n = 0
  for (const m of messages) {
    await new Promise<void>((resolve, reject) => socket.send(m, port, host, (err) => err === null || err === undefined ? resolve() : reject(err)))
    if (++n % 100 === 0) await sleep(1)
  }
  socket.close()
}

/**
 * An API token made by the compiled CLI (`feedmatch token new`), as a user makes one: the secret,
 * the entry it prints for api.tokens as YAML text (for a token file), and that entry parsed.
 */
export function cliToken (name: string, scopes: string): { token: string, yaml: string, entry: Record<string, unknown> } {
  const r = spawnSync(process.execPath, [CLI, 'token', 'new', '--name', name, '--scopes', scopes], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  const token = /^token: (\S+)$/m.exec(r.stdout)?.[1] as string
  const yaml = /^- (\{.*\})$/m.exec(r.stdout)?.[1] as string
  return { token, yaml, entry: parseYaml(yaml) as Record<string, unknown> }
}
