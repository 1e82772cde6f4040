/**
 * The IPv4 filter in front of every IPv4 lookup (layout.ts `ipv4filter`): it may only let through
 * more than the tables hold, never less. Checked at its largest size (one bit per /24, where wide
 * networks are set whole words at a time), at the edges of networks, and with no IPv4 key at all.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { IndexBuilder } from '../../src/index/builder.js'
import { FeedIndex } from '../../src/index/feed-index.js'
import { Hits } from '../../src/index/types.js'
import { IPV4_FILTER_MAX_BITS, IPV4_FILTER_MIN_BITS } from '../../src/index/layout.js'
import { feedMeta } from './helpers.js'

const bytes = (a: number): Uint8Array => Uint8Array.of(a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255)
const u32 = (s: string): number => s.split('.').reduce((a, x) => a * 256 + Number(x), 0)

function build (add: (b: IndexBuilder, feed: number, ctx: number) => void): FeedIndex {
  const b = new IndexBuilder()
  const feed = b.addFeed(feedMeta('f'))
  add(b, feed, b.addContext({ tag: 1 }))
  return new FeedIndex(b.build(1))
}

function matched (index: FeedIndex, addr: number): string[] {
  const hits = new Hits()
  index.lookupIpv4(addr, hits)
  return hits.matched.slice(0, hits.length)
}

test('the largest filter: every exact address and every block of wide networks, edges included', () => {
  // Spread over 64.0.0.0/3 with an odd stride, so no two share a /24 and the filter is full size.
  const stride = 0x101
  const count = 1 << 19
  const index = build((b, feed, ctx) => {
    for (let i = 0; i < count; i++) b.addIp(bytes(0x40000000 + i * stride), 32, feed, ctx)
    for (const [net, prefix] of [['10.0.0.0', 8], ['172.16.0.0', 12], ['192.0.2.0', 25], ['198.51.100.7', 32]] as const) {
      b.addIp(bytes(u32(net)), prefix, feed, ctx)
    }
  })
  assert.equal(index.handle.geometry['ipv4filter.bits'], IPV4_FILTER_MAX_BITS)
  for (let i = 0; i < count; i += 997) assert.equal(matched(index, 0x40000000 + i * stride).length, 1, `address ${i}`)
  const cases: Array<[string, string[]]> = [
    ['10.0.0.0', ['10.0.0.0/8']], ['10.128.7.9', ['10.0.0.0/8']], ['10.255.255.255', ['10.0.0.0/8']],
    ['9.255.255.255', []], ['11.0.0.0', []],
    ['172.16.0.0', ['172.16.0.0/12']], ['172.31.255.255', ['172.16.0.0/12']], ['172.15.255.255', []], ['172.32.0.0', []],
    ['192.0.2.0', ['192.0.2.0/25']], ['192.0.2.127', ['192.0.2.0/25']], ['192.0.2.128', []],
    ['198.51.100.7', ['198.51.100.7']], ['198.51.100.8', []]
  ]
  for (const [addr, want] of cases) assert.deepEqual(matched(index, u32(addr)), want, addr)
})

test('a network of all addresses passes the filter everywhere; no IPv4 key passes nothing', () => {
  const all = build((b, feed, ctx) => b.addIp(new Uint8Array(4), 0, feed, ctx))
  for (const addr of ['0.0.0.0', '1.2.3.4', '127.255.255.255', '128.0.0.0', '255.255.255.255']) {
    assert.deepEqual(matched(all, u32(addr)), ['0.0.0.0/0'], addr)
  }
  const none = build((b, feed, ctx) => b.addHash(new Uint8Array(16), feed, ctx))
  assert.equal(none.handle.geometry['ipv4filter.bits'], IPV4_FILTER_MIN_BITS)
  assert.ok(new Uint8Array(none.handle.buffers.ipv4filter).every((x) => x === 0))
  assert.deepEqual(matched(none, u32('10.0.0.1')), [])
})
