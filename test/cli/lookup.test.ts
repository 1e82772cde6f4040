import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

// These tests run the compiled CLI exactly as a user does (`npm test` builds dist/ first).
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CLI = join(ROOT, 'dist/cli/main.js')
const FEEDS = join(ROOT, 'fixtures/feeds')

interface Run { code: number, stdout: string, stderr: string }

function cli (args: string[], input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI, ...args], { cwd: ROOT, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? -1, stdout, stderr })
    })
    if (input !== undefined) child.stdin?.end(input)
  })
}

interface Expected { feed: string, category: string, type: string, query: string, matched: string }

test('lookup --format json answers from the demo feeds of every format', async () => {
  const expected = JSON.parse(await readFile(join(ROOT, 'fixtures/verification/expected.json'), 'utf8')) as Expected[]
  const formats = new Set(expected.map((e) => e.feed))
  // One permanent test record per demo feed: kaspersky, csv, stix2 and misp all answer.
  for (const f of ['kl_malicious_hash', 'kl_ip_reputation', 'kl_botnet_cnc_url', 'kl_phishing_url', 'kl_malicious_url', 'osint_ioc', 'stix_indicators', 'misp_feed']) {
    assert.ok(formats.has(f), `expected.json has an entry for ${f}`)
  }
  const r = await cli(['lookup', '--feeds', FEEDS, '--format', 'json', ...expected.map((e) => e.query)])
  assert.equal(r.code, 0, r.stderr)
  const out = JSON.parse(r.stdout) as Array<{ indicator: string, type: string, value: string, matches: Array<{ feed: string, matched: string, category: string, context: object }> }>
  assert.equal(out.length, expected.length)
  for (const [i, e] of expected.entries()) {
    assert.equal(out[i].indicator, e.query)
    const m = out[i].matches.find((x) => x.feed === e.feed && x.matched === e.matched)
    assert.ok(m, `${e.query} should match ${e.feed} via ${e.matched}; got ${JSON.stringify(out[i].matches.map((x) => [x.feed, x.matched]))}`)
    assert.equal(typeof m.context, 'object')
  }
})

test('lookup exits 1 when nothing matched, near misses included, and reports normalized values', async () => {
  const r = await cli(['lookup', '--feeds', FEEDS, '--format', 'json',
    '00000000000000000000000000000000', '192.0.2.250', 'http://not-in-any-feed.example/x', 'definitely-clean.test'])
  assert.equal(r.code, 1, r.stderr)
  const out = JSON.parse(r.stdout) as Array<{ type: string, value: string, matches: unknown[] }>
  assert.deepEqual(out.map((o) => o.matches.length), [0, 0, 0, 0])
  assert.deepEqual(out.map((o) => o.type), ['md5', 'ip', 'url', 'domain'])
  assert.equal(out[2].value, 'not-in-any-feed.example/x')
})

test('lookup -f reads indicators from stdin; csv has one row per match', async () => {
  const r = await cli(['lookup', '--feeds', FEEDS, '--format', 'csv', '-f', '-'],
    '# comment\n44d88612fea8a8f36de82e1278abb02f\n\n3395856CE81F2B7382DEE72602F798B642F14140\n')
  assert.equal(r.code, 0, r.stderr)
  const lines = r.stdout.trim().split('\n')
  assert.equal(lines[0], 'indicator,type,value,feed,category,matched,context')
  assert.ok(lines.length >= 3)
  assert.ok(lines.some((l) => l.startsWith('3395856CE81F2B7382DEE72602F798B642F14140,sha1,3395856ce81f2b7382dee72602f798b642f14140,kl_malicious_hash,')))
})

test('feeds build writes a snapshot that lookup --snapshot answers from', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fm-snap-'))
  const snap = join(dir, 'demo.fmidx')
  const b = await cli(['feeds', 'build', '--feeds', FEEDS, '-o', snap])
  assert.equal(b.code, 0, b.stderr)
  assert.match(b.stdout, /kl_malicious_hash/)
  const r = await cli(['lookup', '--snapshot', snap, '--format', 'json', '44d88612fea8a8f36de82e1278abb02f'])
  assert.equal(r.code, 0, r.stderr)
  assert.equal((JSON.parse(r.stdout) as Array<{ matches: unknown[] }>)[0].matches.length > 0, true)
})

test('feeds check reports skipped records with file and line, exit 1', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fm-check-'))
  await mkdir(join(dir, 'feeds'))
  await writeFile(join(dir, 'feeds', 'mine.txt'), '# my list\n198.51.100.7\nnot an indicator at all!\n10.0.0.0/8\n')
  const r = await cli(['feeds', 'check', '--feeds', join(dir, 'feeds')])
  assert.equal(r.code, 1, r.stderr)
  assert.match(r.stdout, /mine\.txt:3: /)
  const ok = await cli(['lookup', '--feeds', join(dir, 'feeds'), '--format', 'json', '10.200.3.4'])
  assert.equal(ok.code, 0, ok.stderr)
  assert.equal((JSON.parse(ok.stdout) as Array<{ matches: Array<{ matched: string }> }>)[0].matches[0].matched, '10.0.0.0/8')
})

test('a bad config fails with FM_ERR_CONFIG naming the path, exit 2', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fm-cfg-'))
  const cfg = join(dir, 'bad.yaml')
  await writeFile(cfg, 'feeds:\n  sources:\n    - path: x.json\n      format: jsn\n')
  const r = await cli(['lookup', '-c', cfg, '1.2.3.4'])
  assert.equal(r.code, 2)
  assert.match(r.stderr, /FM_ERR_CONFIG/)
  assert.match(r.stderr, /feeds\.sources\[0\]\.format/)
  assert.match(r.stderr, /jsn/)
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/) // no stack trace for users
})

test('usage errors exit 2 with FM_ERR_USAGE', async () => {
  const r = await cli(['lookup', '--feeds', FEEDS, '--format', 'xml', '1.2.3.4'])
  assert.equal(r.code, 2)
  assert.match(r.stderr, /FM_ERR_USAGE/)
})

test('allowlist silences a value with feed semantics; a blocklist is one more feed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fm-allow-'))
  // The allowlist holds a domain: it silences that host and every subdomain, whatever feed matched.
  await writeFile(join(dir, 'allow.txt'), 'verify-botnet-domain.example.com\n192.0.2.66\n')
  await writeFile(join(dir, 'block.txt'), '# our own indicators\n198.51.100.77\nbad-actor.test\n')
  const cfg = join(dir, 'feedmatch.yaml')
  await writeFile(cfg, [
    'feeds:',
    `  sources: [ "${FEEDS}" ]`,
    '  allowlist: [ allow.txt ]',
    '  blocklist: [ { path: block.txt, category: Custom_Blocklist } ]'
  ].join('\n') + '\n')
  const r = await cli(['lookup', '-c', cfg, '--format', 'json',
    'http://c2.verify-botnet-domain.example.com/tasks', '192.0.2.66', '198.51.100.77', 'www.sub.bad-actor.test', '44d88612fea8a8f36de82e1278abb02f'])
  assert.equal(r.code, 0, r.stderr)
  const out = JSON.parse(r.stdout) as Array<{ allowlisted?: boolean, matches: Array<{ feed: string, category: string, matched: string }> }>
  assert.equal(out[0].allowlisted, true)
  assert.deepEqual(out[0].matches, [])
  assert.equal(out[1].allowlisted, true, 'an allowlisted IP is silenced too')
  assert.deepEqual(out[2].matches.map((m) => [m.feed, m.category, m.matched]), [['block', 'Custom_Blocklist', '198.51.100.77']])
  assert.deepEqual(out[3].matches.map((m) => [m.category, m.matched]), [['Custom_Blocklist', 'bad-actor.test']])
  assert.equal(out[4].allowlisted, undefined)
  assert.ok(out[4].matches.length > 0, 'values not on the allowlist still match')
})

test('defanged indicators: lookup and feed loading refang them (hxxp, [.], (.), [:], [dot]); events are refanged only where a source asks', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fm-refang-'))
  const feed = join(dir, 'report.txt')
  await writeFile(feed, 'evil-report[.]example\nhxxps[:]//phish(.)test/login\n203.0.113[.]77\n')
  const r = await cli(['lookup', '--feeds', feed, '--format', 'json', 'evil-report.example', 'https://phish.test/login', '203.0.113.77',
    'evil-report[.]example', 'hxxps://phish[.]test/login', '203[.]0[.]113[.]77', 'sub.evil-report[dot]example'])
  assert.equal(r.code, 0, r.stderr)
  const out = JSON.parse(r.stdout) as Array<{ indicator: string, value: string, matches: unknown[] }>
  assert.deepEqual(out.map((e) => [e.indicator, e.matches.length]), [
    ['evil-report.example', 1], ['https://phish.test/login', 1], ['203.0.113.77', 1],
    ['evil-report[.]example', 1], ['hxxps://phish[.]test/login', 1], ['203[.]0[.]113[.]77', 1], ['sub.evil-report[dot]example', 1],
  ])
  // Events: a defanged URL in a log is not matched by default, and is with `refang: true`.
  const log = join(dir, 'mail.log')
  await writeFile(log, 'analyst note: blocked hxxps://phish[.]test/login for alice\n')
  const plain = await cli(['scan', '--feeds', feed, log])
  assert.equal(plain.code, 0, plain.stdout)
  const config = join(dir, 'refang.yaml')
  await writeFile(config, `input:\n  sources:\n    - { name: default, refang: true }\nfeeds:\n  sources: [ ${feed} ]\n`)
  const refanged = await cli(['scan', '-c', config, log])
  assert.equal(refanged.code, 1, refanged.stderr)
  assert.match(refanged.stdout, /"value":"phish\.test\/login"/)
})
