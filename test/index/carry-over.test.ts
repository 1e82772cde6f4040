/**
 * Per-feed carry-over (DESIGN.md section 8): a rebuild in which one feed fails keeps that feed's
 * previous records, contexts and meta, while the other feeds go in with their new content. The
 * build runs in the compiled worker (dist/), so `npx tsc -p tsconfig.json` first.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildGeneration } from '../../src/feeds/build.js'
import { IndexBuilder } from '../../src/index/builder.js'
import { FeedIndex } from '../../src/index/feed-index.js'
import { forEachFeedKey } from '../../src/index/walk.js'
import { Hits, type GenerationHandle } from '../../src/index/types.js'
import { feedMeta, hitList } from './helpers.js'
import { lookupValue, type ValueType } from '../../src/match/query.js'
import type { ResolvedFeed } from '../../src/config/feed-sources.js'

const dir = await mkdtemp(join(tmpdir(), 'fm-carry-'))
test.after(async () => rm(dir, { recursive: true, force: true }))

const MD5 = '0123456789abcdef0123456789abcdef'
const SHA1 = '0123456789abcdef0123456789abcdef01234567'
const SHA256 = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'

/** Feed B: every kind of key the index holds, and one record with three hashes (one context). */
const B_RECORDS = [
  { MD5, SHA1, SHA256, tag: 'b-hashes' },
  { ip: '192.0.2.7', tag: 'b-ipv4' },
  { ip: '2001:db8::7', tag: 'b-ipv6' },
  { ip: '198.51.100.0/24', tag: 'b-cidr4' },
  { ip: '2001:db8:1::/48', tag: 'b-cidr6' },
  { mask: 'b-domain.example', type: 1, tag: 'b-domain' },
  { mask: 'only.b-host.example', type: 2, tag: 'b-host' },
  { mask: '*.b-mask.example/dl/*', tag: 'b-star-mask' },
  { mask: '*/b-root/*.exe', tag: 'b-root-mask' },
  { mask: 'exact.b-url.example/file.bin', tag: 'b-exact-mask', note: 'ünïcode survives' }
]

/** Each probe of B: [value type, raw value, what it must match]. */
const B_PROBES: Array<[ValueType, string, string[]]> = [
  ['md5', MD5, [`B|b-hashes|${MD5}|md5`]],
  ['sha1', SHA1, [`B|b-hashes|${SHA1}|sha1`]],
  ['sha256', SHA256, [`B|b-hashes|${SHA256}|sha256`]],
  ['ip', '192.0.2.7', ['B|b-ipv4|192.0.2.7|ip']],
  ['ip', '2001:db8::7', ['B|b-ipv6|2001:db8::7|ip']],
  ['ip', '198.51.100.200', ['B|b-cidr4|198.51.100.0/24|ip']],
  ['ip', '2001:db8:1:ffff::1', ['B|b-cidr6|2001:db8:1::/48|ip']],
  ['domain', 'deep.sub.b-domain.example', ['B|b-domain|b-domain.example|domain']],
  ['domain', 'only.b-host.example', ['B|b-host|only.b-host.example|domain']],
  ['domain', 'other.b-host.example', []],
  ['url', 'http://cdn.b-mask.example/dl/x.zip', ['B|b-star-mask|*.b-mask.example/dl/*|url']],
  ['url', 'http://b-mask.example/dl/x.zip', []],
  ['url', 'http://anywhere.test/b-root/tool.exe', ['B|b-root-mask|*/b-root/*.exe|url']],
  ['url', 'http://exact.b-url.example/file.bin', ['B|b-exact-mask|exact.b-url.example/file.bin|url']]
]

async function writeFeed (name: string, body: unknown): Promise<string> {
  const path = join(dir, `${name}.json`)
  await writeFile(path, typeof body === 'string' ? body : JSON.stringify(body))
  return path
}

function feed (name: string, path: string): ResolvedFeed {
  return { name, path, role: 'feed', category: `${name}-cat`, format: 'kaspersky' } as unknown as ResolvedFeed
}

/** What a value matches, as sorted `feed|tag|matched|type`. */
function look (index: FeedIndex, type: ValueType, raw: string): string[] {
  const hits = new Hits()
  assert.notEqual(lookupValue(index, type, raw, hits), null, raw)
  const out: string[] = []
  for (let i = 0; i < hits.length; i++) out.push(`${index.feed(hits.recs[i]).name}|${String(index.context(hits.recs[i]).tag)}|${hits.matched[i]}|${hits.types[i]}`)
  return out.sort()
}

test('a rebuild with feed B broken keeps B\'s previous version and takes A\'s new one', async () => {
  const aPath = await writeFeed('A', [{ MD5: 'a'.repeat(32), tag: 'a-old' }, { ip: '203.0.113.1', tag: 'a-kept' }])
  const bPath = await writeFeed('B', B_RECORDS)
  const feeds = [feed('A', aPath), feed('B', bPath)]
  const first = await buildGeneration(feeds)
  assert.deepEqual(first.failed, [])
  const before = new FeedIndex(first.handle)
  for (const [type, raw, want] of B_PROBES) assert.deepEqual(look(before, type, raw), want, `${raw} before`)

  await writeFeed('A', [{ MD5: 'b'.repeat(32), tag: 'a-new' }, { ip: '203.0.113.1', tag: 'a-kept' }])
  // Cut mid-record after a whole new record: the new record must not leak into the carried version.
  await writeFeed('B', JSON.stringify([{ MD5: 'c'.repeat(32), tag: 'b-partial' }, ...B_RECORDS]).slice(0, 90))
  const second = await buildGeneration(feeds, { previous: first.handle })
  assert.equal(second.failed.length, 1)
  assert.equal(second.failed[0].name, 'B')
  assert.equal(second.failed[0].kept, 'previous')
  const after = new FeedIndex(second.handle)

  assert.deepEqual(look(after, 'md5', 'b'.repeat(32)), [`A|a-new|${'b'.repeat(32)}|md5`])
  assert.deepEqual(look(after, 'md5', 'a'.repeat(32)), [], 'A\'s removed record is gone')
  assert.deepEqual(look(after, 'ip', '203.0.113.1'), ['A|a-kept|203.0.113.1|ip'])
  assert.deepEqual(look(after, 'md5', 'c'.repeat(32)), [], 'nothing of the broken file is in service')
  for (const [type, raw, want] of B_PROBES) assert.deepEqual(look(after, type, raw), want, `${raw} after`)

  // Contexts byte for byte, and the three hashes of one record still share one context.
  const recOf = (index: FeedIndex, type: ValueType, raw: string): number => {
    const hits = new Hits()
    lookupValue(index, type, raw, hits)
    return hits.recs[0]
  }
  for (const [type, raw] of B_PROBES.filter((p) => p[2].length > 0)) {
    assert.deepEqual(after.contextBytes(recOf(after, type, raw)), before.contextBytes(recOf(before, type, raw)), raw)
  }
  assert.equal(after.context(recOf(after, 'url', 'http://exact.b-url.example/file.bin')).note, 'ünïcode survives')
  const ctxStart = (index: FeedIndex, type: ValueType, raw: string): number => index.contextBytes(recOf(index, type, raw)).byteOffset
  assert.equal(ctxStart(after, 'md5', MD5), ctxStart(after, 'sha1', SHA1))
  assert.equal(ctxStart(after, 'md5', MD5), ctxStart(after, 'sha256', SHA256))

  const [metaA, metaB] = second.handle.feeds
  assert.equal(metaA.name, 'A')
  assert.equal(metaA.carriedOver, undefined)
  const { carriedOver, id, ...rest } = metaB
  const { id: oldId, ...old } = first.handle.feeds[1]
  assert.deepEqual([id, oldId], [1, 1])
  assert.deepEqual(rest, old, 'B\'s meta is its previous one, keys recounted alike')
  assert.equal(carriedOver?.generation, first.handle.id)
  assert.equal(carriedOver?.builtAt, first.handle.builtAt)
  assert.equal(carriedOver?.code, 'FM_ERR_FEED_READ')
  assert.match(carriedOver?.reason ?? '', /B\.json/)

  // Still broken at the next rebuild: the version kept names the generation that read it.
  const third = await buildGeneration(feeds, { previous: second.handle })
  assert.equal(third.failed[0].kept, 'previous')
  assert.equal(third.handle.feeds[1].carriedOver?.generation, first.handle.id)
  for (const [type, raw, want] of B_PROBES) assert.deepEqual(look(new FeedIndex(third.handle), type, raw), want, `${raw} third`)

  // A version with 1 record where 10 are in service is refused by the shrink guard (maxShrink,
  // default half), and the carried version stays.
  await writeFeed('B', [{ ip: '192.0.2.8', tag: 'b-fixed' }])
  const shrunk = await buildGeneration(feeds, { previous: third.handle })
  assert.deepEqual(shrunk.failed.map((f) => [f.name, f.code, f.kept]), [['B', 'FM_ERR_FEED_SHRUNK', 'previous']])
  for (const [type, raw, want] of B_PROBES) assert.deepEqual(look(new FeedIndex(shrunk.handle), type, raw), want, `${raw} shrunk`)

  // Fixed (the drop is real, as the config then says): B's new content replaces the carried one, and the note goes.
  const allowShrink = [feeds[0], { ...feeds[1], maxShrink: 1 } as ResolvedFeed]
  const fourth = await buildGeneration(allowShrink, { previous: shrunk.handle })
  assert.deepEqual(fourth.failed, [])
  assert.equal(fourth.handle.feeds[1].carriedOver, undefined)
  assert.deepEqual(look(new FeedIndex(fourth.handle), 'ip', '192.0.2.7'), [])
  assert.deepEqual(look(new FeedIndex(fourth.handle), 'ip', '192.0.2.8'), ['B|b-fixed|192.0.2.8|ip'])
})

test('without a previous generation a failed feed is absent, and so is what it read before failing', async () => {
  const aPath = await writeFeed('A2', [{ MD5: 'd'.repeat(32), tag: 'a' }])
  const bPath = await writeFeed('B2', JSON.stringify([{ MD5: 'e'.repeat(32), tag: 'b-partial' }, ...B_RECORDS]).slice(0, 90))
  const res = await buildGeneration([feed('B2', bPath), feed('A2', aPath)])
  assert.deepEqual(res.failed.map((f) => [f.name, f.kept]), [['B2', 'none']])
  assert.deepEqual(res.handle.feeds.map((f) => [f.id, f.name]), [[0, 'A2']])
  const index = new FeedIndex(res.handle)
  assert.deepEqual(look(index, 'md5', 'e'.repeat(32)), [])
  assert.deepEqual(look(index, 'md5', 'd'.repeat(32)), [`A2|a|${'d'.repeat(32)}|md5`])
})

test('a failed feed that the previous generation lacks is absent', async () => {
  const aPath = await writeFeed('A3', [{ MD5: 'f'.repeat(32), tag: 'a' }])
  const first = await buildGeneration([feed('A3', aPath)])
  const bPath = await writeFeed('B3', '[{"MD5": ')
  const second = await buildGeneration([feed('A3', aPath), feed('B3', bPath)], { previous: first.handle })
  assert.deepEqual(second.failed.map((f) => [f.name, f.kept]), [['B3', 'none']])
  assert.deepEqual(second.handle.feeds.map((f) => f.name), ['A3'])
})

// Random feeds for the properties below: small alphabets so that keys collide and nest, a
// non-ASCII label so that hosts and masks go through their byte spelling.
type Key =
  | { t: 'hash', bytes: number[] }
  | { t: 'ip', bytes: number[], prefix: number }
  | { t: 'domain' | 'host', host: string }
  | { t: 'url', mask: string }
interface Item { key: Key, feed: number }

const host = fc.array(fc.constantFrom('a', 'b', 'ex', 'com', 'x-y', 'ü'), { minLength: 1, maxLength: 3 }).map((l) => l.join('.'))
const maskHost = fc.oneof(host, host.map((h) => '*.' + h), host.map((h) => h + '*'), fc.constant('*'))
const mask = fc.tuple(maskHost, fc.constantFrom('', '/', '/p', '/p*', '?q=*', '/ü/x')).map(([h, r]) => h + r)
const ipv4 = fc.tuple(fc.array(fc.constantFrom(10, 0, 255, 7), { minLength: 4, maxLength: 4 }), fc.constantFrom(32, 32, 24, 16, 0))
const ipv6 = fc.tuple(fc.array(fc.constantFrom(0x20, 0x01, 0, 0xff), { minLength: 16, maxLength: 16 }), fc.constantFrom(128, 64, 48))
  .filter(([b]) => !(b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff))
const key: fc.Arbitrary<Key> = fc.oneof(
  fc.constantFrom(16, 20, 32).chain((n) => fc.array(fc.nat(3), { minLength: n, maxLength: n })).map((bytes) => ({ t: 'hash' as const, bytes })),
  fc.oneof(ipv4, ipv6).map(([bytes, prefix]) => ({ t: 'ip' as const, bytes: masked(bytes, prefix), prefix })),
  host.map((h) => ({ t: 'domain' as const, host: h })),
  host.map((h) => ({ t: 'host' as const, host: h })),
  mask.map((m) => ({ t: 'url' as const, mask: m }))
)
const items = fc.array(fc.record({ key, feed: fc.nat(2) }), { maxLength: 40 })

function masked (b: number[], prefix: number): number[] {
  return b.map((x, i) => x & (0xff00 >> Math.max(0, Math.min(8, prefix - 8 * i))) & 0xff)
}

/** Adds items to feeds by position (feed ids[it.feed]); pairs of items share one context. */
function addAll (b: IndexBuilder, list: Item[], ids: number[], tag0 = 0): void {
  let ctx = 0
  list.forEach((it, i) => {
    if (i % 2 === 0) ctx = b.addContext({ tag: tag0 + i })
    const k = it.key
    const feed = ids[it.feed % ids.length]
    if (k.t === 'hash') b.addHash(Uint8Array.from(k.bytes), feed, ctx)
    else if (k.t === 'ip') b.addIp(Uint8Array.from(k.bytes), k.prefix, feed, ctx)
    else if (k.t === 'url') b.addUrlMask(k.mask, feed, ctx)
    else b.addDomain(k.host, k.t, feed, ctx)
  })
}

/** Every hit of lookups made from the keys: the keys themselves and values beside them. */
function probe (index: FeedIndex, list: Item[]): string[] {
  const out: string[] = []
  const hits = new Hits()
  const run = (f: () => void): void => { hits.clear(); f(); out.push(hitList(index, hits).join(' ')) }
  for (const { key: k } of list) {
    if (k.t === 'hash') run(() => index.lookupHash(Uint8Array.from(k.bytes), hits))
    else if (k.t === 'ip') {
      run(() => index.lookupIp(Uint8Array.from(k.bytes), hits))
      run(() => index.lookupIp(Uint8Array.from(k.bytes.map((x, i) => i === k.bytes.length - 1 ? x ^ 1 : x)), hits))
    } else {
      const value = k.t === 'url' ? k.mask.replaceAll('*', 'a') : k.host
      const cut = value.search(/[/?]/)
      const [h, rest] = cut < 0 ? [value, ''] : [value.slice(0, cut), value.slice(cut)]
      for (const hh of [h, `a.${h}`, h.slice(h.indexOf('.') + 1)]) {
        run(() => index.lookupUrl(hh, rest, hits, 'url'))
        run(() => index.lookupUrl(hh, '', hits, 'domain'))
      }
    }
  }
  return out
}

/** A feed's keys and contexts as read back from the tables, and how many distinct contexts it has. */
function contents (index: FeedIndex, feedId: number): { keys: string[], contexts: number } {
  const keys: string[] = []
  const ctxs = new Set<number>()
  forEachFeedKey(index.handle, feedId, (k, rec, ctx) => {
    ctxs.add(ctx)
    keys.push(`${JSON.stringify(k, (_, v: unknown) => v instanceof Uint8Array ? [...v] : v)} ${Buffer.from(index.contextBytes(rec)).toString('hex')}`)
  })
  return { keys: keys.sort(), contexts: ctxs.size }
}

test('property: a copied feed answers every lookup as the original did, and disturbs no other feed', () => {
  fc.assert(fc.property(items, items, fc.nat(2), (list, others, target) => {
    const b1 = new IndexBuilder()
    const ids1 = [0, 1, 2].map((f) => b1.addFeed(feedMeta(`f${f}`)))
    addAll(b1, list, ids1)
    const gen1 = new FeedIndex(b1.build(1))

    const alone = new IndexBuilder()
    addAll(alone, others, [alone.addFeed(feedMeta('n'))], 1000)
    const b2 = new IndexBuilder()
    addAll(b2, others, [b2.addFeed(feedMeta('n'))], 1000)
    const { id, ...meta } = gen1.handle.feeds[target]
    const to = b2.addFeed(meta)
    b2.copyFeed(gen1, id, to)
    const gen2 = new FeedIndex(b2.build(2))
    const only = (lines: string[], feed: string): string[] => lines.map((l) => l.split(' ').filter((h) => h.startsWith(`${feed}|`)).join(' '))

    const probes = [...list, ...others]
    assert.deepEqual(only(probe(gen2, probes), `f${target}`), only(probe(gen1, probes), `f${target}`))
    assert.deepEqual(only(probe(gen2, probes), 'n'), probe(new FeedIndex(alone.build(3)), probes))
    assert.deepEqual(contents(gen2, to), contents(gen1, id))
    assert.deepEqual(gen2.handle.feeds[to].keys, gen1.handle.feeds[id].keys)
  }), { numRuns: 200 })
})

test('property: rollback leaves a builder as if nothing had been added after the mark', () => {
  const sameBuffers = (a: GenerationHandle, b: GenerationHandle): void => {
    assert.deepEqual(a.geometry, b.geometry)
    assert.deepEqual(a.feeds, b.feeds)
    assert.deepEqual(Object.keys(a.buffers).sort(), Object.keys(b.buffers).sort())
    for (const name of Object.keys(a.buffers)) assert.ok(Buffer.from(a.buffers[name]).equals(Buffer.from(b.buffers[name])), name)
  }
  fc.assert(fc.property(items, items, items, (list, dropped, tail) => {
    const build = (rollback: boolean): GenerationHandle => {
      const b = new IndexBuilder()
      const ids = [b.addFeed(feedMeta('f0')), b.addFeed(feedMeta('f1'))]
      addAll(b, list, ids)
      if (rollback) {
        const mark = b.mark()
        // The dropped items also go to the earlier feeds, as a copy into an existing feed would.
        addAll(b, dropped, [...ids, b.addFeed(feedMeta('gone'))], 500)
        b.rollback(mark)
      }
      addAll(b, tail, [...ids, b.addFeed(feedMeta('f2'))], 1000)
      return b.build(1)
    }
    sameBuffers(build(true), build(false))
  }), { numRuns: 300 })
})
