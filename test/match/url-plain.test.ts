/**
 * The fast path of URL normalization (url-plain.ts) against the general algorithm: on random URLs
 * from a grammar mixing plain URLs with every case the fast path must hand over (userinfo, ports,
 * IPv4 in WHATWG forms, IPv6, punycode, escapes, dot segments, backslashes, controls), either the
 * fast path declines or it gives exactly what the general path gives.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { normalizeUrl, normalizeUrlGeneral } from '../../src/match/normalize/url.js'
import { plainUrl } from '../../src/match/normalize/url-plain.js'

/** Mostly easy choices (the fast path's), some hard ones (the general path's), so both get exercised. */
function mix (easy: string[], hard: string[]): fc.Arbitrary<string> {
  return fc.oneof({ weight: 10, arbitrary: fc.constantFrom(...easy) }, { weight: 1, arbitrary: fc.constantFrom(...hard) })
}

const scheme = mix(['', 'http://', 'https://', 'HTTPS://', 'ftp://', 'a+b.c-1://'], ['hXXp://', 'http:/', 'http:///', 'http:\\\\', 'http:/\\', '//', '\\\\', 'x:', '1http://'])
const userinfo = mix([''], ['user@', 'u:p@', '@', 'a@b@', 'u:80@'])
const label = mix(['www', 'WWW', 'a', 'ex-ample', 'Ex-Ample', 'cdn', 'com', 'b_c', 'axn--b', 'xn-', 'x--n', 'a1', '-'],
  ['xn--bcher-kva', 'XN--abc', '0x1f', '0X1F', '1', '255', '09', '0', '1a', 'é', 'ß', 'Σ', '*', '%65vil', '%', '', 'a b', 'a\u0000'])
const host = fc.oneof(
  { weight: 8, arbitrary: fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join('.')) },
  { weight: 1, arbitrary: fc.tuple(fc.array(label, { minLength: 1, maxLength: 3 }), fc.constantFrom('.', '..', '')).map(([l, d]) => d + l.join('.') + '.') },
  { weight: 1, arbitrary: fc.constantFrom('1.2.3.4', '10.0.0.1', '0x7f.1', '2130706433', '[::1]', '[::ffff:1.2.3.4]', '[2001:DB8::1]', '[::1', 'localhost', 'WWW.', 'www.com') }
)
const port = mix(['', ':80', ':', ':8080'], [':8a', ':*', '::80'])
const segment = mix(['', 'a', 'B', 'index.html', 'x.exe', 'a*b', 'a@b', 'a:b', '~u', 'a.', 'A.B'], ['.', '..', '%2e', '%2E%2e', '%2F', '%41', '%zz', 'é', '.hidden', 'A?', 'a#b'])
const separator = mix(['/'], ['\\', '//'])
const path = fc.tuple(fc.array(fc.tuple(separator, segment), { maxLength: 4 }), fc.boolean())
  .map(([segs, slash]) => segs.map(([sep, seg]) => sep + seg).join('') + (slash ? '/' : ''))
const query = fc.constantFrom('', '', '?', '?q=1', '?Q=A&b=%41', '?a/../b', '?é=É', '?x=1?y=2', '?a\\b', '?a//b/./c')
const fragment = fc.constantFrom('', '', '#', '#x', '#A?b', '#/../x')
const pad = mix([''], [' ', '\t', '\u0000'])
const url = fc.tuple(pad, scheme, userinfo, host, port, path, query, fragment, pad).map((p) => p.join(''))
// Also strings from a small URL-ish alphabet, for shapes the grammar does not think of.
const soup = fc.string({ unit: fc.constantFrom(...'aAwW.-_09:/\\?#@%[]*xn é'), maxLength: 30 })

/** Asserts that plainUrl agrees with the general path on s (plain and as a mask); true if it took s. */
function check (s: string): boolean {
  const fast = plainUrl(s)
  if (fast === null) return false
  assert.deepEqual(fast, normalizeUrlGeneral(s), `url ${JSON.stringify(s)}`)
  assert.deepEqual(fast, normalizeUrlGeneral(s, { mask: true }), `mask ${JSON.stringify(s)}`)
  return true
}

test('plainUrl gives what the general path gives, or declines (random URLs)', () => {
  let taken = 0
  let runs = 0
  fc.assert(fc.property(url, (s) => { runs++; if (check(s)) taken++ }), { numRuns: 20000, seed: 42 })
  // The grammar must exercise the fast path, not only its refusals.
  assert.ok(taken > runs / 10, `fast path taken ${taken} of ${runs} times`)
  fc.assert(fc.property(soup, (s) => { check(s) }), { numRuns: 20000, seed: 7 })
})

test('plainUrl takes the common shapes and hands over the rest', () => {
  const taken: Array<[string, string]> = [
    ['http://www.Example.com/A/b.html?Q=1#frag', 'example.com/a/b.html?q=1'],
    ['https://cdn.example.com:8443/', 'cdn.example.com'],
    ['ftp://files.example.org/pub/', 'files.example.org/pub'],
    ['https://vk.com/search?q=dae18a&lang=en', 'vk.com/search?q=dae18a&lang=en'],
    ['http://a.com/x/?y=1', 'a.com/x?y=1'],
    ['http://a.com?', 'a.com'],
    ['example.com:80/x', 'example.com/x'],
    ['http://www.com', 'com']
  ]
  for (const [input, want] of taken) {
    assert.equal(plainUrl(input)?.value, want, input)
    assert.equal(normalizeUrl(input)?.value, want, input)
  }
  const declined = ['http://u@a.com/', 'http://1.2.3.4/x', 'http://0x7f.1/', 'http://[::1]/', 'http://xn--bcher-kva.de/', 'http://a.com/%41',
    'http://a.com/a/../b', 'http://a.com//b', 'http://a.com\\b', 'http://a.com./', 'http://é.com/', ' http://a.com/', 'http:///a.com', '//a.com/', 'http://a.com/é']
  for (const input of declined) assert.equal(plainUrl(input), null, input)
})
