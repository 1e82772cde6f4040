// Feed data must never break a frame (DESIGN.md section 5): hostile values go through every
// preset and every syslog header, and the frames are parsed back with small independent parsers.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { Detection } from '../../src/match/detection.js'
import { createRenderer, type Renderer } from '../../src/render/renderer.js'
import { sampleDetection } from './fixtures.js'

const HOSTILE = 'a|b=c\\d\ne\rf"g\th\0i\x7f é 😀 key=val \\= \\| %Date% end\\'

function detection (over: Partial<Detection> = {}): Detection {
  return sampleDetection({ context: { note: HOSTILE }, actionable: [], rules: { RE_HASH: '44d88612fea8a8f36de82e1278abb02f' }, ...over })
}

const make = (preset: string, header: 'rfc5424' | 'rfc3164' | 'none' = 'none'): Renderer => createRenderer({
  preset,
  ruleNames: ['RE_HASH', 'RE_URL', 'SRC_IP', 'RE_IP'],
  syslog: { header, framing: 'lf', hostname: 'fm', appName: 'feedmatch', facility: 16 },
})

/** What a lossy escaper makes of a value: control characters it cannot escape become spaces. */
function lossy (s: string, kept: string): string {
  const out = s.replace(/[\x00-\x1f\x7f]/g, (c) => kept.includes(c) ? c : ' ')
  return out === '' ? '-' : out
}

/** A minimal CEF parser: 7 header fields split at unescaped `|`, then key=value at unescaped `=`. */
function parseCef (line: string): { header: string[], ext: Record<string, string> } {
  assert.ok(line.startsWith('CEF:'), line)
  const header: string[] = []
  let cur = ''
  let i = 0
  for (; i < line.length && header.length < 7; i++) {
    if (line[i] === '\\' && (line[i + 1] === '|' || line[i + 1] === '\\')) cur += line[++i]
    else if (line[i] === '|') { header.push(cur); cur = '' } else cur += line[i]
  }
  const ext = line.slice(i)
  const eqs: number[] = []
  for (let j = 0; j < ext.length; j++) {
    if (ext[j] === '\\') j++
    else if (ext[j] === '=') eqs.push(j)
  }
  const keyStart = eqs.map((eq) => ext.lastIndexOf(' ', eq) + 1)
  const out: Record<string, string> = {}
  eqs.forEach((eq, k) => {
    const key = ext.slice(keyStart[k], eq)
    assert.match(key, /^\w+$/, `a CEF key: ${JSON.stringify(key)} in ${JSON.stringify(line)}`)
    const end = k + 1 < eqs.length ? keyStart[k + 1] - 1 : ext.length
    out[key] = ext.slice(eq + 1, end).replace(/\\([\\=nr])/g, (_, c: string) => c === 'n' ? '\n' : c === 'r' ? '\r' : c)
  })
  return { header, ext: out }
}

function assertOneLine (frame: string, allowTab = false): void {
  assert.ok(frame.endsWith('\n'))
  const body = frame.slice(0, -1)
  assert.ok(!(allowTab ? /[\x00-\x08\x0a-\x1f\x7f]/ : /[\x00-\x1f\x7f]/).test(body), `one clean line: ${JSON.stringify(frame)}`)
}

test('CEF: hostile values in the header, the extension and the context parse back', () => {
  for (const header of ['rfc5424', 'rfc3164', 'none'] as const) {
    const frame = make('fortisiem', header).detectionFrame(detection({ category: HOSTILE, matched: HOSTILE, rules: { RE_URL: HOSTILE } }))
    assertOneLine(frame)
    const cef = parseCef(frame.slice(frame.indexOf('CEF:0|'), -1))
    assert.equal(cef.header.length, 7)
    assert.equal(cef.header[5], 'feedmatch Detection Event')
    assert.equal(cef.ext.reason, lossy(HOSTILE, '\n\r'))
    assert.equal(cef.ext.request, lossy(HOSTILE, '\n\r'))
    assert.equal(cef.ext.cs5, lossy(HOSTILE, '\n\r'))
    assert.equal(cef.ext.msg, `note:${lossy(HOSTILE, '\n\r')} `)
    assert.deepEqual(Object.keys(cef.ext), ['reason', 'dst', 'src', 'dvc', 'fileHash', 'request', 'sourceServiceName', 'sproc', 'suser', 'externalId', 'cs5Label', 'cs5', 'msg'])
  }
})

test('LEEF: hostile values stay one attribute each', () => {
  const frame = make('qradar').detectionFrame(detection({ category: HOSTILE, actionable: [['cs3', HOSTILE]] }))
  assertOneLine(frame, true)
  const body = frame.slice(0, -1)
  const fields = body.split('|')
  assert.equal(fields.slice(0, 6).join('|'), `LEEF:2.0|feedmatch|feedmatch|${fields[3]}|detection|x09`)
  const attrs = Object.fromEntries(fields.slice(6).join('|').split('\t').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]))
  assert.equal(attrs.cat, lossy(HOSTILE, ''))
  assert.equal(attrs.cs3, lossy(HOSTILE, ''))
  assert.equal(attrs.context, `note:${lossy(HOSTILE, '')} `)
  assert.equal(attrs.feed, 'kl_malicious_hash')
})

test('key=value: hostile values keep every key findable', () => {
  const frame = make('kv').detectionFrame(detection({ category: HOSTILE, value: HOSTILE }))
  assertOneLine(frame)
  const line = frame.slice(0, -1)
  // Keys are the words before the unescaped `=`; there must be exactly the preset's keys.
  const keys = [...line.matchAll(/(?:^| )(\w+)=/g)].filter((m) => {
    let bs = 0
    for (let i = m.index! + m[0].length - 2; i >= 0 && line[i] === '\\'; i--) bs++
    return bs % 2 === 0
  }).map((m) => m[1])
  assert.deepEqual(keys.slice(0, 8), ['feed', 'category', 'type', 'matched', 'value', 'rule', 'src', 'context'])
  const unescape = (s: string) => s.replace(/\\(.)/g, (_, c: string) => ({ n: '\n', r: '\r', t: '\t' } as Record<string, string>)[c] ?? c)
  const m = /category=((?:[^\\=]|\\.)*?) type=.* value=((?:[^\\=]|\\.)*?) rule=.* context=(.*)$/.exec(line)
  assert.ok(m)
  assert.equal(unescape(m[1]), lossy(HOSTILE, '\n\r\t'))
  assert.equal(unescape(m[2]), lossy(HOSTILE, '\n\r\t'))
  assert.equal(unescape(m[3]), ` note:${lossy(HOSTILE, '\n\r\t')}`)
})

test('ECS: hostile values round-trip exactly through JSON', () => {
  const frame = make('ecs', 'rfc5424').detectionFrame(detection({ category: HOSTILE, matched: HOSTILE, context: { [HOSTILE]: HOSTILE, n: { deep: [HOSTILE] } } }))
  assertOneLine(frame)
  const doc = JSON.parse(frame.slice(frame.indexOf('{'), -1))
  assert.equal(doc.feedmatch.category, HOSTILE)
  assert.equal(doc.threat.indicator.name, HOSTILE)
  assert.deepEqual(doc.feedmatch.context, { [HOSTILE]: HOSTILE, n: { deep: [HOSTILE] } })
})

test('service events with hostile context stay one line in every preset', () => {
  for (const p of ['alienvault', 'fortisiem', 'arcsight', 'qradar', 'ecs', 'kv']) {
    const r = make(p, 'rfc3164')
    assertOneLine(r.alertFrame({ time: 0, alert: HOSTILE, context: { reason: HOSTILE } }), p === 'qradar')
    assertOneLine(r.finishedFrame({ time: 0, sourceIp: HOSTILE, detections: 1, rules: {} }), p === 'qradar')
  }
})

// Strings rich in what breaks frames, mixed with arbitrary code points.
const nasty = fc.string({
  unit: fc.oneof(fc.constantFrom('|', '=', '\\', '\n', '\r', '\t', '\0', '"', ' ', '%', '\x7f', '\u2028', 'é', '😀', 'n', 'r'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })),
  maxLength: 40,
})

test('property: every CEF frame is one line and parses back to the same values', () => {
  const r = make('arcsight', 'rfc5424')
  fc.assert(fc.property(nasty, nasty, (ctx, cat) => {
    const frame = r.detectionFrame(detection({ context: { note: ctx }, category: cat }))
    assertOneLine(frame)
    const cef = parseCef(frame.slice(frame.indexOf('CEF:0|'), -1))
    assert.equal(cef.ext.msg, `note:${lossy(ctx, '\n\r')} `)
    assert.equal(cef.ext.reason, lossy(cat, '\n\r'))
  }), { numRuns: 1000 })
})

test('property: every JSON frame is one line and parses back to the same values', () => {
  const r = make('ecs', 'rfc3164')
  fc.assert(fc.property(nasty, nasty, (ctx, cat) => {
    const frame = r.detectionFrame(detection({ context: { [cat]: ctx }, category: cat }))
    assertOneLine(frame)
    const doc = JSON.parse(frame.slice(frame.indexOf('{'), -1))
    assert.deepEqual(doc.feedmatch.context, { [cat]: ctx })
    assert.equal(doc.feedmatch.category, cat)
  }), { numRuns: 1000 })
})

test('property: every kv and LEEF frame is one line', () => {
  const kv = make('alienvault', 'rfc5424')
  const leef = make('qradar', 'rfc5424')
  fc.assert(fc.property(nasty, (s) => {
    assertOneLine(kv.detectionFrame(detection({ context: { note: s }, category: s })))
    const frame = leef.detectionFrame(detection({ context: { note: s }, category: s }))
    assertOneLine(frame, true)
    assert.equal(frame.split('\t').length, 14, 'the attribute count never changes')
  }), { numRuns: 500 })
})
