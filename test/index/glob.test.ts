import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { globMatch, holdsNeedle, maskNeedle } from '../../src/index/glob.js'

const glob = (mask: string, host: string, rest = ''): boolean => {
  const m = new Uint8Array(Buffer.from(mask, 'latin1'))
  return globMatch(m, 0, m.length, host, rest)
}

test('glob: `*` spans any run, `?` is literal, no `*` means equality', () => {
  assert.equal(glob('a.com/x*', 'a.com', '/x/y?z'), true)
  assert.equal(glob('a.com/x', 'a.com', '/x?1'), false)
  assert.equal(glob('a.com/x?1', 'a.com', '/x?1'), true)
  assert.equal(glob('a.com/x?1', 'a.com', '/xy1'), false, '? is not a wildcard')
  assert.equal(glob('*', '', ''), true)
  assert.equal(glob('**a**', 'xxa', '/'), true)
  assert.equal(glob('*a*b', 'ab', '/ab/b'), true)
  assert.equal(glob('*a*b', 'ab', '/ab/c'), false)
  assert.equal(glob('a*', 'b', ''), false)
  assert.equal(glob('', '', ''), true)
  assert.equal(glob('', 'a', ''), false)
})

test('glob equals an anchored regex on random masks and URLs split anywhere', () => {
  const chars = fc.constantFrom('a', 'b', '.', '/', '?', '*')
  const text = fc.array(fc.constantFrom('a', 'b', '.', '/', '?'), { maxLength: 12 }).map((c) => c.join(''))
  fc.assert(fc.property(fc.array(chars, { maxLength: 10 }).map((c) => c.join('')), text, fc.nat(), (mask, url, cut) => {
    const re = new RegExp('^' + mask.split('*').map((s) => s.replace(/[.?/]/g, '\\$&')).join('[\\s\\S]*') + '$')
    const at = cut % (url.length + 1)
    assert.equal(glob(mask, url.slice(0, at), url.slice(at)), re.test(url), `${mask} ~ ${url}`)
  }), { numRuns: 5000 })
})

test('needles: the longest literal run of a mask, found in host + rest wherever it lies', () => {
  const needle = (mask: string): string => { const m = new Uint8Array(Buffer.from(mask, 'latin1')); return maskNeedle(m, 0, m.length) }
  assert.equal(needle('*evil*'), 'evil')
  assert.equal(needle('a*bcd*ef'), 'bcd')
  assert.equal(needle('***'), '')
  assert.equal(needle('bad.net*'), 'bad.net')
  assert.equal(holdsNeedle('x.bad', '.net/', 'bad.net'), true, 'across host and rest')
  assert.equal(holdsNeedle('x.bad', '/net', 'bad.net'), false)
  const text = fc.array(fc.constantFrom('a', 'b', '.', '/'), { maxLength: 10 }).map((c) => c.join(''))
  fc.assert(fc.property(text, text, text, (host, rest, n) => {
    assert.equal(holdsNeedle(host, rest, n), (host + rest).includes(n), `${n} in ${host}|${rest}`)
  }), { numRuns: 5000 })
  // What the index relies on: a URL the mask matches holds the mask's needle.
  const chars = fc.constantFrom('a', 'b', '.', '/', '*')
  fc.assert(fc.property(fc.array(chars, { maxLength: 10 }).map((c) => c.join('')), text, fc.nat(), (mask, url, cut) => {
    const at = cut % (url.length + 1)
    if (glob(mask, url.slice(0, at), url.slice(at))) assert.ok(holdsNeedle(url.slice(0, at), url.slice(at), needle(mask)), `${mask} ~ ${url}`)
  }), { numRuns: 5000 })
})
