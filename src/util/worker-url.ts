/**
 * The URL of a worker entry file of src/workers/ (`name` without extension). The compiled CLI runs
 * `dist/workers/x.js`. Tests run the sources through tsx, but Node 20 does not carry `--import tsx`
 * into worker threads, so from `src/.../y.ts` this points at the compiled twin in `dist/`
 * (`npm test` builds first): the data crossing threads is plain, so both sides agree.
 * A `dist/` older than `src/` would run yesterday's workers against today's main thread without
 * a word, so from the sources this checks, once a process, that every compiled file is newer than
 * its source, and fails with FM_ERR_WORKER naming the first stale one.
 */
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { FeedmatchError } from '../errors.js'

let checked = false

export function workerUrl (name: string): URL {
  const here = import.meta.url
  if (!here.endsWith('.ts')) return new URL(`../workers/${name}.js`, here)
  if (!checked) {
    checked = true
    const root = fileURLToPath(new URL('../../', import.meta.url))
    const stale = staleFile(join(root, 'src'), join(root, 'dist'))
    if (stale !== null) {
      throw new FeedmatchError('FM_ERR_WORKER', `dist/ is older than src/ (${stale}): workers run from dist/, run \`npm run build\` first (npm test does)`)
    }
  }
  return new URL(`../../dist/workers/${name}.js`, here)
}

// The first source file whose compiled twin is missing or older, or null.
function staleFile (src: string, dist: string): string | null {
  for (const e of readdirSync(src, { withFileTypes: true })) {
    const from = join(src, e.name)
    if (e.isDirectory()) {
      const inner = staleFile(from, join(dist, e.name))
      if (inner !== null) return inner
    } else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
      const to = join(dist, e.name.replace(/\.ts$/, '.js'))
      let built = 0
      try { built = statSync(to).mtimeMs } catch { return `${from} has no ${to}` }
      if (statSync(from).mtimeMs > built) return `${from} is newer than ${to}`
    }
  }
  return null
}
