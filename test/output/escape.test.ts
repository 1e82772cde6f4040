import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { ESCAPE_NAMES, escaper } from '../../src/render/escape.js'

const CONTROL = /[\x00-\x1f\x7f]/

test('cef-header escapes \\ and |, and turns every control character into a space', () => {
  const e = escaper('cef-header')
  assert.equal(e('a|b\\c=d'), 'a\\|b\\\\c=d')
  assert.equal(e('line1\nline2\r\tx\0y\x7f'), 'line1 line2  x y ')
})

test('cef-ext escapes \\ = LF CR the CEF way; other controls become spaces; | stays', () => {
  const e = escaper('cef-ext')
  assert.equal(e('a=b\\c|d'), 'a\\=b\\\\c|d')
  assert.equal(e('1\n2\r3\t4\x005\x7f'), '1\\n2\\r3 4 5 ')
})

test('leef replaces its delimiter and every control character; nothing else changes', () => {
  assert.equal(escaper('leef')('a\tb=c|d\\e\nf'), 'a b=c|d\\e f')
  assert.equal(escaper('leef', { delimiter: '^' })('a^b\tc'), 'a b c')
  assert.equal(escaper('leef', { delimiter: '¦' })('a¦b'), 'a b', 'a non-ASCII delimiter is replaced too')
  assert.equal(escaper('leef-header')('v|1\\2\n'), 'v\\|1\\\\2 ')
})

test('kv escapes \\ = LF CR tab with a backslash, keeps spaces, other controls become spaces', () => {
  const e = escaper('kv')
  assert.equal(e('http://x/?a=1&b=2 c'), 'http://x/?a\\=1&b\\=2 c')
  assert.equal(e('a\\b\nc\rd\te\x01f'), 'a\\\\b\\nc\\rd\\te f')
})

test('json is JSON string content, DEL included, and lossless', () => {
  const e = escaper('json')
  const s = 'q"\\\n\r\t\0\x7f€😀\ud800'
  const out = e(s)
  assert.ok(!CONTROL.test(out))
  assert.equal(JSON.parse(`"${out}"`), s)
})

test('none only removes control characters', () => {
  assert.equal(escaper('none')('a|b=c\\\n\x7f'), 'a|b=c\\  ')
})

test('a value without special characters is returned as is (the common, allocation-free case)', () => {
  for (const name of ESCAPE_NAMES) assert.equal(escaper(name)('44d88612fea8a8f36de82e1278abb02f'), '44d88612fea8a8f36de82e1278abb02f')
})

test('property: no escaper ever lets a control character through', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (s) => {
    for (const name of ESCAPE_NAMES) assert.ok(!CONTROL.test(escaper(name)(s)), `${name} ${JSON.stringify(s)}`)
  }), { numRuns: 2000 })
})
