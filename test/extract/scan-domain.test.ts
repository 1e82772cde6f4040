/**
 * The dns preset's bare domains: the byte scanner must find exactly what RE2 finds with the
 * preset's RE_DOMAIN pattern (same spans, same order), on random events built from the traps of
 * the rule; and the cases a DNS log, a proxy or a TLS log holds give what an analyst expects.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { compileExtractor, compileRe2Extractor } from '../../src/extract/extractor.js'
import { Candidates } from '../../src/extract/types.js'

const spec = { name: 'dns', preset: 'dns' as const, normalize: [], rules: [] }
const re2 = compileRe2Extractor(spec)
const scanner = compileExtractor(spec)

function spans (x: ReturnType<typeof compileExtractor>, buf: Buffer): string[] {
  const out = new Candidates()
  x.run(buf, 0, buf.length, out)
  const got: string[] = []
  for (let i = 0; i < out.n; i++) got.push(`${x.rules[out.rule[i]]!.name} ${out.start[i]}-${out.end[i]}`)
  return got
}

function domains (text: string): string[] {
  const out = new Candidates()
  const buf = Buffer.from(text)
  scanner.run(buf, 0, buf.length, out)
  const got: string[] = []
  for (let i = 0; i < out.n; i++) if (scanner.rules[out.rule[i]]!.name === 'RE_DOMAIN') got.push(scanner.value(out, i))
  return got
}

test('the dns preset runs on the byte scanner', () => {
  assert.equal(scanner.engine, 'scanner')
})

test('domains outside URLs, as DNS, proxy, TLS and ssh logs hold them; file names and versions are not domains', () => {
  assert.deepEqual(domains('client 10.0.0.5#53124: query: evil.example IN A +'), ['evil.example'])
  assert.deepEqual(domains('1700000000.1\tCabc\t10.0.0.5\t53\tWWW.Evil.COM\t1\tC_INTERNET'), ['WWW.Evil.COM'])
  assert.deepEqual(domains('CONNECT login.evil-corp.net:443 HTTP/1.1'), ['login.evil-corp.net'])
  assert.deepEqual(domains('ssl: server_name=cdn.bad.io, version=TLSv1.3'), ['cdn.bad.io'])
  assert.deepEqual(domains('sshd[1]: pam_unix(sshd:auth): authentication failure; rhost=host-1.attacker.ru user=root'), ['host-1.attacker.ru'])
  assert.deepEqual(domains('query=evil.example. type=A'), ['evil.example'])
  assert.deepEqual(domains('opened report.pdf and setup.exe, agent v1.2.3, node 20.20.2, libc.so.6'), [])
  assert.deepEqual(domains('evil.com.pdf x-evil.com _dmarc.mail.example'), ['x-evil.com', '_dmarc.mail.example'])
  // URLs and mail addresses are not bare domains (RE_URL has the URL; a second value would detect twice).
  assert.deepEqual(domains('GET http://evil.example/x.com referer=https://a.example user=bob@corp.example'), [])
})

const s = (x: string): Buffer => Buffer.from(x, 'utf8')
const pick = <T>(xs: T[]): fc.Arbitrary<T> => fc.constantFrom(...xs)
const label = fc.oneof(pick(['evil', 'a', 'x-y', '-x', 'x-', '_d', 'WWW', '0', '12', 'xn--p1ai', 'com', 'COM', 'cOm', 'pdf', 'example', 'test', 'co', 'uk', 'io', 'ru', 'sh', 'py', 'local']),
  fc.stringMatching(/^[a-z0-9-]{1,6}$/))
const dotted = fc.tuple(fc.array(label, { minLength: 1, maxLength: 5 }), fc.array(pick(['.', '.', '.', '..', '...']), { minLength: 5, maxLength: 5 }), pick(['', '.', '..', '-']))
  .map(([labels, dots, tail]) => s(labels.map((l, i) => (i === 0 ? '' : dots[i]!) + l).join('') + tail))
const sep = pick([' ', ' ', '=', ':', ',', ';', '/', '//', '@', '"', '\t', '(', ')', '[', ']', '#', '?', '-', '_', '.', '://', 'http://', 'ſ', 'é', '\u212a', '😀'].map(s))
const invalid = pick([[0xff], [0x80], [0xc3], [0xe2, 0x82], [0x00], [0xc3, 0xa9]].map((b) => Buffer.from(b)))
const event = fc.array(fc.oneof({ arbitrary: dotted, weight: 5 }, { arbitrary: sep, weight: 4 }, { arbitrary: invalid, weight: 1 }), { maxLength: 14 })
  .map((parts) => Buffer.concat(parts))

test('scanner and RE2 agree on random events (spans, rules, order)', () => {
  fc.assert(fc.property(event, (buf) => {
    assert.deepEqual(spans(scanner, buf), spans(re2, buf), JSON.stringify(buf.toString('latin1')))
  }), { numRuns: Number(process.env.FM_PROPERTY_RUNS ?? 4000) })
})
