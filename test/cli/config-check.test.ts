import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

// `feedmatch config check` goes as far as serve would before it listens: schema, templates,
// filters, and the feed files themselves (the compiled CLI, as a user runs it).
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CLI = join(ROOT, 'dist/cli/main.js')
const dir = mkdtempSync(join(tmpdir(), 'feedmatch-config-check-'))

function check (yaml: string, ...args: string[]): { status: number | null, stdout: string, stderr: string } {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`)
  writeFileSync(file, yaml)
  const r = spawnSync(process.execPath, [CLI, 'config', 'check', file, ...args], { encoding: 'utf8' })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

const FEODO = join(ROOT, 'fixtures/layouts/feodo.csv')
writeFileSync(join(dir, 'empty.txt'), '# nothing today\n')

test('config check loads the feeds: one that would not load fails the check (exit 2) with its code', () => {
  const r = check(`feeds:\n  sources:\n    - ${join(dir, 'empty.txt')}\n    - ${FEODO}\n`)
  assert.equal(r.status, 2, r.stderr)
  assert.match(r.stdout, /loaded: {2}1 feeds, 3 records/)
  assert.match(r.stderr, /FAILED FM_ERR_FEED_EMPTY: feed "empty"/)
  assert.match(r.stdout, /FAILED: 1 feed\(s\) would not load/)
  const skipped = check(`feeds:\n  sources:\n    - ${join(dir, 'empty.txt')}\n`, '--no-feeds')
  assert.equal(skipped.status, 0, '--no-feeds checks the file alone')
})

test('config check compiles the feed filters, refuses a URL written as a path, and warns about demo feeds and absent paths', () => {
  const bad = check(`feeds:\n  sources:\n    - path: ${FEODO}\n      filter: "malware = "\n`)
  assert.equal(bad.status, 2)
  assert.match(bad.stderr, /FM_ERR_CONFIG: .*: feeds\.sources\[0\]\.filter: filter "malware = ": unexpected end at column 11/)
  const url = check('feeds:\n  sources:\n    - https://feodotracker.example/downloads/ipblocklist.csv\n')
  assert.equal(url.status, 2)
  assert.match(url.stderr, /expected a file or folder; found the URL .* \(write it as url: to have feedmatch download it\)/)
  const demo = check('workers: 1\n')
  assert.equal(demo.status, 0)
  assert.match(demo.stderr, /WARNING: no feeds are configured: serve would load the demo feeds/)
  const absent = check('feeds:\n  sources:\n    - /var/lib/feedmatch-nowhere/feeds.json\n')
  assert.equal(absent.status, 0, absent.stderr)
  assert.match(absent.stderr, /WARNING: feed "feeds": \/var\/lib\/feedmatch-nowhere\/feeds\.json does not exist on this machine/)
})
