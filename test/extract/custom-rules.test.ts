/**
 * A source's own lookup rules beside a built-in preset: the preset keeps its byte scanner and the
 * added rules run on RE2 behind a required literal, with the same spans, rules and order as RE2
 * alone gives for the whole rule set (checked on random events).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { compileExtractor, compileRe2Extractor, type Extractor } from '../../src/extract/extractor.js'
import { requiredLiteral } from '../../src/extract/literal.js'
import { Candidates, type SourceSpec } from '../../src/extract/types.js'

const spec: SourceSpec = {
  name: 'proxy',
  preset: 'generic',
  normalize: [],
  rules: [
    { name: 'RE_DOMAIN', type: 'DOMAIN', extract: 'all', pattern: 'host=([\\w.-]+)' },
    { name: 'SNI', type: 'DOMAIN', extract: 'first', pattern: '\\bsni=([\\w.-]+)' },
    { name: 'User', type: 'CONTEXT', extract: 'first', pattern: 'user=(\\w+)' },
  ],
}

function spans (x: Extractor, buf: Buffer): string[] {
  const out = new Candidates()
  x.run(buf, 0, buf.length, out)
  return Array.from({ length: out.n }, (_, i) => `${x.rules[out.rule[i]]!.name} ${out.start[i]}-${out.end[i]}`)
}

test('the preset stays on the byte scanner when a source adds rules of its own', () => {
  assert.equal(compileExtractor(spec).engine, 'scanner')
  // Replacing a preset rule changes what the scanner finds: then RE2 takes all.
  assert.equal(compileExtractor({ ...spec, rules: [{ name: 'RE_IP', type: 'IP', extract: 'all', pattern: 'ip=(\\S+)' }] }).engine, 're2')
})

test('scanner plus RE2 for the added rules gives what RE2 alone gives', () => {
  const hybrid = compileExtractor(spec)
  const re2 = compileRe2Extractor(spec)
  const piece = fc.constantFrom('host=evil.example', 'host=', 'sni=a.b', 'xsni=c.d', ' ', 'GET http://x.example/a', '10.0.0.1', 'user=bob',
    'd41d8cd98f00b204e9800998ecf8427e', 'HOST=UP.example', '=', '.', 'é', '\u00ff')
  fc.assert(fc.property(fc.array(piece, { maxLength: 12 }), (parts) => {
    const buf = Buffer.from(parts.join(''))
    assert.deepEqual(spans(hybrid, buf), spans(re2, buf))
  }), { numRuns: 3000 })
})

test('events of one batch buffer, in order and again from the start (a reused buffer): the same spans as RE2', () => {
  const hybrid = compileExtractor(spec)
  const re2 = compileRe2Extractor(spec)
  const line = fc.array(fc.constantFrom('host=evil.example', 'host=', 'sni=a.b', ' ', 'x', '10.0.0.1', 'user=bob'), { maxLength: 6 }).map((p) => p.join(''))
  fc.assert(fc.property(fc.array(line, { minLength: 1, maxLength: 12 }), fc.array(line, { minLength: 1, maxLength: 12 }), (a, b) => {
    for (const lines of [a, b]) {
      // The same Buffer object for both batches, as a worker reuses its batch buffer.
      const text = lines.join('\n')
      const buf = shared
      buf.fill(0x20)
      buf.write(text)
      let at = 0
      for (const l of lines) {
        const n = Buffer.byteLength(l)
        const h = new Candidates(); hybrid.run(buf, at, at + n, h)
        const r = new Candidates(); re2.run(buf, at, at + n, r)
        const list = (x: Candidates): string[] => Array.from({ length: x.n }, (_, i) => `${x.rule[i]} ${x.start[i]}-${x.end[i]}`)
        assert.deepEqual(list(h), list(r), JSON.stringify(lines))
        at += n + 1
      }
    }
  }), { numRuns: 2000 })
})
const shared = Buffer.alloc(4096)

test('the required literal of a pattern', () => {
  const lit = (p: string): string | null => requiredLiteral(p)?.toString() ?? null
  assert.equal(lit('host=([\\w.-]+)'), 'host=')
  assert.equal(lit('\\bsni=(\\S+)'), 'sni=')
  assert.equal(lit('dst\\=(\\d+)'), 'dst=')
  assert.equal(lit('query: (\\S+)'), 'query: ')
  assert.equal(lit('(?i)host=(x)'), null)
  assert.equal(lit('abc|def'), null)
  assert.equal(lit('abcd?e'), 'abc')
  assert.equal(lit('[a-z]+=(x)'), null)
})
