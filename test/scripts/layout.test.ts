/**
 * The layout of src/ stays what docs/ARCHITECTURE.md says: no import cycle between modules or
 * between folders, the index knows nothing of feed formats, worker entries are loaded by URL and
 * imported by nobody, and what runs in workers (render/) never pulls in the main thread's sender
 * (output/). madge and dependency-cruiser parse TypeScript with the TypeScript compiler's API,
 * which TypeScript 7 no longer has in that form; the imports here are read with a regular
 * expression, enough for this codebase's one-import-per-statement style.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const SRC = fileURLToPath(new URL('../../src/', import.meta.url))
const IMPORT = /^(?:import|export)\s+(type\s+)?(?:[^'"]*?\sfrom\s+)?'(\.{1,2}\/[^']+)'/gm

interface Edge { from: string, to: string, typeOnly: boolean }

function sources (dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n)
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : []
  })
}

const files = sources(SRC).map((f) => relative(SRC, f))
const edges: Edge[] = files.flatMap((f) => [...readFileSync(join(SRC, f), 'utf8').matchAll(IMPORT)].map((m) => ({
  from: f,
  to: relative(SRC, resolve(dirname(join(SRC, f)), m[2])).replace(/\.js$/, '.ts'),
  typeOnly: m[1] !== undefined
})))
const folderOf = (f: string): string | null => f.includes('/') ? f.split('/')[0] : null

/** The cycles of a graph (its strongly connected components of more than one node). */
function cycles (nodes: string[], next: (n: string) => string[]): string[][] {
  let i = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const on = new Set<string>()
  const out: string[][] = []
  const visit = (v: string): void => {
    index.set(v, i); low.set(v, i); i++; stack.push(v); on.add(v)
    for (const w of next(v)) {
      if (!index.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)) } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) === index.get(v)) {
      const c: string[] = []
      let w: string
      do { w = stack.pop()!; on.delete(w); c.push(w) } while (w !== v)
      if (c.length > 1) out.push(c.sort())
    }
  }
  for (const n of nodes) if (!index.has(n)) visit(n)
  return out
}

test('the import graph is read: every relative import names a file of src/', () => {
  assert.ok(edges.length > 300, `${edges.length} imports`)
  const missing = edges.filter((e) => !files.includes(e.to)).map((e) => `${e.from} -> ${e.to}`)
  assert.deepEqual(missing, [])
})

test('no module imports itself back, directly or around a loop', () => {
  const value = edges.filter((e) => !e.typeOnly)
  assert.deepEqual(cycles(files, (f) => value.filter((e) => e.from === f).map((e) => e.to)), [])
})

test('no two folders of src/ import code from each other, directly or around a loop', () => {
  // Top-level files are outside: errors.ts is a leaf everything imports, index.ts the package entry.
  // Type-only imports are left out: they vanish from the compiled code and share a contract, not code.
  const between = edges.filter((e) => !e.typeOnly && folderOf(e.from) !== null && folderOf(e.to) !== null && folderOf(e.from) !== folderOf(e.to))
  const folders = [...new Set(files.map(folderOf).filter((x): x is string => x !== null))]
  const found = cycles(folders, (d) => [...new Set(between.filter((e) => folderOf(e.from) === d).map((e) => folderOf(e.to) as string))])
  const why = found.map((c) => c.map((d) => between.find((e) => folderOf(e.from) === d && c.includes(folderOf(e.to) as string))).map((e) => `${e?.from} -> ${e?.to}`).join(', '))
  assert.deepEqual(why, [])
})

test('the rules of the layout: index/ without feeds/, render/ without output/, worker entries imported by nobody', () => {
  const broken = (fromDir: string, toDir: string): string[] => edges.filter((e) => !e.typeOnly && e.from.startsWith(fromDir) && e.to.startsWith(toDir)).map((e) => `${e.from} -> ${e.to}`)
  assert.deepEqual(broken('index/', 'feeds/'), [], 'the index is data structures; feed formats build into it from outside')
  assert.deepEqual(broken('render/', 'output/'), [], 'render/ runs in the match workers: no sockets, no spool')
  assert.deepEqual(edges.filter((e) => !e.typeOnly && e.to.startsWith('workers/')).map((e) => `${e.from} -> ${e.to}`), [], 'worker entries are started by URL (util/worker-url.ts)')
  const entries = files.filter((f) => f.startsWith('workers/') && f.endsWith('.ts'))
  assert.deepEqual(entries.sort(), ['workers/build-worker.ts', 'workers/match-worker.ts', 'workers/parse-worker.ts', 'workers/scan-worker.ts', 'workers/store-worker.ts'])
})
