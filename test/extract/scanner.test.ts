import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { compileExtractor, compileRe2Extractor } from '../../src/extract/extractor.js'
import { Candidates } from '../../src/extract/types.js'
import { parseIpv4 } from '../../src/extract/scanner.js'

// The scanner must find exactly what the generic preset's RE2 rules find: same spans, same rule,
// same order. Events are built from pieces of real log formats and from the traps of each rule.
const spec = { name: 'default', preset: 'generic' as const, normalize: [], rules: [] }
const re2 = compileRe2Extractor(spec)
const scanner = compileExtractor(spec)

const s = (x: string): Uint8Array => Buffer.from(x, 'utf8')
const pick = <T>(xs: T[]): fc.Arbitrary<T> => fc.constantFrom(...xs)

const sep = pick([' ', ' ', '.', ':', '::', '/', '=', ',', ';', '[', ']', '(', ')', '"', "'", '<', '>', '\t', '\n', '|', '-', '_', '%', '@', '?', '#', '}', '\\'].map(s))
const words = pick(['CEF:0|Kaspersky|KES|11.0|100|Object blocked|5|', 'src=', 'dst=', 'dvc=', 'suser=bob', 'request=', 'fileHash=',
  'act=blocked', 'SRC=', 'srcip=', 'proto=6', 'TCP_MISS/200', 'GET', 'HIER_DIRECT/', 'text/html', 'deny', 'abc', 'face', 'cafe',
  'Oct 11 22:14:15', '1697040000.123', 'x', 'g', 'ip6', 'http', 'HTTPS', 'ftp', 'hxxp', 'www.example.com', 'in-addr.arpa'].map(s))

const hexRun = fc.tuple(fc.integer({ min: 30, max: 66 }), fc.boolean(), fc.integer()).map(([n, upper, seed]) => {
  let out = ''
  let x = seed >>> 0
  for (let i = 0; i < n; i++) { x = (x * 1103515245 + 12345) >>> 0; out += '0123456789abcdef'[x >>> 28] }
  return s(upper ? out.toUpperCase() : out)
})
const exactHash = fc.tuple(pick([32, 40, 64]), fc.integer()).map(([n, seed]) => s((seed >>> 0).toString(16).padStart(8, 'a').repeat(8).slice(0, n)))

const octet = fc.oneof(fc.integer({ min: 0, max: 255 }).map(String), pick(['256', '999', '00', '01', '010', '300', '1000', '25', '249', '255']))
const dotted = fc.array(octet, { minLength: 1, maxLength: 6 }).map((parts) => s(parts.join('.')))
const quad = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }).map((parts) => s(parts.join('.')))

const group = fc.oneof(fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16)), pick(['0', 'ffff', 'FFFF', 'db8', '2001', 'fe80', '12345', 'g1', '1g']))
const ipv6 = fc.tuple(fc.array(group, { maxLength: 9 }), fc.integer({ min: -1, max: 9 }), fc.option(dotted), pick(['', '%eth0', ':', '::', '.', '/64', ']']))
  .map(([groups, at, v4, tail]) => {
    const parts = groups.slice()
    let text = at >= 0 && at <= parts.length ? [...parts.slice(0, at), ''].join(':') + ':' + parts.slice(at).join(':') : parts.join(':')
    if (at === 0) text = ':' + text
    if (v4 !== null) text += (text.endsWith(':') ? '' : ':') + Buffer.from(v4).toString()
    return s(text + tail)
  })

// MAC addresses and netfilter MAC fields: runs of 6 to 16 hex pairs joined by colons.
const mac = fc.array(fc.integer({ min: 0, max: 255 }).map((n) => n.toString(16).padStart(2, '0')), { minLength: 6, maxLength: 16 }).map((g) => s(g.join(':')))

const url = fc.tuple(pick(['http', 'https', 'HTTP', 'hTtPs', 'ftp', 'FTP', 'hxxp', 'httpx', 'xhttp', 'https:']),
  pick(['://', '://', ':/', '//']),
  fc.array(fc.oneof(pick(['evil.example', 'пример.рф', '例え.jp', 'user:pw@h', ':8080', '/a/b', '?q=1&x=2', '#frag', '/p(1)', '/x.', '\u00a0', 'ſ', '😀', '%41']).map(s), sep), { maxLength: 6 }),
  pick([')', '.', ',', ';', ']', '}', ').', '', '"', "'", '>', ' ']))
  .map(([scheme, slashes, body, tail]) => Buffer.concat([s(scheme + slashes), ...body, s(tail)]))

const invalid = pick([[0xff], [0x80], [0xc0, 0x80], [0xc1, 0xbf], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xe0, 0x80, 0x80],
  [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xf0, 0x9f, 0x98], [0x00], [0x7f], [0x0b], [0xc3, 0xa9]].map((b) => Uint8Array.from(b)))
const binary = fc.uint8Array({ maxLength: 12 })
const unicode = fc.string({ unit: 'grapheme', maxLength: 4 }).map(s)

const piece = fc.oneof(
  { arbitrary: sep, weight: 6 }, { arbitrary: words, weight: 4 }, { arbitrary: hexRun, weight: 2 }, { arbitrary: exactHash, weight: 2 },
  { arbitrary: dotted, weight: 3 }, { arbitrary: quad, weight: 3 }, { arbitrary: ipv6, weight: 4 }, { arbitrary: mac, weight: 1 }, { arbitrary: url, weight: 3 }, { arbitrary: invalid, weight: 2 },
  { arbitrary: binary, weight: 1 }, { arbitrary: unicode, weight: 1 })
const event = fc.array(piece, { maxLength: 24 }).map((ps) => Buffer.concat(ps))
// Bytes around the event in the batch buffer must not change anything.
const around = pick(['', 'a', '1', '.', ':', '1.2.', 'http', 'ab:'].map(s))

function spans (x: typeof re2, buf: Buffer, start: number, end: number): string[] {
  const c = new Candidates()
  assert.equal(x.run(buf, start, end, c), true)
  const out: string[] = []
  for (let i = 0; i < c.n; i++) {
    out.push(`${x.rules[c.rule[i]].name} ${c.start[i]}-${c.end[i]} ${JSON.stringify(x.value(c, i))}`)
    // The scanner hands over the address of every IPv4 span it finds (the matcher then skips
    // parsing it); RE2 spans, and the scanner's other spans, carry none.
    const addr = x.engine === 'scanner' && x.rules[c.rule[i]].type === 'IP' ? parseIpv4(buf, c.start[i], c.end[i]) : -1
    assert.equal(c.ipv4[i], addr, `address of ${out[out.length - 1]}`)
  }
  return out
}

// FC_RUNS=20000 runs the properties deeper (after a change to scanner.ts or ip-scan.ts).
test('the scanner finds exactly what the generic preset finds through RE2', () => {
  assert.equal(scanner.engine, 'scanner')
  assert.equal(re2.engine, 're2')
  fc.assert(fc.property(around, event, around, (before, ev, after) => {
    const buf = Buffer.concat([before, ev, after])
    const start = before.length
    const end = start + ev.length
    assert.deepEqual(spans(scanner, buf, start, end), spans(re2, buf, start, end), JSON.stringify(ev.toString('latin1')))
  }), { numRuns: Number(process.env.FC_RUNS ?? 2000) })
})

test('scanner and RE2 agree on hand-picked edge cases', () => {
  const cases = [
    '1.2.3.4 5.6.7.8', '1.2.3.4.5', '5.1.2.3.4', 'x5.1.2.3.4', '1.2.3.4.', '1.2.3.4..5', '10.0.0.1:443', '010.1.1.1', '1.0.0.10.in-addr.arpa',
    '::1', ':::1', '::', 'a :: b', 'fe80::1%eth0', '[2001:db8::1]:443', '::ffff:1.2.3.4', '::ffff:1.2.3.256', '2001:db8::1.', '1:2:3:4:5:6:7:8:9',
    '1::2:3:4:5:6:7:8', '1:2:3:4:5:6::7:8', 'MAC=00:16:3e:5e:6c:00:52:54:00:12:35:02:08:00 SRC=1.2.3.4', '1:2:3:4:5:6:7:8:9abcde', '1:2:3:4:5:6:7:8:9::1', '1:2:3:4:5:6:1.2.3.4', 'ip6:2001:db8::1', '1::', '1::g', 'abcde::1', '12:34:56.789',
    'see http://x.io/a).', 'HTTPS://例え.jp/p?q=1,', 'xhttp://a.b', 'http://', 'http://)', 'ftp://u:p@h/x;', 'httpſ://a', 'http://a\xffb',
    'md5=44d88612fea8a8f36de82e1278abb02f_', '44d88612fea8a8f36de82e1278abb02f44d88612fea8a8f36de82e1278abb02f', 'é44d88612fea8a8f36de82e1278abb02fé',
    '1.2.3.4:443', 'a.1.2.3.4', 'x:1.2.3.4', 'a..1.2.3.4', '7.2.5.1', '1728000004.133 1.2.3.4', '1.2.3.4.http://x', 'http://1.2.3.4/', 'time=00:00:02 CEF:0|x',
    '2001:0db8:85a3:0000:0000:8a2e:0370:7334', '1:2:3:4:5:6:7.8.9.10', '12:34:56:78:9a:bc:de:f0', 'a:b '.repeat(100) + '::1 ' + '1:2:'.repeat(40) + '3',
    '1.2.3', '1.2', 'a.b.c.d', '::1', '1::', 'x 1.2.3.4', '1.2.3.4 x', 'srcip=192.168.174.246 dstip=206.211.10.45'
  ]
  for (const c of cases) {
    const buf = Buffer.from(c, c.includes('\xff') ? 'latin1' : 'utf8')
    assert.deepEqual(spans(scanner, buf, 0, buf.length), spans(re2, buf, 0, buf.length), c)
  }
})

// In a batch, the scanner's native searches may run past an event into the next ones, and after a
// long run without the byte searched for, on views of single events: neither may change a span.
test('the scanner agrees with RE2 on every event of a batch', () => {
  const filler = fc.tuple(fc.integer({ min: 0, max: 3000 }), pick(['x ', 'ab:', 'a.b ', '1 '])).map(([n, unit]) => s(unit.repeat(Math.ceil(n / unit.length))))
  const events = fc.array(fc.oneof({ arbitrary: event, weight: 3 }, { arbitrary: filler, weight: 1 }), { minLength: 1, maxLength: 30 })
  fc.assert(fc.property(events, (evs) => {
    const buf = Buffer.concat(evs.flatMap((e) => [e, s('\n')]))
    let start = 0
    for (const e of evs) {
      const end = start + e.length
      assert.deepEqual(spans(scanner, buf, start, end), spans(re2, buf, start, end), JSON.stringify(e.toString('latin1')))
      start = end + 1
    }
  }), { numRuns: Math.ceil(Number(process.env.FC_RUNS ?? 2000) / 10) })
})
