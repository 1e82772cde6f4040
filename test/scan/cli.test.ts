import { test, before } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { parse } from 'csv-parse/sync'
import { cli, detectionsByEvent, expectedOutput, makeFixture, ndjson, EVENTS, FEEDS, type Det, type Fixture } from './helpers.js'

// Behaviour of the compiled CLI: stdin, exit codes, damaged input, formats, limits, --to.
let dir: string
let events: string
let all: Det[]
let fx: Fixture
let by: Map<number, Det[]>

before(async () => {
  fx = await makeFixture()
  by = await detectionsByEvent()
  dir = await mkdtemp(join(tmpdir(), 'fm-scan-cli-'))
  events = await readFile(EVENTS, 'utf8')
  await writeFile(join(dir, 'clean.log'), 'Mar  1 10:00:00 app svc[1]: started in 12ms from 10.99.1.2\nall quiet\n')
  const r = await cli(['scan', '--feeds', FEEDS, '--no-progress', EVENTS])
  assert.equal(r.code, 1, r.stderr)
  all = ndjson(r.stdout)
  assert.ok(all.length >= 46)
})

test('stdin (-) gives the same detections as the file, named (stdin); gzip on stdin is inflated', async () => {
  const plain = await cli(['scan', '--feeds', FEEDS, '-'], { input: events })
  assert.equal(plain.code, 1, plain.stderr)
  assert.deepEqual(ndjson(plain.stdout), all.map((d) => ({ ...d, file: '(stdin)' })))
  const gz = await cli(['scan', '--feeds', FEEDS, '-'], { input: gzipSync(events) })
  assert.equal(gz.code, 1, gz.stderr)
  assert.deepEqual(ndjson(gz.stdout), ndjson(plain.stdout))
})

test('node options before the script (--max-old-space-size) reach node, not the workers, which Worker would refuse', async () => {
  const r = await cli(['scan', '--feeds', FEEDS, '--no-progress', EVENTS], { nodeArgs: ['--max-old-space-size=2048'] })
  assert.equal(r.code, 1, r.stderr)
  assert.deepEqual(ndjson(r.stdout), all)
})

test('exit codes: 0 when nothing is found, 1 on detections, 2 on errors; stderr is quiet when not a TTY', async () => {
  const clean = await cli(['scan', '--feeds', FEEDS, join(dir, 'clean.log')])
  assert.equal(clean.code, 0, clean.stderr)
  assert.equal(clean.stdout, '')
  assert.equal(clean.stderr, '')
  const missing = await cli(['scan', '--feeds', FEEDS, join(dir, 'no-such.log')])
  assert.equal(missing.code, 2)
  assert.match(missing.stderr, /no-such\.log: no such file or folder/)
  const badFormat = await cli(['scan', '--feeds', FEEDS, '--format', 'xml', join(dir, 'clean.log')])
  assert.equal(badFormat.code, 2)
  assert.match(badFormat.stderr, /FM_ERR_USAGE: --format: expected one of ndjson, csv, cef, kv, text; found "xml"/)
  // A missing file among good ones is reported; the detections decide the exit code.
  const mixed = await cli(['scan', '--feeds', FEEDS, join(dir, 'no-such.log'), EVENTS])
  assert.equal(mixed.code, 1)
  assert.equal(ndjson(mixed.stdout).length, all.length)
})

test('a corrupt .gz is reported, and the other files are scanned', async () => {
  const gz = gzipSync(events + events)
  // Damage the deflate data in the middle: the lines before may be scanned, the rest is lost.
  for (let i = Math.floor(gz.length / 2); i < Math.floor(gz.length / 2) + 64; i++) gz[i] ^= 0x5a
  await writeFile(join(dir, 'bad.log.gz'), gz)
  await writeFile(join(dir, 'short.log.gz'), gzipSync(events).subarray(0, 100))
  const r = await cli(['scan', '--feeds', FEEDS, '--no-progress', join(dir, 'bad.log.gz'), join(dir, 'short.log.gz'), EVENTS])
  assert.equal(r.code, 1, r.stderr)
  assert.match(r.stderr, /bad\.log\.gz: .*FM_ERR_SCAN_INPUT|FM_ERR_SCAN_INPUT.*bad\.log\.gz/)
  assert.match(r.stderr, /short\.log\.gz/)
  const out = ndjson(r.stdout)
  assert.deepEqual(out.filter((d) => d.file === EVENTS), all)
  // Only the damaged files, nothing found in what could be read: exit 2.
  const alone = await cli(['scan', '--feeds', FEEDS, join(dir, 'short.log.gz')])
  assert.equal(alone.code, 2)
})

test('a truncated tar: the members before the damage are scanned, the archive is reported', async () => {
  const tar = await readFile(join(fx.dir, 'f.tar'))
  // f.tar holds one member (a header block, its data padded to 512); the same member again, cut
  // short, makes a damaged archive.
  const size = parseInt(tar.toString('latin1', 124, 136).trim(), 8)
  const member = tar.subarray(0, 512 + Math.ceil(size / 512) * 512)
  await writeFile(join(dir, 'cut.tar'), Buffer.concat([member, member.subarray(0, 700)]))
  const r = await cli(['scan', '--feeds', FEEDS, '--no-progress', join(dir, 'cut.tar')])
  assert.equal(r.code, 1, r.stderr)
  assert.match(r.stderr, /cut\.tar: damaged tar archive/)
  const want = expectedOutput(fx, by).filter((d) => d.file === 'f.tar:x/y.log').map((d) => ({ ...d, file: `${join(dir, 'cut.tar')}:x/y.log` }))
  assert.deepEqual(ndjson(r.stdout), want)
})

test('an unreadable file is reported and counted; the scan goes on', { skip: process.getuid?.() === 0 ? 'root reads any file' : false }, async () => {
  const locked = join(dir, 'locked.log')
  await writeFile(locked, events)
  await chmod(locked, 0)
  const r = await cli(['scan', '--feeds', FEEDS, locked, EVENTS])
  assert.equal(r.code, 1)
  assert.match(r.stderr, /locked\.log: permission denied/)
  assert.deepEqual(ndjson(r.stdout), all)
})

test('CSV and NDJSON parse back to the same detections', async () => {
  const r = await cli(['scan', '--feeds', FEEDS, '--format', 'csv', EVENTS])
  assert.equal(r.code, 1, r.stderr)
  const rows = parse(r.stdout, { columns: true }) as Array<Record<string, string>>
  assert.deepEqual(Object.keys(rows[0]), ['feed', 'category', 'type', 'matched', 'value', 'rule', 'context', 'file', 'line'])
  const back = rows.map((row) => ({ ...row, context: JSON.parse(row.context) as unknown, line: Number(row.line) }))
  assert.deepEqual(back, all)
})

test('--max-detections stops after that many, the first ones in order; -o writes a file', async () => {
  const out = join(dir, 'first3.ndjson')
  const r = await cli(['scan', '--feeds', FEEDS, '--max-detections', '3', '-o', out, EVENTS, EVENTS])
  assert.equal(r.code, 1, r.stderr)
  assert.equal(r.stdout, '')
  assert.deepEqual(ndjson(await readFile(out, 'utf8')), all.slice(0, 3))
})

test('text, cef and kv formats: one record a line, cef and kv through the output presets', async () => {
  const text = await cli(['scan', '--feeds', FEEDS, '--format', 'text', EVENTS])
  assert.equal(text.code, 1)
  const lines = text.stdout.trim().split('\n')
  assert.equal(lines.length, all.length)
  assert.ok(lines[0].startsWith(`${EVENTS}:1: md5 44d88612fea8a8f36de82e1278abb02f in kl_malicious_hash`), lines[0])
  const cef = await cli(['scan', '--feeds', FEEDS, '--format', 'cef', EVENTS])
  assert.equal(cef.code, 1)
  assert.equal(cef.stdout.trim().split('\n').length, all.length)
  assert.ok(cef.stdout.split('\n').every((l) => l === '' || l.startsWith('CEF:')), cef.stdout.slice(0, 200))
  const kv = await cli(['scan', '--feeds', FEEDS, '--format', 'kv', '--preset', 'alienvault', EVENTS])
  assert.equal(kv.code, 1)
  assert.match(kv.stdout.split('\n')[0], /^category=kl_malicious_hash detected=44d88612fea8a8f36de82e1278abb02f /)
  const mismatch = await cli(['scan', '--feeds', FEEDS, '--format', 'cef', '--preset', 'alienvault', EVENTS])
  assert.equal(mismatch.code, 2)
  assert.match(mismatch.stderr, /--preset alienvault does not write cef/)
})

test('rules: the generic preset by default, --preset cef, or a source of the config with --source', async () => {
  assert.equal(all[0].rule, 'RE_MD5')
  const cef = await cli(['scan', '--feeds', FEEDS, '--preset', 'cef', EVENTS])
  assert.equal(cef.code, 1, cef.stderr)
  assert.equal(ndjson(cef.stdout)[0].rule, 'RE_HASH')
  const config = join(dir, 'sources.yaml')
  await writeFile(config, [
    'input:', '  sources:', '    - name: default', '      preset: generic', '    - name: fw', '      preset: none', '      rules:',
    `        - { name: DST, type: IP, extract: first, pattern: 'dst=(\\d+\\.\\d+\\.\\d+\\.\\d+)' }`, ''
  ].join('\n'))
  const fw = await cli(['-c', config, 'scan', '--feeds', FEEDS, '--source', 'fw', EVENTS])
  assert.equal(fw.code, 1, fw.stderr)
  const dets = ndjson(fw.stdout)
  assert.ok(dets.length > 0 && dets.every((d) => d.rule === 'DST' && d.type === 'ip'), fw.stdout.slice(0, 300))
  const lines = events.split('\n')
  for (const d of dets) {
    assert.ok(lines[d.line - 1].includes(`dst=${d.value}`), `line ${d.line} has dst=${d.value}`)
    assert.ok(all.some((g) => g.line === d.line && g.rule === 'RE_IP' && g.value === d.value && g.feed === d.feed && g.matched === d.matched))
  }
})

test('--to tcp:// sends the detections to a SIEM as syslog frames', async () => {
  const got: Buffer[] = []
  const server = net.createServer((s) => s.on('data', (b: Buffer) => got.push(b)))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo
  try {
    const r = await cli(['scan', '--feeds', FEEDS, '--to', `tcp://127.0.0.1:${port}`, '--preset', 'kv', EVENTS])
    assert.equal(r.code, 1, r.stderr)
    assert.equal(r.stdout, '')
    const frames = Buffer.concat(got).toString('utf8').trim().split('\n')
    assert.equal(frames.length, all.length)
    assert.match(frames[0], /feed=kl_malicious_hash category=kl_malicious_hash type=md5 matched=44d88612fea8a8f36de82e1278abb02f/)
  } finally {
    server.close()
  }
})

test('--to a SIEM that is down: exit 2 (an error), not 1, though detections were found', async () => {
  const server = net.createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo
  server.close()
  await once(server, 'close')
  const r = await cli(['scan', '--feeds', FEEDS, '--to', `tcp://127.0.0.1:${port}`, EVENTS])
  assert.equal(r.code, 2, r.stderr)
  assert.match(r.stderr, /FM_ERR_SCAN_OUTPUT|could not be delivered/)
})

test('a log with NUL bytes in its first 8 KiB (a crash left a hole) is scanned, its NUL lines dropped and counted; real binary data is skipped', async () => {
  const holed = join(dir, 'holed.log')
  await writeFile(holed, Buffer.concat([Buffer.from('Mar  1 10:00:00 app svc[1]: before the crash\n'), Buffer.alloc(4096), Buffer.from('\n' + events)]))
  const r = await cli(['scan', '--feeds', FEEDS, '--summary-json', holed])
  assert.equal(r.code, 1, r.stderr)
  assert.equal(ndjson(r.stdout).length, all.length)
  assert.equal(JSON.parse(r.stderr.trim().split('\n').at(-1)!).binaryLines, 1)
  const binary = join(dir, 'program.bin')
  // The start of a real executable (node's own), then text that would match.
  const exe = (await readFile(process.execPath)).subarray(0, 16384)
  await writeFile(binary, Buffer.concat([exe, Buffer.from(events)]))
  const b = await cli(['scan', '--feeds', FEEDS, binary])
  assert.equal(b.code, 0, b.stderr)
  assert.match(b.stderr, /binary data/)
})
