import { test } from 'node:test'
import assert from 'node:assert/strict'
// RFC 3164 timestamps are local time: pin the zone before the first date is formatted.
process.env.TZ = 'UTC'
const { createFramer, isoTime, rfc3164Time, SEVERITY } = await import('../../src/render/syslog.js')
const { createRenderer } = await import('../../src/render/renderer.js')

const T = Date.UTC(2024, 0, 5, 3, 4, 5, 678)
const base = { hostname: 'fm-host', appName: 'feedmatch', facility: 16, procId: 4242 }

test('RFC 5424 header: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG', () => {
  const f = createFramer({ ...base, header: 'rfc5424', framing: 'lf' })
  assert.equal(f.frame('CEF:0|x', SEVERITY.warning, T, 'detection'), '<132>1 2024-01-05T03:04:05.678Z fm-host feedmatch 4242 detection - CEF:0|x\n')
  assert.equal(f.frame('m', SEVERITY.info, T), '<134>1 2024-01-05T03:04:05.678Z fm-host feedmatch 4242 - - m\n', 'no MSGID is -')
  const kern = createFramer({ ...base, facility: 0, header: 'rfc5424', framing: 'lf' })
  assert.ok(kern.frame('m', SEVERITY.emergency, T).startsWith('<0>1 '))
  const bad = createFramer({ ...base, hostname: '', appName: 'my app', header: 'rfc5424', framing: 'lf' })
  assert.equal(bad.frame('m', 99, T, 'a b'), '<133>1 2024-01-05T03:04:05.678Z - my_app 4242 a_b - m\n', 'fields stay valid; a bad severity is notice')
})

test('RFC 3164 header: <PRI>Mmm dd hh:mm:ss HOSTNAME TAG[pid]: MSG, day padded with a space', () => {
  const f = createFramer({ ...base, header: 'rfc3164', framing: 'lf' })
  assert.equal(f.frame('hello', SEVERITY.notice, T), '<133>Jan  5 03:04:05 fm-host feedmatch[4242]: hello\n')
  assert.equal(f.frame('hello', SEVERITY.notice, Date.UTC(2023, 11, 25, 23, 59, 59)), '<133>Dec 25 23:59:59 fm-host feedmatch[4242]: hello\n')
})

test('no header: the message alone', () => {
  const f = createFramer({ ...base, header: 'none', framing: 'lf' })
  assert.equal(f.frame('x=1', SEVERITY.warning, T), 'x=1\n')
})

test('octet counting (RFC 6587): LEN SP MSG, LEN in UTF-8 bytes, no LF', () => {
  const f = createFramer({ ...base, header: 'rfc5424', framing: 'octet' })
  const msg = 'context=é 😀 ü€'
  const frame = f.frame(msg, SEVERITY.warning, T, 'detection')
  const sp = frame.indexOf(' ')
  const body = frame.slice(sp + 1)
  assert.equal(Number(frame.slice(0, sp)), Buffer.byteLength(body))
  assert.equal(Buffer.byteLength(body), body.length + 1 + 2 + 1 + 2, 'é is 2 bytes, 😀 4 (2 UTF-16 units), ü 2, € 3')
  assert.ok(body.endsWith(msg))
  const none = createFramer({ ...base, header: 'none', framing: 'octet' })
  assert.equal(none.frame('日本', 0, T), '6 日本')
  // A stream of octet-counted frames splits back exactly.
  const stream = Buffer.from(['a b', '日本 x', 'é'].map((m) => none.frame(m, 0, T)).join(''))
  const out: string[] = []
  for (let i = 0; i < stream.length;) {
    const sp2 = stream.indexOf(0x20, i)
    const len = Number(stream.subarray(i, sp2).toString())
    out.push(stream.subarray(sp2 + 1, sp2 + 1 + len).toString())
    i = sp2 + 1 + len
  }
  assert.deepEqual(out, ['a b', '日本 x', 'é'])
})

test('LF framing never lets a line break through, even from a raw caller', () => {
  const f = createFramer({ ...base, header: 'none', framing: 'lf' })
  assert.equal(f.frame('a\nb\rc', 0, T), 'a b c\n')
})

test('timestamps: cached per ms / second, yet right for every time; bad times do not throw', () => {
  assert.equal(isoTime(T), '2024-01-05T03:04:05.678Z')
  assert.equal(isoTime(T + 1), '2024-01-05T03:04:05.679Z')
  assert.equal(isoTime(T), '2024-01-05T03:04:05.678Z')
  assert.equal(rfc3164Time(T), 'Jan  5 03:04:05')
  assert.equal(rfc3164Time(T + 400), 'Jan  5 03:04:06')
  assert.equal(rfc3164Time(Date.UTC(2024, 9, 15, 0, 0, 0)), 'Oct 15 00:00:00')
  assert.match(isoTime(NaN), /^\d{4}-\d\d-\d\dT/)
  assert.match(rfc3164Time(Infinity), /^[A-Z][a-z]{2} [ \d]\d /)
})

test('renderer frames: detections warning, service events notice, finished info, with MSGIDs', () => {
  const r = createRenderer({ preset: 'kv', ruleNames: [], version: '1', syslog: { ...base, header: 'rfc5424', framing: 'lf' } })
  const d = r.detectionFrame({
    time: T, feed: 'f', category: 'c', type: 'ip', matched: '1.2.3.4', value: '1.2.3.4', rule: 'IP',
    context: {}, actionable: [], sourceIp: '5.6.7.8', rules: {}, obfuscation: [],
  })
  assert.equal(d, '<132>1 2024-01-05T03:04:05.678Z fm-host feedmatch 4242 detection - feed=f category=c type=ip matched=1.2.3.4 value=1.2.3.4 rule=IP src=5.6.7.8 context=-\n')
  assert.ok(r.alertFrame({ time: T, alert: 'started', context: {} }).startsWith('<133>1 2024-01-05T03:04:05.678Z fm-host feedmatch 4242 service - alert=started'))
  assert.ok(r.finishedFrame({ time: T, sourceIp: '5.6.7.8', detections: 0, rules: {} }).startsWith('<134>1 2024-01-05T03:04:05.678Z fm-host feedmatch 4242 finished - event=finished'))
  assert.equal(r.frame('raw', SEVERITY.error, T, 'x'), '<131>1 2024-01-05T03:04:05.678Z fm-host feedmatch 4242 x - raw\n')
})

test('RFC 5424 with bom: a UTF-8 BOM starts MSG (MSG-UTF8, section 6.4), counted in the octet length; off by default', () => {
  const on = createFramer({ ...base, header: 'rfc5424', framing: 'octet', bom: true }).frame('ünï', SEVERITY.warning, 0)
  const msg = on.slice(on.indexOf(' ') + 1)
  assert.equal(Buffer.byteLength(msg), Number(on.slice(0, on.indexOf(' '))))
  assert.match(msg, /^<132>1 \S+ fm-host feedmatch 4242 - - \ufeffünï$/)
  assert.equal(Buffer.from(msg).subarray(Buffer.from(msg).indexOf(0xef), Buffer.from(msg).indexOf(0xef) + 3).toString('hex'), 'efbbbf')
  const off = createFramer({ ...base, header: 'rfc5424', framing: 'lf' }).frame('ünï', SEVERITY.warning, 0)
  assert.ok(!off.includes('\ufeff'))
  // Other headers never carry one.
  assert.ok(!createFramer({ ...base, header: 'rfc3164', framing: 'lf', bom: true }).frame('x', 4, 0).includes('\ufeff'))
})
