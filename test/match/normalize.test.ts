import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { bytesToHex, hashTypeOfLength, hexToBytes, normalizeHash } from '../../src/match/normalize/hash.js'
import { formatIp, formatNetwork, parseIp, parseIpNetworks } from '../../src/match/normalize/ip.js'
import { normalizeDomain, normalizeHost } from '../../src/match/normalize/host.js'
import { normalizeUrl } from '../../src/match/normalize/url.js'

/** Runs `f` on every input and compares with the expected output, naming the input on failure. */
function table<T> (f: (s: string) => T, rows: Array<[string, T]>): void {
  for (const [input, want] of rows) assert.deepEqual(f(input), want, `input ${JSON.stringify(input)}`)
}

const ip = (s: string): string | null => { const b = parseIp(s); return b === null ? null : formatIp(b) }
const nets = (s: string): string[] | null => parseIpNetworks(s)?.map(n => formatNetwork(n.bytes, n.prefix)) ?? null
const url = (s: string): string | null => normalizeUrl(s)?.value ?? null
const mask = (s: string): string | null => normalizeUrl(s, { mask: true })?.value ?? null

test('hashes: type by length, trimmed and lowercased, hex only', () => {
  assert.equal(hashTypeOfLength(32), 'md5')
  assert.equal(hashTypeOfLength(40), 'sha1')
  assert.equal(hashTypeOfLength(64), 'sha256')
  assert.equal(hashTypeOfLength(33), null)
  const md5 = 'd41d8cd98f00b204e9800998ecf8427e'
  assert.deepEqual(normalizeHash(` ${md5.toUpperCase()}\n`), { type: 'md5', hex: md5 })
  assert.deepEqual(normalizeHash('a'.repeat(40)), { type: 'sha1', hex: 'a'.repeat(40) })
  assert.deepEqual(normalizeHash('F'.repeat(64)), { type: 'sha256', hex: 'f'.repeat(64) })
  assert.equal(normalizeHash(md5.slice(1)), null)
  assert.equal(normalizeHash(md5.slice(1) + 'g'), null)
  assert.equal(normalizeHash(md5 + '0'), null)
  assert.deepEqual(hexToBytes('00ff10Ab'), new Uint8Array([0, 255, 16, 171]))
  assert.equal(bytesToHex(hexToBytes(md5)), md5)
})

test('parseIp: strict IPv4, every IPv6 text form, mapped addresses as IPv4', () => {
  table(ip, [
    ['10.0.0.1', '10.0.0.1'],
    ['255.255.255.255', '255.255.255.255'],
    ['256.0.0.1', null],
    ['10.0.0', null], // strict: fewer parts are for URL hosts only
    ['10.0.0.1.', null],
    ['010.0.0.1', null], // octal or decimal? refused
    ['0.0.0.0', '0.0.0.0'],
    [' 10.0.0.1', null],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['[2001:DB8::1]', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1:2:3:4:5:6:7:8:9', null],
    ['::1:2:3:4:5:6:7:8', null],
    ['1::2::3', null],
    [':1::', null],
    ['1::2:', null],
    ['12345::', null],
    ['fe80::1%eth0', null],
    ['[fe80::1%25eth0]', null],
    ['[10.0.0.1]', null],
    ['[::1', null],
    ['64:ff9b::1.2.3.4', '64:ff9b::102:304'],
    ['1:2:3:4:5:6:7:1.2.3.4', null],
    ['::1.2.3.04', null],
    ['::ffff:10.0.0.1', '10.0.0.1'],
    ['::FFFF:0a00:0001', '10.0.0.1'],
    ['[::ffff:10.0.0.1]', '10.0.0.1'],
    ['::fffe:10.0.0.1', '::fffe:a00:1'], // near miss: not the mapped prefix
    ['::10.0.0.1', '::a00:1'], // deprecated IPv4-compatible form is plain IPv6
    ['', null]
  ])
  assert.deepEqual(parseIp('::ffff:10.0.0.1'), parseIp('10.0.0.1'))
  assert.equal(parseIp('::ffff:10.0.0.1')?.length, 4)
  assert.equal(parseIp('::fffe:10.0.0.1')?.length, 16)
})

test('formatIp: RFC 5952 (lowercase, longest zero run, first on a tie, no single-group ::)', () => {
  const f = (s: string): string => formatIp(parseIp(s) as Uint8Array)
  assert.equal(f('2001:DB8:0:0:1:0:0:1'), '2001:db8::1:0:0:1')
  assert.equal(f('2001:0:0:1:0:0:0:1'), '2001:0:0:1::1')
  assert.equal(f('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1')
  assert.equal(f('0:0:0:0:0:0:0:0'), '::')
  assert.equal(formatIp(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 1, 2, 3, 4])), '::ffff:1.2.3.4')
  assert.equal(formatNetwork(new Uint8Array([10, 0, 0, 0]), 8), '10.0.0.0/8')
  assert.equal(formatNetwork(new Uint8Array([10, 0, 0, 1]), 32), '10.0.0.1')
  fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
    const back = parseIp(formatIp(b))
    assert.ok(back !== null)
    assert.deepEqual(back.length === 4 ? b.slice(12) : b, back)
  }))
})

test('parseIpNetworks: addresses, CIDRs with host bits cleared, ranges as minimal CIDRs', () => {
  table(nets, [
    ['10.0.0.1', ['10.0.0.1']],
    ['2001:db8::1', ['2001:db8::1']],
    ['10.1.2.3/8', ['10.0.0.0/8']],
    ['10.0.0.0/32', ['10.0.0.0']],
    ['10.0.0.0/0', ['0.0.0.0/0']],
    ['10.0.0.0/33', null],
    ['10.0.0.0/', null],
    ['10.0.0.0/x', null],
    ['2001:db8::ffff/64', ['2001:db8::/64']],
    ['2001:db8::/129', null],
    ['::ffff:10.1.0.0/104', ['10.0.0.0/8']],
    ['::ffff:0:0/96', ['0.0.0.0/0']],
    ['::/0', ['::/0', '0.0.0.0/0']], // contains every mapped address, so every IPv4 one
    ['2001:db8::/32', ['2001:db8::/32']],
    ['10.0.0.1-10.0.0.6', ['10.0.0.1', '10.0.0.2/31', '10.0.0.4/31', '10.0.0.6']],
    ['10.0.0.1 - 10.0.0.6', ['10.0.0.1', '10.0.0.2/31', '10.0.0.4/31', '10.0.0.6']],
    ['10.0.0.0-10.0.0.255', ['10.0.0.0/24']],
    ['10.0.0.5-10.0.0.5', ['10.0.0.5']],
    ['0.0.0.0-255.255.255.255', ['0.0.0.0/0']],
    ['10.0.0.6-10.0.0.1', null],
    ['10.0.0.1-10.0.0', null],
    ['10.0.0.1-2001:db8::1', null],
    ['::ffff:10.0.0.1-10.0.0.2', ['10.0.0.1', '10.0.0.2']],
    ['2001:db8::1-2001:db8::6', ['2001:db8::1', '2001:db8::2/127', '2001:db8::4/127', '2001:db8::6']],
    ['2001:db8::-2001:db8::ffff', ['2001:db8::/112']],
    ['2001:db8::1-2001:db8::', null],
    ['10.0.0.1/8-10.0.0.2', null]
  ])
})

test('parseIpNetworks: a range is covered exactly and minimally (property)', () => {
  const u32 = (b: Uint8Array): number => ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0
  const dotted = (n: number): string => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`
  fc.assert(fc.property(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), (x, y) => {
    const [lo, hi] = x <= y ? [x, y] : [y, x]
    const cidrs = parseIpNetworks(`${dotted(lo)}-${dotted(hi)}`)
    assert.ok(cidrs !== null)
    let next = lo
    let prev: { start: number, size: number } | null = null
    for (const c of cidrs) {
      const start = u32(c.bytes)
      const size = 2 ** (32 - c.prefix)
      assert.equal(start, next, 'blocks are contiguous')
      assert.equal(start % size, 0, 'blocks are aligned')
      // Minimal: two equal neighbours that form one aligned block would have been one block.
      if (prev !== null && prev.size === size) assert.notEqual(prev.start % (2 * size), 0)
      prev = { start, size }
      next = start + size
    }
    assert.equal(next, hi + 1, 'the last block ends at the end of the range')
  }))
})

test('normalizeHost: IPv4 in decimal, hex, octal and short forms becomes dotted-quad', () => {
  table(normalizeHost, [
    ['3232235777', '192.168.1.1'],
    ['0xC0A80101', '192.168.1.1'],
    ['0xC0.0xA8.1.1', '192.168.1.1'],
    ['0300.0250.1.1', '192.168.1.1'],
    ['192.168.257', '192.168.1.1'],
    ['192.11010305', '192.168.1.1'],
    ['127.1', '127.0.0.1'],
    ['0x7f.1.', '127.0.0.1'],
    ['4294967295', '255.255.255.255'],
    ['4294967296', null],
    ['99999999999999999999999', null],
    ['256.1.1.1', null],
    ['1.2.3.4.5', null],
    ['192.168.65536', null],
    ['0x', '0.0.0.0'],
    ['09.1.1.1', null], // not octal
    ['example.09', null], // ends in a number, so it must be an IPv4 address
    ['example.0a', 'example.0a'],
    ['１２７.０.０.１', '127.0.0.1']
  ])
})

test('normalizeHost: names lowercased, punycode, one www. stripped, trailing dot dropped', () => {
  table(normalizeHost, [
    ['Example.COM', 'example.com'],
    ['www.example.com', 'example.com'],
    ['WWW.example.com', 'example.com'],
    ['www.www.x.com', 'www.x.com'],
    ['wwwx.com', 'wwwx.com'],
    ['x.www.com', 'x.www.com'],
    ['example.com.', 'example.com'],
    ['example.com..', null],
    ['.example.com', null],
    ['a..b.com', null],
    ['пример.рф', 'xn--e1afmkfd.xn--p1ai'],
    ['ПРИМЕР.РФ', 'xn--e1afmkfd.xn--p1ai'],
    ['www.пример.рф', 'xn--e1afmkfd.xn--p1ai'],
    ['xn--e1afmkfd.xn--p1ai', 'xn--e1afmkfd.xn--p1ai'],
    ['xn--zz.com', null], // not valid punycode
    ['bücher.de', 'xn--bcher-kva.de'],
    ['a_b.example.com', 'a_b.example.com'],
    ['a b.com', null],
    ['a!b.com', null],
    ['a%b.com', null],
    ['a*b.com', null],
    ['a:b', null],
    ['', null],
    ['[2001:DB8:0::1]', '[2001:db8::1]'],
    ['[::ffff:1.2.3.4]', '1.2.3.4'],
    ['[fe80::1%25eth0]', null],
    ['[::1', null],
    ['2001:db8::1', null] // a bare IPv6 address is no host
  ])
})

test('normalizeHost with wildcard: labels holding * kept, others converted one by one', () => {
  const w = (s: string): string | null => normalizeHost(s, { wildcard: true })
  table(w, [
    ['*.Example.COM', '*.example.com'],
    ['*.пример.рф', '*.xn--e1afmkfd.xn--p1ai'],
    ['10.0.0.*', '10.0.0.*'], // a numeric label is not an IPv4 address in a mask
    ['ex*ple.com.', 'ex*ple.com'],
    ['www.*.example.com', '*.example.com'],
    ['*..com', null],
    ['* .com', null],
    ['example.com', 'example.com'],
    ['0x7f.1', '127.0.0.1']
  ])
  assert.equal(normalizeHost('*.example.com'), null)
})

test('normalizeDomain: URL-like input reduced to its host first', () => {
  table(normalizeDomain, [
    ['Example.com', 'example.com'],
    ['http://www.Example.com/path?q#f', 'example.com'],
    ['user@example.com:8080', 'example.com'],
    ['example.com:http', null],
    [' example.com\n', 'example.com'],
    ['2001:DB8::1', '[2001:db8::1]'],
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['https://[2001:db8::1]:443/', '[2001:db8::1]'],
    ['0x7f.1', '127.0.0.1'],
    ['exa mple.com', null]
  ])
})

test('normalizeUrl: the examples of the brief', () => {
  table(url, [
    ['HTTP://User:pw@WWW.Example.COM:8080/a/./b/../c//d/?q=1#frag', 'example.com/a/c/d?q=1'],
    ['http://0x7f.1/', '127.0.0.1'],
    ['https://пример.рф/Путь', 'xn--e1afmkfd.xn--p1ai/путь'],
    ['evil.com\\a\\b', 'evil.com/a/b'],
    ['evil.com/%41%2Fb', 'evil.com/a/b']
  ])
  assert.deepEqual(normalizeUrl('http://www.x.com/A?B'), { host: 'x.com', rest: '/a?b', value: 'x.com/a?b' })
})

test('normalizeUrl: scheme, userinfo, port and fragment dropped', () => {
  table(url, [
    ['FTP://x.com/a', 'x.com/a'],
    ['git+ssh://x.com/a', 'x.com/a'],
    ['http:\\\\x.com\\a', 'x.com/a'],
    ['http:///x.com/a', 'x.com/a'],
    ['//x.com/a', 'x.com/a'],
    ['x.com/a', 'x.com/a'],
    ['http://a@b:c@x.com/a@b', 'x.com/a@b'],
    ['http://x.com:8080', 'x.com'],
    ['http://x.com:/a', 'x.com/a'],
    ['http://x.com:80a/', null],
    ['http://[2001:db8::1]:8080/a', '[2001:db8::1]/a'],
    ['http://[::ffff:10.0.0.1]/a', '10.0.0.1/a'],
    ['x.com/a#frag', 'x.com/a'],
    ['x.com/a#frag?q=1', 'x.com/a'],
    ['x.com#', 'x.com'],
    ['http://3232235777/x', '192.168.1.1/x']
  ])
})

test('normalizeUrl: path rules and query', () => {
  table(url, [
    ['x.com/', 'x.com'],
    ['x.com/a/', 'x.com/a'],
    ['x.com//a///b', 'x.com/a/b'],
    ['x.com/../../a', 'x.com/a'],
    ['x.com/a/b/../../..', 'x.com'],
    ['x.com/a/.../b', 'x.com/a/.../b'],
    ['x.com/.hidden', 'x.com/.hidden'],
    ['x.com/a/%2e%2e/b', 'x.com/b'],
    ['x.com/%2541', 'x.com/%41'], // decoded once only
    ['x.com/%d0%9F%D1%83', 'x.com/пу'],
    ['x.com/%FF%C0%AF%e2%82', 'x.com/%ff%c0%af%e2%82'], // invalid UTF-8 stays as written
    ['x.com/%e2%82%ac%zz', 'x.com/€%zz'],
    ['x.com/a?Q=1&B=/../C', 'x.com/a?q=1&b=/../c'],
    ['x.com/a?', 'x.com/a'],
    ['x.com/?q', 'x.com?q'],
    ['x.com?q', 'x.com?q'],
    ['x.com/a?b?c', 'x.com/a?b?c']
  ])
})

test('normalizeUrl: host rules, masks and invalid input', () => {
  table(url, [
    ['http://WWW.www.x.com./', 'www.x.com'],
    ['http://%65vil.com/', 'evil.com'],
    ['http://*.x.com/', null],
    ['', null],
    ['http://', null],
    ['http://user@/x', null],
    ['/just/a/path', null],
    ['http://exa mple.com/', null],
    ['  x.com/a  ', 'x.com/a']
  ])
  table(mask, [
    ['*.Example.com/*', '*.example.com/*'],
    ['http://*.x.com:*/a*b?*', '*.x.com/a*b?*'],
    ['x.com/*/', 'x.com/*'],
    ['x.com', 'x.com'],
    ['*', '*']
  ])
})
