/**
 * `feedmatch connector` and `feedmatch config check` as a user runs them (the compiled CLI), the
 * sample configuration and the systemd unit.
 */
import assert from 'node:assert/strict'
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { loadConfig } from '../../src/config/load.js'
import { configSchema } from '../../src/config/schema.js'
import { CEF } from '../../src/extract/presets.js'
import { DEMO_FEEDS, ROOT, cli, tempDir } from './helpers.js'

const SIEMS = ['alienvault', 'fortisiem', 'arcsight', 'qradar', 'splunk', 'elastic']
const EXAMPLE = join(ROOT, 'fixtures/config/feedmatch.example.yaml')
const DEMO_CATEGORIES = ['kl_botnet_cnc_url', 'kl_ip_reputation', 'kl_malicious_hash', 'kl_malicious_url', 'kl_phishing_url', 'misp_feed', 'osint_ioc', 'stix_indicators']

/** Every property name the schema knows, at any depth. */
function schemaKeys (node: unknown, out = new Set<string>()): Set<string> {
  if (typeof node !== 'object' || node === null) return out
  const n = node as Record<string, unknown>
  if (typeof n.properties === 'object' && n.properties !== null) {
    for (const [k, v] of Object.entries(n.properties)) { out.add(k); schemaKeys(v, out) }
  }
  for (const k of ['items', 'then', 'else']) schemaKeys(n[k], out)
  return out
}

describe('feedmatch connector', () => {
  const tmp = tempDir('connector-cli')
  after(() => tmp.remove())

  for (const siem of SIEMS) {
    it(`${siem}: writes its files, each saying where it goes, a README, and a feedmatch.yaml that passes config check`, () => {
      const dir = join(tmp.dir, siem)
      const r = cli(['connector', siem, '-o', dir])
      assert.equal(r.status, 0, r.stderr)
      const files = readdirSync(dir).sort()
      assert.ok(files.includes('README.md') && files.includes('feedmatch.yaml'), files.join(' '))
      for (const f of files) {
        assert.match(readFileSync(join(dir, f), 'utf8'), /where it goes/i, `${f} says where it goes`)
        assert.ok(r.stdout.includes(join(dir, f)), `${f} is listed`)
      }
      const check = cli(['config', 'check', join(dir, 'feedmatch.yaml')])
      assert.equal(check.status, 0, check.stderr)
      assert.match(check.stdout, new RegExp(`^OK: .*\\n(?:.*\\n)*  output: .*preset ${siem === 'splunk' ? 'kv' : siem === 'elastic' ? 'ecs' : siem}`))
    })
  }

  it('alienvault: one event type per feed category of the config, the allowlist excluded', () => {
    const dir = join(tmp.dir, 'av-config')
    const r = cli(['connector', 'alienvault', '-o', dir, '-c', join(ROOT, 'fixtures/config/alienvault.yaml'), '--plugin-id', '9123'])
    assert.equal(r.status, 0, r.stderr)
    const cfg = readFileSync(join(dir, 'feedmatch.cfg'), 'utf8')
    const translation = /\[translation\]\n([^[]*)/.exec(cfg)![1].split('\n').filter((l) => /^\w+=\d+$/.test(l))
    assert.deepEqual(translation.map((l) => l.split('=')[0]), [...DEMO_CATEGORIES, '_DEFAULT_'])
    const sql = readFileSync(join(dir, 'feedmatch.sql'), 'utf8')
    const rows = [...sql.matchAll(/\(9123, (\d+), 15, 71, NULL, '([^']*)', 5, 8\)/g)]
    assert.deepEqual(rows.map((m) => m[2]), ['feedmatch: Service event', 'feedmatch: Detection event', ...DEMO_CATEGORIES.map((c) => `feedmatch: ${c}`)])
    // The translation section and the SQL agree on every id.
    for (const line of translation.slice(0, -1)) {
      const [cat, sid] = line.split('=')
      assert.ok(rows.some((m) => m[1] === sid && m[2] === `feedmatch: ${cat}`), line)
    }
    // The target of the config becomes the SIEM side of the rules.
    assert.match(readFileSync(join(dir, 'feedmatch.yaml'), 'utf8'), /target: 'tcp:\/\/alienvault\.example\.com:514'/)
  })

  it('alienvault: ids stay the same when a feed is added; unusable category names fall back to the generic event', () => {
    const before = cli(['connector', 'alienvault', '-o', join(tmp.dir, 'av1'), '--feeds', DEMO_FEEDS])
    const config = join(tmp.dir, 'odd.yaml')
    writeFileSync(config, `feeds:\n  sources:\n    - ${DEMO_FEEDS}\n    - { path: ${join(ROOT, 'test/connectors/fixtures/hostile_values.json')}, category: 'odd=name' }\n`)
    const withOdd = cli(['connector', 'alienvault', '-o', join(tmp.dir, 'av2'), '-c', config])
    assert.equal(before.status, 0, before.stderr)
    assert.equal(withOdd.status, 0, withOdd.stderr)
    const ids = (d: string): string[] => readFileSync(join(tmp.dir, d, 'feedmatch.cfg'), 'utf8').split('\n').filter((l) => /^kl_\w+=\d+$/.test(l))
    assert.deepEqual(ids('av2'), ids('av1'))
    assert.match(readFileSync(join(tmp.dir, 'av2', 'feedmatch.cfg'), 'utf8'), /^# not translated \(.*\): odd=name$/m)
  })

  it('alienvault: the plugin regexes follow the configured templates', () => {
    const config = join(tmp.dir, 'templates.yaml')
    writeFileSync(config, "output:\n  preset: alienvault\n  templates:\n    event: 'category=%Category% detected=%MatchedIndicator% feed=%Feed% context=%RecordContext%'\n")
    const r = cli(['connector', 'alienvault', '-o', join(tmp.dir, 'av-tpl'), '-c', config])
    assert.equal(r.status, 0, r.stderr)
    const cfg = readFileSync(join(tmp.dir, 'av-tpl', 'feedmatch.cfg'), 'utf8')
    assert.match(cfg, /^regexp=category=\(\?P<category>.*\) detected=\(\?P<detected>.*\) feed=\(\?P<feed>.*\) context=\(\?P<context>\.\*\)$/m)
    assert.match(cfg, /^userdata4=\{\$feed\}$/m)
    writeFileSync(config, "output:\n  templates:\n    event: 'category=%Category% context=%RecordContext%'\n")
    const bad = cli(['connector', 'alienvault', '-o', join(tmp.dir, 'av-bad'), '-c', config])
    assert.equal(bad.status, 2)
    assert.match(bad.stderr, /FM_ERR_CONFIG: output\.templates\.event: .*missing detected/)
  })

  it('fortisiem: the input rules are the guide\'s (the built-in cef set) and the guide\'s delimiter', async () => {
    const dir = join(tmp.dir, 'fsm')
    assert.equal(cli(['connector', 'fortisiem', '-o', dir]).status, 0)
    const c = await loadConfig(join(dir, 'feedmatch.yaml'))
    assert.equal(c.input.framing, 'delimiter')
    assert.equal(c.input.delimiter, '[^\\=](\\<\\d+\\>)')
    assert.deepEqual(c.input.sources[0].rules.map((r) => ({ ...r })), CEF.map((r) => ({ ...r })))
    assert.equal(c.output.preset, 'fortisiem')
  })

  it('refuses an unknown SIEM, a bad address and a bad port with exit 2', () => {
    for (const args of [['nosiem'], ['alienvault', '--device-ip', 'not-an-ip'], ['qradar', '--siem-port', '70000']]) {
      const r = cli(['connector', ...args, '-o', join(tmp.dir, 'never')])
      assert.equal(r.status, 2, args.join(' '))
      assert.match(r.stderr, /FM_ERR_USAGE/)
    }
  })
})

describe('feedmatch config check and the Linux packaging', () => {
  const tmp = tempDir('config-check')
  after(() => tmp.remove())

  it('the sample config passes, and prints OK and a summary', () => {
    const r = cli(['config', 'check', EXAMPLE])
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /^OK: .*feedmatch\.example\.yaml\n {2}input: {3}tcp:\/\/0\.0\.0\.0:9999/)
    assert.match(r.stdout, /feeds: {3}\/var\/lib\/feedmatch\/feeds/)
  })

  it('the sample config names every option of the schema', () => {
    const text = readFileSync(EXAMPLE, 'utf8')
    for (const key of schemaKeys(configSchema)) assert.match(text, new RegExp(`[\\s{,#]${key}:`), `option ${key} is in the sample config`)
  })

  it('a wrong value: the FM_ERR_CONFIG message with its path, exit 2', () => {
    const file = join(tmp.dir, 'bad.yaml')
    writeFileSync(file, 'input:\n  maxEventSize: 12\n')
    const r = cli(['config', 'check', file])
    assert.equal(r.status, 2)
    assert.match(r.stderr, /^feedmatch: FM_ERR_CONFIG: .*bad\.yaml: input\.maxEventSize: /)
    assert.equal(r.stdout, '')
  })

  it('a template with an unknown placeholder fails the check, as it would fail serve', () => {
    const file = join(tmp.dir, 'tpl.yaml')
    writeFileSync(file, "output:\n  templates:\n    event: 'x=%Nope%'\n")
    const r = cli(['config', 'check', file])
    assert.equal(r.status, 2)
    assert.match(r.stderr, /FM_ERR_CONFIG: Template output\.templates\.event: unknown placeholder %Nope%/)
  })

  it('a missing file: FM_ERR_CONFIG_READ, exit 2', () => {
    const r = cli(['config', 'check', join(tmp.dir, 'none.yaml')])
    assert.equal(r.status, 2)
    assert.match(r.stderr, /FM_ERR_CONFIG_READ/)
  })

  it('the systemd unit checks the config, serves it, reloads on SIGHUP and stops with SIGTERM', () => {
    const unit = readFileSync(join(ROOT, 'scripts/linux/feedmatch.service'), 'utf8')
    assert.match(unit, /^ExecStartPre=\S+feedmatch config check \/etc\/feedmatch\/feedmatch\.yaml$/m)
    assert.match(unit, /^ExecStart=\S+feedmatch serve --config \/etc\/feedmatch\/feedmatch\.yaml$/m)
    assert.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m)
    assert.match(unit, /^KillSignal=SIGTERM$/m)
    assert.match(unit, /^Where it goes: |^# Where it goes: /m)
    for (const section of ['[Unit]', '[Service]', '[Install]']) assert.ok(unit.includes(`\n${section}\n`), section)
  })
})
