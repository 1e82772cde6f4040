import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadConfig, validateConfig } from '../../src/config/load.js'
import { parseDuration } from '../../src/config/duration.js'

const FIXTURES = fileURLToPath(new URL('../../fixtures/config/', import.meta.url))

let dir: string
before(async () => { dir = await mkdtemp(join(tmpdir(), 'feedmatch-config-')) })
after(async () => { await rm(dir, { recursive: true, force: true }) })

async function write (name: string, text: string): Promise<string> {
  const path = join(dir, name)
  await writeFile(path, text)
  return path
}

/** Asserts that `fn` rejects with `code` and a message matching every pattern. */
async function rejects (fn: () => Promise<unknown>, code: string, ...patterns: Array<string | RegExp>): Promise<string> {
  let message = ''
  await assert.rejects(fn, (err: Error & { code?: string }) => {
    assert.equal(err.code, code, err.message)
    message = err.message
    return true
  })
  for (const p of patterns) {
    if (typeof p === 'string') assert.ok(message.includes(p), `${JSON.stringify(message)} should include ${JSON.stringify(p)}`)
    else assert.match(message, p)
  }
  return message
}

describe('loadConfig: valid files', () => {
  test('no file gives the defaults, deep-frozen', async () => {
    const c = await loadConfig()
    assert.deepEqual(c.input.listen, [{ protocol: 'tcp', host: '127.0.0.1', port: 9999, url: 'tcp://127.0.0.1:9999' }])
    assert.equal(c.input.framing, 'auto')
    assert.equal(c.input.idleTimeout, 300_000)
    assert.deepEqual(c.input.sources, [{ name: 'default', match: [], preset: 'generic', normalize: [], refang: false, rules: [] }])
    assert.deepEqual(c.output.target, { protocol: 'stdout', url: 'stdout' })
    assert.equal(c.output.preset, 'alienvault')
    assert.deepEqual(c.output.batch, { maxBytes: 262144, maxDelay: 20 })
    assert.deepEqual(c.output.reconnect, { initialDelay: 500, maxDelay: 30_000 })
    assert.equal(typeof c.output.hostname, 'string')
    assert.deepEqual(c.feeds.sources, [])
    assert.equal(c.feeds.reloadDebounce, 2000)
    assert.ok(Number.isInteger(c.workers) && c.workers >= 1 && c.workers <= 256)
    assert.equal(c.api.listen, null)
    assert.deepEqual(c.log, { level: 'info', statsInterval: 60_000 })
    // Test files are ES modules, so strict mode: writing to a frozen object throws.
    assert.throws(() => { c.output.preset = 'kv' }, TypeError)
    assert.throws(() => { c.input.listen.push(c.input.listen[0]!) }, TypeError)
    assert.throws(() => { c.input.sources[0]!.rules.push({ name: 'X', type: 'IP', extract: 'first', pattern: '(x)' }) }, TypeError)
  })

  test('a YAML file: defaults fill the rest, durations in ms, paths relative to its folder', async () => {
    const path = await write('full.yaml', `
input:
  listen: [ "tcp://0.0.0.0:9999", "tls://[::]:6514" ]
  tls: { cert: certs/server.pem, key: /etc/feedmatch/server.key }
  idleTimeout: 5m
  sources:
    - name: firewalls
      match: [ 10.0.0.0/8, "2001:db8::1" ]
      preset: cef
      normalize: [ { replace: '\\s+', with: ' ' }, { ignore: '^#' } ]
      rules:
        - { name: SRC_IP, type: IP, pattern: 'src=(\\S+)' }
output:
  target: file:out/detections.log
  spool: spool
  batch: { maxDelay: 1s }
feeds:
  sources:
    - feeds/a.json
    - { path: feeds/b.csv, format: csv, indicators: [ { field: 2, type: ip } ], expiry: { field: last_seen, maxAge: 2w } }
  snapshot: snap/feeds.fmsnap
workers: 4
api: { listen: "http://127.0.0.1:8080" }
`)
    const c = await loadConfig(path)
    assert.deepEqual(c.input.listen[1], { protocol: 'tls', host: '::', port: 6514, url: 'tls://[::]:6514' })
    assert.deepEqual(c.input.tls, { cert: join(dir, 'certs/server.pem'), key: '/etc/feedmatch/server.key' })
    assert.equal(c.input.idleTimeout, 300_000)
    assert.equal(c.input.maxEventSize, 65536)
    assert.deepEqual(c.input.sources.map(s => s.name), ['firewalls', 'default'])
    assert.deepEqual(c.input.sources[0]!.rules, [{ name: 'SRC_IP', type: 'IP', extract: 'first', pattern: 'src=(\\S+)' }])
    assert.deepEqual(c.input.sources[0]!.normalize, [{ replace: '\\s+', with: ' ' }, { ignore: '^#' }])
    assert.deepEqual(c.output.target, { protocol: 'file', path: join(dir, 'out/detections.log'), url: 'file:out/detections.log' })
    assert.deepEqual(c.output.spool, { dir: join(dir, 'spool'), mode: 'overflow', maxBytes: 1024 ** 3, fsync: 'off', fsyncInterval: 1000 })
    assert.deepEqual(c.output.batch, { maxBytes: 262144, maxDelay: 1000 })
    assert.equal(c.feeds.snapshot, join(dir, 'snap/feeds.fmsnap'))
    assert.deepEqual(c.feeds.sources[0], { path: join(dir, 'feeds/a.json'), enabled: true, origin: `${path}: feeds.sources[0]` })
    assert.deepEqual(c.feeds.sources[1], {
      path: join(dir, 'feeds/b.csv'),
      format: 'csv',
      indicators: [{ field: '2', type: 'ip' }],
      expiry: { field: 'last_seen', maxAge: 14 * 86_400_000 },
      enabled: true,
      origin: `${path}: feeds.sources[1].path`,
    })
    assert.equal(c.workers, 4)
    assert.deepEqual(c.api.listen, { protocol: 'http', host: '127.0.0.1', port: 8080, url: 'http://127.0.0.1:8080' })
    assert.ok(Object.isFrozen(c.feeds.sources[1]!.indicators![0]))
  })

  test('a JSON file loads the same way', async () => {
    const c = await loadConfig(join(FIXTURES, 'minimal.json'))
    assert.deepEqual(c.input.listen.map(l => [l.protocol, l.host, l.port]), [['tcp', '127.0.0.1', 0], ['udp', '::1', 0]])
    assert.deepEqual(c.output.target, { protocol: 'file', path: join(FIXTURES, 'detections.log'), url: 'file:detections.log' })
    assert.equal(c.output.preset, 'ecs')
    assert.equal(c.feeds.watch, false)
    assert.equal(c.feeds.sources[0]!.path, resolve(FIXTURES, '../feeds'))
    assert.equal(c.workers, 2)
  })

  test('the sample configs for the two vendor guides are valid', async () => {
    const av = await loadConfig(join(FIXTURES, 'alienvault.yaml'))
    assert.equal(av.output.target.url, 'tcp://alienvault.example.com:514')
    assert.equal(av.feeds.allowlist[0]!.path, join(FIXTURES, 'allowlist.txt'))
    const fs = await loadConfig(join(FIXTURES, 'fortisiem.yaml'))
    assert.equal(fs.input.framing, 'delimiter')
    assert.equal(fs.input.delimiter, '[^\\=](\\<\\d+\\>)')
    assert.deepEqual(fs.input.sources[0]!.rules.map(r => r.name),
      ['RE_HASH', 'RE_IP', 'SRC_IP', 'RE_URL', 'Device', 'Product', 'Id', 'DeviceIp', 'UserName'])
  })

  test('an empty file is the defaults', async () => {
    const c = await loadConfig(await write('empty.yaml', '# nothing yet\n'))
    assert.equal(c.output.preset, 'alienvault')
  })
})

describe('loadConfig: errors name the path, the expectation and what was found', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['wrong type', 'input:\n  maxEventSize: big\n',
      /^\S+: input\.maxEventSize: expected an integer from 256 to 16777216; found "big" at line 2, column 17$/],
    ['unknown key', 'input:\n  lisen: [ "tcp://0.0.0.0:1" ]\n',
      /: input: unknown key "lisen" at line 2, column 3 \(did you mean "listen"\?\)$/],
    ['bad enum', 'feeds:\n  sources:\n    - a.json\n    - b.json\n    - { path: c.json, format: jsn }\n',
      /: feeds\.sources\[2\]\.format: expected one of kaspersky, json, xml, csv, stix2, misp, list; found "jsn" at line 5, column 31 \(did you mean "json"\?\)$/],
    ['bad duration', 'output:\n  reconnect: { maxDelay: 5 minutes }\n',
      /: output\.reconnect\.maxDelay: expected a duration like 30s; found "5 minutes" at line 2/],
    ['bad listen URL', 'input:\n  listen: [ "tcp://0.0.0.0:70000" ]\n',
      /: input\.listen\[0\]: expected tcp:\/\/HOST:PORT, udp:\/\/HOST:PORT or tls:\/\/HOST:PORT; found "tcp:\/\/0\.0\.0\.0:70000"/],
    ['bad target URL', 'output:\n  target: htp://x\n',
      /: output\.target: expected tcp:\/\/HOST:PORT, udp:\/\/HOST:PORT, tls:\/\/HOST:PORT, relp:\/\/HOST:PORT, file:PATH or stdout; found "htp:\/\/x"/],
    ['bad RE2 pattern', 'input:\n  sources:\n    - name: default\n      rules:\n        - { name: RE_X, type: IP, pattern: "(\\\\d+" }\n',
      /: input\.sources\[0\]\.rules\[0\]\.pattern: expected an RE2 pattern; found "\(\\\\d\+" at line 5, column \d+, which RE2 rejects: missing \)/],
    ['missing tls cert', 'input:\n  listen: [ "tls://0.0.0.0:6514" ]\n',
      /: input\.tls: expected \{ cert, key \} for the tls:\/\/ listener "tls:\/\/0\.0\.0\.0:6514" \(input\.listen\[0\]\); found nothing/],
    ['duplicate rule names', 'input:\n  sources:\n    - name: default\n      rules:\n        - { name: A, type: IP, pattern: "(a)" }\n        - { name: A, type: URL, pattern: "(b)" }\n',
      /: input\.sources\[0\]\.rules\[1\]\.name: expected a rule name unique within its source; found "A" at line 6, column \d+ \(also input\.sources\[0\]\.rules\[0\]\.name\)$/],
    ['required key', 'feeds:\n  blocklist: [ { name: mine } ]\n',
      /: feeds\.blocklist\[0\]: expected a path or a feed \{ path \| url \| taxii, format, \.\.\. \}; found \{"name":"mine"\}/],
    ['delimiter framing without a delimiter', 'input:\n  framing: delimiter\n',
      /: input\.delimiter: expected an RE2 pattern, as input\.framing is delimiter; found nothing/],
    ['workers out of range', 'workers: 0\n',
      /: workers: expected auto or an integer from 1 to 256; found 0 at line 1, column 10$/],
  ]
  for (const [name, yaml, pattern] of cases) {
    test(name, async () => {
      const path = await write(`${name.replace(/\W+/g, '-')}.yaml`, yaml)
      const message = await rejects(() => loadConfig(path), 'FM_ERR_CONFIG', pattern)
      assert.ok(message.startsWith(`${path}: `), message)
    })
  }

  test('invalid YAML is FM_ERR_CONFIG_READ with the line and column', async () => {
    const path = await write('broken.yaml', 'input:\n  listen: [ "tcp://0.0.0.0:1"\noutput: {}\n')
    await rejects(() => loadConfig(path), 'FM_ERR_CONFIG_READ', `${path}: not valid YAML or JSON at line 3, column 1: `)
  })

  test('invalid JSON is FM_ERR_CONFIG_READ with the line and column', async () => {
    const path = await write('broken.json', '{\n  "workers": 2,\n  "workers": 3\n}\n')
    await rejects(() => loadConfig(path), 'FM_ERR_CONFIG_READ', 'at line 3, column 3: Map keys must be unique')
  })

  test('a missing file is FM_ERR_CONFIG_READ', async () => {
    await rejects(() => loadConfig(join(dir, 'nope.yaml')), 'FM_ERR_CONFIG_READ', 'nope.yaml: cannot read the configuration file')
  })
})

describe('loadConfig: command-line overrides', () => {
  test('--feeds appends to feeds.sources; relative flag paths resolve against the cwd', async () => {
    const path = await write('with-feeds.yaml', 'feeds:\n  sources: [ local/a.json ]\n')
    const c = await loadConfig(path, { feeds: ['x/b.json', '/abs/c'] })
    assert.deepEqual(c.feeds.sources.map(f => [f.path, f.origin]), [
      [join(dir, 'local/a.json'), `${path}: feeds.sources[0]`],
      [resolve('x/b.json'), '--feeds'],
      ['/abs/c', '--feeds'],
    ])
    const none = await loadConfig(undefined, { feeds: ['x'] })
    assert.deepEqual(none.feeds.sources.map(f => f.path), [resolve('x')])
  })

  test('--listen, --output, --preset and --workers replace the file values', async () => {
    const path = await write('replaced.yaml', 'input:\n  listen: [ "tcp://0.0.0.0:1" ]\noutput:\n  target: stdout\n  preset: kv\nworkers: 8\n')
    const c = await loadConfig(path, { listen: ['udp://127.0.0.1:514'], output: 'file:rel.log', preset: 'qradar', workers: 3 })
    assert.deepEqual(c.input.listen.map(l => l.url), ['udp://127.0.0.1:514'])
    assert.deepEqual(c.output.target, { protocol: 'file', path: resolve('rel.log'), url: 'file:rel.log' })
    assert.equal(c.output.preset, 'qradar')
    assert.equal(c.workers, 3)
  })

  test('a flag replaces an invalid file value before validation', async () => {
    const path = await write('bad-target.yaml', 'output:\n  target: nowhere\n')
    const c = await loadConfig(path, { output: 'tcp://siem.example.com:514' })
    assert.deepEqual(c.output.target, { protocol: 'tcp', host: 'siem.example.com', port: 514, url: 'tcp://siem.example.com:514' })
  })

  test('invalid overrides are named by their flag', async () => {
    await rejects(() => loadConfig(undefined, { output: 'htp://x' }), 'FM_ERR_CONFIG',
      /^--output: expected tcp:\/\/HOST:PORT, udp:\/\/HOST:PORT, tls:\/\/HOST:PORT, relp:\/\/HOST:PORT, file:PATH or stdout; found "htp:\/\/x"$/)
    await rejects(() => loadConfig(undefined, { listen: ['tcp://127.0.0.1:1', 'tcp://nope'] }), 'FM_ERR_CONFIG',
      /^--listen: expected tcp:\/\/HOST:PORT, udp:\/\/HOST:PORT or tls:\/\/HOST:PORT; found "tcp:\/\/nope"$/)
    await rejects(() => loadConfig(undefined, { preset: 'splunk' }), 'FM_ERR_CONFIG',
      /^--preset: expected one of alienvault, fortisiem, arcsight, qradar, ecs, kv; found "splunk"$/)
    await rejects(() => loadConfig(undefined, { workers: 1000 }), 'FM_ERR_CONFIG', /^--workers: expected auto or an integer from 1 to 256; found 1000$/)
    await rejects(() => loadConfig(undefined, { listen: ['tls://0.0.0.0:6514'] }), 'FM_ERR_CONFIG',
      /^\(no configuration file\): input\.tls: expected \{ cert, key \} .* \(--listen\); found nothing$/)
  })
})

describe('validateConfig', () => {
  test('validates an object without changing it, naming its source in messages', () => {
    const obj = { output: { target: 'udp://[2001:db8::5]:514' } }
    const c = validateConfig(obj, 'HTTP API')
    assert.deepEqual(obj, { output: { target: 'udp://[2001:db8::5]:514' } })
    assert.deepEqual(c.output.target, { protocol: 'udp', host: '2001:db8::5', port: 514, url: 'udp://[2001:db8::5]:514' })
    assert.ok(Object.isFrozen(c))
    assert.throws(() => validateConfig({ log: { level: 'verbose' } }, 'HTTP API'), {
      code: 'FM_ERR_CONFIG',
      message: 'HTTP API: log.level: expected one of trace, debug, info, warn, error, fatal, silent; found "verbose"',
    })
  })

  test('relative paths resolve against baseDir', () => {
    const c = validateConfig({ feeds: { blocklist: ['mine.txt'] } }, 'test', { baseDir: '/srv/feedmatch' })
    assert.equal(c.feeds.blocklist[0]!.path, '/srv/feedmatch/mine.txt')
  })

  test('more cross-field checks', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ input: { listen: ['tcp://0.0.0.0:9', 'tls://0.0.0.0:9'], tls: { cert: 'c', key: 'k' } } },
        /^t: input\.listen\[1\]: expected each address once; found "tls:\/\/0\.0\.0\.0:9" \(also input\.listen\[0\]\)$/],
      [{ input: { sources: [{ name: 'a' }, { name: 'a' }] } }, /^t: input\.sources\[1\]\.name: expected a name no other source has; found "a"/],
      [{ output: { tls: { cert: 'c.pem' } } }, /^t: output\.tls\.key: expected a path, as output\.tls\.cert is set; found nothing$/],
      [{ output: { reconnect: { initialDelay: '1m', maxDelay: '30s' } } }, /^t: output\.reconnect\.initialDelay: expected at most output\.reconnect\.maxDelay \("30s"\); found "1m"$/],
      [{ input: { sources: [{ name: 'x', normalize: [{ with: '' }] }] } },
        /^t: input\.sources\[0\]\.normalize\[0\]: expected \{ replace: PATTERN, with: TEXT \} or \{ ignore: PATTERN \}; found \{"with":""\}$/],
      [{ input: { sources: [{ name: 'x', match: ['10.0.0.0/33'] }] } }, /^t: input\.sources\[0\]\.match\[0\]: expected an IP address or a CIDR; found "10\.0\.0\.0\/33"$/],
      [[], /^t: expected an object; found \[\]$/],
    ]
    for (const [obj, message] of cases) assert.throws(() => validateConfig(obj, 't'), { code: 'FM_ERR_CONFIG', message })
  })
})

describe('parseDuration', () => {
  test('units and plain milliseconds', () => {
    assert.deepEqual(['500ms', '30s', '5m', '1h', '2d', '1w', '1.5s', 250].map(d => parseDuration(d)),
      [500, 30_000, 300_000, 3_600_000, 172_800_000, 604_800_000, 1500, 250])
  })
  test('anything else names the place', () => {
    assert.throws(() => parseDuration('soon', 'feeds[0].expiry.maxAge'), {
      code: 'FM_ERR_CONFIG',
      message: 'feeds[0].expiry.maxAge: expected a duration like 30s; found "soon"',
    })
    assert.throws(() => parseDuration(-1), { code: 'FM_ERR_CONFIG' })
  })
})
