import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { parseXml } from '../../src/feeds/formats/xml.js'
import { formatFixture, records, skips, values } from './helpers.js'

const { file, parse, dir } = await formatFixture(parseXml, 'xml', '.xml')


const MD5 = '44d88612fea8a8f36de82e1278abb02f'

const FEED = `<?xml version="1.0" encoding="UTF-8"?>
<threatFeed version="2">
  <header><generated>2024-05-01T00:00:00Z</generated></header>
  <entries>
    <entry id="1" severity="high">
      <hash type="md5">${MD5}</hash>
      <url><![CDATA[http://evil.example/a?x=1&y=2]]></url>
      <tags><tag>trojan</tag><tag>dropper</tag></tags>
      <source name="sandbox"/>
      <note>first <b>bold</b> seen</note>
    </entry>
    <entry id="2">
      <url>http://bad.example/b</url>
      <url>http://bad.example/c</url>
    </entry>
  </entries>
</threatFeed>
`

test('records become objects: children as fields, attributes as @name, repeats as arrays, mixed text as #text', async () => {
  const path = await file(FEED)
  const items = await parse(path, { records: 'entries/entry', indicators: [{ field: 'hash', kind: 'md5' }, { field: 'url', kind: 'url' }] })
  assert.equal(items.length, 2)
  const [first, second] = records(items)
  assert.deepEqual(first.context, {
    '@id': '1',
    '@severity': 'high',
    hash: { '@type': 'md5', '#text': MD5 },
    url: 'http://evil.example/a?x=1&y=2',
    tags: { tag: ['trojan', 'dropper'] },
    source: { '@name': 'sandbox' },
    note: { b: 'bold', '#text': 'first  seen' }
  })
  assert.deepEqual(values(first), [`md5:${MD5}`, 'url:http://evil.example/a?x=1&y=2'])
  assert.equal(first.line, 5)
  assert.deepEqual(values(second), ['url:http://bad.example/b', 'url:http://bad.example/c'])
  assert.equal(second.line, 12)
})

test('mapping paths reach nested fields and attributes', async () => {
  const path = await file(FEED)
  const items = await parse(path, { records: 'entry', indicators: [{ field: 'tags/tag', kind: 'auto' }, { field: '@id', kind: 'auto' }] })
  assert.deepEqual(values(records(items)[0]), ['auto:trojan', 'auto:dropper', 'auto:1'])
})

test('without records: the children of the root; without a mapping: fields named like indicators, or the text', async () => {
  const path = await file('<iocs>\n<ioc>192.0.2.1</ioc>\n<item><ip>198.51.100.2</ip><score>5</score></item>\n<item ip="203.0.113.3"/>\n<item><score>1</score></item>\n</iocs>')
  const items = await parse(path)
  assert.deepEqual(records(items).map(values), [['auto:192.0.2.1'], ['ip:198.51.100.2'], ['ip:203.0.113.3']])
  assert.deepEqual(records(items).map((r) => r.line), [2, 3, 4])
  assert.equal(skips(items)[0].line, 5)
})

test('malformed XML inside a record skips that record with its line; the records after it still count', async () => {
  const path = await file([
    '<feed>',
    '<rec id="1"><ip>192.0.2.1</ip></rec>',
    '<rec id="2"><ip>192.0.2.2</ipx></rec>',
    '<rec id="3"><ip>192.0.2.3 &nbsp;</ip></rec>',
    '<rec id="4" id="4"><ip>192.0.2.4</ip></rec>',
    '<rec id="5"><ip>192.0.2.5</ip>',
    '</rec>',
    '<rec id="6"><ip>192.0.2.6</rec>',
    '<rec id="7"><ip>192.0.2.7</ip></rec>',
    '<rec id="8"><ip>192.0.2.8</ip></stray></rec>',
    '<rec id="9"><ip>192.0.2.9</ip></rec>',
    '</feed>'
  ].join('\n'))
  const items = await parse(path, { records: 'rec', indicators: [{ field: 'ip', kind: 'ip' }] })
  assert.deepEqual(records(items).map((r) => [r.line, r.context['@id']]), [[2, '1'], [6, '5'], [9, '7'], [11, '9']])
  const bad = skips(items)
  assert.deepEqual(bad.map((s) => s.line), [3, 4, 5, 8, 10])
  for (const s of bad) assert.match(s.reason, /^malformed XML: /)
})

test('malformed structure outside records, or a file cut short, fails the feed with its line', async () => {
  const mismatched = await file('<feed>\n<rec><ip>192.0.2.1</ip></rec>\n</feeds>\n')
  await assert.rejects(parse(mismatched, { records: 'rec' }), (err: Error & { code?: string }) =>
    err.code === 'FM_ERR_FEED_READ' && /line 3/.test(err.message))
  const cut = await file('<feed>\n<rec><ip>192.0.2.1</ip></rec>\n<rec><ip>192.0')
  await assert.rejects(parse(cut, { records: 'rec' }), { code: 'FM_ERR_FEED_READ' })
  const twoRoots = await file('<feed><rec><ip>192.0.2.1</ip></rec></feed>\n<feed/>')
  await assert.rejects(parse(twoRoots, { records: 'rec' }), { code: 'FM_ERR_FEED_READ' })
  await assert.rejects(parse(await file('')), { code: 'FM_ERR_FEED_READ' })
  await assert.rejects(parse(join(dir, 'missing.xml')), { code: 'FM_ERR_FEED_NOT_FOUND' })
})

test('namespaced elements match records without their prefix; __proto__ stays a field', async () => {
  const path = await file('<x:feed xmlns:x="urn:x"><x:item><x:domain>evil.example</x:domain><__proto__>p</__proto__></x:item></x:feed>')
  const recs = records(await parse(path, { records: 'item', indicators: [{ field: 'x:domain', kind: 'domain' }] }))
  assert.deepEqual(values(recs[0]), ['domain:evil.example'])
  assert.equal(Object.getPrototypeOf(recs[0].context), Object.prototype)
  assert.equal(Object.getOwnPropertyDescriptor(recs[0].context, '__proto__')?.value, 'p')
})
