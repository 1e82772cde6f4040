import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import net from 'node:net'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

// `verify` against a real `serve` child process, both run from the compiled CLI as a user runs
// them (build dist/ first: `npx tsc -p tsconfig.json`; serve's workers load from dist/ anyway).
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CLI = join(ROOT, 'dist/cli/main.js')
const FEEDS = join(ROOT, 'fixtures/feeds')

interface Run { code: number, stdout: string, stderr: string }
interface Expected { feed: string, category: string, type: string, kind: string, query: string, matched: string }
interface Result extends Expected { found: boolean, line?: number }
interface JsonReport {
  ok: boolean, complete: boolean, expected: number, found: number, missing: number,
  events: { sent: number, finished: number }, replies: { unrecognized: number }, results: Result[]
}

const EXPECTED = JSON.parse(await readFile(join(ROOT, 'fixtures/verification/expected.json'), 'utf8')) as Expected[]

function cli (args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: ROOT, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? -1, stdout, stderr })
    })
  })
}

interface Served { port: number, stop: () => Promise<void> }

/** Starts `serve` on a free port (port 0) and reads the bound port from its "feedmatch is serving" log line. */
async function serve (args: string[]): Promise<Served> {
  const child = spawn(process.execPath, [CLI, 'serve', '--listen', 'tcp://127.0.0.1:0', '--output', 'stdout', '--workers', '1', ...args],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (s: string) => {
      log += s
      for (const line of log.split('\n')) {
        if (!line.includes('feedmatch is serving')) continue
        const listen = (JSON.parse(line) as { listen: Array<{ protocol: string, port: number }> }).listen
        resolve(listen.find((l) => l.protocol === 'tcp')!.port)
      }
    })
    child.once('exit', (code) => reject(new Error(`serve exited with ${code} before serving:\n${log}`)))
  })
  return {
    port,
    stop: async () => {
      if (child.exitCode !== null) return
      child.kill('SIGTERM')
      await once(child, 'exit')
    },
  }
}

async function withServe (args: string[], fn: (port: number) => Promise<void>): Promise<void> {
  const s = await serve(args)
  try { await fn(s.port) } finally { await s.stop() }
}

/** A port nothing listens on: the system hands out a free one, we close it again. */
async function freePort (): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as net.AddressInfo).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

const key = (e: { feed: string, matched: string }): string => `${e.feed} ${e.matched}`

for (const preset of ['alienvault', 'fortisiem', 'ecs']) {
  test(`verify: all ${EXPECTED.length} verification detections come back from serve --preset ${preset}, exit 0`, async () => {
    await withServe(['--preset', preset], async (port) => {
      const r = await cli(['verify', '--target', `127.0.0.1:${port}`, '--format', 'json'])
      assert.equal(r.code, 0, r.stdout + r.stderr)
      const report = JSON.parse(r.stdout) as JsonReport
      assert.equal(report.ok, true)
      assert.equal(report.complete, true)
      assert.deepEqual(report.events, { sent: EXPECTED.length, finished: EXPECTED.length })
      assert.equal(report.found, EXPECTED.length)
      assert.equal(report.replies.unrecognized, 0)
      // Each detection is attributed to the event that carried it: line i+1 for entry i.
      assert.deepEqual(report.results.map((x) => x.line), EXPECTED.map((_, i) => i + 1))
      assert.deepEqual(report.results.map(key), EXPECTED.map(key))
    })
  })
}

test('verify: against a serve with only some demo feeds, exit 1 and exactly the missing ones listed', async () => {
  const loaded = new Set(['kl_malicious_hash', 'osint_ioc'])
  await withServe(['--feeds', join(FEEDS, 'kl_malicious_hash.json'), '--feeds', join(FEEDS, 'osint_ioc.csv')], async (port) => {
    const json = await cli(['verify', '--target', `127.0.0.1:${port}`, '--format', 'json'])
    assert.equal(json.code, 1, json.stderr)
    const report = JSON.parse(json.stdout) as JsonReport
    const missing = report.results.filter((x) => !x.found).map(key).sort()
    assert.deepEqual(missing, EXPECTED.filter((e) => !loaded.has(e.feed)).map(key).sort())
    assert.equal(report.found, EXPECTED.filter((e) => loaded.has(e.feed)).length)
    assert.equal(report.complete, true)

    const text = await cli(['verify', '--target', `127.0.0.1:${port}`])
    assert.equal(text.code, 1, text.stderr)
    const rows = text.stdout.split('\n').filter((l) => l.startsWith('MISSING '))
    assert.equal(rows.length, missing.length)
    for (const e of EXPECTED.filter((x) => !loaded.has(x.feed))) {
      assert.ok(rows.some((l) => l.includes(e.feed) && l.includes(e.matched)), `${key(e)} is listed as missing`)
    }
    assert.match(text.stdout, new RegExp(`${missing.length} of ${EXPECTED.length} expected detections did not come back`))
    assert.match(text.stdout, /nothing came back for kl_ip_reputation, /)
  })
})

test('verify: no service listening -> exit 2, a clear message naming the target', async () => {
  const port = await freePort()
  const r = await cli(['verify', '--target', `127.0.0.1:${port}`, '--timeout', '3s'])
  assert.equal(r.code, 2)
  assert.equal(r.stdout, '')
  assert.match(r.stderr, new RegExp(`^feedmatch: FM_ERR_VERIFY_CONNECT: cannot connect to 127\\.0\\.0\\.1:${port} \\(connection refused, ECONNREFUSED\\): is \`feedmatch serve\` running and listening there\\?\\n  Start the service`))
})

test('verify: a port that is not a feedmatch input -> exit 2, FM_ERR_VERIFY_PING', async () => {
  const server = net.createServer((s) => s.on('data', () => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'))).listen(0, '127.0.0.1')
  await once(server, 'listening')
  try {
    const r = await cli(['verify', '--target', `127.0.0.1:${(server.address() as net.AddressInfo).port}`, '--timeout', '3s'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /FM_ERR_VERIFY_PING: .* answered "HTTP\/1\.1 400 Bad Request", where feedmatch answers PONG/)
  } finally {
    server.close()
  }
})

test('verify: a service that answers PONG and then nothing -> exit 2 after the timeout, FM_ERR_VERIFY_REPLY', async () => {
  const server = net.createServer((s) => s.on('data', (d: Buffer) => { if (d.toString().startsWith('X-KF-ReplyBackPING')) s.write('PONG\n') }))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  try {
    const started = Date.now()
    const r = await cli(['verify', '--target', `127.0.0.1:${(server.address() as net.AddressInfo).port}`, '--timeout', '500ms'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /FM_ERR_VERIFY_REPLY: .* answered PONG, took 46 events in reply-back mode, then sent nothing back for 500 ms/)
    assert.ok(Date.now() - started < 5000)
  } finally {
    server.close()
  }
})

test('verify --events/--expected: a user pair, RFC 5424 headers and octet-counted replies (qradar)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fm-verify-'))
  const config = join(dir, 'feedmatch.yaml')
  await writeFile(config, `output:\n  preset: qradar\n  header: rfc5424\n  framing: octet\nfeeds:\n  sources:\n    - path: ${JSON.stringify(join(FEEDS, 'osint_ioc.csv'))}\n`)
  await writeFile(join(dir, 'events.txt'), [
    'Mar 1 10:00:00 gw01 deny src=10.1.1.1 dst=203.0.113.23',
    '',
    'Mar 1 10:00:01 proxy GET http://verify-osint.test/dropper/stage2.bin\r',
    'Mar 1 10:00:02 nothing to see here',
  ].join('\n') + '\n')
  // JSON lines, as NDJSON detections look; the second one cannot come back (no such indicator sent).
  await writeFile(join(dir, 'expected.ndjson'), [
    { feed: 'osint_ioc', matched: 'verify-osint.test/dropper/stage2.bin' },
    { category: 'osint_ioc', matched: '1e3bff4644522fdfdcb3f9609fda64ea' },
    { feed: 'osint_ioc', matched: '203.0.113.23' },
  ].map((e) => JSON.stringify(e)).join('\n') + '\n')
  await withServe(['-c', config], async (port) => {
    const r = await cli(['verify', '--target', `tcp://127.0.0.1:${port}`, '--events', join(dir, 'events.txt'),
      '--expected', join(dir, 'expected.ndjson'), '--format', 'json'])
    assert.equal(r.code, 1, r.stderr)
    const report = JSON.parse(r.stdout) as JsonReport
    assert.deepEqual(report.events, { sent: 3, finished: 3 })
    assert.equal(report.replies.unrecognized, 0)
    assert.deepEqual(report.results.map((x) => [x.matched, x.found, x.line]), [
      ['verify-osint.test/dropper/stage2.bin', true, 3],
      ['1e3bff4644522fdfdcb3f9609fda64ea', false, undefined],
      ['203.0.113.23', true, 1],
    ])
  })
})

test('verify: usage errors exit 2 before any connection', async () => {
  const half = await cli(['verify', '--events', join(ROOT, 'fixtures/verification/events.txt')])
  assert.equal(half.code, 2)
  assert.match(half.stderr, /FM_ERR_VERIFY_FILE: --events was given without --expected/)
  const timeout = await cli(['verify', '--timeout', '10'])
  assert.equal(timeout.code, 2)
  assert.match(timeout.stderr, /FM_ERR_USAGE: --timeout: expected a duration with its unit/)
  const target = await cli(['verify', '--target', 'localhost'])
  assert.equal(target.code, 2)
  assert.match(target.stderr, /FM_ERR_USAGE: --target: expected HOST:PORT/)
  const dir = await mkdtemp(join(tmpdir(), 'fm-verify-'))
  await writeFile(join(dir, 'bad.json'), '[{"feed": "x"}]')
  const bad = await cli(['verify', '--events', join(ROOT, 'fixtures/verification/events.txt'), '--expected', join(dir, 'bad.json')])
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /FM_ERR_VERIFY_FILE: --expected .*bad\.json: entry 1: expected "matched"/)
})

test('verify -c with the FortiSIEM connector\'s config: exit 0; what its IPv4-only rules cannot extract (IPv6 dst=) is skipped, and said', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fm-verify-fsm-'))
  const gen = await cli(['connector', 'fortisiem', '-o', dir])
  assert.equal(gen.code, 0, gen.stderr)
  const config = join(dir, 'feedmatch.yaml')
  await withServe(['-c', config, '--listen', 'tcp://127.0.0.1:0'], async (port) => {
    const r = await cli(['verify', '-c', config, '--target', `127.0.0.1:${port}`, '--format', 'json'])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const report = JSON.parse(r.stdout) as JsonReport & { skipped: number, results: Array<Result & { skipped?: string }> }
    assert.equal(report.missing, 0)
    const skipped = report.results.filter((x) => (x as { skipped?: string }).skipped !== undefined).map((x) => x.matched)
    assert.ok(skipped.length > 0 && skipped.every((m) => m.includes(':')), `skipped are the IPv6 ones: ${skipped.join(' ')}`)
    assert.equal(report.skipped, skipped.length)
    const text = await cli(['verify', '-c', config, '--target', `127.0.0.1:${port}`])
    assert.equal(text.code, 0)
    assert.match(text.stdout, new RegExp(`${skipped.length} skipped: the rules of source "default" .* cannot extract it`))
  })
})
