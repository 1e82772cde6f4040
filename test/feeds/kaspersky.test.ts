import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createWriteStream } from 'node:fs'
import { join } from 'node:path'
import { once } from 'node:events'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { parseKaspersky, maskKind } from '../../src/feeds/formats/kaspersky.js'
import { formatFixture, records, skips } from './helpers.js'
import { eachItem, isSkipped, type FeedRecord } from '../../src/feeds/record.js'

const { file, parse, dir } = await formatFixture(parseKaspersky, 'kaspersky', '.json')


// The live heap after a full collection: heapUsed alone also counts garbage not yet collected.
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
function liveHeap (): number {
  gc()
  return process.memoryUsage().heapUsed
}

const MD5 = '44d88612fea8a8f36de82e1278abb02f'
const SHA1 = '3395856ce81f2b7382dee72602f798b642f14140'
const SHA256 = '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f'

test('a hash feed: every hash is an indicator, broken records are skipped with their line', async () => {
  const path = await file([
    '[',
    JSON.stringify({ id: 1, MD5, SHA1, SHA256, threat: 'EICAR-Test-File', file_size: 68, first_seen: '10.07.2015 10:45', popularity: 5 }) + ',',
    JSON.stringify({ id: 2, ip: '192.0.2.10', threat_score: 90, category: 'Botnet', ip_geo: 'nl' }) + ',',
    '{"id": 3, "MD5": "not closed properly", },',
    JSON.stringify({ id: 4, threat: 'no indicator here' }) + ',',
    JSON.stringify({ id: 5, mask: 'evil.example.com/path/*', type: 3, files: [{ MD5, threat: 'x' }] }),
    ']'
  ].join('\n'))
  const items = await parse(path)
  assert.equal(items.length, 5)
  const recs = records(items)
  assert.deepEqual(recs.map((r) => r.context.id), [1, 2, 5])
  assert.deepEqual(recs.map((r) => r.line), [2, 3, 6])
  assert.deepEqual(recs[0].indicators, [{ value: MD5, kind: 'md5' }, { value: SHA1, kind: 'sha1' }, { value: SHA256, kind: 'sha256' }])
  assert.deepEqual(recs[1].indicators, [{ value: '192.0.2.10', kind: 'ip' }])
  assert.deepEqual(recs[2].indicators, [{ value: 'evil.example.com/path/*', kind: 'url' }])
  // The whole record is the context, nested arrays included.
  assert.deepEqual(recs[2].context.files, [{ MD5, threat: 'x' }])
  const bad = skips(items)
  assert.deepEqual(bad.map((s) => s.line), [4, 5])
  assert.match(bad[0].reason, /invalid JSON/)
  assert.equal(bad[1].reason, 'no indicator field (expected MD5, SHA1, SHA256, ip or mask)')
})

test('URL masks: type 1 is a domain, 2 a host, else a mask with / or * is a url and a bare host a domain', async () => {
  assert.equal(maskKind('example.com', 1), 'domain')
  assert.equal(maskKind('example.com/a', 1), 'domain')
  assert.equal(maskKind('www.example.com', 2), 'host')
  assert.equal(maskKind('example.com', '2'), 'host')
  assert.equal(maskKind('example.com/a/b', 0), 'url')
  assert.equal(maskKind('*.example.com', undefined), 'url')
  assert.equal(maskKind('example.com', undefined), 'domain')
  const path = await file(JSON.stringify([{ mask: 'a.example', type: 1 }, { mask: 'b.example', type: 2 }, { mask: 'c.example' }]))
  const kinds = records(await parse(path)).map((r) => r.indicators[0].kind)
  assert.deepEqual(kinds, ['domain', 'host', 'domain'])
})

test('a field mapping replaces the default fields, arrays included', async () => {
  const path = await file(JSON.stringify([
    { mask: 'x.example/a', files: [{ MD5 }, { MD5: '0123456789abcdef0123456789abcdef' }] },
    { mask: 'y.example/b' }
  ]))
  const items = await parse(path, { indicators: [{ field: 'files/MD5', kind: 'md5' }] })
  assert.deepEqual((items[0] as FeedRecord).indicators.map((i) => i.value), [MD5, '0123456789abcdef0123456789abcdef'])
  assert.ok(isSkipped(items[1]))
  assert.equal(items[1].reason, 'no indicator field (expected files/MD5)')
})

test('the older layout: an object holding the array under a key (found, or named by records)', async () => {
  const text = '{"version": "1.0", "meta": {"n": 2}, "data": [\n' + JSON.stringify({ MD5 }) + ',\n' + JSON.stringify({ ip: '203.0.113.5' }) + '\n]}'
  const path = await file(text)
  for (const records of [undefined, 'data']) {
    const recs = records === undefined ? await parse(path) : await parse(path, { records })
    assert.deepEqual(recs.map((r) => (r as FeedRecord).indicators[0].value), [MD5, '203.0.113.5'])
    assert.deepEqual(recs.map((r) => r.line), [2, 3])
  }
})

test('a file cut short fails as a whole; a missing file says so', async () => {
  const path = await file('[\n' + JSON.stringify({ MD5 }) + ',\n' + JSON.stringify({ MD5 }).slice(0, 10))
  await assert.rejects(parse(path), (err: Error & { code?: string }) => err.code === 'FM_ERR_FEED_READ' && /not closed/.test(err.message))
  await assert.rejects(parse(join(dir, 'absent.json')), { code: 'FM_ERR_FEED_NOT_FOUND' })
})

test('a large feed is streamed: 200k records written in chunks come out one by one', async () => {
  const path = join(dir, 'large.json')
  const out = createWriteStream(path)
  const total = 200_000
  out.write('[\n')
  for (let i = 0; i < total; i += 1000) {
    let chunk = ''
    for (let j = i; j < i + 1000; j++) {
      const hex = j.toString(16).padStart(32, '0')
      chunk += JSON.stringify({ id: j, MD5: hex, threat: 'HEUR:Trojan.Win32.Generic', popularity: j % 5, first_seen: '01.01.2024 00:00' })
      chunk += j === total - 1 ? '\n' : ',\n'
    }
    if (!out.write(chunk)) await once(out, 'drain')
  }
  out.end(']\n')
  await once(out, 'finish')

  let count = 0
  let lastLine = 0
  let peakHeap = 0
  const heapBefore = liveHeap()
  for await (const item of eachItem(parseKaspersky({ path, indicators: [] }))) {
    assert.ok(!isSkipped(item))
    count++
    lastLine = item.line ?? 0
    if (count % 20_000 === 0) peakHeap = Math.max(peakHeap, liveHeap() - heapBefore)
  }
  assert.equal(count, total)
  assert.equal(lastLine, total + 1)
  // Records are not kept: the live heap never holds the ~25 MB file, let alone 200k parsed records.
  assert.ok(peakHeap < 16 * 1024 * 1024, `live heap grew by ${peakHeap} bytes`)
})
