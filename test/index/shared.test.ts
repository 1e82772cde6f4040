import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import type { Worker } from 'node:worker_threads'
import { once } from 'node:events'
import type { GenerationHandle } from '../../src/index/types.js'
import { REC_SPARE_WORD } from '../../src/index/layout.js'
import { startTsWorker } from './helpers.js'

interface LookupReport { found: Array<number | null>, seen: number, isShared: boolean }

function start (file: string, workerData: unknown): Worker {
  const w = startTsWorker(new URL(file, import.meta.url), workerData)
  w.on('error', (err) => { throw err })
  return w
}

async function next<T> (w: Worker): Promise<T> {
  const [msg] = await once(w, 'message') as [T]
  return msg
}

test('one generation built in a worker is shared, not copied, by two other workers', async () => {
  const hashes = Array.from({ length: 2000 }, () => randomBytes(16).toString('hex'))
  const marker = 0x5eed1234
  const builder = start('./fixtures/build-index.ts', { hashes, marker })
  const { handle } = await next<{ handle: GenerationHandle }>(builder)
  const builderSaw = next<{ seen: number, expected: number }>(builder)

  const queries = [...hashes.slice(0, 50), randomBytes(16).toString('hex')]
  const expected = [...hashes.slice(0, 50).map((_, i) => i), null]
  // The reader blocks on the spare word until the writer stores the marker: only shared memory can wake it.
  const reader = start('./fixtures/lookup-index.ts', { handle, role: 'reader', queries, marker })
  const writer = start('./fixtures/lookup-index.ts', { handle, role: 'writer', queries, marker })
  const [r, w] = await Promise.all([next<LookupReport>(reader), next<LookupReport>(writer)])

  assert.deepEqual(r.found, expected)
  assert.deepEqual(w.found, expected)
  assert.ok(r.isShared && w.isShared)
  assert.equal(r.seen, marker, 'the reader saw the writer\'s store')
  assert.equal(w.seen, marker)
  assert.equal((await builderSaw).seen, marker, 'the building thread saw it in the buffers it built')
  assert.equal(Atomics.load(new Int32Array(handle.buffers.records), REC_SPARE_WORD), marker, 'and so does this thread')
  await Promise.all([builder, reader, writer].map(async (t) => await t.terminate()))
})
