import { eachItem } from '../../src/feeds/record.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseStix2 } from '../../src/feeds/formats/stix2.js'
import { isSkipped, type FeedRecord, type ParsedItem, type SkippedRecord } from '../../src/feeds/record.js'
import { FeedmatchError } from '../../src/errors.js'

const dir = mkdtempSync(join(tmpdir(), 'feedmatch-stix2-'))
let files = 0

/** Writes a bundle with one object (or raw text) a line: object n sits on line n + 1. */
function bundle (objects: Array<object | string>): string {
  const path = join(dir, `b${files++}.json`)
  const lines = objects.map((o) => (typeof o === 'string' ? o : JSON.stringify(o)))
  writeFileSync(path, '{"type": "bundle", "id": "bundle--1", "objects": [\n' + lines.join(',\n') + '\n]}\n')
  return path
}

async function parse (path: string): Promise<ParsedItem[]> {
  const out: ParsedItem[] = []
  for await (const item of eachItem(parseStix2({ path, indicators: [] }))) out.push(item)
  return out
}

function indicator (pattern: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'indicator', spec_version: '2.1', id: 'indicator--0001', pattern, pattern_type: 'stix', valid_from: '2024-01-01T00:00:00Z', ...extra }
}

/** The indicators of one pattern as `kind:value` strings, or the skip reason. */
async function patternResult (pattern: string): Promise<string[] | string> {
  const items = await parse(bundle([indicator(pattern)]))
  assert.equal(items.length, 1)
  const item = items[0]
  if (isSkipped(item)) return item.reason
  return item.indicators.map((i) => `${i.kind}:${i.value}`)
}

const MD5 = '44d88612fea8a8f36de82e1278abb02f'
const SHA1 = '3395856ce81f2b7382dee72602f798b642f14140'
const SHA256 = '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f'

test('each supported pattern form gives its indicator and kind', async () => {
  const cases: Array<[string, string[]]> = [
    [`[file:hashes.MD5 = '${MD5}']`, [`md5:${MD5}`]],
    [`[file:hashes.'MD5' = '${MD5}']`, [`md5:${MD5}`]],
    [`[file:hashes.'SHA-1' = '${SHA1}']`, [`sha1:${SHA1}`]],
    [`[file:hashes.SHA1 = '${SHA1}']`, [`sha1:${SHA1}`]],
    [`[file:hashes.'SHA-256' = '${SHA256}']`, [`sha256:${SHA256}`]],
    [`[file:hashes.'SHA256' = '${SHA256}']`, [`sha256:${SHA256}`]],
    [`[file:hashes."SHA-256" = "${SHA256}"]`, [`sha256:${SHA256}`]],
    ["[ipv4-addr:value = '198.51.100.7']", ['ip:198.51.100.7']],
    ["[ipv4-addr:value = '198.51.100.0/24']", ['ip:198.51.100.0/24']],
    ["[ipv6-addr:value = '2001:db8::1']", ['ip:2001:db8::1']],
    ["[domain-name:value = 'evil.example']", ['domain:evil.example']],
    ["[url:value = 'http://evil.example/a?b=c']", ['url:http://evil.example/a?b=c']],
    ["  [ url:value='http://x.example/'  ]  ", ['url:http://x.example/']]
  ]
  for (const [pattern, want] of cases) assert.deepEqual(await patternResult(pattern), want, pattern)
})

test('OR inside a bracket and between observations gives several indicators of one record', async () => {
  assert.deepEqual(await patternResult("[domain-name:value = 'a.example' OR ipv4-addr:value = '192.0.2.1']"),
    ['domain:a.example', 'ip:192.0.2.1'])
  assert.deepEqual(await patternResult(`[url:value = 'http://a.example/x'] OR [file:hashes.MD5 = '${MD5}'] or [domain-name:value = 'b.example']`),
    ['url:http://a.example/x', `md5:${MD5}`, 'domain:b.example'])
  assert.deepEqual(await patternResult("([domain-name:value = 'a.example'] OR ([ipv4-addr:value = '192.0.2.1' OR (ipv4-addr:value = '192.0.2.2')]))"),
    ['domain:a.example', 'ip:192.0.2.1', 'ip:192.0.2.2'])
  // The same indicator twice is one indicator.
  assert.deepEqual(await patternResult("[domain-name:value = 'a.example'] OR [domain-name:value = 'a.example']"), ['domain:a.example'])
})

test('escapes in STIX strings: \\\' and \\\\', async () => {
  assert.deepEqual(await patternResult("[url:value = 'http://x.example/it\\'s\\\\dir']"), ["url:http://x.example/it's\\dir"])
  assert.deepEqual(await patternResult("[domain-name:value = 'a]b OR c.example']"), ['domain:a]b OR c.example'])
})

test('AND, other operators, qualifiers and other object paths skip the record, naming the part and the line', async () => {
  const cases: Array<[string, string]> = [
    ["[domain-name:value = 'a.example' AND ipv4-addr:value = '192.0.2.1']", 'unsupported STIX operator: AND'],
    ["[domain-name:value = 'a.example'] AND [ipv4-addr:value = '192.0.2.1']", 'unsupported STIX operator: AND'],
    ["[domain-name:value = 'a.example'] FOLLOWEDBY [ipv4-addr:value = '192.0.2.1']", 'unsupported STIX operator: FOLLOWEDBY'],
    ["[url:value LIKE 'http://a.example/%']", 'unsupported STIX operator: LIKE'],
    ["[url:value MATCHES '^http://']", 'unsupported STIX operator: MATCHES'],
    ["[ipv4-addr:value IN ('192.0.2.1', '192.0.2.2')]", 'unsupported STIX operator: IN'],
    ["[ipv4-addr:value ISSUBSET '192.0.2.0/24']", 'unsupported STIX operator: ISSUBSET'],
    ["[domain-name:value NOT = 'a.example']", 'unsupported STIX operator: NOT'],
    ["[domain-name:value != 'a.example']", 'unsupported STIX operator: !='],
    ["[domain-name:value = 'a.example'] WITHIN 300 SECONDS", 'unsupported STIX qualifier: WITHIN'],
    ["[domain-name:value = 'a.example'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'", 'unsupported STIX qualifier: START'],
    ["[file:name = 'evil.exe']", 'unsupported STIX object path: file:name'],
    ["[file:hashes.'SHA-512' = 'abcd']", "unsupported STIX object path: file:hashes.'SHA-512'"],
    ["[network-traffic:dst_ref.value = '192.0.2.1']", 'unsupported STIX object path: network-traffic:dst_ref.value'],
    ["[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7]", 'unsupported STIX operator: >'],
    ["[domain-name:value = 'a.example' OR file:name = 'x.exe']", 'unsupported STIX object path: file:name'],
    ['[ipv4-addr:value = 42]', "unsupported STIX value: 42 (only 'strings' are read)"],
    ["[domain-name:value = 'a.example'", 'invalid STIX pattern: unexpected end'],
    ["[domain-name:value = 'a.example]", 'invalid STIX pattern: unterminated string'],
    ["domain-name:value = 'a.example'", 'invalid STIX pattern: unexpected "domain-name:value"'],
    ["[domain-name:value = '']", 'empty STIX value for domain-name:value']
  ]
  const path = bundle(cases.map(([pattern]) => indicator(pattern)))
  const items = await parse(path)
  assert.equal(items.length, cases.length)
  items.forEach((item, n) => {
    assert.ok(isSkipped(item), cases[n][0])
    assert.deepEqual(item, { skipped: true, reason: cases[n][1], line: n + 2 }, cases[n][0])
  })
})

test('revoked indicators are skipped; other pattern types and missing patterns too', async () => {
  const items = await parse(bundle([
    indicator("[domain-name:value = 'a.example']", { revoked: true }),
    indicator('title: x', { pattern_type: 'sigma' }),
    { type: 'indicator', id: 'indicator--2' },
    indicator("[domain-name:value = 'b.example']", { revoked: false })
  ]))
  assert.deepEqual(items.slice(0, 3), [
    { skipped: true, reason: 'revoked', line: 2 },
    { skipped: true, reason: 'unsupported pattern_type: "sigma"', line: 3 },
    { skipped: true, reason: 'indicator without a pattern', line: 4 }
  ])
  assert.ok(!isSkipped(items[3]))
})

test('valid_until becomes expires (epoch seconds); a past one is still yielded', async () => {
  const items = await parse(bundle([
    indicator("[domain-name:value = 'future.example']", { valid_until: '2099-12-31T23:59:59.000Z' }),
    indicator("[domain-name:value = 'past.example']", { valid_until: '2001-01-01T00:00:00Z' }),
    indicator("[domain-name:value = 'none.example']"),
    indicator("[domain-name:value = 'bad.example']", { valid_until: 'soon' })
  ]))
  const [future, past, none, bad] = items as FeedRecord[]
  assert.equal(future.expires, Date.UTC(2099, 11, 31, 23, 59, 59) / 1000)
  assert.equal(past.expires, Date.UTC(2001, 0, 1) / 1000)
  assert.equal(past.indicators[0].value, 'past.example')
  assert.equal(none.expires, undefined)
  assert.deepEqual(bad as unknown as SkippedRecord, { skipped: true, reason: 'invalid valid_until: "soon"', line: 5 })
})

test('context keeps the indicator fields; other objects are ignored; broken elements skipped with their line', async () => {
  const full = indicator("[ipv4-addr:value = '192.0.2.9']", {
    name: 'C2', description: 'd', labels: ['l'], indicator_types: ['malicious-activity'], confidence: 80,
    created: '2024-01-01T00:00:00Z', modified: '2024-01-02T00:00:00Z', valid_until: '2099-01-01T00:00:00Z',
    external_references: [{ source_name: 'x' }], kill_chain_phases: [{ kill_chain_name: 'k', phase_name: 'p' }],
    created_by_ref: 'identity--1', spec_version: '2.1'
  })
  const items = await parse(bundle([
    { type: 'identity', id: 'identity--1', name: 'org' },
    { type: 'malware', id: 'malware--1', name: 'x' },
    { type: 'relationship', id: 'relationship--1' },
    '{"type": "indicator", "pattern": broken}',
    '"a string"',
    full
  ]))
  assert.equal(items.length, 3)
  const [broken, str, rec] = items
  assert.ok(isSkipped(broken))
  assert.equal(broken.line, 5)
  assert.match(broken.reason, /^invalid JSON/)
  assert.deepEqual(str, { skipped: true, reason: 'not a STIX object: expected a JSON object in "objects"', line: 6 })
  assert.ok(!isSkipped(rec))
  assert.equal(rec.line, 7)
  assert.deepEqual(rec.context, {
    name: 'C2', description: 'd', labels: ['l'], indicator_types: ['malicious-activity'], confidence: 80,
    created: '2024-01-01T00:00:00Z', modified: '2024-01-02T00:00:00Z', valid_from: '2024-01-01T00:00:00Z',
    valid_until: '2099-01-01T00:00:00Z', id: 'indicator--0001',
    external_references: [{ source_name: 'x' }], kill_chain_phases: [{ kill_chain_name: 'k', phase_name: 'p' }]
  })
})

test('a file that is not a bundle, or is missing, fails as a whole with FM_ERR_FEED_READ', async () => {
  const notBundle = join(dir, 'plain.json')
  writeFileSync(notBundle, '{"type": "indicator", "pattern": "[x:y = \'z\']"}')
  const cut = join(dir, 'cut.json')
  writeFileSync(cut, '{"type": "bundle", "objects": [\n' + JSON.stringify(indicator("[domain-name:value = 'a.example']")) + ',\n{"type": "ind')
  for (const path of [notBundle, cut, join(dir, 'missing.json')]) {
    await assert.rejects(parse(path), (err: unknown) => err instanceof FeedmatchError && err.code === 'FM_ERR_FEED_READ' && err.message.includes(path))
  }
})

test('the demo bundle parses without skips and holds every verification indicator', async () => {
  const path = new URL('../../fixtures/feeds/stix_indicators.json', import.meta.url).pathname
  const items = await parse(path)
  assert.deepEqual(items.filter(isSkipped), [])
  const values = (items as FeedRecord[]).flatMap((r) => r.indicators.map((i) => i.value.toLowerCase()))
  const expected = JSON.parse(readFileSync(new URL('../../fixtures/verification/expected.json', import.meta.url), 'utf8')) as Array<{ feed: string, matched: string }>
  const mine = expected.filter((e) => e.feed === 'stix_indicators')
  assert.ok(mine.length >= 8)
  for (const e of mine) assert.ok(values.some((v) => v.endsWith(e.matched)), e.matched)
  assert.ok((items as FeedRecord[]).every((r) => r.expires === Date.UTC(2099, 11, 31, 23, 59, 59) / 1000))
})
