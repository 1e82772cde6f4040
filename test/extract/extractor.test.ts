import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { compileExtractor, compileRe2Extractor, type Extractor } from '../../src/extract/extractor.js'
import { CEF, GENERIC, PRESETS } from '../../src/extract/presets.js'
import { parseIpv4 } from '../../src/extract/scanner.js'
import { Candidates, type NormalizeSpec, type RuleSpec, type SourceSpec } from '../../src/extract/types.js'

function source (preset: SourceSpec['preset'], rules: RuleSpec[] = [], normalize: NormalizeSpec[] = []): SourceSpec {
  return { name: 'fw', preset, normalize, rules }
}

/** Runs one event and lists `RULE=value` pairs in output order. */
function extract (x: Extractor, line: string | Buffer): string[] | false {
  const buf = typeof line === 'string' ? Buffer.from(line) : line
  const c = new Candidates()
  if (!x.run(buf, 0, buf.length, c)) return false
  const out: string[] = []
  for (let i = 0; i < c.n; i++) out.push(`${x.rules[c.rule[i]].name}=${x.value(c, i)}`)
  return out
}

const both = (spec: SourceSpec): Extractor[] => [compileExtractor(spec), compileRe2Extractor(spec)]

// FortiSIEM forwards events as CEF over syslog (REFERENCE.md).
const CEF_LINE = '<134>Oct 11 22:14:15 fsm CEF:0|Fortinet|FortiGate-600E|7.2.5|13|traffic:forward deny|5|eventId=10042 ' +
  'src=192.168.0.12 dst=203.0.113.7 dvc=10.10.0.1 spt=51234 dpt=443 suser=jdoe ' +
  'request=https://admin:pw@xn--e1afmkfd.xn--p1ai:8443/login.php?next=/ fileHash=44d88612fea8a8f36de82e1278abb02f'

test('generic preset: the names the AlienVault template uses, URL, IPs and hashes on real lines', () => {
  assert.deepEqual(GENERIC.map((r) => r.name), ['RE_URL', 'RE_IP', 'RE_MD5', 'RE_SHA1', 'RE_SHA256', 'SRC_IP'])
  const squid = '1697040000.123    245 10.0.0.1 TCP_MISS/200 1234 GET http://evil.example/a.exe?x=1 - HIER_DIRECT/198.51.100.9 application/octet-stream'
  const iptables = 'Oct 11 22:14:15 gw kernel: IN=eth0 OUT= SRC=198.51.100.23 DST=10.0.0.2 LEN=60 PROTO=TCP SPT=4444 DPT=22 src6=2001:db8::7'
  const edr = 'sha1=3395856ce81f2b7382dee72602f798b642f14140 sha256=275A021BBFB6489E54D471899F7DB9D1663FC695EC2FE2A2C4538AABF651FD0F file="C:\\x.exe"'
  for (const x of both(source('generic'))) {
    assert.deepEqual(extract(x, squid), ['RE_URL=http://evil.example/a.exe?x=1', 'RE_IP=10.0.0.1', 'RE_IP=198.51.100.9'], x.engine)
    assert.deepEqual(extract(x, iptables), ['RE_IP=198.51.100.23', 'RE_IP=10.0.0.2', 'RE_IP=2001:db8::7'], x.engine)
    assert.deepEqual(extract(x, edr), ['RE_SHA1=3395856ce81f2b7382dee72602f798b642f14140',
      'RE_SHA256=275A021BBFB6489E54D471899F7DB9D1663FC695EC2FE2A2C4538AABF651FD0F'], x.engine)
    assert.deepEqual({ ...x.contextValues(Buffer.from(iptables), 0, iptables.length) }, { SRC_IP: '198.51.100.23' })
  }
})

test('generic preset: boundaries of each rule', () => {
  const cases: Array<[string, string[]]> = [
    ['(see http://x.io/a).', ['RE_URL=http://x.io/a']],
    ['<a href="HTTPS://пример.рф/путь?q=1">', ['RE_URL=HTTPS://пример.рф/путь?q=1']],
    ['hxxp://evil[.]com xhttp://a.b', []],
    ['1.2.3.4.5 5.6.7.8.9.10 4.3.2.1.in-addr.arpa 256.1.1.1 010.0.0.1', []],
    ['from 10.0.0.1. [10.0.0.2]:443 10.0.0.3/24', ['RE_IP=10.0.0.1', 'RE_IP=10.0.0.2', 'RE_IP=10.0.0.3']],
    ['fe80::1%eth0 [::1]:80 ::ffff:192.0.2.1 a :: b 12:34:56', ['RE_IP=fe80::1', 'RE_IP=::1', 'RE_IP=::ffff:192.0.2.1']],
    ['MAC=00:16:3e:5e:6c:00:52:54:00:12:35:02:08:00 wwn=20:00:00:25:b5:00:00:0f', ['RE_IP=20:00:00:25:b5:00:00:0f']],
    ['44d88612fea8a8f36de82e1278abb02f0 _44d88612fea8a8f36de82e1278abb02f x44d88612fea8a8f36de82e1278abb02f', []],
    ['md5:44D88612FEA8A8F36DE82E1278ABB02F.', ['RE_MD5=44D88612FEA8A8F36DE82E1278ABB02F']]
  ]
  for (const x of both(source('generic'))) {
    for (const [line, want] of cases) assert.deepEqual(extract(x, line), want, `${x.engine}: ${line}`)
  }
})

test('cef preset: the FortiSIEM guide rules on a forwarded CEF event', () => {
  assert.deepEqual(CEF.map((r) => [r.name, r.type, r.extract]), [
    ['RE_HASH', 'HASH', 'all'], ['RE_IP', 'IP', 'first'], ['SRC_IP', 'IP', 'first'], ['RE_URL', 'URL', 'all'],
    ['Device', 'CONTEXT', 'first'], ['Product', 'CONTEXT', 'first'], ['Id', 'CONTEXT', 'first'],
    ['DeviceIp', 'CONTEXT', 'first'], ['UserName', 'CONTEXT', 'first']])
  assert.equal(CEF[0].pattern, '([\\da-fA-F]{32,64})')
  for (const y of both(source('cef'))) {
    assert.deepEqual(extract(y, CEF_LINE), ['RE_HASH=44d88612fea8a8f36de82e1278abb02f', 'RE_IP=203.0.113.7', 'SRC_IP=192.168.0.12',
      'RE_URL=admin:pw@xn--e1afmkfd.xn--p1ai:8443/login.php?next=/'], y.engine)
  }
  const x = compileExtractor(source('cef'))
  assert.equal(x.engine, 'scanner')
  const ctx = x.contextValues(Buffer.from(CEF_LINE), 0, CEF_LINE.length)
  assert.equal(ctx.Device, 'FortiGate-600E')
  assert.equal(ctx.Product, 'FortiGate-600E')
  assert.equal(ctx.Id, '10042')
  assert.equal(ctx.DeviceIp, '10.10.0.1')
  // The guide's greedy `suser\=(.*)` takes the rest of the event: kept as the guide has it.
  assert.ok(ctx.UserName.startsWith('jdoe request=https://'))
  // A 32-64 hex run of another length is extracted; the matcher ignores it by length.
  assert.deepEqual(extract(x, 'fileHash=' + 'a'.repeat(50)), ['RE_HASH=' + 'a'.repeat(50)])
  // IDN labels, a bracketed IPv6 host.
  assert.deepEqual(extract(x, 'request=http://пример.испытание/путь cs1=x request=ftp://[2001:db8::1]:21/f'),
    ['RE_URL=пример.испытание/путь', 'RE_URL=[2001:db8::1]:21/f'])
})

test('none preset has no rules; first gives one span, all gives every match', () => {
  assert.deepEqual(PRESETS.none, [])
  const rules: RuleSpec[] = [
    { name: 'FIRST', type: 'IP', extract: 'first', pattern: 'ip=(\\S+)' },
    { name: 'ALL', type: 'IP', extract: 'all', pattern: 'ip=(\\S+)' }
  ]
  const x = compileExtractor(source('none', rules))
  assert.deepEqual(x.rules.map((r) => r.name), ['FIRST', 'ALL'])
  assert.deepEqual(extract(x, 'ip=1.1.1.1 ip=2.2.2.2 ip=3.3.3.3'), ['FIRST=1.1.1.1', 'ALL=1.1.1.1', 'ALL=2.2.2.2', 'ALL=3.3.3.3'])
  assert.deepEqual(extract(x, 'nothing here'), [])
})

test('custom rules: same name replaces the preset rule in place (then RE2 takes all); added lookup rules run beside the scanner', () => {
  const ctx = compileExtractor(source('generic', [{ name: 'Host', type: 'CONTEXT', extract: 'first', pattern: 'host=(\\w+)' }]))
  assert.equal(ctx.engine, 'scanner')
  assert.deepEqual(ctx.rules.map((r) => r.name), [...GENERIC.map((r) => r.name), 'Host'])
  assert.deepEqual({ ...ctx.contextValues(Buffer.from('host=gw1 src=10.1.1.1'), 0, 21) }, { Host: 'gw1', SRC_IP: '10.1.1.1' })

  const url = compileExtractor(source('generic', [{ name: 'RE_URL', type: 'URL', extract: 'all', pattern: '\\burl=(\\S+)' }]))
  assert.equal(url.engine, 're2')
  assert.equal(url.indexOf('RE_URL'), 0)
  assert.deepEqual(extract(url, 'url=evil.example/x http://other.example/'), ['RE_URL=evil.example/x'])

  const dom = compileExtractor(source('generic', [{ name: 'DOMAIN', type: 'DOMAIN', extract: 'all', pattern: 'query: (\\S+)' }]))
  assert.equal(dom.engine, 'scanner')
  assert.deepEqual(extract(dom, 'query: evil.example IN A 10.0.0.1'), ['RE_IP=10.0.0.1', 'DOMAIN=evil.example'])
})

test('normalize: replace rewrites the event into a scratch buffer, ignore drops it', () => {
  const x = compileExtractor(source('generic', [], [
    { ignore: '^#' },
    { replace: '\\bhxxp(s?)://', with: 'http$1://' },
    { replace: '\\[\\.\\]', with: '.' }
  ]))
  assert.equal(x.engine, 're2')
  const batch = Buffer.from('# comment hxxp://a.b|see hxxps://evil[.]example/x now|')
  const c = new Candidates()
  assert.equal(x.run(batch, 0, 20, c), false)
  assert.equal(x.run(batch, 21, batch.length - 1, c), true)
  assert.notEqual(c.src, batch)
  assert.equal(c.src.toString(), 'see https://evil.example/x now')
  assert.equal(c.n, 1)
  assert.equal(x.value(c, 0), 'https://evil.example/x')
  // contextValues sees the rewritten text too.
  const y = compileExtractor(source('none', [{ name: 'U', type: 'CONTEXT', extract: 'all', pattern: '(https?://\\S+)' }], [{ replace: 'hxxp', with: 'http' }]))
  assert.deepEqual({ ...y.contextValues(Buffer.from('hxxp://a hxxp://b'), 0, 17) }, { U: 'http://a' })
  // ruleValues reads the rewritten event kept in the Candidates.
  const c2 = new Candidates()
  y.run(Buffer.from('..hxxp://z..'), 2, 10, c2)
  assert.deepEqual({ ...y.ruleValues(c2) }, { U: 'http://z' })
})

test('spans are offsets into the batch buffer, and bytes around the event are not part of it', () => {
  for (const x of both(source('generic'))) {
    const batch = Buffer.from('5.1.2.3.4 9|1.2.3.4 ok|http')
    const c = new Candidates()
    x.run(batch, 12, 22, c)
    assert.equal(c.src, batch, x.engine)
    assert.deepEqual([c.n, c.start[0], c.end[0]], [1, 12, 19], x.engine)
  }
})

test('ruleValues: first value of every rule, lookup and CONTEXT, of the event last run', () => {
  for (const x of both(source('generic', [{ name: 'Host', type: 'CONTEXT', extract: 'all', pattern: 'host=(\\w+)' }]))) {
    const batch = Buffer.from('host=old src=1.1.1.1|host=gw1 constructor=1 SRC=10.0.0.9 dst=10.0.0.10 url=http://a.example/ |')
    const c = new Candidates()
    x.run(batch, 21, batch.length - 1, c)
    assert.deepEqual({ ...x.ruleValues(c) }, { RE_URL: 'http://a.example/', RE_IP: '10.0.0.9', SRC_IP: '10.0.0.9', Host: 'gw1' }, x.engine)
  }
  const cef = compileExtractor(source('cef'))
  const c = new Candidates()
  cef.run(Buffer.from(CEF_LINE), 0, CEF_LINE.length, c)
  const v = cef.ruleValues(c)
  assert.equal(v.RE_IP, '203.0.113.7')
  assert.equal(v.SRC_IP, '192.168.0.12')
  assert.equal(v.Device, 'FortiGate-600E')
  assert.equal(v.DeviceIp, '10.10.0.1')
  assert.equal(v.constructor, undefined)
})

test('a catastrophic-looking pattern runs in linear time', { timeout: 20_000 }, () => {
  // A backtracking engine needs about 2^n steps for (a+)+$ on n `a`s and a final `!`; n = 30 is
  // already minutes. RE2 walks 200k bytes at once, and twice as many in about twice the time.
  const x = compileExtractor(source('none', [{ name: 'EVIL', type: 'CONTEXT', extract: 'first', pattern: '(a+)+$' }, { name: 'L', type: 'URL', extract: 'all', pattern: '((a+)+$)' }]))
  const time = (n: number): number => {
    const buf = Buffer.from('a'.repeat(n) + '!')
    const t0 = performance.now()
    assert.deepEqual(extract(x, buf), [])
    assert.deepEqual({ ...x.contextValues(buf, 0, buf.length) }, {})
    return performance.now() - t0
  }
  time(1000)
  const small = time(100_000)
  const big = time(400_000)
  assert.ok(big < small * 40 + 50, `400k bytes took ${big} ms, 100k took ${small} ms`)
})

test('a bad pattern is FM_ERR_CONFIG naming the source, the rule and what RE2 said', () => {
  const bad = (spec: SourceSpec): void => compileExtractor(spec) as unknown as void
  assert.throws(() => bad(source('generic', [{ name: 'MY_RULE', type: 'IP', extract: 'all', pattern: '(unclosed' }])),
    (err: Error & { code?: string }) => err.code === 'FM_ERR_CONFIG' && /source fw, rule MY_RULE/.test(err.message) && /missing \)/.test(err.message))
  assert.throws(() => bad(source('none', [{ name: 'LB', type: 'CONTEXT', extract: 'all', pattern: '(?<=x)y' }])),
    (err: Error & { code?: string }) => err.code === 'FM_ERR_CONFIG' && /rule LB/.test(err.message))
  assert.throws(() => bad(source('none', [], [{ replace: '[', with: '' }])),
    (err: Error & { code?: string }) => err.code === 'FM_ERR_CONFIG' && /normalize rule 1/.test(err.message))
  assert.throws(() => bad(source('none', [GENERIC[0], GENERIC[0]])),
    (err: Error & { code?: string }) => err.code === 'FM_ERR_CONFIG' && /defined twice/.test(err.message))
})

test('odd rules and odd bytes never throw: empty matches, no group, binary and invalid UTF-8', () => {
  const x = compileExtractor(source('cef', [
    { name: 'EMPTY', type: 'URL', extract: 'all', pattern: '(x*)' },
    { name: 'WHOLE', type: 'HASH', extract: 'all', pattern: '[0-9a-f]{32}' },
    { name: 'ANY', type: 'CONTEXT', extract: 'all', pattern: '(.)' }
  ], [{ replace: '\\s+', with: ' ' }]))
  assert.deepEqual(extract(x, 'xx 44d88612fea8a8f36de82e1278abb02f'), ['RE_HASH=44d88612fea8a8f36de82e1278abb02f', 'EMPTY=xx', 'WHOLE=44d88612fea8a8f36de82e1278abb02f'])
  // No character class matches a byte that is not UTF-8: it ends the token around it.
  assert.deepEqual(extract(compileExtractor(source('generic')), Buffer.from([...Buffer.from('http://a'), 0xff, ...Buffer.from('b 1.2.3.4'), 0xc0])),
    ['RE_URL=http://a', 'RE_IP=1.2.3.4'])
  const engines = [x, ...both(source('generic'))]
  const small = new Candidates(2)
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
    const buf = Buffer.from(bytes)
    for (const e of engines) {
      e.run(buf, 0, buf.length, small)
      for (let i = 0; i < small.n; i++) e.value(small, i)
      e.contextValues(buf, 0, buf.length)
    }
  }), { numRuns: 300 })
})

test('parseIpv4 reads an exact dotted quad into a u32 without allocating', () => {
  const b = Buffer.from('x255.255.255.255 10.0.0.1 1.2.3 01.2.3.4 1.2.3.256 1.2.3.4.5')
  assert.equal(parseIpv4(b, 1, 16), 0xffffffff)
  assert.equal(parseIpv4(b, 17, 25), 0x0a000001)
  assert.equal(parseIpv4(b, 26, 31), -1)
  assert.equal(parseIpv4(b, 32, 40), -1)
  assert.equal(parseIpv4(b, 41, 50), -1)
  assert.equal(parseIpv4(b, 51, 58), 0x01020304)
  assert.equal(parseIpv4(b, 51, 60), -1)
  assert.equal(parseIpv4(b, 0, 0), -1)
})
