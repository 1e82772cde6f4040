import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Detection } from '../../src/match/detection.js'
import { createRenderer } from '../../src/render/renderer.js'
import { PRESET_NAMES } from '../../src/render/presets.js'
import type { SyslogOptions } from '../../src/render/syslog.js'
import { ReplyFramer } from '../../src/verify/frames.js'
import { readReply, type Reply } from '../../src/verify/reply.js'

// verify must read back whatever the service writes: every preset, header and framing, with feed
// data chosen to break naive parsers (`=`, `\`, `|`, quotes, spaces, `-`, non-ASCII).
const T = Date.UTC(2024, 0, 5, 3, 4, 5, 678)
const FEED = 'my feed=1 | x\\y "q"'
const CATEGORY = 'Cat=égorie \\ | -'
const MATCHED = 'evil.example/login?user=a b\\c|d "e"'

const detection: Detection = {
  obfuscation: [],
  time: T,
  feed: FEED,
  category: CATEGORY,
  type: 'url',
  matched: MATCHED,
  value: 'evil.example/login?user=a b\\c|d "e"',
  rule: 'RE_URL',
  context: { note: 'event=finished alert=x detected=y', mask: 'cs5Label=MatchedIndicator cs5=fake' },
  actionable: [['cs3', '9=0']],
  sourceIp: '10.0.0.7',
  rules: { RE_URL: 'http://evil.example/login?user=a', SRC_IP: '10.1.1.1' },
}
const finished = { time: T, sourceIp: '10.0.0.7', detections: 1, rules: { RE_URL: 'x=y' } }
const alert = { time: T, alert: 'feeds_loaded', context: { matched: 'm', category: 'c' } }

// Presets that carry the feed's name besides its category.
const WITH_FEED = new Set(['kv', 'qradar', 'ecs'])

function frames (preset: string, syslog: SyslogOptions, d: Detection = detection): string {
  const r = createRenderer({ preset, ruleNames: ['RE_URL', 'SRC_IP'], version: '1.2.3', syslog })
  return r.detectionFrame(d) + r.finishedFrame(finished) + r.alertFrame(alert)
}

function expectedDetection (preset: string, d: Detection): Reply {
  return { kind: 'detection', matched: d.matched, category: d.category, feed: WITH_FEED.has(preset) ? d.feed : undefined }
}

/** Feeds `bytes` in chunks of `size` and classifies every frame. */
function read (bytes: Buffer, size: number): Reply[] {
  const framer = new ReplyFramer('test')
  const out: Reply[] = []
  for (let i = 0; i < bytes.length; i += size) for (const f of framer.push(bytes.subarray(i, i + size))) out.push(readReply(f))
  return out
}

for (const preset of PRESET_NAMES) {
  for (const header of ['none', 'rfc5424', 'rfc3164'] as const) {
    for (const framing of ['lf', 'octet'] as const) {
      test(`readReply: ${preset}, header ${header}, ${framing} framing, hostile values, any chunking`, () => {
        const syslog: SyslogOptions = { header, framing, hostname: 'fm-host', appName: 'feedmatch', facility: 16, procId: 42 }
        const bytes = Buffer.from(frames(preset, syslog).repeat(2), 'utf8')
        const want = [expectedDetection(preset, detection), { kind: 'finished' }, { kind: 'service' }]
        for (const size of [1, 2, 7, 64, bytes.length]) {
          assert.deepEqual(read(bytes, size), [...want, ...want], `chunks of ${size}`)
        }
      })
    }
  }
}

// LEEF has no escape and CEF none for tabs: those are lossy by design (src/render/escape.ts).
test('readReply: line breaks in values come back where the format can carry them', () => {
  const d = { ...detection, category: 'a\nb', matched: 'x\r\ny' }
  const syslog: SyslogOptions = { header: 'none', framing: 'lf', hostname: 'h', appName: 'a', facility: 16 }
  for (const preset of ['alienvault', 'kv', 'fortisiem', 'ecs']) {
    const got = read(Buffer.from(frames(preset, syslog, d)), 5)
    assert.equal(got.length, 3, preset)
    assert.deepEqual(got[0], expectedDetection(preset, d), preset)
  }
})

test('readReply: a missing value (`-`) is no value, unknown text stays unknown', () => {
  assert.deepEqual(readReply('category=- detected=abc'), { kind: 'unknown', text: 'category=- detected=abc' })
  assert.deepEqual(readReply('hello world'), { kind: 'unknown', text: 'hello world' })
  assert.deepEqual(readReply('{"not": "ours"}'), { kind: 'unknown', text: '{"not": "ours"}' })
  assert.deepEqual(readReply('{broken'), { kind: 'unknown', text: '{broken' })
  assert.deepEqual(readReply('CEF:0|too|short'), { kind: 'unknown', text: 'CEF:0|too|short' })
})

test('readReply: LEEF 1.0 and a LEEF 2.0 delimiter given as a character', () => {
  assert.deepEqual(readReply('LEEF:1.0|v|p|1|detection|cat=c\tindicator=1.2.3.4'), { kind: 'detection', matched: '1.2.3.4', category: 'c', feed: undefined })
  assert.deepEqual(readReply('LEEF:2.0|v|p|1|detection|^|cat=c^feed=f^indicator=a=b'), { kind: 'detection', matched: 'a=b', category: 'c', feed: 'f' })
})

test('ReplyFramer: an endless reply without a line end is an error, not unbounded memory', () => {
  const framer = new ReplyFramer('127.0.0.1:9')
  const chunk = Buffer.alloc(1 << 20, 0x61)
  assert.throws(() => { for (let i = 0; i < 20; i++) framer.push(chunk) }, { code: 'FM_ERR_VERIFY_REPLY' })
})
