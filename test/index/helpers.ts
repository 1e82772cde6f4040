/** Shared by the index tests: feed meta, hits as plain sortable strings, TypeScript workers. */
import { Worker } from 'node:worker_threads'
import type { FeedIndex } from '../../src/index/feed-index.js'
import type { FeedMeta, Hits } from '../../src/index/types.js'

/** A feed's meta as a feed loader would give it. */
export function feedMeta (name: string): Omit<FeedMeta, 'id'> {
  return {
    name,
    category: `${name}-category`,
    role: 'feed',
    actionable: {},
    path: `/feeds/${name}.json`,
    format: 'json',
    records: 0,
    keys: {},
    skipped: 0,
    skippedByReason: {},
    skippedSamples: [],
    filtered: 0
  }
}

/** Each hit as `feed|tag|matched|type` (tag: the `tag` field of the record's context), sorted. */
export function hitList (index: FeedIndex, hits: Hits): string[] {
  const out: string[] = []
  for (let i = 0; i < hits.length; i++) {
    const rec = hits.recs[i]
    out.push(`${index.feed(rec).name}|${String(index.context(rec).tag)}|${hits.matched[i]}|${hits.types[i]}`)
  }
  return out.sort()
}

/**
 * Starts a worker thread on a TypeScript file. Node 20 does not apply the `--import tsx` hooks
 * inside worker threads, so the worker boots from a tiny data: module that registers tsx itself
 * (a .mjs shim file under test/ would be picked up by `node --test` as a test file).
 */
export function startTsWorker (file: URL, workerData: unknown): Worker {
  const boot = `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}
register()
await import(${JSON.stringify(file.href)})`
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), { workerData })
}
