/**
 * FeedManager: a reload in which one feed fails swaps in a generation holding the other feeds'
 * updates and the failed feed's previous version, and says so with 'failed' (kept: 'previous').
 * The build runs in the compiled worker (dist/), so `npx tsc -p tsconfig.json` first.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FeedManager, type LoadReport } from '../../src/service/feed-manager.js'
import { validateConfig } from '../../src/config/load.js'
import { FeedIndex } from '../../src/index/feed-index.js'
import { matchQuery } from '../../src/match/query.js'

const dir = await mkdtemp(join(tmpdir(), 'fm-feed-manager-'))
test.after(async () => rm(dir, { recursive: true, force: true }))

const A = join(dir, 'a.json')
const B = join(dir, 'b.json')
const BROKEN = '[{"ip": "192.0.2.99", "tag": "b-partial"}, {"ip": "192.0'

/** A manager over feeds a.json and b.json, recording the events it emits in order. */
function manager (): { feeds: FeedManager, events: Array<[string, LoadReport]> } {
  const config = validateConfig({ feeds: { sources: [{ path: A, format: 'kaspersky' }, { path: B, format: 'kaspersky' }], watch: false } }, 'test', { baseDir: dir })
  const feeds = new FeedManager(config)
  const events: Array<[string, LoadReport]> = []
  for (const name of ['loaded', 'failed']) feeds.on(name, (r: LoadReport) => events.push([name, r]))
  return { feeds, events }
}

/** The `feed:tag` of every record a value matches in the generation in service. */
function matches (feeds: FeedManager, value: string): string[] {
  const index = new FeedIndex(feeds.current)
  return matchQuery(index, value).matches.map((m) => `${m.feed}:${String(index.context(m.rec).tag)}`).sort()
}

test('a reload with one feed broken swaps in the others\' updates and keeps the broken one\'s previous version', async () => {
  await writeFile(A, JSON.stringify([{ ip: '203.0.113.1', tag: 'a-old' }]))
  await writeFile(B, JSON.stringify([{ ip: '192.0.2.1', tag: 'b-old' }, { mask: 'b.example', type: 1, tag: 'b-domain' }]))
  const { feeds, events } = manager()
  const first = await feeds.load()
  assert.deepEqual(first.failed, [])
  const firstGen = feeds.current

  await writeFile(A, JSON.stringify([{ ip: '203.0.113.2', tag: 'a-new' }]))
  await writeFile(B, BROKEN)
  events.length = 0
  const report = await feeds.load()

  assert.deepEqual(events.map(([name]) => name), ['failed', 'loaded'])
  const [, failed] = events[0]
  assert.equal(failed, report)
  assert.deepEqual(report.failed.map((f) => [f.name, f.path, f.code, f.kept]), [['b', B, 'FM_ERR_FEED_READ', 'previous']])
  assert.equal(report.swapped, true)
  assert.notEqual(feeds.current, firstGen)
  assert.equal(feeds.current.id, report.generation)
  assert.deepEqual([report.feeds, report.records], [2, 3], 'counts include the carried-over feed')

  assert.deepEqual(matches(feeds, '203.0.113.2'), ['a:a-new'])
  assert.deepEqual(matches(feeds, '203.0.113.1'), [])
  assert.deepEqual(matches(feeds, '192.0.2.1'), ['b:b-old'])
  assert.deepEqual(matches(feeds, 'www.sub.b.example'), ['b:b-domain'])
  assert.deepEqual(matches(feeds, '192.0.2.99'), [], 'nothing of the broken file is in service')
  const b = feeds.current.feeds.find((f) => f.name === 'b')
  assert.equal(b?.carriedOver?.generation, firstGen.id)
  assert.equal(b?.records, 2)
  feeds.close()
})

test('at start-up a broken feed is left out and reported with kept: none', async () => {
  await writeFile(A, JSON.stringify([{ ip: '203.0.113.3', tag: 'a' }]))
  await writeFile(B, BROKEN)
  const { feeds, events } = manager()
  const report = await feeds.load()
  assert.deepEqual(events.map(([name]) => name), ['failed', 'loaded'])
  assert.deepEqual(report.failed.map((f) => [f.name, f.kept]), [['b', 'none']])
  assert.deepEqual(feeds.current.feeds.map((f) => f.name), ['a'])
  assert.deepEqual(matches(feeds, '203.0.113.3'), ['a:a'])
  assert.deepEqual(matches(feeds, '192.0.2.99'), [])
  feeds.close()
})
