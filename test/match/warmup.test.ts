/**
 * The warm-up text (match/warmup.ts) and the samples it plants (index/samples.ts): the text is the
 * same on every run, and every indicator read back from an index, planted where its kind goes, is
 * detected there, so the warm-up compiles the path of a hit as well as that of a miss.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { IndexBuilder } from '../../src/index/builder.js'
import { FeedIndex } from '../../src/index/feed-index.js'
import { indicatorSamples } from '../../src/index/samples.js'
import { compileExtractor } from '../../src/extract/extractor.js'
import { EventMatcher } from '../../src/match/event-matcher.js'
import { warmupText } from '../../src/match/warmup.js'
import type { Detection } from '../../src/match/detection.js'
import { feedMeta } from '../index/helpers.js'

/** One feed of every kind the samples read back: hashes, IPs, a CIDR, domains, hosts, masks. */
function build (): ReturnType<IndexBuilder['build']> {
  const b = new IndexBuilder()
  const feed = b.addFeed(feedMeta('all'))
  const ctx = b.addContext({ feed: 'all' })
  for (let i = 0; i < 50; i++) {
    b.addHash(Buffer.alloc(16, i + 1), feed, ctx)
    b.addHash(Buffer.alloc(20, i + 1), feed, ctx)
    b.addHash(Buffer.alloc(32, i + 1), feed, ctx)
    b.addIp(Uint8Array.of(93, 184, i, 7), 32, feed, ctx)
    b.addDomain(`bad${i}.example.org`, i % 2 === 0 ? 'domain' : 'host', feed, ctx)
    b.addUrlMask(`phish${i}.example.net/login/*`, feed, ctx)
  }
  b.addIp(Uint8Array.of(203, 0, 113, 0), 24, feed, ctx)
  return b.build(1)
}

const generic = compileExtractor({ name: 'default', preset: 'generic', normalize: [], rules: [] })

/** The detections of each line of `text`. */
function detect (index: FeedIndex, text: Buffer): Detection[][] {
  const m = new EventMatcher(index, 100)
  const out: Detection[][] = []
  for (let pos = 0; pos < text.length;) {
    const nl = text.indexOf(0x0a, pos)
    const found: Detection[] = []
    m.matchEvent(generic, text, pos, nl, '127.0.0.1', 0, (d) => found.push(d))
    out.push(found)
    pos = nl + 1
  }
  return out
}

test('samples: up to the number asked of each kind, every one a key of the index', () => {
  const gen = build()
  const s = indicatorSamples(gen, 8)
  assert.equal(s.hashes.length, 24) // 8 of each digest length
  assert.deepEqual(new Set(s.hashes.map((h) => h.length)), new Set([32, 40, 64]))
  assert.equal(s.ips.length, 8 + 1) // 8 addresses, and one inside each sampled network (one /24 here)
  assert.ok(s.ips.includes('203.0.113.1'), 'an address inside the /24')
  assert.equal(s.hosts.length, 8)
  for (const h of s.hosts) assert.match(h, /^bad\d+\.example\.org$/)
  assert.equal(s.urls.length, 8)
  for (const u of s.urls) assert.match(u, /^phish\d+\.example\.net\/login\/a$/)
})

test('warm-up text: whole lines, the same on every call; planted samples are all detected', () => {
  const gen = build()
  const index = new FeedIndex(gen)
  const plain = warmupText(64 * 1024)
  assert.ok(plain.length >= 64 * 1024 && plain.length < 64 * 1024 + 1024)
  assert.equal(plain.at(-1), 0x0a)
  assert.ok(plain.equals(warmupText(64 * 1024)), 'deterministic')
  assert.equal(detect(index, plain).flat().length, 0, 'without samples, nothing of this index is in it')

  const samples = indicatorSamples(gen, 16)
  const text = warmupText(256 * 1024, samples)
  const lines = text.toString('utf8').split('\n').slice(0, -1)
  const perLine = detect(index, text)
  const all = [...samples.hashes, ...samples.ips, ...samples.hosts, ...samples.urls.map((u) => `http://${u}`)]
  let planted = 0
  for (let i = 0; i < lines.length; i++) {
    const held = all.filter((v) => lines[i].includes(v))
    if (held.length === 0) continue
    planted++
    assert.ok(perLine[i].length > 0, `line ${i + 1} holds ${held.join(', ')} and has no detection: ${lines[i]}`)
  }
  // PLANT_RATE is 2%; the text has about 1,300 lines.
  assert.ok(planted > lines.length * 0.01 && planted < lines.length * 0.04, `${planted} of ${lines.length} lines planted`)
  assert.deepEqual(new Set(perLine.flat().map((d) => d.type)), new Set(['md5', 'sha1', 'sha256', 'ip', 'domain', 'url']))
})
