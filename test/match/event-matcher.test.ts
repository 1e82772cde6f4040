/**
 * EventMatcher through its public entry (matchEvent): one detection per (event, record, normalized
 * value) however many times the value appears, the per-event cap, rule values on request only, and
 * the byte checks a caller may do once for many events (bufferClean, spanChecked).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { IndexBuilder } from '../../src/index/builder.js'
import { FeedIndex } from '../../src/index/feed-index.js'
import { compileExtractor } from '../../src/extract/extractor.js'
import type { RuleSpec } from '../../src/extract/types.js'
import { EventMatcher, bufferClean, spanChecked } from '../../src/match/event-matcher.js'
import type { Detection } from '../../src/match/detection.js'
import { feedMeta } from '../index/helpers.js'

const hashes = Array.from({ length: 40 }, (_, i) => Buffer.alloc(16, i + 1).toString('hex'))

/** Feeds `a` and `b`: both hold every hash and evil.com; `a` also holds 10.0.0.0/8. */
function index (): FeedIndex {
  const b = new IndexBuilder()
  for (const name of ['a', 'b']) {
    const feed = b.addFeed(feedMeta(name))
    const ctx = b.addContext({ feed: name })
    for (const h of hashes) b.addHash(Buffer.from(h, 'hex'), feed, ctx)
    b.addDomain('evil.com', 'domain', feed, ctx)
    if (name === 'a') b.addIp(Uint8Array.of(10, 0, 0, 0), 8, feed, ctx)
  }
  return new FeedIndex(b.build(1))
}

// RE2 rules of the source's own (not the generic preset's byte scanner): what is tested here is
// the matcher, whichever engine extracts.
const RULES: RuleSpec[] = [
  { name: 'URL', type: 'URL', extract: 'all', pattern: '\\b(https?://\\S+)' },
  { name: 'IP', type: 'IP', extract: 'all', pattern: '\\b(\\d+\\.\\d+\\.\\d+\\.\\d+)\\b' },
  { name: 'MD5', type: 'MD5', extract: 'all', pattern: '\\b([0-9a-fA-F]{32})\\b' },
  { name: 'User', type: 'CONTEXT', extract: 'first', pattern: 'user=(\\w+)' }
]
const extractor = compileExtractor({ name: 'test', preset: 'none', normalize: [], rules: RULES })

function run (m: EventMatcher, text: string, checked = false): Detection[] {
  const out: Detection[] = []
  const buf = Buffer.from(`junk ${text} junk`)
  m.matchEvent(extractor, buf, 5, buf.length - 5, '192.0.2.1', 0, (d) => out.push(d), checked)
  return out
}

const brief = (ds: Detection[]): string[] => ds.map((d) => `${d.feed} ${d.rule} ${d.value}`).sort()

test('one detection per record and normalized value, however often the value appears', () => {
  const m = new EventMatcher(index(), 1000)
  const ds = run(m, `http://EVIL.com/x http://www.evil.com/x 10.1.2.3 ${hashes[0]} ${hashes[0].toUpperCase()} http://evil.com/x/ 10.1.2.3`)
  assert.deepEqual(brief(ds), [
    `a MD5 ${hashes[0]}`, 'a URL evil.com/x', 'a IP 10.1.2.3',
    `b MD5 ${hashes[0]}`, 'b URL evil.com/x'
  ].sort())
  // Past the linear scan's reach: 40 distinct hashes twice over, in two feeds.
  const many = run(m, [...hashes, ...hashes.map((h) => h.toUpperCase())].join(' '))
  assert.equal(many.length, 80)
  assert.equal(new Set(many.map((d) => `${d.feed} ${d.value}`)).size, 80)
  assert.equal(m.counters.detections, 85)
})

test('the per-event cap keeps the first detections and counts the rest as cut', () => {
  const m = new EventMatcher(index(), 3)
  assert.equal(run(m, hashes.slice(0, 4).join(' ')).length, 3)
  assert.equal(m.counters.cut, 5)
})

test('rule values: every rule by default, only the detecting rule without needRuleValues', () => {
  const text = `user=alice 10.9.9.9 http://evil.com/a ${hashes[1]}`
  const full = run(new EventMatcher(index(), 100), text)
  assert.ok(full.length > 0)
  for (const d of full) {
    assert.deepEqual({ ...d.rules }, { URL: d.rule === 'URL' ? d.value : 'http://evil.com/a', IP: d.rule === 'IP' ? d.value : '10.9.9.9', MD5: d.rule === 'MD5' ? d.value : hashes[1], User: 'alice' })
  }
  const lean = run(new EventMatcher(index(), 100, { needRuleValues: false }), text)
  assert.deepEqual(brief(lean), brief(full))
  for (const d of lean) assert.deepEqual({ ...d.rules }, { [d.rule]: d.value })
})

test('byte checks: per event unless the caller did them; a clean buffer vouches for spans on character boundaries', () => {
  const m = new EventMatcher(index(), 100)
  assert.deepEqual(run(m, `${hashes[2]}\u0000`), [])
  assert.equal(m.counters.binary, 1)
  assert.equal(run(m, `${hashes[2]}\u0000`, true).length, 2, 'checked: the caller vouched for the bytes')
  const buf = Buffer.from('aé€b')
  assert.equal(bufferClean(buf), true)
  assert.equal(bufferClean(Buffer.from('a\u0000b')), false)
  assert.equal(bufferClean(Buffer.from([0x61, 0xc3])), false)
  assert.equal(spanChecked(true, buf, 0, buf.length), true)
  assert.equal(spanChecked(true, buf, 1, 3), true) // é
  assert.equal(spanChecked(true, buf, 2, 6), false) // starts inside é
  assert.equal(spanChecked(true, buf, 3, 5), false) // ends inside €
  assert.equal(spanChecked(false, buf, 0, buf.length), false)
})

test('a URL whose host is a listed IP gives the IP as its value, so URL and bare IP give one detection; IPv6 as IPv4', () => {
  const b = new IndexBuilder()
  const feed = b.addFeed(feedMeta('ips'))
  const ctx = b.addContext({ feed: 'ips' })
  b.addIp(Uint8Array.of(198, 51, 100, 7), 32, feed, ctx)
  b.addIp(Uint8Array.from(Buffer.from('2604a880000000000000000000000001', 'hex')), 128, feed, ctx)
  const m = new EventMatcher(new FeedIndex(b.build(1)), 100)
  const generic = compileExtractor({ name: 'g', preset: 'generic', normalize: [], rules: [] })
  const scan = (text: string): string[] => {
    const out: Detection[] = []
    const buf = Buffer.from(text)
    m.matchEvent(generic, buf, 0, buf.length, '192.0.2.1', 0, (d) => out.push(d))
    return out.map((d) => `${d.type} ${d.value}`)
  }
  assert.deepEqual(scan('GET http://[2604:a880::1]:8080/x dst=2604:a880::1'), ['ip 2604:a880::1'])
  assert.deepEqual(scan('GET http://[2604:a880::1]:8080/x'), ['ip 2604:a880::1'])
  assert.deepEqual(scan('GET http://198.51.100.7:8080/x dst=198.51.100.7'), ['ip 198.51.100.7'])
})
