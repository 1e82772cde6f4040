/**
 * Real peers for the connector tests: the compiled CLI (as a user runs it), `feedmatch serve`,
 * rsyslogd instances with their own config and work folder, and the Debian tools that read our
 * output back. A test that needs a missing tool skips loudly, naming the package (helpers/peers.ts),
 * and fails under FEEDMATCH_REQUIRE_PEERS=1, which .ci/run sets.
 */
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { findTool } from '../helpers/peers.js'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const CLI = join(ROOT, 'dist/cli/main.js')
export const FIXTURES = join(ROOT, 'test/connectors/fixtures')
export const DEMO_FEEDS = join(ROOT, 'fixtures/feeds')
export const HOSTILE_FEED = join(FIXTURES, 'hostile_values.json')

/** One expected detection: feed category, matched indicator, and the event's `src=` (or `-`). */
export interface Expected { category: string, matched: string, src: string, line: string }

/** The absolute path of a Debian tool; fails the test, naming the package, when it is missing (tests that need it skip first: helpers/peers.ts). */
export function requireTool (cmd: string, pkg: string): string {
  const found = findTool(cmd)
  if (found !== null) return found
  assert.fail(`${cmd} is not installed: install the Debian package ${pkg} (apt-get install -y ${pkg}); .ci/run installs it from APT_PACKAGES`)
}

/** A temporary folder, removed by the returned function. */
export function tempDir (prefix: string): { dir: string, remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `feedmatch-${prefix}-`))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port
      srv.close(() => resolve(port))
    })
  })
}

/** Runs the compiled CLI to its end. */
export function cli (args: string[]): { status: number | null, stdout: string, stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: ROOT, timeout: 60_000 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** Waits until `check` is true, polling; fails with `what` after `ms`. */
export async function waitFor (what: string, check: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) assert.fail(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function portOpen (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}

/** A child process we started, with its output so far and a stop that waits for the exit. */
export interface Peer {
  proc: ChildProcess
  output: () => string
  stop: (signal?: NodeJS.Signals) => Promise<number | null>
}

function peer (proc: ChildProcess): Peer {
  let out = ''
  proc.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  proc.stderr?.on('data', (d: Buffer) => { out += d.toString() })
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
  return {
    proc,
    output: () => out,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal)
      return await exited
    },
  }
}

/** `feedmatch serve ARGS`, resolved once it logs that it is serving. */
export async function startServe (args: string[]): Promise<Peer> {
  const p = peer(spawn(process.execPath, [CLI, 'serve', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }))
  await waitFor('feedmatch serve to start', () => {
    if (p.proc.exitCode !== null) assert.fail(`feedmatch serve exited with ${p.proc.exitCode}:\n${p.output()}`)
    return p.output().includes('feedmatch is serving')
  })
  return p
}

/** rsyslogd in the foreground with its own config, pid file and work folder; resolved once `port` listens. */
export async function startRsyslog (dir: string, name: string, config: string, port: number): Promise<Peer> {
  const rsyslogd = requireTool('rsyslogd', 'rsyslog')
  const conf = join(dir, `${name}.conf`)
  writeFileSync(conf, config)
  const p = peer(spawn(rsyslogd, ['-n', '-f', conf, '-i', join(dir, `${name}.pid`)], { stdio: ['ignore', 'pipe', 'pipe'] }))
  let open = false
  await waitFor(`rsyslogd ${name} to listen on ${port}`, () => {
    if (p.proc.exitCode !== null) assert.fail(`rsyslogd ${name} exited with ${p.proc.exitCode}:\n${p.output()}`)
    void portOpen(port).then((ok) => { open = ok })
    return open
  })
  return p
}

/** The verification events and what each must produce, plus the hostile-value events. */
export function expectations (): Expected[] {
  const lines = [
    ...readFileSync(join(ROOT, 'fixtures/verification/events.txt'), 'utf8').split('\n').filter((l) => l !== ''),
    ...readFileSync(join(FIXTURES, 'hostile-events.txt'), 'utf8').split('\n').filter((l) => l !== ''),
  ]
  const expected = [
    ...(JSON.parse(readFileSync(join(ROOT, 'fixtures/verification/expected.json'), 'utf8')) as Array<{ category: string, matched: string }>),
    ...(JSON.parse(readFileSync(join(FIXTURES, 'hostile-expected.json'), 'utf8')) as Array<{ category: string, matched: string }>),
  ]
  assert.equal(lines.length, expected.length, 'one event line per expected detection')
  // The generic rules' SRC_IP: `src=`, `src_ip=` or `srcip=` and an IPv4 (extract/presets.ts).
  return expected.map((e, i) => ({ category: e.category, matched: e.matched, line: lines[i], src: /\b(?:src|src_ip|srcip)=(\d+\.\d+\.\d+\.\d+)/i.exec(lines[i])?.[1] ?? '-' }))
}

/** The hostile feed's records by their indicator, for exact context checks. */
export function hostileRecords (): Map<string, Record<string, unknown>> {
  const recs = JSON.parse(readFileSync(HOSTILE_FEED, 'utf8')) as Array<Record<string, unknown>>
  return new Map(recs.map((r) => [String(r.mask ?? r.MD5 ?? r.ip).toLowerCase(), r]))
}

/** A value as the output templates print it (render/template.ts valueText). */
export function valueText (v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v)
}

/** Sends lines to 127.0.0.1:port over one TCP connection, LF after each. */
export async function sendLines (port: number, lines: string[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const s = createConnection({ host: '127.0.0.1', port }, () => { s.end(lines.map((l) => l + '\n').join(''), () => resolve()) })
    s.once('error', reject)
  })
}

/** Runs a tool with stdin, returning stdout; fails the test on a non-zero exit. */
export function tool (path: string, args: string[], input: string): string {
  const r = spawnSync(path, args, { input, encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 })
  assert.equal(r.status, 0, `${path} ${args.join(' ')} failed: ${r.stderr}`)
  return r.stdout
}

/**
 * Runs `feedmatch serve` with `output` (preset, header...) into a file, sends every expected
 * event, and returns the output's lines once the service has drained and stopped.
 */
export async function serveToFile (dir: string, name: string, output: Record<string, unknown>, hostileFeed: Record<string, unknown> = {}): Promise<string[]> {
  const port = await freePort()
  const file = join(dir, `${name}.out`)
  const config = join(dir, `${name}.json`)
  writeFileSync(config, JSON.stringify({
    input: { listen: [`tcp://127.0.0.1:${port}`] },
    output: { target: `file:${file}`, ...output },
    feeds: { sources: [DEMO_FEEDS, { path: HOSTILE_FEED, ...hostileFeed }], watch: false },
    workers: 1,
    log: { level: 'info' },
  }))
  const serve = await startServe(['-c', config])
  try {
    const expected = expectations()
    await sendLines(port, expected.map((e) => e.line))
    const lines = (): number => existsSync(file) ? readFileSync(file, 'utf8').split('\n').length - 1 : 0
    // The `started` service event, then one detection per event.
    await waitFor(`${expected.length} detections in ${file}`, () => lines() >= expected.length + 1)
  } finally {
    assert.equal(await serve.stop(), 0, 'serve exits 0 after SIGTERM')
  }
  return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '')
}
