import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { compileExtractor, compileRe2Extractor, type Extractor } from '../../src/extract/extractor.js'
import { Candidates } from '../../src/extract/types.js'

// The cef pass must find exactly what the FortiSIEM guide's rules find through RE2.
const spec = { name: 'fortisiem', preset: 'cef' as const, normalize: [], rules: [] }
const re2 = compileRe2Extractor(spec)
const scanner = compileExtractor(spec)

const s = (x: string): Uint8Array => Buffer.from(x, 'utf8')
const pick = <T>(xs: T[]): fc.Arbitrary<T> => fc.constantFrom(...xs)

const sep = pick([' ', ' ', '=', '\t', '\n', '\v', '\f', '\r', '=', '|', '.', ':', '/', '\\', '-', '_', 'x', 'g', '"'].map(s))
const keys = pick(['dst=', 'src=', 'xdst=', 'DST=', 'ds=', 'dst==', 'src\\=', 'dvc=', 'suser=', 'request=', 'fileHash=', 'eventId=', 'sr', 'c=',
  'CEF:0|Fortinet|FortiGate|7.2|13|deny|5|', 'CEF:0|A\\|B|C\\\\|1|2|n|3|'].map(s))
const digits = fc.integer({ min: 0, max: 99999 }).map(String)
const quad = fc.array(fc.oneof(digits, fc.integer({ min: 0, max: 255 }).map(String)), { minLength: 2, maxLength: 5 }).map((p) => s(p.join('.')))
// `key=a.b.c.d` with octets of 1-4 digits, mostly four of them, and what may follow.
const short = fc.oneof(fc.integer({ min: 0, max: 999 }).map(String), pick(['0000', '00', '1234']))
const kvIp = fc.tuple(pick(['dst=', 'src=', 'xdst=', 'dvc=']), fc.array(short, { minLength: 3, maxLength: 5 }), pick([' ', '\t', '\v', '\f', '\r', '\n', '', '.', 'x', '/']))
  .map(([k, parts, tail]) => s(k + parts.join('.') + tail))
const hexRun = fc.tuple(fc.integer({ min: 8, max: 140 }), fc.integer()).map(([n, seed]) => {
  let out = ''
  let x = seed >>> 0
  for (let i = 0; i < n; i++) { x = (x * 1103515245 + 12345) >>> 0; out += '0123456789abcdefABCDEF'[(x >>> 24) % 22] }
  return s(out)
})
const url = fc.tuple(pick(['http', 'https', 'ftp', 'x', '']), pick(['://', '://', ':/']),
  fc.array(pick(['user:pw@', 'пример', '.', 'рф', 'xn--p1ai', '例え', 'a-b', '-a', '[2001:db8::1]', ':8080', ':99999', '/p', '?q=1', '#f', '😀', 'é']), { maxLength: 6 }))
  .map(([a, b, parts]) => s(a + b + parts.join('')))
const invalid = pick([[0xff], [0x80], [0xc0, 0x80], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0x00]].map((b) => Uint8Array.from(b)))
const piece = fc.oneof(
  { arbitrary: sep, weight: 5 }, { arbitrary: keys, weight: 4 }, { arbitrary: quad, weight: 2 }, { arbitrary: kvIp, weight: 4 }, { arbitrary: hexRun, weight: 3 },
  { arbitrary: url, weight: 2 }, { arbitrary: invalid, weight: 1 }, { arbitrary: fc.uint8Array({ maxLength: 8 }), weight: 1 })
const event = fc.array(piece, { maxLength: 24 }).map((ps) => Buffer.concat(ps))
const around = pick(['', 'd', 'ds', 'dst', 'src', 'dst=', 'a', '1', '://'].map(s))

function spans (x: Extractor, buf: Buffer, start: number, end: number): string[] {
  const c = new Candidates()
  x.run(buf, start, end, c)
  const out: string[] = []
  for (let i = 0; i < c.n; i++) out.push(`${x.rules[c.rule[i]].name} ${c.start[i]}-${c.end[i]} ${JSON.stringify(x.value(c, i))}`)
  return out
}

test('the cef pass finds exactly what the FortiSIEM guide rules find through RE2', () => {
  assert.equal(scanner.engine, 'scanner')
  assert.equal(re2.engine, 're2')
  fc.assert(fc.property(around, event, around, (before, ev, after) => {
    const buf = Buffer.concat([before, ev, after])
    const start = before.length
    assert.deepEqual(spans(scanner, buf, start, start + ev.length), spans(re2, buf, start, start + ev.length), JSON.stringify(ev.toString('latin1')))
  }), { numRuns: 2000 })
})

test('cef pass: hash chunks, first dst= and src=, the URL rule only with ://', () => {
  const line = `CEF:0|V|P|1|2|n|3|dst=1.2.3.4567 dst=999.1.1.1\tsrc=10.0.0.1 src=10.0.0.2 h=${'a'.repeat(100)} ${'b'.repeat(70)} request=https://пример.рф/x`
  for (const x of [scanner, re2]) {
    const buf = Buffer.from(line)
    const got = spans(x, buf, 0, buf.length).map((l) => l.replace(/ \d+-\d+ /, ' '))
    assert.deepEqual(got, [`RE_HASH "${'a'.repeat(64)}"`, `RE_HASH "${'a'.repeat(36)}"`, `RE_HASH "${'b'.repeat(64)}"`,
      'RE_IP "999.1.1.1"', 'SRC_IP "10.0.0.1"', 'RE_URL "пример.рф/x"'], x.engine)
  }
  // Bytes before the event are not part of it: `dst` there does not make `=1.2.3.4` a match.
  for (const x of [scanner, re2]) {
    const buf = Buffer.from('dst=1.2.3.4 src=5.6.7.8')
    assert.deepEqual(spans(x, buf, 3, 11), [], x.engine)
    assert.deepEqual(spans(x, buf, 12, buf.length), ['SRC_IP 16-23 "5.6.7.8"'], x.engine)
  }
  // A custom lookup rule or a normalize rule takes the source off the pass.
  // An added lookup rule runs on RE2 beside the pass (extractor.ts); only a replaced preset rule or a normalize step leaves it.
  assert.equal(compileExtractor({ ...spec, rules: [{ name: 'D', type: 'DOMAIN', extract: 'all', pattern: 'dhost=(\\S+)' }] }).engine, 'scanner')
  assert.equal(compileExtractor({ ...spec, rules: [{ name: 'RE_IP', type: 'IP', extract: 'first', pattern: 'dst=(\\S+)' }] }).engine, 're2')
  assert.equal(compileExtractor({ ...spec, normalize: [{ replace: 'a', with: 'b' }] }).engine, 're2')
  assert.equal(compileExtractor({ ...spec, rules: [{ name: 'Act', type: 'CONTEXT', extract: 'first', pattern: 'act=(\\S+)' }] }).engine, 'scanner')
})
