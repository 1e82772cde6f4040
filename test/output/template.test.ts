import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  compileAlertTemplate, compileDetectionTemplate, compileFinishedTemplate, type TemplateFormat,
} from '../../src/render/template.js'
import { ISO, T, sampleDetection } from './fixtures.js'

const detection = sampleDetection

const rules = ['RE_HASH', 'SRC_IP', 'RE_URL']
const det = (text: string, format: TemplateFormat = 'none', extra = {}) =>
  compileDetectionTemplate({ text, name: 'output.templates.event' }, { format, ruleNames: rules, ...extra })

function throwsConfig (fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (err: Error & { code?: string }) => {
    assert.equal(err.code, 'FM_ERR_CONFIG')
    for (const p of parts) assert.ok(err.message.includes(p), `"${err.message}" names ${p}`)
    return true
  })
}

test('every detection placeholder renders its field', () => {
  const t = det('%Date%|%Category%|%MatchedIndicator%|%RecordContext%|%ActionableFields%|%SourceIp%|%Feed%|%Type%|%Value%|%Rule%|%RE_HASH%|%SRC_IP%')
  assert.equal(t.render(detection()), [
    ISO, 'KL_Malicious_Hash_MD5', '44d88612fea8a8f36de82e1278abb02f', 'file_type:exe threat:EICAR ', 'cs3=90 ', '10.0.0.7',
    'kl_malicious_hash', 'md5', '44d88612fea8a8f36de82e1278abb02f', 'RE_HASH', '44D88612FEA8A8F36DE82E1278ABB02F', '10.1.1.1',
  ].join('|'))
})

test('%ParamName% and %ParamValue% through custom context formats; nested values as compact JSON', () => {
  const t = det('ctx=%RecordContext% act=%ActionableFields%', 'none', {
    recordContext: { text: '[%ParamName%=%ParamValue%]', name: 'rc' },
    actionableContext: { text: '<%ParamName%:%ParamValue%>', name: 'ac' },
  })
  const d = detection({
    context: { s: 'x', n: 5, b: true, o: { a: [1, 'two'] }, when: new Date(T), nul: null, empty: '' },
    actionable: [['cs3', '90'], ['cs4', 'y']],
  })
  assert.equal(t.render(d), `ctx=[s=x][n=5][b=true][o={"a":[1,"two"]}][when=${ISO}][nul=-][empty=-] act=<cs3:90><cs4:y>`)
})

test('the alert and finished placeholders', () => {
  const a = compileAlertTemplate({ text: '%Date% %Alert% %RecordContext%', name: 'a' }, { format: 'none', ruleNames: [] })
  assert.equal(a.render({ time: T, alert: 'feed_failed', context: { feed: 'x', reason: 'bad' } }), `${ISO} feed_failed feed:x reason:bad `)
  const f = compileFinishedTemplate({ text: '%Date% %SourceIp% %Detections% %RE_HASH% %RE_URL%', name: 'f' }, { format: 'none', ruleNames: rules })
  assert.equal(f.render({ time: T, sourceIp: '1.2.3.4', detections: 3, rules: { RE_HASH: 'abc' } }), `${ISO} 1.2.3.4 3 abc -`)
})

test('a missing value renders as -, no actionable field as nothing', () => {
  const t = det('c=%Category% s=%SourceIp% r=%RE_URL% ctx=%RecordContext% a=%ActionableFields%|')
  assert.equal(t.render(detection({ category: '', sourceIp: '', context: {}, actionable: [], rules: {} })), 'c=- s=- r=- ctx=- a=|')
  // A rule named like an Object.prototype member is still just a rule.
  const p = compileDetectionTemplate({ text: '%constructor%', name: 'p' }, { format: 'none', ruleNames: ['constructor'] })
  assert.equal(p.render(detection()), '-')
})

test('%% is a literal %', () => {
  assert.equal(det('100%% %Type%%%%%').render(detection()), '100% md5%%')
})

test('an unknown placeholder is FM_ERR_CONFIG naming the template and the placeholder', () => {
  throwsConfig(() => det('x=%Categroy%'), 'output.templates.event', '%Categroy%', '%Category%')
  throwsConfig(() => det('%RE_MD5%'), '%RE_MD5%', 'RE_HASH, SRC_IP, RE_URL')
  throwsConfig(() => det('%Alert%'), '%Alert%')
  throwsConfig(() => det('%ParamName%'), '%ParamName%')
  throwsConfig(() => compileAlertTemplate({ text: '%RE_HASH%', name: 'output.templates.alert' }, { format: 'kv', ruleNames: rules }), 'output.templates.alert', '%RE_HASH%')
  throwsConfig(() => det('%Type%', 'none', { recordContext: { text: '%ParamName%=%Category%', name: 'output.templates.recordContext' } }),
    'output.templates.recordContext', '%Category%')
})

test('rule names are placeholders only when the caller knows them', () => {
  const t = compileDetectionTemplate({ text: '%RE_MD5%', name: 'e' }, { format: 'none', ruleNames: ['RE_MD5'] })
  assert.equal(t.render(detection({ rules: { RE_MD5: 'abc' } })), 'abc')
  // A built-in placeholder wins over a rule with its name.
  const b = compileDetectionTemplate({ text: '%Type%', name: 'e' }, { format: 'none', ruleNames: ['Type'] })
  assert.equal(b.render(detection({ rules: { Type: 'rule' } })), 'md5')
})

test('a lone % or a control character in a template is FM_ERR_CONFIG', () => {
  throwsConfig(() => det('50% off'), 'lone %', 'character 3')
  throwsConfig(() => det('end %'), 'lone %')
  throwsConfig(() => det('%Not A Name%'), 'lone %')
  throwsConfig(() => det('a=%Type%\nb=1'), 'control character 0x0a')
  assert.equal(det('a=%Type%\tb=1').render(detection()), 'a=md5\tb=1', 'tab is allowed (LEEF)')
})

test('CEF: header placeholders get header escaping, extension ones extension escaping', () => {
  const t = det('CEF:0|v|p|1|%Category%|name\\|x|5|cat=%Category% msg=%RecordContext%', 'cef')
  const d = detection({ category: 'a|b=c\\d\ne', context: { 'k=1': 'v=2|\\\r' } })
  assert.equal(t.render(d), 'CEF:0|v|p|1|a\\|b=c\\\\d e|name\\|x|5|cat=a|b\\=c\\\\d\\ne msg=k\\=1:v\\=2|\\\\\\r ')
})

test('LEEF: the delimiter comes from the 2.0 header (char or hex); 1.0 uses tab', () => {
  const d = detection({ category: 'x^y\tz|w' })
  assert.equal(det('LEEF:2.0|v|p|1|%Category%|^|cat=%Category%^a=1', 'leef').render(d), 'LEEF:2.0|v|p|1|x^y z\\|w|^|cat=x y z|w^a=1')
  assert.equal(det('LEEF:2.0|v|p|1|id|x5E|cat=%Category%', 'leef').render(d), 'LEEF:2.0|v|p|1|id|x5E|cat=x y z|w')
  assert.equal(det('LEEF:2.0|v|p|1|id|0x09|cat=%Category%', 'leef').render(d), 'LEEF:2.0|v|p|1|id|0x09|cat=x^y z|w')
  assert.equal(det('LEEF:1.0|v|p|1|id|cat=%Category%', 'leef').render(d), 'LEEF:1.0|v|p|1|id|cat=x^y z|w')
  throwsConfig(() => det('LEEF:2.0|v|p|1|id|ab|cat=%Category%', 'leef'), 'delimiter', '"ab"')
  throwsConfig(() => det('LEEF:2.0|v|p|1|id|%Type%|cat=%Category%', 'leef'), 'delimiter')
})

test('JSON templates escape values as JSON string content', () => {
  const t = det('{"cat":"%Category%","ctx":"%RecordContext%"}', 'json')
  const d = detection({ category: 'q"\\\n\x7f', context: { a: 'b"c' } })
  assert.deepEqual(JSON.parse(t.render(d)), { cat: 'q"\\\n\x7f', ctx: 'a:b"c ' })
})

test('a compiled template renders many detections independently', () => {
  const t = det('%Date% %Value%')
  assert.equal(t.render(detection({ value: 'a' })), `${ISO} a`)
  assert.equal(t.render(detection({ value: 'b', time: 0 })), '1970-01-01T00:00:00.000Z b')
  assert.equal(t.render(detection({ value: 'c' })), `${ISO} c`)
})
