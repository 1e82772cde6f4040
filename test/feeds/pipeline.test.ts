/**
 * The two ways loadFeed reads a feed (src/feeds/pipeline.ts): in the build thread, or in a parse
 * thread that posts prepared records in binary chunks. Both must build the same generation, byte
 * for byte. The parse thread runs from dist/, so `npx tsc -p tsconfig.json` first (`npm test` does).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import type { Worker } from 'node:worker_threads'
import { join } from 'node:path'
import { loadFeed, type FeedLoadResult } from '../../src/feeds/pipeline.js'
import { MAX_IN_FLIGHT, ParseThread } from '../../src/feeds/parse-thread.js'
import { buildGeneration } from '../../src/feeds/build.js'
import { IndexBuilder } from '../../src/index/builder.js'
import { FeedIndex } from '../../src/index/feed-index.js'
import { Hits, type GenerationHandle } from '../../src/index/types.js'
import { lookupValue, type ValueType } from '../../src/match/query.js'
import type { ResolvedFeed } from '../../src/config/feed-sources.js'
import { FeedmatchError } from '../../src/errors.js'
import { feedMeta } from '../index/helpers.js'

const dir = await mkdtemp(join(tmpdir(), 'fm-pipeline-'))
test.after(async () => rm(dir, { recursive: true, force: true }))

const NOW = Date.UTC(2025, 0, 1)
const ONE_THREAD = { parseThreadMinBytes: Infinity }
const THREADED = { parseThreadMinBytes: 0 }
let files = 0

const hex = (bytes: number, seed: number): string => Array.from({ length: bytes }, (_, i) => ((seed * 31 + i * 7) & 0xff).toString(16).padStart(2, '0')).join('')

/** Writes a feed file, one record a line (so lines are predictable), and returns its path. */
async function writeFeed (records: unknown[]): Promise<string> {
  const path = join(dir, `f${files++}.json`)
  await writeFile(path, '[\n' + records.map((r) => typeof r === 'string' ? r : JSON.stringify(r)).join(',\n') + '\n]\n')
  return path
}

function feed (name: string, path: string, more: Partial<ResolvedFeed> = {}): ResolvedFeed {
  return { name, path, role: 'feed', category: `${name}-cat`, format: 'kaspersky', ...more } as unknown as ResolvedFeed
}

interface Built { results: FeedLoadResult[], handle: GenerationHandle }

/** Loads the feeds, in order, into one builder, all through the same path. */
async function build (feeds: ResolvedFeed[], opts: Parameters<typeof loadFeed>[3]): Promise<Built> {
  const builder = new IndexBuilder()
  const results: FeedLoadResult[] = []
  for (const f of feeds) results.push(await loadFeed(builder, f, NOW, opts))
  return { results, handle: builder.build(1) }
}

/** The two generations hold the same bytes in every table, and the same feed meta. */
function assertSameGeneration (a: Built, b: Built): void {
  assert.deepEqual(b.results, a.results)
  assert.deepEqual(b.handle.feeds, a.handle.feeds)
  assert.deepEqual(b.handle.geometry, a.handle.geometry)
  assert.deepEqual(Object.keys(b.handle.buffers).sort(), Object.keys(a.handle.buffers).sort())
  for (const [name, buf] of Object.entries(a.handle.buffers)) {
    assert.ok(Buffer.from(buf).equals(Buffer.from(b.handle.buffers[name])), `table ${name} differs`)
  }
}

/** What a value matches, with each record's whole context, sorted. */
function look (index: FeedIndex, type: ValueType, raw: string): string[] {
  const hits = new Hits()
  lookupValue(index, type, raw, hits)
  const out: string[] = []
  for (let i = 0; i < hits.length; i++) {
    const rec = hits.recs[i]
    out.push(`${index.feed(rec).name}|${JSON.stringify(index.context(rec))}|${hits.matched[i]}|${hits.types[i]}`)
  }
  return out.sort()
}

/** Every kind of key, duplicates, non-ASCII hosts, an oversized context, and every kind of skip. */
function mixedFeed (n: number, salt: number): { records: unknown[], probes: Array<[ValueType, string]> } {
  const records: unknown[] = []
  const probes: Array<[ValueType, string]> = []
  for (let i = 0; i < n; i++) {
    const tag = `${salt}-${i}`
    switch (i % 8) {
      case 0: {
        const [md5, sha1, sha256] = [hex(16, i), hex(20, i), hex(32, i)]
        records.push({ MD5: md5, SHA1: sha1, SHA256: sha256, threat: `T${i}`, tag })
        probes.push(['hash', md5], ['hash', sha1], ['hash', sha256])
        break
      }
      case 1: records.push({ ip: `10.${salt}.${i & 0xff}.${i >> 8}`, tag }); probes.push(['ip', `10.${salt}.${i & 0xff}.${i >> 8}`]); break
      case 2: records.push({ ip: `2001:db8:${salt}::${i.toString(16)}`, tag }); probes.push(['ip', `2001:db8:${salt}::${i.toString(16)}`]); break
      // Few distinct networks, each the same line again and again: duplicates within the feed.
      case 3: records.push({ ip: `198.51.${i % 5}.0/24`, tag: `net-${i % 5}` }); probes.push(['ip', `198.51.${i % 5}.77`]); break
      case 4: records.push({ mask: `d${i}.bücher.example`, type: 1, tag }); probes.push(['domain', `sub.d${i}.bücher.example`]); break
      case 5: records.push({ mask: `h${i}.example`, type: 2, tag, note: 'ünïcode ✓' }); probes.push(['domain', `h${i}.example`], ['domain', `x.h${i}.example`]); break
      case 6: records.push({ mask: `*.m${i % 11}.example/dl/*`, tag }); probes.push(['url', `http://a.m${i % 11}.example/dl/x.zip`]); break
      case 7: records.push({ MD5: hex(16, 0), ip: '192.0.2.1-192.0.2.9', tag, seen: [i, { deep: [null, true] }] }); probes.push(['ip', '192.0.2.8']); break
    }
  }
  // Skips of every kind, and what the policy drops, in the middle of the feed.
  records.splice(n >> 1, 0,
    { MD5: 'xyz', tag: 'bad-hash' },
    { threat: 'no indicator', tag: 'none' },
    42,
    '{"MD5": "not closed properly", }',
    { ip: '203.0.113.5' },
    { ip: '203.0.113.6', tag: 'expired', valid_until: '2020-01-01T00:00:00Z' },
    // Bigger than a chunk's slack: the chunk grows.
    { ip: '203.0.113.7', tag: 'big', blob: 'x'.repeat(100_000) }
  )
  probes.push(['ip', '203.0.113.5'], ['ip', '203.0.113.6'], ['ip', '203.0.113.7'])
  return { records, probes }
}

const POLICY: Partial<ResolvedFeed> = { required: ['tag'], expiry: { field: 'valid_until' } }

test('one thread and a parse thread build the same generation from mixed feeds', async () => {
  const a = mixedFeed(3000, 1)
  const b = mixedFeed(500, 2)
  const feeds = [feed('A', await writeFeed(a.records), POLICY), feed('B', await writeFeed(b.records), POLICY), feed('A2', await writeFeed(a.records))]
  const one = await build(feeds, ONE_THREAD)
  // Small chunks: the feed crosses many chunks and the parse thread waits for acks.
  const two = await build(feeds, { ...THREADED, parseChunkBytes: 1024 })
  assertSameGeneration(one, two)
  const [meta] = two.results.map((r) => r.meta)
  assert.equal(meta.skipped, 4)
  assert.equal(meta.filtered, 2)
  assert.deepEqual(meta.skippedByReason, { 'md5 must be 32 hex characters': 1, 'no indicator field': 1, 'record is not a JSON object': 1, 'invalid JSON': 1 })
  assert.ok(two.results[0].duplicates > 0)
  const i1 = new FeedIndex(one.handle)
  const i2 = new FeedIndex(two.handle)
  let hits = 0
  for (const [type, raw] of [...a.probes, ...b.probes]) {
    const got = look(i2, type, raw)
    assert.deepEqual(got, look(i1, type, raw), `${type} ${raw}`)
    hits += got.length
  }
  assert.ok(hits > a.probes.length, 'the probes match')
  // A and B drop the expired record; A2, the same file without the policy, keeps it.
  assert.deepEqual(look(i2, 'ip', '203.0.113.6').map((h) => h.split('|')[0]), ['A2'])
})

test('a bad hash in the middle of a feed is skipped with its line on the threaded path', async () => {
  const good = (i: number): unknown => ({ MD5: hex(16, i + 1), tag: i })
  const path = await writeFeed([good(1), good(2), { MD5: 'abc', tag: 'bad' }, good(3), good(4)])
  const { results: [res] } = await build([feed('H', path)], THREADED)
  assert.equal(res.meta.records, 4)
  assert.equal(res.meta.skipped, 1)
  // Line 1 is the `[`, records start on line 2.
  assert.deepEqual(res.meta.skippedSamples, [{ line: 4, reason: 'md5 must be 32 hex characters (found 3)' }])
  assert.deepEqual(res.meta.keys, { md5: 4 })
})

test('a feed that is not JSON fails with FM_ERR_FEED_READ on the threaded path, as on one thread', async () => {
  const path = join(dir, 'not-json.json')
  await writeFile(path, 'this is not JSON at all\n')
  const errors: FeedmatchError[] = []
  for (const opts of [ONE_THREAD, THREADED]) {
    await assert.rejects(loadFeed(new IndexBuilder(), feed('N', path), NOW, opts), (err: unknown) => {
      assert.ok(err instanceof FeedmatchError)
      assert.equal(err.code, 'FM_ERR_FEED_READ')
      errors.push(err)
      return true
    })
  }
  assert.equal(errors[1].message, errors[0].message)
})

test('a feed cut short fails after its first chunks were indexed; rollback leaves nothing of it', async () => {
  const { records } = mixedFeed(400, 3)
  const text = '[\n' + records.map((r) => typeof r === 'string' ? r : JSON.stringify(r)).join(',\n')
  const path = join(dir, 'cut.json')
  await writeFile(path, text.slice(0, Math.floor(text.length * 0.9)))
  const builder = new IndexBuilder()
  const mark = builder.mark()
  await assert.rejects(loadFeed(builder, feed('C', path), NOW, { ...THREADED, parseChunkBytes: 1024 }), (err: unknown) => {
    assert.ok(err instanceof FeedmatchError)
    assert.equal(err.code, 'FM_ERR_FEED_READ')
    assert.match(err.message, /not closed/)
    return true
  })
  builder.rollback(mark)
  const handle = builder.build(1)
  assert.equal(handle.geometry['records.n'], 0)
  assert.deepEqual(handle.feeds, [])
})

test('property: random feeds give the same generation through both paths', async () => {
  const value = fc.oneof(
    fc.constantFrom('10.0.0.1', '10.0.0.0/8', '2001:db8::1', '::ffff:10.0.0.1', '10.0.0.256', '1.2.3.4-1.2.3.7'),
    fc.nat(5).map((i) => hex(16, i)),
    fc.nat(5).map((i) => hex(20, i).slice(0, 39 + (i & 1))),
    fc.constantFrom('evil.example', 'Évil.example', '*.evil.example/x/*', 'a.evil.example/p?q=1', '', 'bad host!', '*')
  )
  const record = fc.record({
    ip: fc.option(value, { nil: undefined }),
    MD5: fc.option(value, { nil: undefined }),
    SHA1: fc.option(value, { nil: undefined }),
    mask: fc.option(value, { nil: undefined }),
    type: fc.constantFrom(undefined, 1, 2, 3),
    tag: fc.option(fc.string(), { nil: undefined })
  }, { requiredKeys: [] })
  await fc.assert(fc.asyncProperty(
    fc.array(fc.oneof(record, fc.constant('{"broken": }')), { maxLength: 80 }),
    fc.integer({ min: 1, max: 2048 }),
    async (records, chunkBytes) => {
      const path = await writeFeed(records)
      const feeds = [feed('P', path, { required: ['tag'] }), feed('Q', path)]
      assertSameGeneration(await build(feeds, ONE_THREAD), await build(feeds, { ...THREADED, parseChunkBytes: chunkBytes }))
    }
  ), { numRuns: 12 })
})

test('a bad filter fails the feed with FM_ERR_CONFIG on both paths', async () => {
  const path = await writeFeed([{ MD5: hex(16, 1), tag: 1 }])
  for (const opts of [ONE_THREAD, THREADED]) {
    await assert.rejects(loadFeed(new IndexBuilder(), feed('F', path, { filter: 'tag = = 1' }), NOW, opts), { code: 'FM_ERR_CONFIG' })
  }
})

test('a parse thread started ahead stops at its window of chunks until the builder takes them', async () => {
  const { records } = mixedFeed(2000, 8)
  const path = await writeFeed(records)
  const thread = new ParseThread(feed('W', path), 'kaspersky', NOW, 256)
  const pending = (thread as unknown as { pending: unknown[] }).pending
  // Wait until the thread has filled its window (it would have posted hundreds of chunks by now).
  for (let i = 0; i < 100 && pending.length < MAX_IN_FLIGHT; i++) await new Promise((resolve) => setTimeout(resolve, 20))
  await new Promise((resolve) => setTimeout(resolve, 100))
  assert.equal(pending.length, MAX_IN_FLIGHT)
  const builder = new IndexBuilder()
  const tally = await thread.load(builder, builder.addFeed(feedMeta('W')))
  const { results: [one] } = await build([feed('W', path)], ONE_THREAD)
  assert.equal(tally.records, one.meta.records)
  assert.deepEqual(tally.keys, one.meta.keys)
})

test('a parse thread that dies fails its feed with FM_ERR_WORKER instead of hanging', async () => {
  const path = await writeFeed(mixedFeed(100, 4).records)
  const thread = new ParseThread(feed('D', path), 'kaspersky', NOW)
  // Killed before it posts anything, as a crash would.
  await (thread as unknown as { worker: Worker }).worker.terminate()
  const builder = new IndexBuilder()
  await assert.rejects(thread.load(builder, builder.addFeed(feedMeta('D'))), (err: unknown) => {
    assert.ok(err instanceof FeedmatchError)
    assert.equal(err.code, 'FM_ERR_WORKER')
    assert.match(err.message, /feed "D" .*exited/)
    return true
  })
})

test('buildGeneration with parse threads: same generation, failures and carry-over as with one thread', async () => {
  const a = await writeFeed(mixedFeed(300, 5).records)
  const b = await writeFeed(mixedFeed(300, 6).records)
  const c = await writeFeed(mixedFeed(300, 7).records)
  const feeds = [feed('A', a), feed('B', b), feed('C', c), feed('Missing', join(dir, 'missing.json'))]
  const previous = (await buildGeneration(feeds, { now: NOW })).handle
  // B is cut short in this rebuild: both ways keep its previous version.
  await writeFile(b, '[\n' + JSON.stringify({ MD5: hex(16, 9), tag: 'lost' }) + ',\n{"ip": "192.0.2.1"')
  const one = await buildGeneration(feeds, { now: NOW, previous, parseThreadMinBytes: Infinity })
  const two = await buildGeneration(feeds, { now: NOW, previous, parseThreadMinBytes: 0 })
  assert.deepEqual(two.failed, one.failed)
  assert.deepEqual(two.failed.map((f) => [f.name, f.code, f.kept]), [['B', 'FM_ERR_FEED_READ', 'previous'], ['Missing', 'FM_ERR_FEED_NOT_FOUND', 'none']])
  assert.deepEqual(two.loaded, one.loaded)
  assertSameGeneration({ results: [], handle: one.handle }, { results: [], handle: two.handle })
})
