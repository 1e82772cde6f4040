import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fieldValues, getField, guessIndicatorFields, looksLikeIndicator } from '../../src/feeds/fields.js'

const rec = {
  id: 7,
  indicator: { value: ' 198.51.100.7 ', type: 'ip' },
  files: [{ MD5: 'a', names: ['x.exe', 'y.exe'] }, { MD5: 'b', names: ['z.dll'] }, { other: 1 }],
  hash: { '@type': 'md5', '#text': 'c' },
  empty: '',
  port: 443
}

test('getField walks a/b paths and collects a path through arrays, flattened', () => {
  assert.equal(getField(rec, 'id'), 7)
  assert.equal(getField(rec, 'indicator/type'), 'ip')
  assert.equal(getField(rec, 'indicator/missing'), undefined)
  assert.equal(getField(rec, 'id/deeper'), undefined)
  assert.deepEqual(getField(rec, 'files/MD5'), ['a', 'b'])
  assert.deepEqual(getField(rec, 'files/names'), ['x.exe', 'y.exe', 'z.dll'])
  assert.equal(getField(rec, ''), rec)
  assert.deepEqual(getField([{ a: 1 }, { a: 2 }], 'a'), [1, 2])
})

test('fieldValues keeps the non-empty strings and numbers, trimmed, and the text of XML elements', () => {
  assert.deepEqual(fieldValues(rec, 'indicator/value'), ['198.51.100.7'])
  assert.deepEqual(fieldValues(rec, 'files/names'), ['x.exe', 'y.exe', 'z.dll'])
  assert.deepEqual(fieldValues(rec, 'port'), ['443'])
  assert.deepEqual(fieldValues(rec, 'empty'), [])
  assert.deepEqual(fieldValues(rec, 'indicator'), [])
  assert.deepEqual(fieldValues(rec, 'hash'), ['c'])
  assert.deepEqual(fieldValues(rec, 'nothing'), [])
})

test('guessIndicatorFields maps common names to kinds, case-insensitively', () => {
  assert.deepEqual(guessIndicatorFields(['id', 'IP_Address', 'URL', 'hostname', 'sha256', 'Indicator', '@value', 'threat']), [
    { field: 'IP_Address', kind: 'ip' },
    { field: 'URL', kind: 'url' },
    { field: 'hostname', kind: 'host' },
    { field: 'sha256', kind: 'sha256' },
    { field: 'Indicator', kind: 'auto' },
    { field: '@value', kind: 'auto' }
  ])
})

test('looksLikeIndicator tells values from header names', () => {
  for (const v of ['44d88612fea8a8f36de82e1278abb02f', '10.0.0.0/8', '2001:db8::1', '192.0.2.1-192.0.2.9', 'http://a.example/x', 'evil.example.com', '*.example.org', 'example.com/path?q=1']) {
    assert.ok(looksLikeIndicator(v), v)
  }
  for (const v of ['ip', 'first_seen', 'threat score', '', '42', '2024-01-01', 'Category']) {
    assert.ok(!looksLikeIndicator(v), v)
  }
})
