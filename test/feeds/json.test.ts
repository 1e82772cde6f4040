import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { parseJson } from '../../src/feeds/formats/json.js'
import { formatFixture, records, skips, values } from './helpers.js'

const { file, parse, dir } = await formatFixture(parseJson, 'json', '.json')


// One record a line, so that record n sits on line n + 1.
const lines = (recs: Array<object | string>): string =>
  '[\n' + recs.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join(',\n') + '\n]\n'

test('a field mapping with nested fields and arrays', async () => {
  const path = await file(lines([
    { indicator: { value: '198.51.100.7', type: 'ip' }, sample: { hashes: [{ md5: '44d88612fea8a8f36de82e1278abb02f' }, { md5: '0123456789abcdef0123456789abcdef' }] }, tags: ['c2'] },
    { indicator: { value: '203.0.113.9' }, sample: {} },
    { other: true }
  ]))
  const items = await parse(path, { indicators: [{ field: 'indicator/value', kind: 'ip' }, { field: 'sample/hashes/md5', kind: 'md5' }] })
  const recs = records(items)
  assert.deepEqual(values(recs[0]), ['ip:198.51.100.7', 'md5:44d88612fea8a8f36de82e1278abb02f', 'md5:0123456789abcdef0123456789abcdef'])
  assert.deepEqual(recs[0].context.tags, ['c2'])
  assert.deepEqual(values(recs[1]), ['ip:203.0.113.9'])
  assert.deepEqual(recs.map((r) => r.line), [2, 3])
  assert.deepEqual(skips(items), [{ skipped: true, reason: 'no indicator field (expected indicator/value, sample/hashes/md5)', line: 4 }])
})

test('without a mapping, indicator fields are guessed by name, with the kind the name implies', async () => {
  const path = await file(lines([
    { url: 'http://evil.example/a', first_seen: '2024-01-01' },
    { IP: '192.0.2.1', Domain: 'bad.example' },
    { value: 'evil.example/*', type: 'url' },
    { sha256: '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f', hash: 'abc' },
    '"198.51.100.1"',
    { note: 'nothing to match' },
    '42'
  ]))
  const items = await parse(path)
  const recs = records(items)
  assert.deepEqual(recs.map(values), [
    ['url:http://evil.example/a'],
    ['ip:192.0.2.1', 'domain:bad.example'],
    ['auto:evil.example/*'],
    ['sha256:275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f', 'hash:abc'],
    ['auto:198.51.100.1']
  ])
  assert.deepEqual(skips(items).map((s) => [s.line, s.reason.slice(0, 22)]), [[7, 'no indicator field (no'], [8, 'record is not a JSON o']])
})

test('records under a top-level key, and a/b paths inside the elements of that array', async () => {
  const keyed = await file('{"count": 2, "indicators": ' + lines([{ ip: '192.0.2.1' }, { ip: '192.0.2.2' }]) + '}')
  assert.deepEqual(records(await parse(keyed, { records: 'indicators' })).map(values), [['ip:192.0.2.1'], ['ip:192.0.2.2']])
  // Found without `records:` too: the first key holding an array.
  assert.deepEqual(records(await parse(keyed)).map((r) => r.line), [2, 3])

  const nested = await file('{"pages": [\n{"page": 1, "items": [{"domain": "a.example"}, {"domain": "b.example"}]},\n{"page": 2, "items": [{"domain": "c.example"}]},\n{"page": 3}\n]}')
  const items = await parse(nested, { records: 'pages/items' })
  assert.deepEqual(records(items).map((r) => [r.line, values(r)[0]]), [[2, 'domain:a.example'], [2, 'domain:b.example'], [3, 'domain:c.example']])
  assert.deepEqual(skips(items), [{ skipped: true, reason: 'no "items" in the element', line: 4 }])
})

test('a/b under an object (not an array) is read whole, without lines', async () => {
  const path = await file(JSON.stringify({ response: { status: 'ok', data: [{ url: 'http://a.example/x' }, { url: 'http://b.example/y' }] } }))
  const recs = records(await parse(path, { records: 'response/data' }))
  assert.deepEqual(recs.map(values), [['url:http://a.example/x'], ['url:http://b.example/y']])
  assert.equal(recs[0].line, undefined)
  await assert.rejects(parse(path, { records: 'response/missing' }), { code: 'FM_ERR_FEED_FORMAT' })
})

test('a broken element is skipped with its line; a broken document fails the feed', async () => {
  const path = await file(lines([{ ip: '192.0.2.1' }, '{"ip": "192.0.2.2",}', { ip: '192.0.2.3' }]))
  const items = await parse(path)
  assert.deepEqual(records(items).map((r) => r.line), [2, 4])
  assert.equal(skips(items)[0].line, 3)
  assert.match(skips(items)[0].reason, /^invalid JSON/)
  await assert.rejects(parse(await file('{"no": "array"}')), { code: 'FM_ERR_FEED_FORMAT' })
  await assert.rejects(parse(await file('[{"ip": "192.0.2.1"}, {"ip"')), { code: 'FM_ERR_FEED_READ' })
  await assert.rejects(parse(join(dir, 'missing.json')), { code: 'FM_ERR_FEED_NOT_FOUND' })
})

test('NDJSON: one record a line, blank lines ignored, broken lines skipped with their line', async () => {
  const text = '\ufeff{"indicator": "evil.example", "score": 9}\r\n\r\n{"indicator": "192.0.2.1"\n{"indicator": "http://x.example/a"}\n'
  for (const ext of ['.ndjson', '.jsonl']) {
    const items = await parse(await file(text, ext))
    assert.deepEqual(records(items).map((r) => [r.line, values(r)[0]]), [[1, 'auto:evil.example'], [4, 'auto:http://x.example/a']])
    assert.equal(records(items)[0].context.score, 9)
    assert.equal(skips(items)[0].line, 3)
  }
  // NDJSON in a .json file is recognized by its content.
  const items = await parse(await file('{"ip": "192.0.2.1"}\n{"ip": "192.0.2.2"}\n'))
  assert.deepEqual(records(items).map(values), [['ip:192.0.2.1'], ['ip:192.0.2.2']])
})
