/**
 * Feeds at run time: a watched feed file replaced while events flow is rebuilt in the background
 * and swapped in between batches, so no event is lost or matched twice, and the indicators it adds
 * are detected from the swap on. A broken replacement keeps the previous version in service and
 * raises `alert=feed_failed`.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { copyFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  DEMO_FEEDS, EICAR_MD5, SeqCounter, Sender, event, startWithConfig, waitFor, waitStill,
  type ConfiguredService, type Receiver, type ServiceProcess
} from '../helpers/net.js'

/** Not in any demo feed: the indicator the new version of the feed adds. */
const NEW_MD5 = 'feedfacefeedfacefeedfacefeedface'
const FEED = 'kl_malicious_hash.json'
const CATEGORY = 'kl_malicious_hash'
/** Even events carry an indicator of both versions, odd ones the new indicator. */
const keyOf = (i: number): string => `category=${CATEGORY} detected=${i % 2 === 0 ? EICAR_MD5 : NEW_MD5}`

describe('serve: a watched feed replaced while events flow', { timeout: 90_000 }, () => {
  let setup: ConfiguredService
  let siem: Receiver
  let svc: ServiceProcess
  let dir: ConfiguredService['dir']
  let feeds: string
  let seqs: SeqCounter
  let next = 0

  before(async () => {
    setup = await startWithConfig(async (siemPort, path) => {
      feeds = join(path, 'feeds')
      await mkdir(feeds)
      await copyFile(join(DEMO_FEEDS, FEED), join(feeds, FEED))
      return {
        input: { listen: ['tcp://127.0.0.1:0'] },
        output: { target: `tcp://127.0.0.1:${siemPort}`, preset: 'alienvault' },
        feeds: { sources: [feeds], watch: true, reloadDebounce: '200ms' },
        workers: 2
      }
    })
    ;({ siem, svc, dir } = setup)
    seqs = new SeqCounter(siem, keyOf)
    await waitFor(() => siem.alerts('started').length === 1, 'alert=started')
  })
  after(async () => await setup?.stop())

  /** Replaces the feed the way downloaders do: a new file renamed over the old one. */
  async function replaceFeed (text: string): Promise<void> {
    const tmp = join(dir.path, `${FEED}.part`)
    await writeFile(tmp, text)
    await rename(tmp, join(feeds, FEED))
  }

  /** Sends events in small paced chunks until `stop()` says so; resolves with the range sent. */
  async function flow (sender: Sender, stop: () => boolean): Promise<{ from: number, to: number }> {
    const from = next
    while (!stop()) {
      const lines: string[] = []
      for (let k = 0; k < 50; k++, next++) lines.push(event(next, next % 2 === 0 ? EICAR_MD5 : NEW_MD5))
      await sender.writeLines(lines)
      await sleep(2)
    }
    return { from, to: next }
  }

  it('no event lost or doubled across the swap; the new indicator is detected from the swap on', async () => {
    const sender = await Sender.connect(svc.port())
    let stop = false
    const sending = flow(sender, () => stop)
    await waitFor(() => seqs.counts.size >= 500, 'detections before the swap')
    assert.equal([...seqs.counts.keys()].filter((i) => i % 2 === 1).length, 0, 'the new indicator is not known yet')

    const original = await readFile(join(feeds, FEED), 'utf8')
    const added = `{"MD5":"${NEW_MD5}","threat":"Test.Feed.Swap","first_seen":"01.01.2024 00:00","popularity":1,"id":424242},\n`
    await replaceFeed(original.replace('[\n', `[\n${added}`))
    // Sent until detected: the swap happens while events flow.
    await waitFor(() => [...seqs.counts.keys()].some((i) => i % 2 === 1), 'the new indicator detected after the swap', 20_000)
    const swappedAt = next
    await waitFor(() => next > swappedAt + 2000, 'more events after the swap')
    stop = true
    const { from, to } = await sending
    await sender.close()

    await waitFor(() => seqs.seen(from, to) >= Math.ceil((to - from) / 2) && (seqs.counts.get(to - 1) ?? 0) > 0,
      () => `all detections (${seqs.seen(from, to)} so far, events ${from}..${to})`, 30_000)
    await waitStill(() => siem.frames.length, 400)
    assert.equal(seqs.wrong + seqs.others, 0, `unexpected detections, e.g. ${seqs.example}`)
    // Every event holding an indicator of both versions: exactly one detection.
    const lost: number[] = []
    const doubled: number[] = []
    for (let i = from; i < to; i += 2) {
      const n = seqs.counts.get(i) ?? 0
      if (n === 0) lost.push(i)
      if (n > 1) doubled.push(i)
    }
    assert.deepEqual({ lost: lost.slice(0, 10), doubled: doubled.slice(0, 10) }, { lost: [], doubled: [] })
    // Events with the new indicator: none detected before the swap, each one once after it. The
    // generation is chosen per batch and batches go out in input order, so the switch is clean.
    const odd = [...seqs.counts.entries()].filter(([i]) => i % 2 === 1)
    const first = Math.min(...odd.map(([i]) => i))
    for (let i = first; i < to; i += 2) assert.equal(seqs.counts.get(i), 1, `event ${i} (new indicator, after the swap)`)
    assert.ok(odd.every(([i]) => i >= first))
    assert.equal(siem.alerts('feeds_updated').length, 1)
    const loaded = svc.logged('feeds loaded')[0]?.records as number
    assert.match(siem.alerts('feeds_updated')[0], new RegExp(`records=${loaded + 1}\\b`))
    console.log(`feed swap: events ${from}..${to}, new indicator detected from event ${first}`)
  })

  it('a broken replacement keeps the previous version in service and raises alert=feed_failed', async () => {
    const original = await readFile(join(feeds, FEED), 'utf8')
    // A download cut short.
    await replaceFeed(original.slice(0, Math.floor(original.length / 2)))
    await waitFor(() => siem.alerts('feed_failed').length === 1, 'alert=feed_failed', 15_000)
    assert.match(siem.alerts('feed_failed')[0], /feed=kl_malicious_hash\b.*kept=previous/)
    const from = next
    const sender = await Sender.connect(svc.port())
    await flow(sender, () => next >= from + 200)
    await sender.close()
    // The version in service is the one with the new indicator, whole.
    await waitFor(() => seqs.seen(from, from + 200) === 200, () => `the 200 detections, got ${seqs.seen(from, from + 200)}`)
    // The other feeds' updates may go in with a new generation, but this feed stays as it was.
    for (const a of siem.alerts('feeds_updated').slice(1)) assert.match(a, new RegExp(`records=${svc.logged('feeds loaded')[0]?.records as number + 1}\\b`))
    const { code, stats } = await svc.stop()
    assert.equal(code, 0)
    assert.equal(stats.feeds.find((f) => f.name === 'kl_malicious_hash')?.records, svc.logged('feeds loaded')[0]?.records as number + 1)
  })
})
