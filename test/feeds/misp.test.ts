import { eachItem } from '../../src/feeds/record.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseMisp } from '../../src/feeds/formats/misp.js'
import { isSkipped, type FeedRecord, type ParsedItem } from '../../src/feeds/record.js'
import { FeedmatchError } from '../../src/errors.js'

const root = mkdtempSync(join(tmpdir(), 'feedmatch-misp-'))
let folders = 0

const E1 = '11111111-1111-4111-8111-111111111111'
const E2 = '22222222-2222-4222-8222-222222222222'
const MD5 = '44d88612fea8a8f36de82e1278abb02f'
const SHA1 = '3395856ce81f2b7382dee72602f798b642f14140'
const SHA256 = '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f'

/** Writes a feed folder: the manifest, then each event file as given (a string is written raw). */
function feed (manifest: unknown, events: Record<string, unknown>): string {
  const dir = join(root, `feed${folders++}`)
  mkdirSync(dir)
  writeFileSync(join(dir, 'manifest.json'), typeof manifest === 'string' ? manifest : JSON.stringify(manifest))
  for (const [uuid, ev] of Object.entries(events)) {
    writeFileSync(join(dir, `${uuid}.json`), typeof ev === 'string' ? ev : JSON.stringify(ev))
  }
  return dir
}

async function parse (path: string, more: { allAttributes?: boolean } = {}): Promise<ParsedItem[]> {
  const out: ParsedItem[] = []
  for await (const item of eachItem(parseMisp({ path, indicators: [], ...more }))) out.push(item)
  return out
}

let attrs = 0
function attr (type: string, value: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { uuid: `attr-${++attrs}`, type, category: 'Network activity', value, to_ids: true, comment: '', timestamp: '1700000000', deleted: false, ...extra }
}

const manifestEntry = (info: string): Record<string, unknown> => ({
  info, date: '2024-01-01', threat_level_id: 1, analysis: 2, timestamp: 1700000000, Orgc: { name: 'org' }, Tag: [{ name: 'manifest-tag' }]
})

/** Every record as `kind:value ...` strings, skips as `skip: reason`. */
function summary (items: ParsedItem[]): string[] {
  return items.map((i) => (isSkipped(i) ? `skip: ${i.reason}` : i.indicators.map((x) => `${x.kind}:${x.value}`).join(' ')))
}

test('every attribute type gives its indicators, one record per attribute', async () => {
  const dir = feed({ [E1]: manifestEntry('event one') }, {
    [E1]: {
      Event: {
        uuid: E1, info: 'event one', threat_level_id: '2', Tag: [{ name: 'tlp:clear' }],
        Attribute: [
          attr('md5', MD5), attr('sha1', SHA1.toUpperCase()), attr('sha256', SHA256),
          attr('ip-src', '192.0.2.1'), attr('ip-dst', '198.51.100.0/24'), attr('ip-dst', '2001:db8::1'),
          attr('ip-src|port', '192.0.2.2|4444'), attr('ip-dst|port', '2001:db8::2|443'),
          attr('domain', 'evil.example'), attr('hostname', 'www.evil.example'),
          attr('hostname|port', 'c2.evil.example|8080'), attr('domain|ip', 'both.example|203.0.113.5'),
          attr('url', 'http://evil.example/a?b=1'),
          attr('filename|md5', `in|voice.exe|${MD5}`), attr('filename|sha1', `a.dll|${SHA1}`), attr('filename|sha256', `b.bin|${SHA256}`)
        ]
      }
    }
  })
  assert.deepEqual(summary(await parse(dir)), [
    `md5:${MD5}`, `sha1:${SHA1.toUpperCase()}`, `sha256:${SHA256}`,
    'ip:192.0.2.1', 'ip:198.51.100.0/24', 'ip:2001:db8::1',
    'ip:192.0.2.2', 'ip:2001:db8::2',
    'domain:evil.example', 'host:www.evil.example',
    'host:c2.evil.example', 'domain:both.example ip:203.0.113.5',
    'url:http://evil.example/a?b=1',
    `md5:${MD5}`, `sha1:${SHA1}`, `sha256:${SHA256}`
  ])
})

test('context: event facts, attribute facts, event and attribute tags; object attributes too', async () => {
  const dir = feed({ [E1]: manifestEntry('from manifest') }, {
    [E1]: {
      Event: {
        uuid: E1, info: 'from event', threat_level_id: '3', Tag: [{ name: 'tlp:clear' }, { name: 'shared' }],
        Attribute: [attr('domain', 'a.example', {
          category: 'Network activity', comment: 'c2 domain', timestamp: '1700000001', first_seen: '2024-01-01T00:00:00Z',
          last_seen: null, Tag: [{ name: 'shared' }, { name: 'attr-tag' }]
        })],
        Object: [
          { name: 'file', Attribute: [attr('filename|md5', `x.exe|${MD5}`, { category: 'Payload delivery', to_ids: false })] },
          { name: 'gone', deleted: true, Attribute: [attr('md5', MD5)] }
        ]
      }
    }
  })
  const [a, b, ...rest] = await parse(dir) as FeedRecord[]
  assert.equal(rest.length, 0)
  assert.deepEqual(a.context, {
    event_uuid: E1, event_info: 'from event', threat_level_id: '3', category: 'Network activity', type: 'domain',
    comment: 'c2 domain', tags: ['tlp:clear', 'shared', 'attr-tag'], timestamp: '1700000001',
    first_seen: '2024-01-01T00:00:00Z', to_ids: true
  })
  assert.equal(a.line, undefined)
  // to_ids false is marked not for detection (the loader counts it as filtered), and the
  // manifest fills what the event leaves out.
  assert.equal(a.notForDetection, undefined)
  assert.equal(b.notForDetection, true)
  assert.equal(((await parse(dir, { allAttributes: true }))[1] as FeedRecord).notForDetection, undefined)
  assert.deepEqual(b.context, {
    event_uuid: E1, event_info: 'from event', threat_level_id: '3', category: 'Payload delivery', type: 'filename|md5',
    tags: ['tlp:clear', 'shared'], timestamp: '1700000000', to_ids: false
  })
  const sparse = feed({ [E2]: manifestEntry('from manifest') }, { [E2]: { Event: { Attribute: [attr('md5', MD5)] } } })
  const [c] = await parse(sparse) as FeedRecord[]
  assert.deepEqual(c.context.event_uuid, E2)
  assert.deepEqual(c.context.event_info, 'from manifest')
  assert.deepEqual(c.context.threat_level_id, 1)
  assert.deepEqual(c.context.tags, ['manifest-tag'])
})

test('deleted attributes and types without indicators are passed over silently', async () => {
  const dir = feed({ [E1]: manifestEntry('e') }, {
    [E1]: {
      Event: {
        Attribute: [
          attr('ip-dst', '192.0.2.250', { deleted: true }), attr('ip-dst', '192.0.2.251', { deleted: '1' }),
          attr('text', 'notes'), attr('email-src', 'a@b.example'), attr('regkey', 'HKLM\\x'), 'not an object',
          attr('ip-dst', '192.0.2.252', { deleted: false })
        ]
      }
    }
  })
  assert.deepEqual(summary(await parse(dir)), ['ip:192.0.2.252'])
})

test('malformed values are skipped naming the file, event and attribute', async () => {
  const values: Array<[string, unknown]> = [
    ['md5', 'xyz'], ['sha256', MD5], ['ip-src', '999.1.1.1'], ['ip-dst', '192.0.2.0/33'], ['ip-src|port', '192.0.2.1'],
    ['ip-dst|port', '192.0.2.1|http'], ['ip-dst|port', '192.0.2.1|70000'], ['domain', 'a b.example'], ['hostname', ''],
    ['hostname|port', 'h.example|'], ['domain|ip', 'a.example|nope'], ['url', 'http://a b'], ['filename|sha1', SHA1],
    ['filename|md5', `x.exe|${SHA1}`], ['domain', 42]
  ]
  const dir = feed({ [E1]: manifestEntry('e') }, {
    [E1]: { Event: { uuid: E1, Attribute: values.map(([t, v], n) => attr(t, v, { uuid: `bad-${n}` })) } }
  })
  const items = await parse(dir)
  assert.equal(items.length, values.length)
  items.forEach((item, n) => {
    assert.ok(isSkipped(item), String(values[n][1]))
    assert.equal(item.line, undefined)
    assert.equal(item.reason, `malformed MISP attribute value: ${values[n][0]} ${JSON.stringify(values[n][1])} (event ${E1}, attribute bad-${n}, ${E1}.json)`)
  })
})

test('a missing or broken event file is one skip naming the file; the others are still read', async () => {
  const E3 = '33333333-3333-4333-8333-333333333333'
  const E4 = '44444444-4444-4444-8444-444444444444'
  const dir = feed({ [E1]: manifestEntry('missing'), [E2]: manifestEntry('broken'), [E3]: manifestEntry('no Event'), [E4]: manifestEntry('ok'), '../../etc/passwd': {} }, {
    [E2]: '{"Event": {"Attribute": [',
    [E3]: '{"Attribute": []}',
    [E4]: { Event: { Attribute: [attr('domain', 'ok.example')] } }
  })
  const out = summary(await parse(dir))
  assert.equal(out.length, 5)
  assert.equal(out[0], `skip: missing event file: ${E1}.json`)
  assert.match(out[1], new RegExp(`^skip: unreadable event file: ${E2}\\.json \\(.*JSON`))
  assert.equal(out[2], `skip: unreadable event file: ${E3}.json (no "Event" object)`)
  assert.equal(out[3], 'domain:ok.example')
  assert.equal(out[4], 'skip: invalid event uuid in manifest.json: "../../etc/passwd"')
})

test('a folder without a readable manifest fails as a whole with FM_ERR_FEED_READ', async () => {
  const empty = join(root, 'empty')
  mkdirSync(empty)
  for (const dir of [empty, feed('{"broken', {}), feed('[1, 2]', {})]) {
    await assert.rejects(parse(dir), (err: unknown) => err instanceof FeedmatchError && err.code === 'FM_ERR_FEED_READ' && err.message.includes(dir))
  }
})

test('the demo MISP feed parses without skips and holds every verification indicator', async () => {
  const dir = new URL('../../fixtures/feeds/misp_feed', import.meta.url).pathname
  assert.equal(readdirSync(dir).length, 3)
  const items = await parse(dir)
  assert.deepEqual(items.filter(isSkipped), [])
  const values = (items as FeedRecord[]).flatMap((r) => r.indicators.map((i) => i.value.toLowerCase()))
  assert.ok(!values.includes('192.0.2.250'), 'the deleted attribute is not read')
  const expected = JSON.parse(readFileSync(new URL('../../fixtures/verification/expected.json', import.meta.url), 'utf8')) as Array<{ feed: string, matched: string }>
  const mine = expected.filter((e) => e.feed === 'misp_feed')
  assert.ok(mine.length >= 15)
  for (const e of mine) assert.ok(values.some((v) => v.endsWith(e.matched)), e.matched)
})
