import { test } from 'node:test'
import assert from 'node:assert/strict'
import { classifyQuery, indicatorKeys, type IndexKey } from '../../src/match/keys.js'
import type { IndicatorKind } from '../../src/feeds/record.js'
import { bytesToHex } from '../../src/match/normalize/hash.js'
import { formatNetwork } from '../../src/match/normalize/ip.js'

/** Keys as readable strings (`md5:<hex>`, `ip:10.0.0.0/8`, `domain:x.com`...), or the error. */
function keys (value: string, kind: IndicatorKind): string[] | string {
  const res = indicatorKeys(value, kind)
  if ('error' in res) return res.error
  return res.map((k: IndexKey) => {
    switch (k.t) {
      case 'hash': return `${k.type}:${bytesToHex(k.bytes)}`
      case 'ip': return `ip:${formatNetwork(k.bytes, k.prefix)}`
      case 'domain': case 'host': return `${k.t}:${k.host}`
      case 'url': return `url:${k.mask}`
    }
    return ''
  })
}

function table (rows: Array<[string, IndicatorKind, string[] | string]>): void {
  for (const [value, kind, want] of rows) assert.deepEqual(keys(value, kind), want, `${kind} ${JSON.stringify(value)}`)
}

const MD5 = 'd41d8cd98f00b204e9800998ecf8427e'
const SHA1 = 'da39a3ee5e6b4b0d3255bfef95601890afd80709'
const SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

test('hash kinds: exact length for md5/sha1/sha256, by length for hash', () => {
  table([
    [MD5.toUpperCase(), 'md5', [`md5:${MD5}`]],
    [` ${SHA1} `, 'sha1', [`sha1:${SHA1}`]],
    [SHA256, 'sha256', [`sha256:${SHA256}`]],
    [MD5.slice(1), 'md5', 'md5 must be 32 hex characters (found 31)'],
    [MD5, 'sha1', 'sha1 must be 40 hex characters (found 32)'],
    [SHA1, 'sha256', 'sha256 must be 64 hex characters (found 40)'],
    [MD5.slice(0, 31) + 'z', 'md5', 'md5 must be hex: "d41d8cd98f00b204e9800998ecf8427z"'],
    [MD5, 'hash', [`md5:${MD5}`]],
    [SHA1, 'hash', [`sha1:${SHA1}`]],
    [SHA256, 'hash', [`sha256:${SHA256}`]],
    [MD5 + 'a', 'hash', 'hash must be 32, 40 or 64 hex characters (found 33)'],
    ['x'.repeat(40), 'hash', `hash must be hex: "${'x'.repeat(40)}"`],
    ['', 'md5', 'empty md5 value']
  ])
  const k = indicatorKeys(MD5, 'md5')
  assert.ok(!('error' in k) && k[0].t === 'hash' && k[0].bytes.length === 16)
})

test('ip kind: address, CIDR and range; mapped addresses are IPv4', () => {
  table([
    ['10.0.0.1', 'ip', ['ip:10.0.0.1']],
    ['::ffff:10.0.0.1', 'ip', ['ip:10.0.0.1']],
    ['2001:DB8::1', 'ip', ['ip:2001:db8::1']],
    ['10.1.2.3/8', 'ip', ['ip:10.0.0.0/8']],
    ['10.0.0.1 - 10.0.0.6', 'ip', ['ip:10.0.0.1', 'ip:10.0.0.2/31', 'ip:10.0.0.4/31', 'ip:10.0.0.6']],
    ['2001:db8::-2001:db8::1:ffff', 'ip', ['ip:2001:db8::/111']],
    ['1.2.3.999', 'ip', 'not a valid IP address or network: "1.2.3.999"'],
    ['0x7f.0.0.1', 'ip', 'not a valid IP address or network: "0x7f.0.0.1"'],
    ['example.com', 'ip', 'not a valid IP address or network: "example.com"']
  ])
  const k = indicatorKeys('2001:db8::1', 'ip')
  assert.ok(!('error' in k) && k[0].t === 'ip' && k[0].prefix === 128 && k[0].bytes.length === 16)
})

test('domain and host kinds: normalized hosts; an IP becomes an ip key', () => {
  table([
    ['WWW.Example.com.', 'domain', ['domain:example.com']],
    ['www.www.x.com', 'domain', ['domain:www.x.com']],
    ['пример.рф', 'domain', ['domain:xn--e1afmkfd.xn--p1ai']],
    ['http://sub.example.com/path', 'domain', ['domain:sub.example.com']],
    ['sub.example.com', 'host', ['host:sub.example.com']],
    ['www.sub.example.com', 'host', ['host:sub.example.com']],
    ['10.0.0.1', 'domain', ['ip:10.0.0.1']],
    ['0x0a000001', 'host', ['ip:10.0.0.1']],
    ['[2001:db8::1]', 'domain', ['ip:2001:db8::1']],
    ['2001:db8::1', 'host', ['ip:2001:db8::1']],
    ['exa mple.com', 'domain', 'not a valid domain: "exa mple.com"'],
    ['a..com', 'host', 'not a valid host: "a..com"'],
    ['*.example.com', 'domain', 'a domain cannot hold a wildcard, use kind url: "*.example.com"']
  ])
})

test('url kind: a normalized mask, * kept, *. host prefix kept', () => {
  table([
    ['HTTP://WWW.Example.com/A/./b/?Q=1#x', 'url', ['url:example.com/a/b?q=1']],
    ['*.example.com/*', 'url', ['url:*.example.com/*']],
    ['*.example.com', 'url', ['url:*.example.com']],
    ['example.com/*/login.php', 'url', ['url:example.com/*/login.php']],
    ['http://10.0.0.1/x', 'url', ['url:10.0.0.1/x']],
    ['example.com', 'url', ['url:example.com']],
    ['http:///', 'url', 'not a valid URL or URL mask: "http:///"'],
    ['exa mple.com/x', 'url', 'not a valid URL or URL mask: "exa mple.com/x"']
  ])
})

test('auto kind: hash, ip, then url when /, ? or * follow the scheme, else domain', () => {
  table([
    ['44D88612FEA8A8F36DE82E1278ABB02F', 'auto', ['md5:44d88612fea8a8f36de82e1278abb02f']],
    ['3395856ce81f2b7382dee72602f798b642f14140', 'auto', ['sha1:3395856ce81f2b7382dee72602f798b642f14140']],
    ['44d88612fea8a8f36de82e1278abb02', 'auto', 'hash must be 32, 40 or 64 hex characters (found 31)'],
    ['10.0.0.1', 'auto', ['ip:10.0.0.1']],
    ['10.0.0.0/8', 'auto', ['ip:10.0.0.0/8']],
    ['10.0.0.1-10.0.0.2', 'auto', ['ip:10.0.0.1', 'ip:10.0.0.2']],
    ['::ffff:10.0.0.1', 'auto', ['ip:10.0.0.1']],
    ['example.com/path', 'auto', ['url:example.com/path']],
    ['example.com?q=1', 'auto', ['url:example.com?q=1']],
    ['*.example.com', 'auto', ['url:*.example.com']],
    ['example.com\\a', 'auto', ['url:example.com/a']],
    ['http://example.com/', 'auto', ['url:example.com']],
    ['http://Example.com', 'auto', ['domain:example.com']],
    ['www.example.com', 'auto', ['domain:example.com']],
    ['0x7f.1', 'auto', ['ip:127.0.0.1']],
    ['10.0.0.0/33', 'auto', ['url:10.0.0.0/33']], // not a network, so a URL with a path
    ['not valid!', 'auto', 'not a valid domain: "not valid!"'],
    ['   ', 'auto', 'empty auto value']
  ])
})

test('error messages: the stable part comes first and long values are cut', () => {
  const long = 'a'.repeat(500) + ' b.com'
  const res = indicatorKeys(long, 'domain')
  assert.ok('error' in res)
  assert.ok(res.error.startsWith('not a valid domain: "aaaa'))
  assert.ok(res.error.length < 120, res.error)
})

test('classifyQuery: hash, ip, url, domain or null', () => {
  const rows: Array<[string, string | null, string | null]> = [
    [MD5.toUpperCase(), 'hash', MD5],
    [SHA256, 'hash', SHA256],
    [MD5.slice(1), 'domain', MD5.slice(1)], // 31 hex chars is a valid host name, not a hash
    ['10.0.0.1', 'ip', '10.0.0.1'],
    ['::ffff:10.0.0.1', 'ip', '10.0.0.1'],
    ['[2001:DB8::1]', 'ip', '2001:db8::1'],
    ['http://Example.com', 'url', 'example.com'],
    ['example.com/a/../b', 'url', 'example.com/b'],
    ['example.com?q', 'url', 'example.com?q'],
    ['WWW.Example.com', 'domain', 'example.com'],
    ['0x7f.1', 'domain', '127.0.0.1'], // not a strict IP: the domain path normalizes it
    ['1.2.3.999', null, null],
    ['not valid!', null, null],
    ['http://', null, null],
    ['', null, null]
  ]
  for (const [q, type, value] of rows) {
    const c = classifyQuery(q)
    assert.deepEqual(c === null ? [null, null] : [c.type, c.value], [type, value], JSON.stringify(q))
  }
  const c = classifyQuery('http://x.com/a?b')
  assert.ok(c !== null && c.type === 'url')
  assert.deepEqual(c.url, { host: 'x.com', rest: '/a?b', value: 'x.com/a?b' })
  const h = classifyQuery(SHA1)
  assert.ok(h !== null && h.type === 'hash' && h.hashType === 'sha1')
})
