import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { detectFormat } from '../../src/feeds/detect.js'
import { indicatorKeys } from '../../src/match/keys.js'
import { loadConfig } from '../../src/config/load.js'
import { expandFeedSources } from '../../src/config/feed-sources.js'

// Real-world feed layouts, on samples written from each publisher's documented format
// (fixtures/layouts/), read the way a user reads them: the compiled CLI's `lookup`.
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CLI = join(ROOT, 'dist/cli/main.js')
const LAYOUTS = join(ROOT, 'fixtures/layouts')
const at = (f: string): string => join(LAYOUTS, f)

interface Match { feed: string, matched: string, context: Record<string, unknown> }
interface Answer { indicator: string, matches: Match[] }

function lookup (feeds: string[], queries: string[]): Promise<{ code: number, out: Answer[], stderr: string }> {
  const args = [CLI, 'lookup', ...feeds.flatMap((f) => ['--feeds', f]), '--format', 'json', ...queries]
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: ROOT }, (err, stdout, stderr) => {
      const code = err === null ? 0 : (err as { code?: number }).code ?? -1
      resolve({ code, out: stdout === '' ? [] : JSON.parse(stdout) as Answer[], stderr })
    })
  })
}

const matchedBy = (a: Answer): string[] => a.matches.map((m) => m.matched).sort()

test('a bare number is never an IP, and ip:port is the IP', () => {
  assert.ok('error' in (indicatorKeys('2760001', 'auto') as object), 'the quoted id of an abuse.ch CSV')
  assert.ok('error' in (indicatorKeys('2760001', 'domain') as object))
  assert.deepEqual(indicatorKeys('198.51.100.23:443', 'auto'), [{ t: 'ip', bytes: Uint8Array.from([198, 51, 100, 23]), prefix: 32 }])
  assert.deepEqual(indicatorKeys('[2001:db8::1]:8443', 'ip'), [{ t: 'ip', bytes: Uint8Array.from([0x20, 1, 0xd, 0xb8, ...new Array(11).fill(0), 1]), prefix: 128 }])
  assert.match((indicatorKeys('//wp-includes/x.php', 'auto') as { error: string }).error, /URL path without a host/)
  assert.ok(!('error' in (indicatorKeys('http://2130706433/x', 'auto') as object)), 'a decimal host inside a URL is still a URL')
})

test('auto-detection reads abuse.ch CSVs (header in a comment line) as CSV and the other lists as lists', async () => {
  for (const f of ['urlhaus.csv', 'threatfox.csv', 'feodo.csv']) assert.equal(await detectFormat(at(f)), 'csv', f)
  // As downloaded, URLhaus's CSV is `csv.txt`: the content decides.
  const dir = await mkdtemp(join(tmpdir(), 'feedmatch-layouts-'))
  await copyFile(at('urlhaus.csv'), join(dir, 'csv.txt'))
  assert.equal(await detectFormat(join(dir, 'csv.txt')), 'csv')
  for (const f of ['firehol_level1.netset', 'drop.txt', 'maltrail-trail.txt']) assert.equal(await detectFormat(at(f)), 'list', f)
})

test('URLhaus, ThreatFox and Feodo CSVs load without a mapping: URLs and IoCs indexed, ids not', async () => {
  const r = await lookup([at('urlhaus.csv'), at('threatfox.csv'), at('feodo.csv')], [
    'http://192.0.2.77:40133/i', 'http://dl.urlhaus-sample.example/bins/x86.sh', '0.42.29.65',
    '198.51.100.23', 'sub.c2.threatfox-sample.example', 'http://pay.threatfox-sample.example/gate.php', '0b4d2bd5e8e7c6e9e1a4f3c2b1a09f8e',
    '203.0.113.51', '203.0.113.52'
  ])
  assert.equal(r.code, 0, r.stderr)
  const [u1, u2, id, tfIp, tfDomain, tfUrl, tfHash, f1, f2] = r.out
  assert.deepEqual(u1.matches.map((m) => [m.feed, m.context.id, m.context.threat]), [['urlhaus', '2760001', 'malware_download']], 'named from the comment header')
  assert.equal(u2.matches.length, 1)
  assert.deepEqual(id.matches, [], '"2760001" is an id, not the IPv4 0.42.29.65')
  assert.deepEqual(tfIp.matches.map((m) => [m.feed, m.context.malware_printable]), [['threatfox', 'Cobalt Strike']])
  assert.deepEqual(matchedBy(tfDomain), ['c2.threatfox-sample.example'])
  assert.equal(tfUrl.matches.length, 1)
  assert.equal(tfHash.matches.length, 1)
  assert.deepEqual(f1.matches.map((m) => m.context.malware), ['Dridex'])
  // One IP listed twice (QakBot and Emotet): both records answer.
  assert.deepEqual(f2.matches.map((m) => m.context.malware).sort(), ['Emotet', 'QakBot'])
})

test('FireHOL netsets, Spamhaus DROP and maltrail trails load as lists, with presets and FILE:FORMAT', async () => {
  const queries = ['192.0.2.30', '203.0.113.200', '100.64.17.1', '198.51.100.63', '198.51.100.64',
    'www.trail-sample.example', 'http://beacon.trail-sample.example/api/v1/check', '192.0.2.202', 'wp-includes']
  for (const feeds of [
    [at('firehol_level1.netset'), at('drop.txt'), at('maltrail-trail.txt')],
    [at('firehol_level1.netset') + ':firehol-netset', at('drop.txt') + ':spamhaus-drop', at('maltrail-trail.txt') + ':maltrail'],
    [at('firehol_level1.netset') + ':list', at('drop.txt') + ':list', at('maltrail-trail.txt') + ':list']
  ]) {
    const r = await lookup(feeds, queries)
    assert.equal(r.code, 0, r.stderr)
    const got = r.out.map((a) => a.matches.map((m) => `${m.feed}:${m.matched}`).sort().join(' '))
    assert.deepEqual(got, [
      'firehol_level1:192.0.2.0/26', 'firehol_level1:203.0.113.200', 'drop:100.64.16.0/20', 'drop:198.51.100.0/26', '',
      'maltrail-trail:trail-sample.example', 'maltrail-trail:beacon.trail-sample.example/api/v1/check maltrail-trail:trail-sample.example',
      'maltrail-trail:192.0.2.202', ''
    ], feeds.join(' '))
    assert.equal(r.out[2].matches[0].context.comment, 'SBL256894', 'the ; comment is the record context')
  }
})

test('presets map one line to the publisher layout; a preset wins over detection, the entry over the preset', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'feedmatch-layouts-'))
  // Without the extension, the netset would be unreadable to detection; the preset says list.
  await copyFile(at('firehol_level1.netset'), join(dir, 'level1.data'))
  const c = await loadConfig(undefined, { feeds: [join(dir, 'level1.data') + ':firehol-netset', at('urlhaus.csv') + ':urlhaus-csv'] })
  const [fire, urlhaus] = await expandFeedSources(c)
  assert.equal(fire.format, 'list')
  assert.deepEqual(fire.indicators, [{ field: '', type: 'ip' }])
  assert.equal(urlhaus.format, 'csv')
  assert.deepEqual(urlhaus.actionable, { threat: 'threat', tags: 'tags', urlhaus_link: 'reference' })
  const r = await lookup([join(dir, 'level1.data') + ':firehol-netset'], ['198.19.1.1'])
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.out[0].matches[0].matched, '198.18.0.0/15')
})

test('two feed files with one default name get a suffix; a name the user wrote is never changed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'feedmatch-layouts-'))
  for (const sub of ['a', 'b']) {
    await mkdir(join(dir, sub))
    await copyFile(at('feodo.csv'), join(dir, sub, 'feodo.csv'))
  }
  const c = await loadConfig(undefined, { feeds: [join(dir, 'a'), join(dir, 'b')] })
  assert.deepEqual((await expandFeedSources(c)).map((f) => [f.name, f.category]), [['feodo', 'feodo'], ['feodo-2', 'feodo']])
})

test('MISP: attributes marked to_ids false are not indexed (counted as filtered) unless misp.allAttributes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'feedmatch-misp-'))
  const uuid = '5f0c6a0e-0000-4000-8000-000000000001'
  await mkdir(join(dir, 'misp'))
  await writeFile(join(dir, 'misp', 'manifest.json'), JSON.stringify({ [uuid]: { info: 'sample', Tag: [] } }))
  await writeFile(join(dir, 'misp', `${uuid}.json`), JSON.stringify({
    Event: {
      uuid,
      info: 'sample',
      Attribute: [
        { uuid: 'a1', type: 'ip-dst', category: 'Network activity', value: '192.0.2.10', to_ids: true },
        { uuid: 'a2', type: 'ip-src', category: 'Network activity', value: '192.0.2.11', to_ids: false, comment: 'the victim' }
      ]
    }
  }))
  for (const [all, expected] of [[false, [1, 0]], [true, [1, 1]]] as const) {
    const conf = join(dir, `c-${String(all)}.yaml`)
    await writeFile(conf, `feeds:\n  sources:\n    - path: misp\n      misp: { allAttributes: ${String(all)} }\n`)
    const r = await new Promise<{ code: number, out: Answer[], stderr: string }>((resolve) => {
      execFile(process.execPath, [CLI, 'lookup', '-c', conf, '--format', 'json', '192.0.2.10', '192.0.2.11'], { cwd: ROOT }, (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? -1, out: JSON.parse(stdout) as Answer[], stderr })
      })
    })
    assert.deepEqual(r.out.map((a) => a.matches.length), expected, `allAttributes: ${String(all)}`)
  }
  const check = await new Promise<string>((resolve) => {
    execFile(process.execPath, [CLI, 'feeds', 'check', '--feeds', join(dir, 'misp'), '--json'], { cwd: ROOT }, (_err, stdout) => resolve(stdout))
  })
  assert.match(check, /"filtered":\s*1/)
})

test('scan and lookup fail with exit 2 when a feed loads 0 records, instead of finding nothing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'feedmatch-empty-'))
  await writeFile(join(dir, 'empty.txt'), '# only comments today\n')
  await writeFile(join(dir, 'log.txt'), 'deny 203.0.113.51\n')
  for (const args of [['scan', '--feeds', join(dir, 'empty.txt'), '--feeds', at('feodo.csv'), join(dir, 'log.txt')], ['lookup', '--feeds', join(dir, 'empty.txt'), '203.0.113.51']]) {
    const r = await new Promise<{ code: number, stderr: string }>((resolve) => {
      execFile(process.execPath, [CLI, ...args], { cwd: ROOT }, (err, _stdout, stderr) => resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? -1, stderr }))
    })
    assert.equal(r.code, 2, args[0])
    assert.match(r.stderr, /FM_ERR_FEED_EMPTY: 1 feed\(s\) failed to load, first "empty"/)
  }
})
