/**
 * The HTTP API of `serve` (api.listen), through the compiled CLI and real HTTP: health, lookups
 * by GET and POST against the feeds in service (and after a reload), statistics and Prometheus
 * metrics that count what was sent, refusals with FM_ERR_API; and FM_ERR_LISTEN, exit 2, when a
 * listener's port is taken.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { once } from 'node:events'
import { spawnSync } from 'node:child_process'
import { findTool, skipWithout } from '../helpers/peers.js'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  DEMO_FEEDS, EICAR_MD5, ServiceProcess, event, sendTcp, startWithConfig, tempDir, waitFor, writeConfig, type ConfiguredService
} from '../helpers/net.js'

interface Entry { indicator: string, type: string | null, value: string | null, matches: Array<{ feed: string, category: string, matched: string, context: Record<string, unknown> }> }

async function getJson (url: string, init?: RequestInit): Promise<{ status: number, body: any, headers: Headers }> {
  const res = await fetch(url, init)
  return { status: res.status, body: await res.json(), headers: res.headers }
}

describe('serve: the HTTP API', { timeout: 90_000 }, () => {
  let c: ConfiguredService
  let base: string
  let extraFeed: string

  before(async () => {
    c = await startWithConfig(async (siemPort, dir) => {
      extraFeed = join(dir, 'extra.txt')
      await writeFile(extraFeed, 'first-api-test.example\n')
      return {
        input: { listen: ['tcp://127.0.0.1:0'] },
        output: { target: `tcp://127.0.0.1:${siemPort}`, preset: 'alienvault' },
        feeds: { sources: [DEMO_FEEDS, { path: extraFeed, format: 'list', category: 'Api_Test' }], watch: false },
        workers: 1,
        api: { listen: 'http://127.0.0.1:0' }
      }
    })
    base = `http://127.0.0.1:${c.svc.port('http')}`
  })
  after(async () => { await c?.stop() })

  it('answers /health with the generation in service', async () => {
    const r = await getJson(`${base}/health`)
    assert.equal(r.status, 200)
    assert.equal(r.body.status, 'ok')
    assert.equal(r.body.generation, 1)
    assert.equal(r.body.feeds, 9) // the 8 demo feeds and extra.txt
    assert.ok(r.body.records > 1000, JSON.stringify(r.body))
  })

  it('looks indicators up by GET: typed, normalized, with the record context', async () => {
    const q = [EICAR_MD5.toUpperCase(), '192.0.2.222', 'not an indicator'].map((v) => `indicator=${encodeURIComponent(v)}`).join('&')
    const r = await getJson(`${base}/lookup?${q}`)
    assert.equal(r.status, 200)
    const [hash, ip, junk] = r.body as Entry[]
    assert.equal(hash.type, 'md5')
    assert.equal(hash.value, EICAR_MD5)
    assert.deepEqual(hash.matches.map((m) => m.category), ['kl_malicious_hash'])
    assert.equal(hash.matches[0].context.threat, 'EICAR-Test-File')
    assert.deepEqual({ type: ip.type, matches: ip.matches }, { type: 'ip', matches: [] })
    assert.deepEqual({ type: junk.type, matches: junk.matches }, { type: null, matches: [] })
  })

  it('looks indicators up by POST, one a line or a JSON array, as by GET', async () => {
    const byGet = (await getJson(`${base}/lookup?indicator=${EICAR_MD5}&indicator=first-api-test.example`)).body
    const lines = await getJson(`${base}/lookup`, { method: 'POST', body: `# a comment\n${EICAR_MD5}\r\n\nfirst-api-test.example\n` })
    const json = await getJson(`${base}/lookup`, { method: 'POST', body: JSON.stringify([EICAR_MD5, 'first-api-test.example']) })
    assert.equal(lines.status, 200)
    assert.deepEqual(lines.body, byGet)
    assert.deepEqual(json.body, byGet)
    assert.deepEqual((byGet as Entry[])[1].matches.map((m) => m.category), ['Api_Test'])
    // Many indicators are looked up in slices: all answered, in order.
    const many = Array.from({ length: 230 }, (_, i) => i === 117 ? EICAR_MD5 : `198.51.${i >> 8}.${i & 255}`)
    const big = (await getJson(`${base}/lookup`, { method: 'POST', body: many.join('\n') })).body as Entry[]
    assert.deepEqual(big.map((e) => e.indicator), many)
    assert.deepEqual(big.flatMap((e, i) => e.matches.length > 0 ? [i] : []), [117])
    // Defanged, as pasted from a report: refanged before the lookup.
    const defanged = (await getJson(`${base}/lookup`, { method: 'POST', body: 'first-api-test[.]example\nhxxp://first-api-test(.)example/x\n' })).body as Entry[]
    assert.deepEqual(defanged.map((e) => e.matches.map((m) => m.category)), [['Api_Test'], ['Api_Test']])
  })

  it('refuses what it cannot answer with FM_ERR_API and the right status', async () => {
    const cases: Array<[string, RequestInit | undefined, number]> = [
      ['/nope', undefined, 404],
      ['/stats', { method: 'DELETE' }, 405],
      ['/lookup', undefined, 400],
      ['/lookup', { method: 'POST', body: '[1, 2' }, 400],
      ['/lookup', { method: 'POST', body: '{"a": 1}' }, 400],
      ['/lookup', { method: 'POST', body: Array.from({ length: 1001 }, (_, i) => `10.0.${i >> 8}.${i & 255}`).join('\n') }, 413],
      ['/lookup', { method: 'POST', body: 'x'.repeat(300 * 1024) }, 413]
    ]
    for (const [path, init, status] of cases) {
      const r = await getJson(`${base}${path}`, init)
      assert.equal(r.status, status, `${init?.method ?? 'GET'} ${path}: ${JSON.stringify(r.body)}`)
      assert.equal(r.body.error.code, 'FM_ERR_API')
      assert.match(r.body.error.hint, /GET \/health/)
    }
    assert.equal((await fetch(`${base}/lookup`, { method: 'PUT' })).headers.get('allow'), 'GET, POST')
    // A request target that is no URL (fetch cannot send one): raw HTTP.
    const sock = net.connect(c.svc.port('http'), '127.0.0.1')
    await once(sock, 'connect')
    sock.end('GET http://[bad HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    let raw = ''
    for await (const chunk of sock) raw += String(chunk)
    assert.match(raw, /^HTTP\/1\.1 400 /, raw)
    assert.match(raw, /"code":"FM_ERR_API"/, raw)
    // Still serving after all that.
    assert.equal((await getJson(`${base}/health`)).status, 200)
  })

  it('counts the events sent in /stats and /metrics', async () => {
    const before = (await getJson(`${base}/stats`)).body
    await sendTcp(c.svc.port(), [event(1), event(2, EICAR_MD5), event(3), event(4, EICAR_MD5), event(5)])
    // Counted once their batch is done: polled.
    let stats = before
    for (let i = 0; i < 300 && stats.events !== before.events + 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      stats = (await getJson(`${base}/stats`)).body
    }
    assert.equal(stats.events, before.events + 5)
    assert.equal(stats.detections, before.detections + 2)
    const hashFeed = (stats.feeds as Array<{ category: string, detections: number }>).find((f) => f.category === 'kl_malicious_hash')
    const res = await fetch(`${base}/metrics`)
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
    const text = await res.text()
    const value = (line: RegExp): number => Number(new RegExp(`^${line.source} (\\S+)$`, 'm').exec(text)?.[1])
    assert.equal(value(/feedmatch_events_total/), stats.events)
    assert.equal(value(/feedmatch_detections_total/), stats.detections)
    assert.equal(value(/feedmatch_feed_detections_total\{feed="kl_malicious_hash",category="kl_malicious_hash"\}/), hashFeed?.detections)
    assert.equal(value(/feedmatch_feeds_generation/), 1)
    // Every sample line is NAME{LABELS} VALUE with a number, after its HELP and TYPE lines.
    for (const line of text.trimEnd().split('\n').filter((l) => l !== '')) assert.match(line, /^(# (HELP|TYPE) feedmatch_\w+ .+|feedmatch_\w+(\{[^}]*\})? (-?[0-9.e+]+|\+Inf))$/, line)
    // Latency is a histogram in seconds, counted per batch.
    assert.match(text, /^# TYPE feedmatch_batch_latency_seconds histogram$/m)
    assert.ok(value(/feedmatch_batch_latency_seconds_count/) >= 1)
    // Components in one vocabulary (src/util/telemetry.ts), every name written out: the matcher
    // took every event the TCP listener handed on, and drops of every component are one family.
    assert.equal(value(/feedmatch_component_received_events_total\{component="matcher",kind="transform"\}/), stats.events)
    assert.equal(value(/feedmatch_component_sent_events_total\{component="syslog_tcp",kind="source"\}/), stats.events)
    assert.equal(value(/feedmatch_component_sent_events_total\{component="matcher",kind="transform"\}/), stats.detections)
    assert.match(text, /^feedmatch_component_dropped_total\{component="output_tcp",reason="overflow",unit="bytes",intentional="false"\} 0$/m)
    assert.match(text, /^feedmatch_component_errors_total\{component="syslog_tcp",type="framing",stage="receiving"\} 0$/m)
    assert.equal(text.match(/^# TYPE feedmatch_\w*dropped\w* /gm)?.length, 2, 'drops: the matcher\'s by reason (dropped_total) and the components\' (component_dropped_total)')
  })

  it('/metrics passes promtool check metrics (Debian prometheus)', { skip: skipWithout('promtool', 'prometheus') }, async () => {
    const text = await (await fetch(`${base}/metrics`)).text()
    const r = spawnSync(findTool('promtool')!, ['check', 'metrics'], { input: text, encoding: 'utf8' })
    assert.equal(r.status, 0, `promtool: ${r.stdout}${r.stderr}`)
  })

  it('looks up in the feeds reloaded by SIGHUP', async () => {
    await writeFile(extraFeed, 'second-api-test.example\n')
    c.svc.signal('SIGHUP')
    await c.svc.waitForLog('feeds updated', 30_000)
    const r = (await getJson(`${base}/lookup?indicator=first-api-test.example&indicator=second-api-test.example`)).body as Entry[]
    assert.deepEqual(r.map((e) => e.matches.map((m) => m.category)), [[], ['Api_Test']])
    assert.equal((await getJson(`${base}/health`)).body.generation, 2)
  })
})

describe('serve: a listener whose port is taken', { timeout: 60_000 }, () => {
  let holder: net.Server
  let port: number
  before(async () => {
    holder = net.createServer().listen(0, '127.0.0.1')
    await once(holder, 'listening')
    port = (holder.address() as net.AddressInfo).port
  })
  after(() => { holder.close() })

  async function expectListenError (args: string[], what: string, beforeFeeds = false): Promise<void> {
    const svc = await ServiceProcess.start(args, { noWait: true })
    const exit = await svc.exited
    assert.equal(exit.code, 2, svc.describe())
    const text = svc.stderrText.join('\n')
    assert.match(text, /FM_ERR_LISTEN/, text)
    if (beforeFeeds) assert.equal(svc.logged('feeds loaded').length, 0, 'the port was tried before the feeds were built')
    assert.ok(text.includes(`${what}:${port}: cannot listen: the port is in use by another process`), text)
  }

  it('--listen: exit 2 with FM_ERR_LISTEN, before the feeds are built (a taken port fails at once)', async () => {
    await expectListenError(['--feeds', DEMO_FEEDS, '--listen', `tcp://127.0.0.1:${port}`, '--output', 'stdout', '--workers', '1'], 'tcp://127.0.0.1', true)
  })

  it('the listeners bind before the feed build and take events once the pipeline is up', async () => {
    const svc = await ServiceProcess.start(['--feeds', DEMO_FEEDS, '--listen', 'tcp://127.0.0.1:0', '--output', 'stdout', '--workers', '1'])
    try {
      const order = svc.logs.map((l) => l.msg).filter((m) => m === 'feeds loaded' || m === 'feedmatch is serving')
      assert.deepEqual(order, ['feeds loaded', 'feedmatch is serving'])
      await sendTcp(svc.port(), [event(9, EICAR_MD5)])
      await waitFor(() => svc.stdout.lines.some((l) => l.includes('src=10.0.0.9')), 'the detection on stdout')
    } finally {
      svc.kill()
    }
  })

  it('api.listen: exit 2 with FM_ERR_LISTEN', async () => {
    const dir = await tempDir()
    try {
      const cfg = await writeConfig(dir.path, {
        input: { listen: ['tcp://127.0.0.1:0'] },
        output: { target: 'stdout' },
        feeds: { sources: [DEMO_FEEDS], watch: false },
        workers: 1,
        api: { listen: `http://127.0.0.1:${port}` }
      })
      await expectListenError(['--config', cfg], 'api.listen http://127.0.0.1')
    } finally {
      await dir.remove()
    }
  })
})
