/**
 * Obfuscation exposure: a detection says which tricks its value used (the normalization undid
 * them before matching), in %Obfuscation% for any template and in the ECS document, and each
 * technique is counted in the service's statistics.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { obfuscationOf } from '../../src/match/normalize/obfuscation.js'
import { cli, ndjson } from '../scan/helpers.js'
import { sendTcp, startWithConfig, waitFor } from '../helpers/net.js'

test('the techniques a URL or host shows', () => {
  const cases: Array<[string, string[]]> = [
    ['http://evil.example/x', []],
    ['http://3232235777/x', ['ip-decimal']],
    ['http://0xc0.0xa8.1.1/', ['ip-hex']],
    ['http://0300.0250.01.01/', ['ip-octal']],
    ['http://192.168.257/', ['ip-short']],
    ['http://bank.example@evil.example/login', ['userinfo']],
    ['http://%65vil.example/', ['percent-host']],
    ['http://xn--80ak6aa92e.com/', ['idn']],
    ['http://пример.рф/', ['idn']],
    ['http://evil.example./a', ['trailing-dot']],
    ['hxxp://evil[.]example/a', ['defanged']],
    ['https://user:pw@0x7f000001:8080/', ['userinfo', 'ip-decimal', 'ip-hex']],
  ]
  for (const [raw, want] of cases) assert.deepEqual(obfuscationOf(raw), want, raw)
})

test('scan and serve: %Obfuscation% in a template, feedmatch.obfuscation in ECS, counters per technique', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fm-obf-'))
  const feed = join(dir, 'bad.txt')
  await writeFile(feed, 'evil.example\n192.168.1.1\n')
  const log = join(dir, 'proxy.log')
  await writeFile(log, 'GET http://bank.example@evil.example./login\nGET http://0xc0.0xa8.1.1/x\nGET http://evil.example/plain\n')
  const r = await cli(['scan', '--feeds', feed, '--format', 'ndjson', log])
  assert.equal(r.code, 1, r.stderr)
  assert.equal(ndjson(r.stdout).length, 3)
  const config = join(dir, 'tpl.yaml')
  await writeFile(config, `output:\n  preset: kv\n  templates:\n    event: 'value=%Value% obfuscation=%Obfuscation%'\nfeeds:\n  sources: [ ${feed} ]\n`)
  const t = await cli(['scan', '-c', config, '--format', 'kv', log])
  assert.deepEqual(t.stdout.trim().split('\n'), [
    'value=evil.example/login obfuscation=userinfo,trailing-dot',
    'value=192.168.1.1 obfuscation=ip-hex',
    'value=evil.example/plain obfuscation=-',
  ])
  const setup = await startWithConfig((siemPort) => ({
    input: { listen: ['tcp://127.0.0.1:0'] },
    output: { target: `tcp://127.0.0.1:${siemPort}`, preset: 'ecs' },
    feeds: { sources: [feed], watch: false },
    workers: 1,
  }))
  try {
    await sendTcp(setup.svc.port(), ['GET http://bank.example@evil.example./login', 'GET http://0xc0.0xa8.1.1/x'])
    await waitFor(() => setup.siem.frames.filter((f) => f.includes('"dataset":"feedmatch.detection"')).length >= 2, 'two ECS detections')
    const docs = setup.siem.frames.filter((f) => f.includes('"dataset":"feedmatch.detection"')).map((f) => JSON.parse(f) as { feedmatch: { obfuscation?: string[] } })
    assert.deepEqual(docs.map((d) => d.feedmatch.obfuscation), [['userinfo', 'trailing-dot'], ['ip-hex']])
    const { stats } = await setup.svc.stop()
    assert.deepEqual(stats.perObfuscation, { userinfo: 1, 'trailing-dot': 1, 'ip-hex': 1 })
  } finally {
    await setup.stop()
  }
})
