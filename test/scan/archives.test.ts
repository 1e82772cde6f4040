import { test, before } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { cli, detectionsByEvent, expectedOutput, makeFixture, ndjson, EXPECTED, FEEDS, RANGE, type Det, type Fixture } from './helpers.js'

// Everything here runs the compiled CLI as a user does (`npm test` builds dist/ first).
let by: Map<number, Det[]>
let fx: Fixture

before(async () => {
  by = await detectionsByEvent()
  fx = await makeFixture()
})

test('events.txt alone gives every expected detection on its own line (ground truth of the other tests)', async () => {
  const expected = JSON.parse(await readFile(EXPECTED, 'utf8')) as Array<{ feed: string, matched: string }>
  expected.forEach((e, i) => {
    const got = by.get(i + 1) ?? []
    assert.ok(got.some((d) => d.feed === e.feed && d.matched === e.matched), `line ${i + 1}: expected ${e.feed} ${e.matched}, got ${JSON.stringify(got.map((d) => [d.feed, d.matched]))}`)
  })
})

for (const workers of [1, 2]) {
  for (const range of [RANGE, undefined]) {
    test(`a folder of plain, .gz, .tar.gz, .tar and nested files: exact detections in file and line order (workers ${workers}, ${range === undefined ? 'default ranges' : `${range}-byte ranges`})`, async () => {
      const args = ['scan', '--feeds', FEEDS, '--no-progress', '--workers', String(workers), ...(range === undefined ? [] : ['--range-bytes', String(range)]), '.']
      const r = await cli(args, { cwd: fx.dir })
      assert.equal(r.code, 1, r.stderr)
      assert.deepEqual(ndjson(r.stdout), expectedOutput(fx, by))
      // Binary inputs are skipped with a warning each, and the scan goes on.
      assert.match(r.stderr, /skip\.bin: binary data/)
      assert.match(r.stderr, /c\.tar\.gz:bin\/blob\.bin: binary data/)
    })
  }
}

test('the big file alone, cut in 4 KiB ranges: a line across a cut, at a cut, or longer than a range is found once', async () => {
  // The file really has those lines: check where the planted ones lie against the cuts.
  const text = await readFile(join(fx.dir, 'huge.log'), 'latin1')
  const starts = [0]
  for (let i = text.indexOf('\n'); i >= 0 && i < text.length - 1; i = text.indexOf('\n', i + 1)) starts.push(i + 1)
  const spans = fx.plants.filter((p) => p.label === 'huge.log').map((p) => ({ s: starts[p.line - 1], e: starts[p.line] }))
  assert.ok(spans.some(({ s, e }) => Math.floor(s / RANGE) !== Math.floor((e - 1) / RANGE) && s % RANGE !== 0), 'a line across a cut')
  assert.ok(spans.some(({ s }) => s % RANGE === 0), 'a line starting at a cut')
  assert.ok(spans.some(({ e }) => e % RANGE === 0), 'a line whose LF is the last byte before a cut')
  assert.ok(spans.some(({ s, e }) => e - s > 2 * RANGE), 'a line longer than a range')
  const r = await cli(['scan', '--feeds', FEEDS, '--no-progress', '--workers', '2', '--range-bytes', String(RANGE), 'huge.log'], { cwd: fx.dir })
  assert.equal(r.code, 1, r.stderr)
  const want = expectedOutput(fx, by).filter((d) => d.file === 'huge.log')
  assert.ok(want.length >= 10)
  assert.deepEqual(ndjson(r.stdout), want)
})

test('tars written with pax headers (long names) read the same as GNU ones', async () => {
  const pax = await makeFixture({ systemTar: false })
  const r = await cli(['scan', '--feeds', FEEDS, '--no-progress', 'c.tar.gz', 'f.tar'], { cwd: pax.dir })
  assert.equal(r.code, 1, r.stderr)
  const want = expectedOutput(pax, by).filter((d) => d.file.startsWith('c.tar.gz:') || d.file.startsWith('f.tar:'))
  assert.deepEqual(ndjson(r.stdout), want)
})

test('globs: quoted patterns are expanded by the scan, ** included', async () => {
  const r = await cli(['scan', '--feeds', FEEDS, '--no-progress', '**/*.log', '*.tar'], { cwd: fx.dir })
  assert.equal(r.code, 1, r.stderr)
  const files = [...new Set(ndjson(r.stdout).map((d) => d.file))]
  assert.deepEqual(files, ['a.log', 'd/e/deep.log', 'huge.log', 'f.tar:x/y.log'])
})
