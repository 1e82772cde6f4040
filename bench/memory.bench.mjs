// Memory at scale: for each indicator set, one child process builds the FeedIndex from the
// Kaspersky-format feeds (as `feedmatch feeds build` does, in the build worker) and writes a
// snapshot; a second child only loads that snapshot, which is what a running service holds. Each
// is its own process so its RSS is its own. Never asserts a time.
import { spawn } from 'node:child_process'
import { readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { fileURLToPath, pathToFileURL } from 'node:url'

const dist = (p) => new URL(`../dist/${p}`, import.meta.url).href
const MB = 2 ** 20

/** Child: build from the feeds in `dir`, write the snapshot to `snap`; prints one JSON line. */
async function buildChild (dir, snap) {
  const { buildGeneration } = await import(dist('feeds/build.js'))
  const { FeedIndex } = await import(dist('index/feed-index.js'))
  const { writeSnapshot } = await import(dist('index/snapshot.js'))
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json'))
  const feeds = files.map((f) => ({ path: join(dir, f), name: f.replace(/\.json$/, ''), category: f, role: 'feed', format: 'kaspersky' }))
  const t0 = performance.now()
  const built = await buildGeneration(feeds)
  const buildMs = performance.now() - t0
  const stats = new FeedIndex(built.handle).stats()
  const t1 = performance.now()
  await writeSnapshot(built.handle, snap)
  return {
    records: built.loaded.reduce((n, l) => n + l.meta.records, 0),
    keys: built.loaded.reduce((n, l) => n + Object.values(l.meta.keys).reduce((a, b) => a + b, 0), 0),
    buildMs, snapshotWriteMs: performance.now() - t1, indexBytes: stats.bytes, arenaBytes: stats.byTable.arena ?? 0,
    rssAfterBuildMb: process.memoryUsage().rss / MB, peakRssMb: process.resourceUsage().maxRSS / 1024
  }
}

/** Child: load the snapshot `snap` and one FeedIndex view of it; prints one JSON line. */
async function loadChild (snap) {
  const { readSnapshot } = await import(dist('index/snapshot.js'))
  const { FeedIndex } = await import(dist('index/feed-index.js'))
  const before = process.memoryUsage().rss
  const t0 = performance.now()
  const index = new FeedIndex(await readSnapshot(snap))
  const loadMs = performance.now() - t0
  return { loadMs, rssMb: process.memoryUsage().rss / MB, rssOfIndexMb: (process.memoryUsage().rss - before) / MB, indexBytes: index.stats().bytes }
}

async function child (args) {
  const c = spawn(process.execPath, ['--max-old-space-size=8192', fileURLToPath(import.meta.url), ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  c.stdout.setEncoding('utf8').on('data', (s) => { out += s })
  const code = await new Promise((resolve) => c.on('close', resolve))
  if (code !== 0) throw new Error(`memory bench child (${args[0]}) exited with ${code}`)
  return JSON.parse(out.trim().split('\n').pop())
}

/** Measures one indicator set folder (made by make-bench-data.mjs); returns its figures. */
export async function measureIndicatorSet (dir) {
  const snap = join(tmpdir(), `feedmatch-memory-bench-${process.pid}.fmidx`)
  try {
    const build = await child(['--build', dir, snap])
    const snapshotBytes = (await stat(snap)).size
    const load = await child(['--load', snap])
    return {
      ...build,
      bytesPerKey: build.indexBytes / build.keys,
      bytesPerRecord: build.indexBytes / build.records,
      arenaBytesPerRecord: build.arenaBytes / build.records,
      snapshotBytes,
      snapshotLoadMs: load.loadMs,
      servingRssMb: load.rssMb
    }
  } finally {
    await rm(snap, { force: true })
  }
}

/** Prints the memory table for `sets` ({ label: figures }). */
export function printMemoryTable (sets) {
  const f = (x, d = 0) => x === undefined || x === null ? '-' : Number(x).toFixed(d)
  console.table(Object.fromEntries(Object.entries(sets).map(([label, m]) => [label, m.skipped !== undefined
    ? { 'index B/key': `skipped: ${m.skipped}` }
    : {
        records: m.records.toLocaleString(),
        keys: m.keys.toLocaleString(),
        'index B/key': f(m.bytesPerKey, 1),
        'context B/record': f(m.arenaBytesPerRecord, 1),
        'build s': f(m.buildMs / 1000, 2),
        'build peak RSS MB': f(m.peakRssMb),
        'snapshot MB': f(m.snapshotBytes / MB),
        'snapshot load ms': f(m.snapshotLoadMs),
        'RSS serving it MB': f(m.servingRssMb)
      }])))
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [mode, a, b] = process.argv.slice(2)
  const res = mode === '--build' ? await buildChild(a, b) : mode === '--load' ? await loadChild(a) : null
  if (res === null) {
    process.stderr.write('usage: node bench/memory.bench.mjs --build FEEDS_DIR SNAPSHOT | --load SNAPSHOT (the runner calls these)\n')
    process.exit(2)
  }
  process.stdout.write(JSON.stringify(res) + '\n')
}
