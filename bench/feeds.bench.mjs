// Feed build benchmark: 1M mixed Kaspersky-format records parsed, normalized and indexed in the
// build worker, exactly as `feedmatch feeds build` does; then snapshot write and load.
// Prints a table, returns the figures; never asserts a time.
import { existsSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../', import.meta.url))
const dist = (p) => new URL(`../dist/${p}`, import.meta.url).href

/** Makes (once) and returns the folder of a seeded indicator set of `count` records. */
export function benchIndicators (count) {
  const dir = join(ROOT, 'bench/corpus', `indicators-${count}`)
  if (!existsSync(join(dir, 'list.txt'))) {
    execFileSync(process.execPath, [join(ROOT, 'scripts/make-bench-data.mjs'), '--count', String(count), '--out', join(ROOT, 'bench/corpus')], { stdio: 'inherit' })
  }
  return dir
}

export async function runFeedsBench ({ quick = false } = {}) {
  const count = quick ? 100_000 : 1_000_000
  const dir = benchIndicators(count)
  const { buildGeneration } = await import(dist('feeds/build.js'))
  const { FeedIndex } = await import(dist('index/feed-index.js'))
  const { writeSnapshot, readSnapshot } = await import(dist('index/snapshot.js'))
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json'))
  const feeds = files.map((f) => ({ path: join(dir, f), name: f.replace(/\.json$/, ''), category: f, role: 'feed', format: 'kaspersky' }))
  let bytes = 0
  for (const f of feeds) bytes += (await stat(f.path)).size

  const t0 = performance.now()
  const built = await buildGeneration(feeds)
  const buildMs = performance.now() - t0
  const index = new FeedIndex(built.handle)
  const stats = index.stats()
  const records = built.loaded.reduce((n, l) => n + l.meta.records, 0)
  const keys = built.loaded.reduce((n, l) => n + Object.values(l.meta.keys).reduce((a, b) => a + b, 0), 0)

  const snap = join(tmpdir(), `feedmatch-bench-${process.pid}.fmidx`)
  const t1 = performance.now()
  await writeSnapshot(built.handle, snap)
  const writeMs = performance.now() - t1
  const snapBytes = (await stat(snap)).size
  const t2 = performance.now()
  const loaded = await readSnapshot(snap)
  const loadMs = performance.now() - t2
  void new FeedIndex(loaded)
  await rm(snap, { force: true })

  const result = {
    records, keys, feedBytes: bytes, buildMs, buildRecordsPerSec: records / (buildMs / 1000),
    indexBytes: stats.bytes, bytesPerKey: stats.bytes / keys, bytesPerRecord: stats.bytes / records,
    arenaBytes: stats.byTable.arena ?? 0, byTable: stats.byTable,
    snapshotBytes: snapBytes, snapshotWriteMs: writeMs, snapshotLoadMs: loadMs
  }
  console.log(`\nFeed build: ${records.toLocaleString()} Kaspersky-format records (${keys.toLocaleString()} keys, ${(bytes / 1e6).toFixed(0)} MB of JSON)`)
  console.table({
    'build (parse + normalize + index)': { value: `${(buildMs / 1000).toFixed(2)} s`, target: count === 1_000_000 ? '<= 5 s' : '-' },
    'index memory per key (no context)': { value: `${result.bytesPerKey.toFixed(1)} B`, target: '<= 64 B' },
    'index memory per record': { value: `${result.bytesPerRecord.toFixed(1)} B`, target: '-' },
    'context arena': { value: `${(result.arenaBytes / 1e6).toFixed(1)} MB`, target: '-' },
    'snapshot write': { value: `${writeMs.toFixed(0)} ms`, target: '-' },
    'snapshot load': { value: `${loadMs.toFixed(0)} ms`, target: count === 1_000_000 ? '<= 500 ms' : '-' }
  })
  return result
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runFeedsBench({ quick: process.argv.includes('--quick') })
}
