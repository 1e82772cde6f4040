import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { IndexBuilder } from '../../src/index/builder.js'
import { FeedIndex } from '../../src/index/feed-index.js'
import { Hits } from '../../src/index/types.js'
import { readSnapshot, writeSnapshot } from '../../src/index/snapshot.js'
import { feedMeta, hitList } from './helpers.js'

const dir = await mkdtemp(join(tmpdir(), 'fm-snapshot-'))
test.after(async () => rm(dir, { recursive: true, force: true }))

/** A generation with every kind of key, and lookups that exercise each. */
function sample (): FeedIndex {
  const b = new IndexBuilder()
  const a = b.addFeed(feedMeta('a'))
  const f = b.addFeed({ ...feedMeta('b'), role: 'allow', actionable: { 'x/y': 'XY' } })
  for (let i = 0; i < 500; i++) {
    const ctx = b.addContext({ tag: i, note: `récord ${i}` })
    const bytes = new Uint8Array(32).map((_, j) => (i * 31 + j * 7) & 255)
    b.addHash(bytes.subarray(0, 16), i % 2 === 0 ? a : f, ctx)
    b.addHash(bytes, a, ctx)
    b.addIp(Uint8Array.of(10, i >> 8, i & 255, 1), 32, a, ctx)
    b.addIp(Uint8Array.of(172, 16, i & 255, 0), 24, f, ctx)
    b.addIp(Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, i >> 8, i & 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 64, a, ctx)
    b.addDomain(`d${i}.example.com`, i % 3 === 0 ? 'host' : 'domain', a, ctx)
    b.addUrlMask(`*.m${i}.net/p*`, f, ctx)
  }
  return new FeedIndex(b.build(42))
}

function answers (index: FeedIndex): string[] {
  const out: string[] = []
  const hits = new Hits()
  for (let i = 0; i < 500; i += 7) {
    const bytes = new Uint8Array(32).map((_, j) => (i * 31 + j * 7) & 255)
    index.lookupHash(bytes.subarray(0, 16), hits)
    index.lookupHashHex(Buffer.from(Buffer.from(bytes).toString('hex')), 0, 64, hits)
    index.lookupIp(Uint8Array.of(10, i >> 8, i & 255, 1), hits)
    index.lookupIp(Uint8Array.of(172, 16, i & 255, 99), hits)
    index.lookupIp(Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, i >> 8, i & 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5), hits)
    index.lookupUrl(`x.d${i}.example.com`, '', hits, 'domain')
    index.lookupUrl(`d${i}.example.com`, '', hits, 'domain')
    index.lookupUrl(`a.m${i}.net`, '/p/q', hits, 'url')
    out.push(...hitList(index, hits).map((h) => `${i}:${h}:${JSON.stringify(index.context(hits.recs[0]))}`))
    hits.clear()
  }
  return out
}

test('a snapshot reads back into an index that answers the same', async () => {
  const before = sample()
  const file = join(dir, 'round.fmidx')
  await writeSnapshot(before.handle, file)
  const handle = await readSnapshot(file)
  const after = new FeedIndex(handle)
  assert.ok(answers(before).length > 300)
  assert.deepEqual(answers(after), answers(before))
  assert.deepEqual(handle.feeds, before.handle.feeds)
  assert.deepEqual(handle.geometry, before.handle.geometry)
  assert.equal(handle.id, 42)
  for (const [name, buf] of Object.entries(handle.buffers)) {
    assert.ok(buf instanceof SharedArrayBuffer, name)
    assert.deepEqual(new Uint8Array(buf), new Uint8Array(before.handle.buffers[name]), name)
  }
  assert.deepEqual((await readdir(dir)).filter((n) => n.endsWith('.tmp')), [], 'no temporary file left')
})

test('a damaged snapshot is refused with FM_ERR_SNAPSHOT naming what is wrong', async () => {
  const file = join(dir, 'good.fmidx')
  await writeSnapshot(sample().handle, file)
  const good = await readFile(file)
  const headerEnd = 16 + good.readUInt32LE(8)
  const cases: Array<[string, (b: Buffer) => Buffer, RegExp]> = [
    ['wrong magic', (b) => { b.write('NOPE!', 0, 'latin1'); return b }, /wrong magic/],
    ['other version', (b) => { b[5] = 99; return b }, /format version 99/],
    ['truncated data', (b) => b.subarray(0, b.length - 100), /truncated/],
    ['truncated header', (b) => b.subarray(0, 40), /truncated/],
    ['shorter than the preamble', (b) => b.subarray(0, 10), /truncated/],
    ['trailing bytes', (b) => Buffer.concat([b, Buffer.alloc(8)]), /too long/],
    ['a flipped header byte', (b) => { b[20] ^= 1; return b }, /corrupt header/],
    ['a flipped data byte', (b) => { b[headerEnd + 200] ^= 0x40; return b }, /corrupt data in buffer/],
    ['a huge header length', (b) => { b.writeUInt32LE(0xfffffff0, 8); return b }, /truncated or corrupt/],
    ['an empty file', () => Buffer.alloc(0), /truncated/]
  ]
  for (const [name, damage, message] of cases) {
    const bad = join(dir, 'bad.fmidx')
    await writeFile(bad, damage(Buffer.from(good)))
    await assert.rejects(readSnapshot(bad), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'FM_ERR_SNAPSHOT', name)
      assert.match(err.message, message, name)
      return true
    }, name)
  }
  await assert.rejects(readSnapshot(join(dir, 'missing.fmidx')), { code: 'FM_ERR_SNAPSHOT', message: /cannot be opened \(ENOENT\)/ })
})

test('a snapshot cannot be written where no file can go', async () => {
  await assert.rejects(writeSnapshot(sample().handle, join(dir, 'no', 'such', 'dir', 'x.fmidx')), { code: 'FM_ERR_SNAPSHOT' })
})
