/**
 * Splunk's and Elastic's extractions, taken from the generated files and applied to real output
 * of `feedmatch serve`: the REGEX of every transforms.conf stanza (PCRE; the patterns use only
 * what JavaScript reads the same way) on the kv preset with an RFC 5424 header, and the ingest
 * pipeline's `dissect` (applied with the dissect rules: each key runs to the next literal
 * delimiter, the last key takes the rest) plus its `json` step on the ecs preset.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { cli, expectations, hostileRecords, serveToFile, tempDir, valueText } from './helpers.js'

/** The stanzas of a Splunk .conf file: `[name]` then `KEY = value` lines. */
function splunkConf (text: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>()
  let cur: Record<string, string> | undefined
  for (const line of text.split('\n')) {
    const s = /^\[(.+)\]$/.exec(line)
    if (s !== null) { cur = {}; out.set(s[1], cur); continue }
    const kv = /^(\S+) = (.*)$/.exec(line)
    if (kv !== null && cur !== undefined) cur[kv[1]] = kv[2]
  }
  return out
}

/** Elasticsearch's dissect: literals and %{key}s; `%{?key}` is matched and dropped. */
function dissect (pattern: string, text: string): Record<string, string> | undefined {
  const parts = pattern.split(/(%\{[^}]*\})/).filter((p) => p !== '')
  const out: Record<string, string> = {}
  let pos = 0
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]
    if (!p.startsWith('%{')) {
      if (!text.startsWith(p, pos)) return undefined
      pos += p.length
      continue
    }
    const next = parts[i + 1]
    const end = next === undefined ? text.length : text.indexOf(next, pos)
    if (end < 0) return undefined
    const key = p.slice(2, -1)
    if (!key.startsWith('?')) out[key] = text.slice(pos, end)
    pos = end
  }
  return out
}

function unescapeKv (s: string): string {
  return s.replace(/\\(.)/g, (_m, c: string) => ({ n: '\n', r: '\r', t: '\t' })[c] ?? c)
}

describe('Splunk and Elastic extractions applied to feedmatch output', { timeout: 120_000 }, () => {
  const tmp = tempDir('splunk-elastic')
  const expected = expectations()
  const want = new Map(expected.map((e) => [`${e.category}\n${e.matched}`, e]))
  const records = hostileRecords()
  let kv: string[] = []
  let ecs: string[] = []
  before(async () => {
    for (const siem of ['splunk', 'elastic']) {
      const r = cli(['connector', siem, '-o', join(tmp.dir, siem)])
      assert.equal(r.status, 0, r.stderr)
    }
    // As the generated feedmatch.yaml files say: kv with RFC 5424 for Splunk, ecs with RFC 5424 for Filebeat.
    ;[kv, ecs] = await Promise.all([
      serveToFile(tmp.dir, 'kv', { preset: 'kv', header: 'rfc5424' }, { actionable: { threat: 'threat' } }),
      serveToFile(tmp.dir, 'ecs', { preset: 'ecs', header: 'rfc5424' }),
    ])
  })
  after(() => tmp.remove())

  it('Splunk: the transforms.conf regexes give every documented field of the kv preset', () => {
    const conf = splunkConf(readFileSync(join(tmp.dir, 'splunk/transforms.conf'), 'utf8'))
    const props = readFileSync(join(tmp.dir, 'splunk/props.conf'), 'utf8')
    assert.match(props, /^REPORT-feedmatch = feedmatch_kv_detection, feedmatch_kv_service, feedmatch_kv_actionable$/m)
    const detection = new RegExp(conf.get('feedmatch_kv_detection')!.REGEX)
    const service = new RegExp(conf.get('feedmatch_kv_service')!.REGEX)
    const actionable = conf.get('feedmatch_kv_actionable')!
    assert.equal(actionable.SOURCE_KEY, 'actionablefields')
    assert.equal(actionable.FORMAT, '$1::$2')
    const pairs = new RegExp(actionable.REGEX, 'g')
    let detections = 0
    for (const line of kv) {
      assert.match(line, /^<\d+>1 \S+ \S+ feedmatch \d+ (detection|service) - /)
      const d = detection.exec(line)?.groups
      if (d === undefined) {
        const s = service.exec(line)?.groups
        assert.ok(s !== undefined, `no transform matched: ${line}`)
        assert.match(s.alert, /^(started|stopping)$/)
        continue
      }
      detections++
      assert.deepEqual(Object.keys(d), ['feed', 'category', 'type', 'matched', 'value', 'rule', 'src', 'actionablefields', 'context'])
      const e = want.get(`${unescapeKv(d.category)}\n${unescapeKv(d.matched)}`)
      assert.ok(e !== undefined, `unexpected detection ${d.category} ${d.matched}`)
      assert.equal(d.feed, d.category)
      assert.match(d.type, /^(md5|sha1|sha256|ip|url|domain)$/)
      assert.match(d.rule, /^RE_\w+$/)
      assert.equal(d.src, '127.0.0.1')
      const fields = Object.fromEntries([...d.actionablefields.matchAll(pairs)].map((m) => [m[1], unescapeKv(m[2])]))
      const rec = records.get(unescapeKv(d.matched))
      if (rec === undefined) {
        assert.deepEqual(fields, {})
        assert.match(d.context, /^ \S+:/)
        continue
      }
      assert.deepEqual(fields, { threat: rec.threat }, 'actionable field extracted whole')
      assert.equal(unescapeKv(d.context), Object.entries(rec).map(([k, v]) => ` ${k}:${valueText(v)}`).join(''))
    }
    assert.equal(detections, expected.length)
  })

  it('Elastic: the pipeline\'s dissect cuts the RFC 5424 header and its json step reads the ECS document', () => {
    const pipeline = JSON.parse(readFileSync(join(tmp.dir, 'elastic/feedmatch-pipeline.json'), 'utf8')) as { description: string, processors: Array<Record<string, Record<string, unknown>>> }
    assert.match(pipeline.description, /PUT _ingest\/pipeline\/feedmatch/)
    const step = pipeline.processors.find((p) => 'dissect' in p)?.dissect as { field: string, pattern: string }
    const json = pipeline.processors.find((p) => 'json' in p)?.json as { field: string, add_to_root: boolean }
    assert.equal(step.field, 'message')
    assert.equal(json.add_to_root, true)
    let detections = 0
    for (const message of ecs) {
      const f = dissect(step.pattern, message)
      assert.ok(f !== undefined, `dissect failed on ${message}`)
      assert.match(f['log.syslog.priority'], /^\d+$/)
      assert.equal(f['log.syslog.version'], '1')
      // ECS has no log.syslog.timestamp: the header's time is skipped, the document's @timestamp stays.
      assert.equal(f['log.syslog.timestamp'], undefined)
      assert.equal(f['log.syslog.appname'], 'feedmatch')
      assert.match(f['log.syslog.procid'], /^\d+$/)
      const doc = JSON.parse(f[json.field]) as { event: { kind: string }, feedmatch: { category: string, matched: string, context: unknown }, threat?: { indicator: { name: string } } }
      if (f['log.syslog.msgid'] === 'service') { assert.equal(doc.event.kind, 'event'); continue }
      detections++
      assert.equal(f['log.syslog.msgid'], 'detection')
      assert.equal(doc.event.kind, 'alert')
      assert.ok(want.has(`${doc.feedmatch.category}\n${doc.feedmatch.matched}`), `unexpected detection ${doc.feedmatch.matched}`)
      assert.equal(doc.threat?.indicator.name, doc.feedmatch.matched)
      const rec = records.get(doc.feedmatch.matched)
      if (rec !== undefined) assert.deepEqual(doc.feedmatch.context, rec)
    }
    assert.equal(detections, expected.length)
  })

  it('Elastic: the index template maps the fields the pipeline produces', () => {
    const t = JSON.parse(readFileSync(join(tmp.dir, 'elastic/feedmatch-index-template.json'), 'utf8')) as { index_patterns: string[], template: { settings: Record<string, string>, mappings: { properties: Record<string, { properties?: Record<string, { type?: string }> }> } } }
    assert.deepEqual(t.index_patterns, ['feedmatch-*'])
    assert.equal(t.template.settings['index.default_pipeline'], 'feedmatch')
    const p = t.template.mappings.properties
    assert.equal(p.feedmatch.properties?.context.type, 'flattened')
    assert.equal(p.source.properties?.ip.type, 'ip')
    assert.equal(p.threat.properties?.enrichments.type, 'nested')
  })
})
