/**
 * feedmatch's CEF, LEEF and JSON read back by parsers nobody here wrote: rsyslog's liblognorm
 * (`lognormalizer`, Debian liblognorm-utils: its `cef` parser, and its generic parsers for LEEF's
 * header and tab-separated attributes) and `jq` (Debian jq). The output comes from a real
 * `feedmatch serve`; the hostile feed puts `|`, `=`, `\`, line breaks, tabs and unicode in the
 * feed context, and every field must come back as it was (LEEF, which has no escapes, with
 * control characters as spaces).
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { skipWithout } from '../helpers/peers.js'
import { FIXTURES, expectations, hostileRecords, requireTool, serveToFile, tempDir, tool, valueText, type Expected } from './helpers.js'

const VERSION = (await import('../../package.json', { with: { type: 'json' } })).default.version

/** `name:value ` per record field: CyberTrace's default RecordFieldContextFormat. */
function recordContext (rec: Record<string, unknown>): string {
  return Object.entries(rec).map(([k, v]) => `${k}:${valueText(v)} `).join('')
}

/**
 * liblognorm 2.0.6 (Debian 12) skips the byte after the CEF header's last `|` (it steps over that
 * `|` twice), which would cut the first extension key; a space there, which CEF readers ignore
 * before a key, keeps the parse exact. Found by counting unescaped `|`, as any CEF reader does.
 */
function shimLiblognorm (line: string): string {
  let pipes = 0
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\\') { i++; continue }
    if (line[i] === '|' && ++pipes === 7) return `${line.slice(0, i + 1)} ${line.slice(i + 1)}`
  }
  assert.fail(`not a CEF line: ${line}`)
}

function byKey (expected: Expected[]): Map<string, Expected> {
  return new Map(expected.map((e) => [`${e.category}\n${e.matched}`, e]))
}

describe('CEF, LEEF and JSON read back by independent parsers', { timeout: 120_000 }, () => {
  const tmp = tempDir('parsers')
  const expected = expectations()
  const records = hostileRecords()
  const out: Record<'cef' | 'leef' | 'json', string[]> = { cef: [], leef: [], json: [] }
  before(async () => {
    const [cef, leef, json] = await Promise.all([
      serveToFile(tmp.dir, 'cef', { preset: 'fortisiem', header: 'none' }),
      serveToFile(tmp.dir, 'leef', { preset: 'qradar', header: 'none' }),
      serveToFile(tmp.dir, 'json', { preset: 'ecs', header: 'none' }),
    ])
    Object.assign(out, { cef, leef, json })
  })
  after(() => tmp.remove())

  it('CEF (fortisiem preset): liblognorm\'s cef parser gets every header field and extension back', { skip: skipWithout('lognormalizer', 'liblognorm-utils') }, () => {
    const lognormalizer = requireTool('lognormalizer', 'liblognorm-utils')
    const parsed = tool(lognormalizer, ['-r', join(FIXTURES, 'cef.rulebase'), '-e', 'json'], out.cef.map(shimLiblognorm).join('\n') + '\n')
      .split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { cef?: { DeviceVendor: string, DeviceProduct: string, DeviceVersion: string, SignatureID: string, Name: string, Severity: string, Extensions: Record<string, string> } })
    assert.equal(parsed.length, out.cef.length)
    const want = byKey(expected)
    let detections = 0
    parsed.forEach((p, i) => {
      assert.ok(p.cef !== undefined, `lognormalizer could not parse: ${out.cef[i]}`)
      const { Extensions: x, ...head } = p.cef
      assert.deepEqual([head.DeviceVendor, head.DeviceProduct, head.DeviceVersion], ['feedmatch', 'feedmatch', VERSION])
      if (head.SignatureID === '1') {
        assert.deepEqual([head.Name, head.Severity, Object.keys(x)], ['feedmatch Service Event', '4', ['reason', 'msg']])
        return
      }
      detections++
      assert.deepEqual([head.SignatureID, head.Name, head.Severity], ['2', 'feedmatch Detection Event', '8'])
      assert.deepEqual(Object.keys(x), ['reason', 'dst', 'src', 'dvc', 'fileHash', 'request', 'sourceServiceName', 'sproc', 'suser', 'externalId', 'cs5Label', 'cs5', 'msg'])
      const e = want.get(`${x.reason}\n${x.cs5}`)
      assert.ok(e !== undefined, `unexpected detection ${x.reason} ${x.cs5}`)
      assert.equal(x.cs5Label, 'MatchedIndicator')
      assert.equal(x.src, e.src)
      const rec = records.get(x.cs5)
      // CEF escapes line breaks (\n, \r); other control characters, tab included, become spaces.
      if (rec !== undefined) assert.equal(x.msg, recordContext(rec).replace(/[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]/g, ' '), `msg of ${x.cs5}`)
      else assert.match(x.msg, /^\S+:/)
    })
    assert.equal(detections, expected.length)
  })

  it('LEEF 2.0 (qradar preset): liblognorm splits header and tab-separated attributes; values survive', { skip: skipWithout('lognormalizer', 'liblognorm-utils') }, () => {
    const lognormalizer = requireTool('lognormalizer', 'liblognorm-utils')
    const parsed = tool(lognormalizer, ['-r', join(FIXTURES, 'leef.rulebase'), '-e', 'json'], out.leef.join('\n') + '\n')
      .split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { version?: string, vendor: string, product: string, pversion: string, eventid: string, delimiter: string, attrs: Array<{ key: string, value: string }> })
    assert.equal(parsed.length, out.leef.length)
    const want = byKey(expected)
    let detections = 0
    parsed.forEach((p, i) => {
      assert.ok(p.version !== undefined, `lognormalizer could not parse: ${out.leef[i]}`)
      assert.deepEqual([p.version, p.vendor, p.product, p.pversion, p.delimiter], ['2.0', 'feedmatch', 'feedmatch', VERSION, 'x09'])
      const a = Object.fromEntries(p.attrs.map((x) => [x.key, x.value]))
      assert.equal(p.attrs.length, Object.keys(a).length, 'each attribute once')
      assert.match(a.devTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
      if (p.eventid === 'service') {
        assert.deepEqual(Object.keys(a), ['devTime', 'devTimeFormat', 'sev', 'reason', 'context'])
        return
      }
      detections++
      assert.equal(p.eventid, 'detection')
      assert.deepEqual(Object.keys(a), ['devTime', 'devTimeFormat', 'sev', 'cat', 'indicator', 'indicatorType', 'value', 'src', 'dst', 'url', 'fileHash', 'feed', 'rule', 'context'])
      const e = want.get(`${a.cat}\n${a.indicator}`)
      assert.ok(e !== undefined, `unexpected detection ${a.cat} ${a.indicator}`)
      assert.deepEqual([a.sev, a.src, a.feed], ['8', e.src, a.cat])
      const rec = records.get(a.indicator)
      // LEEF has no escapes: tabs, line breaks and other control characters become spaces.
      if (rec !== undefined) assert.equal(a.context, recordContext(rec).replace(/[\x00-\x1f\x7f]/g, ' '), `context of ${a.indicator}`)
    })
    assert.equal(detections, expected.length)
  })

  it('JSON (ecs preset): jq reads every line; the record context is the feed record, byte for byte', { skip: skipWithout('jq', 'jq') }, () => {
    const jq = requireTool('jq', 'jq')
    const rows = tool(jq, ['-c', '[.event.kind, .event.dataset, .feedmatch.category, .feedmatch.matched, .threat.indicator.name, .log.source.address, .feedmatch.context, .source.ip]'], out.json.join('\n') + '\n')
      .split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as [string, string, string, string, string, string, Record<string, unknown>, string | null])
    assert.equal(rows.length, out.json.length)
    const want = byKey(expected)
    let detections = 0
    for (const [kind, dataset, category, matched, name, relay, context, src] of rows) {
      if (kind === 'event') { assert.equal(dataset, 'feedmatch.service'); continue }
      detections++
      assert.deepEqual([kind, dataset, name], ['alert', 'feedmatch.detection', matched])
      const e = want.get(`${category}\n${matched}`)
      assert.ok(e !== undefined, `unexpected detection ${category} ${matched}`)
      // log.source.address is the sender's (a relay; serveToFile sends from loopback), source.ip the event's own src=.
      assert.equal(relay, '127.0.0.1')
      assert.equal(src, e.src === '-' ? null : e.src, `source.ip of ${matched}`)
      const rec = records.get(matched)
      if (rec !== undefined) assert.deepEqual(context, rec)
    }
    assert.equal(detections, expected.length)
  })
})
