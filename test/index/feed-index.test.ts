import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { IndexBuilder } from '../../src/index/builder.js'
import { FeedIndex } from '../../src/index/feed-index.js'
import { Hits, type MatchType } from '../../src/index/types.js'
import { feedMeta, hitList } from './helpers.js'

const MD5 = '44d88612fea8a8f36de82e1278abb02f'
const SHA1 = '3395856ce81f2b7382dee72602f798b642f14140'
const SHA256 = '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))
const v4 = (s: string): Uint8Array => Uint8Array.from(s.split('.').map(Number))
const u32 = (s: string): number => Buffer.from(v4(s)).readUInt32BE(0)

/** A small index: feeds `a` and `b`; every key's context is `{ tag }`. */
function build (add: (b: IndexBuilder, a: number, bFeed: number, ctx: (tag: string) => number) => void): { index: FeedIndex, builder: IndexBuilder } {
  const builder = new IndexBuilder()
  const a = builder.addFeed(feedMeta('a'))
  const bFeed = builder.addFeed(feedMeta('b'))
  add(builder, a, bFeed, (tag) => builder.addContext({ tag }))
  return { index: new FeedIndex(builder.build(1)), builder }
}

function url (index: FeedIndex, host: string, rest = '', type: MatchType = rest === '' ? 'domain' : 'url'): string[] {
  const hits = new Hits()
  index.lookupUrl(host, rest, hits, type)
  return hitList(index, hits)
}

function ip (index: FeedIndex, addr: string): string[] {
  const hits = new Hits()
  if (addr.includes(':')) {
    const bytes = new Uint8Array(16)
    const [head, tail = ''] = addr.split('::')
    const h = head === '' ? [] : head.split(':')
    const t = tail === '' ? [] : tail.split(':')
    const groups = addr.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h
    groups.forEach((g, i) => { bytes[2 * i] = parseInt(g, 16) >> 8; bytes[2 * i + 1] = parseInt(g, 16) & 255 })
    index.lookupIp(bytes, hits)
  } else {
    index.lookupIpv4(u32(addr), hits)
  }
  return hitList(index, hits)
}

function hashHex (index: FeedIndex, text: string, pad = ''): string[] {
  const hits = new Hits()
  const src = Buffer.from(pad + text + pad, 'latin1')
  index.lookupHashHex(src, pad.length, pad.length + text.length, hits)
  return hitList(index, hits)
}

test('hashes: hex of either case inside a larger buffer, raw bytes, and near misses', () => {
  const { index } = build((b, a, _f, ctx) => {
    b.addHash(hex(MD5), a, ctx('m'))
    b.addHash(hex(SHA1), a, ctx('s1'))
    b.addHash(hex(SHA256), a, ctx('s256'))
  })
  assert.deepEqual(hashHex(index, MD5.toUpperCase(), 'xx '), [`a|m|${MD5}|md5`])
  assert.deepEqual(hashHex(index, SHA1), [`a|s1|${SHA1}|sha1`])
  assert.deepEqual(hashHex(index, SHA256), [`a|s256|${SHA256}|sha256`])
  const hits = new Hits()
  index.lookupHash(hex(SHA256), hits)
  assert.deepEqual(hitList(index, hits), [`a|s256|${SHA256}|sha256`])
  assert.deepEqual(hashHex(index, MD5.slice(0, 31) + '0'), [], 'one nibble off')
  assert.deepEqual(hashHex(index, MD5.slice(0, 31) + 'g'), [], 'a non-hex char')
  assert.deepEqual(hashHex(index, MD5.slice(0, 30)), [], 'a wrong length')
  assert.deepEqual(hashHex(index, SHA256.slice(0, 32)), [], 'a prefix of a longer hash is not an md5')
})

test('the same key in several feeds gives every record, each with its own context', () => {
  const { index } = build((b, a, f, ctx) => {
    b.addHash(hex(MD5), a, ctx('from-a'))
    b.addHash(hex(MD5), f, ctx('from-b'))
    b.addDomain('evil.com', 'domain', a, ctx('da'))
    b.addDomain('evil.com', 'domain', f, ctx('db'))
  })
  assert.deepEqual(hashHex(index, MD5), [`a|from-a|${MD5}|md5`, `b|from-b|${MD5}|md5`])
  assert.deepEqual(url(index, 'evil.com'), ['a|da|evil.com|domain', 'b|db|evil.com|domain'])
})

test('a key given twice for one feed keeps both records; the same record given twice is kept once and counted', () => {
  const { index, builder } = build((b, a, f, ctx) => {
    b.addHash(hex(MD5), a, ctx('first'))
    b.addHash(hex(MD5), a, ctx('second'))
    b.addHash(hex(MD5), a, ctx('first'))
    b.addIp(v4('1.2.3.4'), 32, a, ctx('ip1'))
    b.addIp(v4('1.2.3.4'), 32, a, ctx('ip1'))
    b.addUrlMask('x.com/a*', f, ctx('m1'))
    b.addUrlMask('x.com/a*', f, ctx('m2'))
    b.addDomain('d.com', 'domain', f, ctx('XtremeRAT'))
    b.addDomain('d.com', 'domain', f, ctx('DarkComet'))
  })
  assert.equal(builder.duplicates, 2)
  assert.deepEqual(index.handle.feeds.map((f) => f.duplicates), [2, 0])
  assert.deepEqual(index.handle.feeds.map((f) => f.keys), [{ md5: 2, ipv4: 1 }, { url: 2, domain: 2 }])
  assert.equal(index.handle.geometry['records.n'], 7)
  assert.deepEqual(hashHex(index, MD5), [`a|first|${MD5}|md5`, `a|second|${MD5}|md5`])
  assert.deepEqual(url(index, 'x.com', '/ab'), ['b|m1|x.com/a*|url', 'b|m2|x.com/a*|url'])
  assert.deepEqual(url(index, 'd.com'), ['b|DarkComet|d.com|domain', 'b|XtremeRAT|d.com|domain'])
})

test('a key listed thousands of times in one feed keeps every record without a quadratic build', () => {
  const N = 20_000
  const { index } = build((b, a, _f, ctx) => {
    for (let i = 0; i < N; i++) b.addIp(v4('9.9.9.9'), 32, a, ctx(`r${i}`))
  })
  const hits = new Hits()
  index.lookupIpv4(u32('9.9.9.9'), hits)
  assert.equal(hits.matched.length, N)
})

test('IPv4: exact address, containing networks longest first, and the edges of a CIDR', () => {
  const { index } = build((b, a, f, ctx) => {
    b.addIp(v4('10.1.2.3'), 32, a, ctx('host'))
    b.addIp(v4('10.1.2.0'), 24, a, ctx('net24'))
    b.addIp(v4('10.0.0.0'), 8, f, ctx('net8'))
    b.addIp(v4('0.0.0.0'), 0, f, ctx('all'))
  })
  const hits = new Hits()
  index.lookupIpv4(u32('10.1.2.3'), hits)
  assert.deepEqual(hits.matched, ['10.1.2.3', '10.1.2.0/24', '10.0.0.0/8', '0.0.0.0/0'])
  assert.deepEqual(ip(index, '10.1.2.255'), ['a|net24|10.1.2.0/24|ip', 'b|all|0.0.0.0/0|ip', 'b|net8|10.0.0.0/8|ip'])
  assert.deepEqual(ip(index, '10.1.3.0'), ['b|all|0.0.0.0/0|ip', 'b|net8|10.0.0.0/8|ip'], 'just past the /24')
  assert.deepEqual(ip(index, '9.255.255.255'), ['b|all|0.0.0.0/0|ip'], 'just before the /8')
  hits.clear()
  index.lookupIp(hex('00000000000000000000ffff0a010203'), hits)
  assert.equal(hits.matched[0], '10.1.2.3', '::ffff:a.b.c.d is a.b.c.d')
})

test('IPv6: exact address in RFC 5952 text, CIDR hit and near miss', () => {
  const { index } = build((b, a, f, ctx) => {
    b.addIp(hex('20010db8000000000000000000000001'), 128, a, ctx('h'))
    b.addIp(hex('20010db8000100000000000000000000'), 48, f, ctx('n'))
    b.addIp(v4('1.2.3.4'), 32, a, ctx('v4'))
  })
  assert.deepEqual(ip(index, '2001:db8::1'), ['a|h|2001:db8::1|ip'])
  assert.deepEqual(ip(index, '2001:db8::2'), [])
  assert.deepEqual(ip(index, '2001:db8:1:ffff::9'), ['b|n|2001:db8:1::/48|ip'])
  assert.deepEqual(ip(index, '2001:db8:2::'), [], 'just past the /48')
  assert.deepEqual(ip(index, '::102:304'), [], 'an IPv4-compatible address is not the IPv4 one')
})

test('domains: a domain record covers subdomains, a host record only the exact host', () => {
  const { index } = build((b, a, f, ctx) => {
    b.addDomain('example.com', 'domain', a, ctx('d'))
    b.addDomain('host.org', 'host', f, ctx('h'))
  })
  assert.deepEqual(url(index, 'example.com'), ['a|d|example.com|domain'])
  assert.deepEqual(url(index, 'a.b.example.com', '/x?y'), ['a|d|example.com|url'])
  assert.deepEqual(url(index, 'myexample.com'), [], 'a label suffix is not a subdomain')
  assert.deepEqual(url(index, 'example.com.evil.net'), [])
  assert.deepEqual(url(index, 'com'), [])
  assert.deepEqual(url(index, 'host.org', '/p'), ['b|h|host.org|url'])
  assert.deepEqual(url(index, 'sub.host.org'), [], 'a subdomain of a host record')
})

test('URL masks: paths, queries, wildcard hosts and their anchors', () => {
  const { index } = build((b, a, f, ctx) => {
    b.addUrlMask('evil.com/path', a, ctx('exact'))
    b.addUrlMask('evil.com/dl/*.exe', a, ctx('exe'))
    b.addUrlMask('*.example.com/login*', f, ctx('sub'))
    b.addUrlMask('ex*ample.com', f, ctx('mid'))
    b.addUrlMask('bad.net*', f, ctx('tail'))
  })
  assert.deepEqual(url(index, 'evil.com', '/path'), ['a|exact|evil.com/path|url'])
  assert.deepEqual(url(index, 'evil.com', '/path?x=1'), [], 'a query on an exact mask')
  assert.deepEqual(url(index, 'evil.com', '/path/more'), [])
  assert.deepEqual(url(index, 'evil.com', '/dl/a/b.exe'), ['a|exe|evil.com/dl/*.exe|url'], '* spans /')
  assert.deepEqual(url(index, 'evil.com', '/dl/a.exe.txt'), [], 'a path outside the mask')
  assert.deepEqual(url(index, 'www2.evil.com', '/path'), [], 'a literal mask host is that host only')
  assert.deepEqual(url(index, 'a.example.com', '/login'), ['b|sub|*.example.com/login*|url'])
  assert.deepEqual(url(index, 'a.b.example.com', '/login/x?y=1'), ['b|sub|*.example.com/login*|url'])
  assert.deepEqual(url(index, 'example.com', '/login'), [], '*.example.com is not example.com')
  assert.deepEqual(url(index, 'exxample.com'), ['b|mid|ex*ample.com|domain'])
  assert.deepEqual(url(index, 'exxample.org'), [])
  assert.deepEqual(url(index, 'bad.net.evil.org', '/x'), ['b|tail|bad.net*|url'], 'a trailing * in the host is anchored at the root')
  assert.deepEqual(url(index, 'bad.ne'), [])
})

test('non-ASCII hosts and masks compare as UTF-8 and report the original text', () => {
  const { index } = build((b, a, _f, ctx) => {
    b.addDomain('bücher.de', 'domain', a, ctx('d'))
    b.addUrlMask('shop.de/ä*', a, ctx('m'))
  })
  assert.deepEqual(url(index, 'x.bücher.de'), ['a|d|bücher.de|domain'])
  assert.deepEqual(url(index, 'shop.de', '/äpfel'), ['a|m|shop.de/ä*|url'])
  assert.deepEqual(url(index, 'shop.de', '/apfel'), [])
})

test('contexts, feeds, and memory stats', () => {
  const { index } = build((b, a, f, ctx) => {
    const c = b.addContext({ tag: 'shared', nested: { n: 1, list: ['x'] } })
    b.addHash(hex(MD5), a, c)
    b.addDomain('evil.com', 'host', f, c)
    ctx('unused')
  })
  const hits = new Hits()
  index.lookupHash(hex(MD5), hits)
  const rec = hits.recs[0]
  assert.deepEqual(index.context(rec), { tag: 'shared', nested: { n: 1, list: ['x'] } })
  assert.equal(index.contextBytes(rec).buffer, index.handle.buffers.arena, 'a view, not a copy')
  assert.equal(index.feed(rec).name, 'a')
  assert.equal(index.feedId(rec), 0)
  const stats = index.stats()
  const sum = Object.values(index.handle.buffers).reduce((n, b) => n + b.byteLength, 0)
  assert.equal(stats.bytes, sum - index.handle.buffers.arena.byteLength)
  assert.equal(stats.byTable.arena, index.handle.buffers.arena.byteLength)
})

test('bad keys are refused with FM_ERR_INDICATOR', () => {
  const b = new IndexBuilder()
  const f = b.addFeed(feedMeta('a'))
  const c = b.addContext({})
  const code = { code: 'FM_ERR_INDICATOR' }
  assert.throws(() => b.addHash(new Uint8Array(15), f, c), code)
  assert.throws(() => b.addIp(new Uint8Array(4), 33, f, c), code)
  assert.throws(() => b.addIp(new Uint8Array(5), 8, f, c), code)
  assert.throws(() => b.addDomain('', 'domain', f, c), code)
  assert.throws(() => b.addHash(new Uint8Array(16), 7, c), code)
  assert.throws(() => b.addHash(new Uint8Array(16), f, 999), code)
})

test('an empty index answers every lookup with nothing', () => {
  const { index } = build(() => {})
  const hits = new Hits()
  index.lookupHashHex(Buffer.from(MD5), 0, 32, hits)
  index.lookupIpv4(0, hits)
  index.lookupIp(new Uint8Array(16), hits)
  index.lookupUrl('a.com', '/x', hits, 'url')
  index.lookupUrl('', '', hits, 'domain')
  assert.equal(hits.length, 0)
})

test('large tables: every key found after growth and final layout, near misses not', () => {
  const n = 30_000
  // Random digests, and made-up ones as test feeds have them: a counter at the end, or a shared prefix.
  const digests = Array.from({ length: n }, (_, i) => {
    const d = Uint8Array.from(randomBytes(16))
    if (i % 3 === 1) { d.fill(0); new DataView(d.buffer).setUint32(12, i) }
    if (i % 3 === 2) d.fill(0xab, 0, 8)
    return d
  })
  const { index } = build((b, a, _f, ctx) => {
    const c = ctx('x')
    for (let i = 0; i < n; i++) {
      b.addHash(digests[i], a, c)
      b.addIp(Uint8Array.of(10, i >> 16, (i >> 8) & 255, i & 255), 32, a, c)
      b.addDomain(`h${i}.example.com`, 'host', a, c)
    }
  })
  const hits = new Hits()
  let found = 0
  for (let i = 0; i < n; i++) {
    index.lookupHash(digests[i], hits)
    index.lookupHashHex(Buffer.from(Buffer.from(digests[i]).toString('hex')), 0, 32, hits)
    index.lookupIpv4(((10 << 24) | i) >>> 0, hits)
    index.lookupUrl(`h${i}.example.com`, '', hits, 'domain')
    found += hits.length
    hits.clear()
    const near = Uint8Array.from(digests[i])
    near[7] ^= 0x10
    index.lookupHash(near, hits)
    index.lookupIpv4(((11 << 24) | i) >>> 0, hits)
    index.lookupUrl(`h${i}.example.org`, '', hits, 'domain')
    assert.equal(hits.length, 0)
  }
  assert.equal(found, 4 * n)
})
