/**
 * The index against a plain reference (arrays, Maps and regexes) on random feeds: every lookup,
 * including near misses made by mutating inserted values, must give the same records.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { IndexBuilder } from '../../src/index/builder.js'
import { FeedIndex } from '../../src/index/feed-index.js'
import { Hits } from '../../src/index/types.js'
import { feedMeta, hitList } from './helpers.js'

type Key =
  | { t: 'hash', hex: string }
  | { t: 'ip', bytes: number[], prefix: number }
  | { t: 'domain' | 'host', host: string }
  | { t: 'url', mask: string }

interface Item { key: Key, feed: number }

// Small alphabets so that keys collide, nest and nearly match each other.
const LABELS = ['a', 'b', 'ex', 'com', 'x-y', '0']
const label = fc.constantFrom(...LABELS)
const host = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join('.'))
const restPart = fc.constantFrom('', '/', '/a', '/a/b', '?q=1', '/a?x', '.', 'com', '/x.exe')
const rest = fc.array(restPart, { maxLength: 3 }).map((p) => p.join('')).map((r) => r === '' || r[0] === '/' || r[0] === '?' ? r : '/' + r)
const maskHost = fc.oneof(
  host,
  host.map((h) => '*.' + h),
  fc.tuple(host, fc.nat()).map(([h, n]) => { const i = n % (h.length + 1); return h.slice(0, i) + '*' + h.slice(i) }),
  fc.constant('*')
)
const mask = fc.tuple(maskHost, rest, fc.boolean()).map(([h, r, star]) => h + r + (star ? '*' : ''))
const hexOf = (n: number): fc.Arbitrary<string> => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b).toString('hex'))
const hash = fc.oneof(hexOf(16), hexOf(20), hexOf(32))
// IPv4 in a few /16s, IPv6 from a few words, so networks contain addresses often.
const ipv4 = fc.tuple(fc.constantFrom(10, 192), fc.constantFrom(0, 168), fc.nat(3), fc.nat(255)).map((b) => b)
const ipv6 = fc.array(fc.constantFrom(0, 0, 0x20, 0x01, 0xff), { minLength: 16, maxLength: 16 })
  .filter((b) => !(b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff))
const key: fc.Arbitrary<Key> = fc.oneof(
  hash.map((hex) => ({ t: 'hash' as const, hex })),
  fc.tuple(ipv4, fc.constantFrom(32, 32, 24, 20, 16, 8, 0)).map(([b, p]) => ({ t: 'ip' as const, bytes: maskBytes(b, p), prefix: p })),
  fc.tuple(ipv6, fc.constantFrom(128, 128, 64, 48, 17)).map(([b, p]) => ({ t: 'ip' as const, bytes: maskBytes(b, p), prefix: p })),
  host.map((h) => ({ t: 'domain' as const, host: h })),
  host.map((h) => ({ t: 'host' as const, host: h })),
  mask.map((m) => ({ t: 'url' as const, mask: m }))
)
const items = fc.array(fc.record({ key, feed: fc.nat(2) }), { maxLength: 60 })

function maskBytes (b: number[], prefix: number): number[] {
  return b.map((x, i) => { const bits = Math.max(0, Math.min(8, prefix - 8 * i)); return x & (0xff00 >> bits) & 0xff })
}

function keyId (k: Key): string {
  switch (k.t) {
    case 'hash': return `h:${k.hex}`
    case 'ip': return `i:${k.bytes.join('.')}/${k.prefix}`
    case 'url': return `u:${k.mask}`
    default: return `${k.t}:${k.host}`
  }
}

/** The reference: the first item of each (key, feed), each tagged with its position. */
/** Few distinct contexts, so that some records are the same line given twice. */
const CONTEXTS = 3

function reference (list: Item[]): Array<Item & { tag: number }> {
  const seen = new Set<string>()
  const out: Array<Item & { tag: number }> = []
  list.forEach((it, n) => {
    // A record is kept unless its feed already has the same key with the same context.
    const tag = n % CONTEXTS
    const id = `${keyId(it.key)}#${it.feed}#${tag}`
    if (!seen.has(id)) { seen.add(id); out.push({ ...it, tag }) }
  })
  return out
}

function toBigInt (b: number[]): bigint {
  return b.reduce((n, x) => (n << 8n) | BigInt(x), 0n)
}

function ipText (b: number[]): string {
  if (b.length === 4) return b.join('.')
  const groups = []
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] << 8) | b[i + 1]).toString(16))
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1) // WHATWG URL writes RFC 5952 text
}

function globRegex (m: string): RegExp {
  return new RegExp('^' + m.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[\\s\\S]*') + '$')
}

/** The anchor rule, spelled out plainly: may this mask be tried on a URL with this host? */
function gate (m: string, h: string): boolean {
  const hostPart = m.split(/[/?]/)[0]
  if (!hostPart.includes('*')) return h === hostPart
  const after = hostPart.slice(hostPart.lastIndexOf('*') + 1)
  const anchor = after.startsWith('.') ? after.slice(1) : after.includes('.') ? after.slice(after.indexOf('.') + 1) : ''
  return anchor === '' || h === anchor || h.endsWith('.' + anchor)
}

type Query = { t: 'hash', hex: string } | { t: 'ip', bytes: number[] } | { t: 'url', host: string, rest: string }

function expected (ref: Array<Item & { tag: number }>, q: Query): string[] {
  const out: string[] = []
  const hit = (it: Item & { tag: number }, matched: string, type: string): void => { out.push(`f${it.feed}|${it.tag}|${matched}|${type}`) }
  for (const it of ref) {
    const k = it.key
    if (q.t === 'hash' && k.t === 'hash') {
      if (q.hex.toLowerCase() === k.hex) hit(it, k.hex, ({ 32: 'md5', 40: 'sha1', 64: 'sha256' } as Record<number, string>)[k.hex.length])
    } else if (q.t === 'ip' && k.t === 'ip') {
      const bits = k.bytes.length * 8
      if (q.bytes.length !== k.bytes.length) continue
      const shift = BigInt(bits - k.prefix)
      if ((toBigInt(q.bytes) >> shift) !== (toBigInt(k.bytes) >> shift)) continue
      hit(it, k.prefix === bits ? ipText(k.bytes) : `${ipText(k.bytes)}/${k.prefix}`, 'ip')
    } else if (q.t === 'url') {
      const type = q.rest === '' ? 'domain' : 'url'
      if (k.t === 'domain' && (q.host === k.host || q.host.endsWith('.' + k.host))) hit(it, k.host, type)
      if (k.t === 'host' && q.host === k.host) hit(it, k.host, type)
      if (k.t === 'url' && gate(k.mask, q.host) && globRegex(k.mask).test(q.host + q.rest)) hit(it, k.mask, type)
    }
  }
  return out.sort()
}

function actual (index: FeedIndex, q: Query): string[] {
  const hits = new Hits()
  if (q.t === 'hash') index.lookupHashHex(Buffer.from(q.hex, 'latin1'), 0, q.hex.length, hits)
  else if (q.t === 'ip' && q.bytes.length === 4) index.lookupIpv4(Buffer.from(q.bytes).readUInt32BE(0), hits)
  else if (q.t === 'ip') index.lookupIp(Uint8Array.from(q.bytes), hits)
  else index.lookupUrl(q.host, q.rest, hits, q.rest === '' ? 'domain' : 'url')
  return hitList(index, hits)
}

/** Queries from the inserted keys: themselves, and mutations just beside them. */
function queriesFor (list: Item[], extra: { hosts: string[], rests: string[], n: number }): Query[] {
  const qs: Query[] = []
  const { hosts, rests, n } = extra
  for (const { key: k } of list) {
    if (k.t === 'hash') {
      const flipped = k.hex.slice(0, -1) + (k.hex.endsWith('0') ? '1' : '0')
      qs.push({ t: 'hash', hex: k.hex }, { t: 'hash', hex: k.hex.toUpperCase() }, { t: 'hash', hex: flipped }, { t: 'hash', hex: k.hex.slice(1) + 'a' })
    } else if (k.t === 'ip') {
      const v = toBigInt(k.bytes)
      const bits = BigInt(k.bytes.length * 8)
      const size = 1n << (bits - BigInt(k.prefix))
      for (const x of [v, v - 1n, v + size, v + size - 1n, v + (size >> 1n) + BigInt(n)]) {
        const y = ((x % (1n << bits)) + (1n << bits)) % (1n << bits)
        const bytes: number[] = []
        for (let i = k.bytes.length - 1; i >= 0; i--) bytes[i] = Number((y >> BigInt(8 * (k.bytes.length - 1 - i))) & 255n)
        qs.push({ t: 'ip', bytes })
      }
    } else {
      const h = k.t === 'url' ? k.mask.split(/[/?]/)[0].replaceAll('*', LABELS[n % LABELS.length]) : k.host
      const r = k.t === 'url' ? k.mask.slice(k.mask.split(/[/?]/)[0].length).replaceAll('*', rests[n % rests.length]) : rests[n % rests.length]
      for (const hh of [h, `${LABELS[n % LABELS.length]}.${h}`, h.slice(h.indexOf('.') + 1), h + 'a', 'a' + h]) {
        qs.push({ t: 'url', host: hh, rest: r }, { t: 'url', host: hh, rest: '' })
      }
    }
  }
  for (const h of hosts) for (const r of rests) qs.push({ t: 'url', host: h, rest: r })
  return qs
}

test('lookups equal a plain reference on random feeds, hits and near misses', () => {
  fc.assert(fc.property(items, fc.array(host, { maxLength: 5 }), fc.array(rest, { minLength: 1, maxLength: 3 }), fc.nat(1000),
    (list, hosts, rests, n) => {
      const b = new IndexBuilder()
      for (let f = 0; f < 3; f++) b.addFeed(feedMeta(`f${f}`))
      list.forEach((it, n) => {
        const ctx = b.addContext({ tag: n % CONTEXTS })
        const k = it.key
        if (k.t === 'hash') b.addHash(Uint8Array.from(Buffer.from(k.hex, 'hex')), it.feed, ctx)
        else if (k.t === 'ip') b.addIp(Uint8Array.from(k.bytes), k.prefix, it.feed, ctx)
        else if (k.t === 'url') b.addUrlMask(k.mask, it.feed, ctx)
        else b.addDomain(k.host, k.t, it.feed, ctx)
      })
      const index = new FeedIndex(b.build(1))
      const ref = reference(list)
      assert.equal(b.duplicates, list.length - ref.length)
      for (const q of queriesFor(list, { hosts, rests, n })) {
        assert.deepEqual(actual(index, q), expected(ref, q), JSON.stringify(q))
      }
    }), { numRuns: 300 })
})
