import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { BlockList, isIP } from 'node:net'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const SCRIPT = join(ROOT, 'scripts', 'make-demo-feeds.mjs')
const MATCH_TYPES = ['md5', 'sha1', 'sha256', 'ip', 'url', 'domain']

interface Entry { feed: string, category: string, type: string, kind: string, query: string, matched: string }

/** Every file under `dir`, as relative path -> bytes. */
function tree (dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>()
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name)
      if (statSync(p).isDirectory()) walk(p)
      else out.set(relative(dir, p), readFileSync(p))
    }
  }
  walk(dir)
  return out
}

function generate (): string {
  const out = mkdtempSync(join(tmpdir(), 'feedmatch-demo-'))
  execFileSync(process.execPath, [SCRIPT, out], { stdio: 'pipe' })
  return out
}

const first = generate()
const files = tree(first)
const expected = JSON.parse(files.get('verification/expected.json')!.toString()) as Entry[]
/** The text of a feed: its file, or for the MISP folder all its files. */
function feedText (feed: string): string {
  return [...files].filter(([p]) => p.startsWith(`feeds/${feed}.`) || p.startsWith(`feeds/${feed}/`)).map(([, b]) => b.toString()).join('\n')
}
const feeds = [...new Set([...files.keys()].filter((p) => p.startsWith('feeds/') && !p.endsWith('README.md'))
  .map((p) => p.slice(6).replace(/\/.*$/, '').replace(/\.[a-z]+$/, '')))]

test('the script is deterministic: two runs give byte-identical trees', () => {
  const second = tree(generate())
  assert.deepEqual([...second.keys()], [...files.keys()])
  for (const [p, bytes] of files) assert.ok(bytes.equals(second.get(p)!), p)
})

test('the committed fixtures are what the script writes (run `npm run fixtures` after changing it)', () => {
  const committed = tree(join(ROOT, 'fixtures'))
  for (const [p, bytes] of files) assert.ok(committed.get(p)?.equals(bytes), `fixtures/${p} is stale or missing`)
})

test('the expected feeds and files are there, small enough to commit', () => {
  assert.deepEqual(feeds.sort(), [
    'kl_botnet_cnc_url', 'kl_ip_reputation', 'kl_malicious_hash', 'kl_malicious_url', 'kl_phishing_url',
    'misp_feed', 'osint_ioc', 'stix_indicators'
  ])
  assert.ok(files.has('feeds/README.md'))
  assert.ok(files.has('feeds/misp_feed/manifest.json'))
  const total = [...files.values()].reduce((n, b) => n + b.length, 0)
  assert.ok(total < 1_000_000, `${total} bytes`)
  for (const [p, b] of files) {
    if (p.endsWith('.json')) assert.doesNotThrow(() => JSON.parse(b.toString()), p)
  }
  // A few hundred records each.
  for (const name of ['kl_malicious_hash', 'kl_ip_reputation', 'kl_botnet_cnc_url', 'kl_phishing_url', 'kl_malicious_url']) {
    const n = (JSON.parse(files.get(`feeds/${name}.json`)!.toString()) as unknown[]).length
    assert.ok(n >= 150 && n <= 500, `${name}: ${n}`)
  }
})

test('the EICAR hashes are one Kaspersky hash record', () => {
  const records = JSON.parse(files.get('feeds/kl_malicious_hash.json')!.toString()) as Array<Record<string, unknown>>
  const eicar = records.find((r) => r.MD5 === '44d88612fea8a8f36de82e1278abb02f')
  assert.ok(eicar)
  assert.equal(eicar.SHA1, '3395856ce81f2b7382dee72602f798b642f14140')
  assert.equal(eicar.SHA256, '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f')
})

test('expected.json: well-formed entries, each in its feed, none in another feed, every feed covered', () => {
  assert.ok(expected.length > 20)
  for (const e of expected) {
    assert.ok(feeds.includes(e.feed), e.feed)
    assert.equal(e.category, e.feed)
    assert.ok(MATCH_TYPES.includes(e.type), e.type)
    assert.ok(e.query !== '' && e.matched !== '')
    assert.ok(feedText(e.feed).includes(e.matched), `${e.matched} not in ${e.feed}`)
    // A verification event must yield its own feed's detection and nothing from the others.
    const host = /^[a-z]+:\/\/([^/:]+)/.exec(e.query)?.[1].replace(/^www\./, '')
    for (const other of feeds.filter((f) => f !== e.feed)) {
      assert.ok(!feedText(other).includes(e.matched), `${e.matched} also in ${other}`)
      if (host !== undefined) assert.ok(!feedText(other).includes(host.split('.').slice(-3).join('.')), `${host} also in ${other}`)
    }
    if (e.type === 'url') assert.match(e.query, /^https?:\/\//)
    else if (!e.matched.includes('/')) assert.equal(e.query.toLowerCase(), e.matched)
  }
  for (const feed of feeds) assert.ok(expected.some((e) => e.feed === feed), `no verification entry for ${feed}`)
})

test('events.txt: one syslog line per entry, carrying its query', () => {
  const lines = files.get('verification/events.txt')!.toString().split('\n')
  assert.equal(lines.pop(), '')
  assert.equal(lines.length, expected.length)
  lines.forEach((line, n) => {
    assert.match(line, /^<\d{1,3}>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ /)
    assert.ok(line.includes(expected[n].query), `line ${n + 1} lacks ${expected[n].query}`)
    // No other entry's indicator rides along (it would add a detection).
    for (const other of expected) {
      if (other.query !== expected[n].query && other.matched !== expected[n].matched) assert.ok(!line.includes(other.matched + ' '), `line ${n + 1} has ${other.matched}`)
    }
  })
  assert.ok(lines.some((l) => l.includes('CEF:0|')))
  assert.ok(lines.some((l) => / TCP_DENIED\/403 /.test(l)))
  assert.ok(lines.some((l) => / action=deny .*dst=/.test(l)))
})

test('no verification indicator is on the demo allowlist, which would suppress its detection', (t) => {
  const path = join(ROOT, 'fixtures', 'config', 'allowlist.txt')
  if (!existsSync(path)) { t.skip('no fixtures/config/allowlist.txt'); return }
  const nets = new BlockList()
  const domains: string[] = []
  for (const raw of readFileSync(path, 'utf8').split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const [addr, len] = line.split('/')
    const family = isIP(addr)
    if (family === 0) domains.push(line.toLowerCase().replace(/^www\./, ''))
    else if (len === undefined) nets.addAddress(addr, family === 4 ? 'ipv4' : 'ipv6')
    else nets.addSubnet(addr, Number(len), family === 4 ? 'ipv4' : 'ipv6')
  }
  for (const e of expected) {
    const family = isIP(e.query)
    if (family !== 0) assert.ok(!nets.check(e.query, family === 4 ? 'ipv4' : 'ipv6'), `${e.query} is allowlisted`)
    const host = /^[a-z]+:\/\/([^/:]+)/.exec(e.query)?.[1]
    if (host !== undefined) assert.ok(!domains.some((d) => host === d || host.endsWith('.' + d)), `${host} is allowlisted`)
  }
})
