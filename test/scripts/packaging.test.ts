/**
 * Installing feedmatch as users do: `npm pack` ships the compiled dist/ (built by `prepare`) and
 * the package entry exists; the Dockerfile passes a Dockerfile linter (dockerfile-utils, the one of
 * the VS Code Docker extension), is multi-stage, runs as a non-root user, checks /health, copies
 * only files that exist, and its default config is valid. No Docker engine runs here: `docker
 * build` itself is not tried.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { validate } from 'dockerfile-utils'
import { validateConfig } from '../../src/config/load.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const DOCKERFILE = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')

test('npm pack ships dist/ (the CLI and the package entry) and the demo fixtures', () => {
  // --ignore-scripts: the files npm test built already; `prepare` would rebuild dist/ under the other tests.
  const out = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' })) as Array<{ files: Array<{ path: string }> }>
  const files = new Set(out[0]!.files.map((f) => f.path))
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { main: string, bin: Record<string, string>, scripts: Record<string, string> }
  for (const f of [pkg.main, pkg.bin.feedmatch, 'dist/cli/main.js', 'fixtures/feeds/kl_malicious_hash.json']) {
    assert.ok(files.has(f.replace(/^\.\//, '')), `${f} is in the package`)
  }
  assert.ok(existsSync(join(ROOT, pkg.main)), `main (${pkg.main}) exists once built`)
  assert.match(pkg.scripts.prepare ?? '', /tsc/, 'prepare builds dist/ for npm pack and npm install -g .')
})

test('the Dockerfile lints clean and is multi-stage, non-root, with a health check on /health', () => {
  assert.deepEqual(validate(DOCKERFILE).map((d) => `line ${d.range.start.line + 1}: ${d.message}`), [])
  const lines = DOCKERFILE.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
  const froms = lines.filter((l) => /^FROM /i.test(l))
  assert.ok(froms.length >= 2, 'a build stage and a runtime stage')
  const runtime = lines.slice(lines.lastIndexOf(froms.at(-1)!))
  const user = runtime.filter((l) => /^USER /i.test(l)).at(-1)
  assert.ok(user !== undefined && !/^USER\s+(root|0)(:|\s|$)/i.test(user), `the runtime stage runs as a non-root user: ${user ?? 'none'}`)
  assert.ok(runtime.some((l) => /^HEALTHCHECK .*\/health/i.test(l)), 'HEALTHCHECK asks /health')
  for (const l of lines.filter((x) => /^COPY /i.test(x) && !/--from=/.test(x))) {
    const parts = l.split(/\s+/).slice(1).filter((p) => !p.startsWith('--'))
    for (const src of parts.slice(0, -1)) assert.ok(existsSync(join(ROOT, src)), `COPY ${src}: the file exists`)
  }
  const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
  assert.match(ignore, /^node_modules$/m, 'the host node_modules (built for this machine) stays out of the image')
})

test('the default config of the container is valid', async () => {
  const { parse } = await import('yaml')
  const config = validateConfig(parse(readFileSync(join(ROOT, 'fixtures/config/docker.yaml'), 'utf8')), 'docker.yaml')
  assert.equal(config.input.listen[0]?.url, 'tcp://0.0.0.0:9999')
  assert.equal(config.api.listen?.url, 'http://127.0.0.1:9998', 'the API on loopback: the health check runs inside the container')
})
