import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Detection } from '../../src/match/detection.js'
import { createRenderer, type RendererOptions } from '../../src/render/renderer.js'
import { PRESET_NAMES, feedmatchVersion, getPreset } from '../../src/render/presets.js'
import { sampleDetection } from './fixtures.js'

const T = Date.UTC(2024, 0, 5, 3, 4, 5, 678)
const ISO = '2024-01-05T03:04:05.678Z'
const DOMAIN = 'e77716a952f640b42e4371759a661663.com'

// The AlienVault guide's example detection.
const phishing: Detection = {
  time: T,
  feed: 'kl_phishing_url',
  category: 'KL_Phishing_URL',
  type: 'domain',
  matched: DOMAIN,
  value: DOMAIN,
  rule: 'RE_URL',
  context: { first_seen: '10.07.2015 23:53', id: 999999999, last_seen: '04.10.2019 06:25', mask: DOMAIN, popularity: 1, type: 1 },
  actionable: [],
  sourceIp: '192.168.0.10',
  rules: { RE_URL: DOMAIN, SRC_IP: '192.168.0.0' },
  obfuscation: [],
}

// A CEF event from FortiSIEM whose hash matched, with the guide's actionable field.
const hash: Detection = sampleDetection({
  context: { file_type: 'exe', threat: 'EICAR-Test-File' },
  rules: { RE_HASH: '44D88612FEA8A8F36DE82E1278ABB02F', RE_IP: '10.2.2.2', SRC_IP: '10.1.1.1', DeviceIp: '10.3.3.3', Device: 'FortiGate', Product: 'FortiOS', UserName: 'alice', Id: '42' }
})

const RULES = ['RE_URL', 'SRC_IP', 'RE_IP', 'RE_HASH', 'DeviceIp', 'Device', 'Product', 'UserName', 'Id']

function renderer (preset: string, over: Partial<RendererOptions> = {}) {
  return createRenderer({
    preset,
    ruleNames: RULES,
    version: '1.2.3',
    syslog: { header: 'none', framing: 'lf', hostname: 'fm', appName: 'feedmatch', facility: 16 },
    ...over,
  })
}

const alert = { time: T, alert: 'feeds_loaded', context: { feeds: 8, records: 1200 } }
const finished = { time: T, sourceIp: '10.0.0.7', detections: 2, rules: { RE_URL: DOMAIN } }

test('alienvault: the guide\'s detection and alert formats, key=value escaping', () => {
  const r = renderer('alienvault')
  assert.equal(r.renderDetection(phishing),
    `category=KL_Phishing_URL detected=${DOMAIN} url=${DOMAIN} src=192.168.0.0 ip=- hash=- ` +
    `context= first_seen=10.07.2015 23:53 id=999999999 last_seen=04.10.2019 06:25 mask=${DOMAIN} popularity=1 type=1`)
  assert.equal(r.renderAlert(alert), 'alert=feeds_loaded context= feeds=8 records=1200')
  assert.equal(r.renderFinished(finished), 'event=finished src=10.0.0.7 detections=2')
})

test('alienvault: the plugin\'s regex reads back values that hold spaces and =', () => {
  const r = renderer('alienvault')
  const url = 'evil.example/login?a=1&b=2 x'
  const line = r.renderDetection({ ...phishing, category: 'My Feed=1', matched: url, rules: { RE_URL: url, SRC_IP: '1.2.3.4' } })
  // The regex our AlienVault plugin uses (escape.ts documents the rule it relies on).
  const v = '((?:[^\\\\=]|\\\\.)*?)'
  const re = new RegExp(`^category=${v} detected=${v} url=${v} src=${v} ip=${v} hash=${v} context=(.*)$`)
  const m = re.exec(line)
  assert.ok(m, line)
  const unescape = (s: string) => s.replace(/\\(.)/g, (_, c: string) => ({ n: '\n', r: '\r', t: '\t' } as Record<string, string>)[c] ?? c)
  assert.deepEqual(m.slice(1, 7).map(unescape), ['My Feed=1', url, url, '1.2.3.4', '-', '-'])
})

test('fortisiem and arcsight: the FortiSIEM guide\'s CEF with feedmatch in the header', () => {
  const ctx = 'msg=file_type:exe threat:EICAR-Test-File '
  for (const name of ['fortisiem', 'arcsight']) {
    const r = renderer(name)
    assert.equal(r.renderDetection(hash),
      'CEF:0|feedmatch|feedmatch|1.2.3|2|feedmatch Detection Event|8|reason=KL_Malicious_Hash_MD5 dst=10.2.2.2 src=10.1.1.1 ' +
      'dvc=10.3.3.3 fileHash=44D88612FEA8A8F36DE82E1278ABB02F request=- sourceServiceName=FortiGate sproc=FortiOS suser=alice ' +
      `externalId=42 cs3=90  cs5Label=MatchedIndicator cs5=44d88612fea8a8f36de82e1278abb02f ${ctx}`)
    assert.equal(r.renderAlert(alert), 'CEF:0|feedmatch|feedmatch|1.2.3|1|feedmatch Service Event|4|reason=feeds_loaded msg=feeds:8 records:1200 ')
    assert.equal(r.renderFinished(finished), 'CEF:0|feedmatch|feedmatch|1.2.3|3|feedmatch Finished Event|1|src=10.0.0.7 cnt=2')
  }
})

test('qradar: LEEF 2.0, tab-delimited attributes', () => {
  const r = renderer('qradar')
  const head = (id: string) => `LEEF:2.0|feedmatch|feedmatch|1.2.3|${id}|x09|devTime=${ISO}\tdevTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSX\t`
  assert.equal(r.renderDetection(hash), head('detection') + [
    'sev=8', 'cat=KL_Malicious_Hash_MD5', 'indicator=44d88612fea8a8f36de82e1278abb02f', 'indicatorType=md5',
    'value=44d88612fea8a8f36de82e1278abb02f', 'src=10.1.1.1', 'dst=10.2.2.2', 'url=-', 'fileHash=44D88612FEA8A8F36DE82E1278ABB02F',
    'feed=kl_malicious_hash', 'rule=RE_HASH', 'cs3=90', 'context=file_type:exe threat:EICAR-Test-File ',
  ].join('\t'))
  assert.equal(r.renderAlert(alert), head('service') + 'sev=4\treason=feeds_loaded\tcontext=feeds:8 records:1200 ')
  assert.equal(r.renderFinished(finished), head('finished') + 'sev=1\tsrc=10.0.0.7\tcnt=2')
})

test('kv: every detection field as key=value', () => {
  const r = renderer('kv')
  assert.equal(r.renderDetection(hash),
    'feed=kl_malicious_hash category=KL_Malicious_Hash_MD5 type=md5 matched=44d88612fea8a8f36de82e1278abb02f ' +
    'value=44d88612fea8a8f36de82e1278abb02f rule=RE_HASH src=10.0.0.7 cs3=90 context= file_type:exe threat:EICAR-Test-File')
  assert.equal(r.renderDetection(phishing).split(' context=')[0],
    `feed=kl_phishing_url category=KL_Phishing_URL type=domain matched=${DOMAIN} value=${DOMAIN} rule=RE_URL src=192.168.0.10`)
  assert.equal(r.renderAlert(alert), 'alert=feeds_loaded context= feeds:8 records:1200')
})

test('ecs: threat.indicator and threat.enrichments, typed per indicator', () => {
  const r = renderer('ecs')
  const doc = JSON.parse(r.renderDetection(hash))
  assert.deepEqual(doc, {
    '@timestamp': ISO,
    event: { kind: 'alert', category: ['threat'], type: ['indicator'], module: 'feedmatch', dataset: 'feedmatch.detection', severity: 8 },
    threat: {
      indicator: { type: 'file', name: hash.matched, provider: 'kl_malicious_hash', file: { hash: { md5: hash.matched } } },
      feed: { name: 'kl_malicious_hash' },
      enrichments: [{
        indicator: { type: 'file', name: hash.matched, provider: 'kl_malicious_hash', file: { hash: { md5: hash.matched } } },
        matched: { atomic: hash.value, field: 'feedmatch.rules.RE_HASH', type: 'indicator_match_rule', occurred: ISO },
      }],
    },
    // The event's own source (its SRC_IP rule); the sender, a syslog relay, is log.source.address.
    source: { ip: '10.1.1.1' },
    log: { source: { address: '10.0.0.7' } },
    labels: { cs3: '90' },
    feedmatch: {
      feed: 'kl_malicious_hash', category: 'KL_Malicious_Hash_MD5', type: 'md5', matched: hash.matched, value: hash.value,
      rule: 'RE_HASH', rules: hash.rules, context: hash.context,
    },
  })
  const ind = (d: Partial<Detection>) => JSON.parse(r.renderDetection({ ...phishing, ...d })).threat.indicator
  assert.deepEqual(ind({ type: 'sha256', matched: 'ab'.repeat(32) }).file, { hash: { sha256: 'ab'.repeat(32) } })
  assert.deepEqual(ind({ type: 'ip', matched: '203.0.113.5', value: '203.0.113.5' }), { type: 'ipv4-addr', name: '203.0.113.5', provider: 'kl_phishing_url', ip: '203.0.113.5' })
  assert.equal(ind({ type: 'ip', matched: '2001:db8::/32', value: '2001:db8::1' }).type, 'ipv6-addr')
  assert.equal(ind({ type: 'ip', matched: '2001:db8::/32', value: '2001:db8::1' }).ip, undefined, 'a CIDR is not an ECS ip')
  assert.deepEqual(ind({ type: 'url', matched: 'evil.example/a/*' }).url, { original: 'evil.example/a/*', domain: 'evil.example' })
  assert.deepEqual(ind({ type: 'url', matched: '*.evil.example/a' }).url, { original: '*.evil.example/a' })
  assert.deepEqual(ind({}), { type: 'domain-name', name: DOMAIN, provider: 'kl_phishing_url', url: { domain: DOMAIN } })
  const scan = JSON.parse(r.renderDetection({ ...phishing, sourceIp: '', file: '/var/log/a.log', line: 7 }))
  assert.deepEqual(scan.source, { ip: '192.168.0.0' }, 'source.ip is the event\'s SRC_IP, sender or not')
  assert.equal(scan.log.source, undefined, 'no log.source.address without a sender')
  assert.equal(JSON.parse(r.renderDetection({ ...phishing, rules: { SRC_IP: 'not-an-ip' } })).source, undefined, 'no source.ip without a valid address')
  assert.deepEqual([scan.log.file.path, scan.feedmatch.line], ['/var/log/a.log', 7])
  assert.deepEqual(JSON.parse(r.renderAlert(alert)).feedmatch, { alert: 'feeds_loaded', context: alert.context })
  assert.equal(JSON.parse(r.renderFinished(finished)).feedmatch.detections, 2)
})

test('ecs never throws on odd context values', () => {
  const r = renderer('ecs')
  const cyclic: Record<string, unknown> = { big: 10n ** 20n }
  cyclic.self = cyclic
  const doc = JSON.parse(r.renderDetection({ ...phishing, context: cyclic }))
  assert.deepEqual(doc.feedmatch.context, { big: '100000000000000000000', self: '[Circular]' })
})

test('custom templates override the preset and keep its escaping unless told otherwise', () => {
  const r = renderer('fortisiem', { templates: { event: 'CEF:0|x|y|1|2|n|5|c=%Category% %RE_HASH%' } })
  assert.equal(r.renderDetection({ ...hash, category: 'a=b' }), 'CEF:0|x|y|1|2|n|5|c=a\\=b 44D88612FEA8A8F36DE82E1278ABB02F')
  assert.equal(r.renderAlert(alert).slice(0, 20), 'CEF:0|feedmatch|feed', 'the alert format stays the preset\'s')
  const kv = renderer('fortisiem', { templates: { event: 'c=%Category%', format: 'none' } })
  assert.equal(kv.renderDetection({ ...hash, category: 'a=b' }), 'c=a=b')
  const ctx = renderer('alienvault', { templates: { recordContext: '%ParamName%=%ParamValue%;' } })
  assert.ok(ctx.renderDetection(phishing).endsWith('context=first_seen=10.07.2015 23:53;id=999999999;last_seen=04.10.2019 06:25;' +
    `mask=${DOMAIN};popularity=1;type=1;`))
  const ecs = renderer('ecs', { templates: { event: '{"c":"%Category%"}' } })
  assert.deepEqual(JSON.parse(ecs.renderDetection({ ...hash, category: 'a"\n' })), { c: 'a"\n' })
})

test('preset templates may name rules no source defines; custom templates may not', () => {
  const r = renderer('alienvault', { ruleNames: [] })
  assert.ok(r.renderDetection(phishing).includes(`url=${DOMAIN} src=192.168.0.0 ip=- hash=-`))
  assert.throws(() => renderer('alienvault', { ruleNames: ['RE_URL'], templates: { event: 'x=%RE_MD5%' } }),
    (e: Error & { code?: string }) => e.code === 'FM_ERR_CONFIG' && e.message.includes('output.templates.event') && e.message.includes('%RE_MD5%'))
})

test('bad presets, formats and context formats are FM_ERR_CONFIG naming the setting', () => {
  const config = (fn: () => unknown, name: string) =>
    assert.throws(fn, (e: Error & { code?: string }) => e.code === 'FM_ERR_CONFIG' && e.message.includes(name))
  config(() => renderer('splunk'), 'output.preset')
  config(() => renderer('kv', { templates: { format: 'xml' as never } }), 'output.templates.format')
  // Checked even when no template of the preset uses it (ECS renders in code).
  config(() => renderer('ecs', { templates: { actionableContext: '%Oops%' } }), 'output.templates.actionableContext')
})

test('every preset exists, and headers carry feedmatch\'s own version by default', () => {
  for (const p of PRESET_NAMES) assert.equal(getPreset(p).name, p)
  assert.match(feedmatchVersion(), /^\d+\.\d+\.\d+/)
  assert.ok(createRenderer({ preset: 'arcsight', ruleNames: [], syslog: { header: 'none', framing: 'lf', hostname: 'h', appName: 'a', facility: 1 } })
    .renderAlert(alert).startsWith(`CEF:0|feedmatch|feedmatch|${feedmatchVersion()}|1|`))
})

test('hash placeholders show the detected hash whatever the rule names (generic rules with the CEF and LEEF presets)', () => {
  const sha256 = '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f'
  const generic = ['RE_URL', 'RE_IP', 'RE_MD5', 'RE_SHA1', 'RE_SHA256', 'SRC_IP']
  const d = sampleDetection({ type: 'sha256', matched: sha256, value: sha256, rule: 'RE_SHA256', rules: { RE_SHA256: sha256.toUpperCase(), SRC_IP: '10.1.1.1' } })
  assert.match(renderer('fortisiem', { ruleNames: generic }).renderDetection(d), new RegExp(` fileHash=${sha256.toUpperCase()} `))
  assert.match(renderer('qradar', { ruleNames: generic }).renderDetection(d), new RegExp(`\tfileHash=${sha256.toUpperCase()}\t`))
  assert.match(renderer('alienvault', { ruleNames: generic }).renderDetection(d), new RegExp(` hash=${sha256.toUpperCase()} `))
  // An IP detection in an event that also held a hash shows that hash; with none, `-`.
  const ip = sampleDetection({ type: 'ip', matched: '192.0.2.1', value: '192.0.2.1', rule: 'RE_IP', rules: { RE_IP: '192.0.2.1', RE_MD5: 'ab'.repeat(16) } })
  assert.match(renderer('fortisiem', { ruleNames: generic }).renderDetection(ip), new RegExp(` fileHash=${'ab'.repeat(16)} `))
  assert.match(renderer('fortisiem', { ruleNames: generic }).renderDetection({ ...ip, rules: { RE_IP: '192.0.2.1' } }), / fileHash=- /)
})
