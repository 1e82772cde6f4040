/**
 * The AlienVault workflow with real peers, as the guide sets it up: a device's events go through
 * rsyslog (`omfwd` over TCP, the generated forwarding rule) to `feedmatch serve`, whose detections
 * go over TCP to a second rsyslog (`imtcp`, the generated receiving rule) that writes them to the
 * log file the plugin reads. Then the generated ossim-agent plugin parses that file with Python's
 * `re`, as ossim-agent does. Once with LF framing, once with RFC 6587 octet counting.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import {
  DEMO_FEEDS, FIXTURES, HOSTILE_FEED, ROOT, cli, expectations, freePort, hostileRecords, requireTool, startRsyslog, startServe,
  tempDir, valueText, waitFor, type Expected, type Peer,
} from './helpers.js'
import { skipWithout } from '../helpers/peers.js'

const SERVICE_EVENTS = new Set(['started', 'stopping', 'feeds_updated', 'feed_failed', 'feed_stale', 'feed_fresh', 'list_changed', 'output_lost', 'output_regained', 'events_dropped'])

// The guide's detection format, written out here rather than taken from the preset, with the kv
// value rule of render/escape.ts: any character but `\` and `=`, or an escape pair.
const V = String.raw`((?:[^\\=]|\\.)*?)`
const DETECTION = new RegExp(String.raw`feedmatch\[\d+\]: category=${V} detected=${V} url=${V} src=${V} ip=${V} hash=${V} context=(.*)$`)
const SERVICE = new RegExp(String.raw`feedmatch\[\d+\]: alert=${V} context=(.*)$`)

/** Undoes the kv escapes: `\=`, `\\`, `\n`, `\r`, `\t`. */
function unescapeKv (s: string): string {
  return s.replace(/\\(.)/g, (_m, c: string) => ({ n: '\n', r: '\r', t: '\t' })[c] ?? c)
}

/** The context as the alienvault preset renders a record: ` name=value` per field, as in the guide's example. */
function kvContext (rec: Record<string, unknown>): string {
  return Object.entries(rec).map(([k, v]) => ` ${k}=${valueText(v)}`).join('')
}

interface Run { lines: string[], dir: string, logFile: string, serveExit: number | null }

/** Runs the whole chain once; returns the lines of the detections log. */
async function pipeline (framing: 'lf' | 'octet', tmp: string): Promise<Run> {
  const logger = requireTool('logger', 'bsdutils')
  const [front, service, back] = [await freePort(), await freePort(), await freePort()]
  const dir = join(tmp, 'connector')
  const logFile = join(tmp, 'feedmatch.log')
  const gen = cli(['connector', 'alienvault', '-o', dir, '--feeds', DEMO_FEEDS, '--feeds', HOSTILE_FEED,
    '--service-ip', '127.0.0.1', '--service-port', String(service), '--siem-host', '127.0.0.1', '--siem-port', String(back),
    '--device-ip', '127.0.0.1', '--log-file', logFile, '--framing', framing])
  assert.equal(gen.status, 0, gen.stderr)
  const peers: Peer[] = []
  let serveExit: number | null = null
  try {
    // The AlienVault host's receiving side, then feedmatch, then the forwarding side.
    peers.push(await startRsyslog(tmp, 'receive', `global(workDirectory="${tmp}/receive" maxMessageSize="64k")
module(load="imtcp")
input(type="imtcp" port="${back}" address="127.0.0.1")
include(file="${dir}/rsyslog-receive.conf")
`, back))
    const serve = await startServe(['-c', join(dir, 'feedmatch.yaml'), '--feeds', DEMO_FEEDS, '--feeds', HOSTILE_FEED,
      '--listen', `tcp://127.0.0.1:${service}`, '--workers', '2'])
    peers.push(serve)
    const forward = await startRsyslog(tmp, 'forward', `global(workDirectory="${tmp}/forward" maxMessageSize="64k")
module(load="imtcp")
input(type="imtcp" port="${front}" address="127.0.0.1")
include(file="${dir}/rsyslog-forward.conf")
`, front)
    peers.push(forward)

    const events = join(tmp, 'events.txt')
    const expected = expectations()
    writeFileSync(events, expected.map((e) => e.line).join('\n') + '\n')
    const sent = spawnSync(logger, ['--tcp', '-n', '127.0.0.1', '-P', String(front), '--rfc3164', '-t', 'device', '--size', '16384',
      ...(framing === 'octet' ? ['--octet-count'] : []), '-f', events], { encoding: 'utf8' })
    assert.equal(sent.status, 0, `logger failed: ${sent.stderr}`)

    const count = (re: RegExp): number => existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').filter((l) => re.test(l)).length : 0
    await waitFor(`${expected.length} detections in ${logFile}`, () => count(/ category=/) >= expected.length)
    await forward.stop()
    serveExit = await serve.stop()
    await waitFor('the stopping service event', () => count(/ alert=stopping /) === 1)
  } finally {
    for (const p of peers.reverse()) await p.stop()
  }
  return { lines: readFileSync(logFile, 'utf8').split('\n').filter((l) => l !== ''), dir, logFile, serveExit }
}

/** Every expected detection once, in the alienvault format; nothing else but service events. */
function checkLog (run: Run, expected: Expected[]): void {
  assert.equal(run.serveExit, 0, 'feedmatch serve exits 0 after SIGTERM')
  const seen = new Map<string, number>()
  for (const line of run.lines) {
    const d = DETECTION.exec(line)
    if (d !== null) {
      const key = `${unescapeKv(d[1])}\n${unescapeKv(d[2])}`
      seen.set(key, (seen.get(key) ?? 0) + 1)
      continue
    }
    const s = SERVICE.exec(line)
    assert.ok(s !== null, `neither a detection nor a service event: ${line}`)
    assert.ok(SERVICE_EVENTS.has(s[1]), `unknown service event ${s[1]}`)
  }
  for (const e of expected) assert.equal(seen.get(`${e.category}\n${e.matched}`), 1, `detection ${e.category} ${e.matched} once in the log`)
  assert.equal(run.lines.filter((l) => DETECTION.test(l)).length, expected.length, 'no detection beyond the expected ones')
}

interface Hit { rule: string, groups: Record<string, string>, event: Record<string, string> }

/** The generated plugin, through Python's `re` as ossim-agent applies it, reads every line. */
function checkPlugin (run: Run, expected: Expected[]): void {
  const python = requireTool('python3', 'python3')
  const r = spawnSync(python, [join(ROOT, 'test/connectors/ossim-plugin.py'), join(run.dir, 'feedmatch.cfg'), run.logFile], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  const hits = JSON.parse(r.stdout) as Array<Hit | null>
  assert.equal(hits.length, run.lines.length)
  // plugin_sid per event type name, from the generated SQL.
  const sql = readFileSync(join(run.dir, 'feedmatch.sql'), 'utf8')
  const sids = new Map([...sql.matchAll(/\((\d+), (\d+), 15, 71, NULL, '((?:[^']|'')*)', 5, 8\)/g)].map((m) => [m[3], m[2]]))
  const records = hostileRecords()
  const byKey = new Map(expected.map((e) => [`${e.category}\n${e.matched}`, e]))
  let detections = 0
  hits.forEach((hit, i) => {
    assert.ok(hit !== null, `no plugin rule matched: ${run.lines[i]}`)
    if (hit.rule.includes('service')) {
      assert.ok(SERVICE_EVENTS.has(hit.event.userdata1), `service event name in userdata1: ${run.lines[i]}`)
      assert.match(hit.event.userdata2, /^ \w+=/, 'service event context in userdata2')
      assert.equal(hit.event.plugin_sid, sids.get('feedmatch: Service event'))
      return
    }
    detections++
    const category = unescapeKv(hit.event.userdata1)
    const matched = unescapeKv(hit.event.userdata2)
    const e = byKey.get(`${category}\n${matched}`)
    assert.ok(e !== undefined, `unexpected detection ${category} ${matched}`)
    assert.equal(hit.event.plugin_sid, sids.get(`feedmatch: ${category}`), `event type of ${category}`)
    assert.equal(hit.groups.src, e.src, `source of ${matched}`)
    const rec = records.get(matched)
    if (rec !== undefined) assert.equal(unescapeKv(hit.event.userdata3), kvContext(rec), `context of ${matched}`)
    else assert.match(hit.event.userdata3, /^ [^\s=]+=/, `context of ${matched}`)
  })
  assert.equal(detections, expected.length)
}

describe('AlienVault: rsyslog in front, the ossim-agent plugin behind', {
  timeout: 120_000,
  skip: skipWithout('rsyslogd', 'rsyslog') || skipWithout('logger', 'bsdutils') || skipWithout('python3', 'python3'),
}, () => {
  for (const framing of ['lf', 'octet'] as const) {
    it(`forwards with ${framing === 'lf' ? 'LF' : 'octet-counted'} framing and the plugin reads every detection`, async () => {
      const tmp = tempDir(`rsyslog-${framing}`)
      try {
        const expected = expectations()
        const run = await pipeline(framing, tmp.dir)
        checkLog(run, expected)
        checkPlugin(run, expected)
        const forward = readFileSync(join(run.dir, 'rsyslog-forward.conf'), 'utf8')
        assert.equal(forward.includes('TCP_Framing="octet-counted"'), framing === 'octet')
      } finally {
        tmp.remove()
      }
    })
  }

  it('the hostile values hold spaces, "=", "|", "\\", line breaks and unicode', () => {
    const recs = [...hostileRecords().values()].map((r) => Object.values(r).map(valueText).join(' ')).join(' ')
    for (const c of [' ', '=', '|', '\\', '\n', '\r', '\t', 'Ü', '日']) assert.ok(recs.includes(c), `fixture holds ${JSON.stringify(c)}`)
    assert.ok(existsSync(join(FIXTURES, 'hostile-events.txt')))
  })
})
