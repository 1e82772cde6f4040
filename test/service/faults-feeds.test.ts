/**
 * Feeds that must not be poisoned: a watched feed overwritten with garbage, emptied, cut to a
 * fraction, or deleted keeps its good version in service (alert=feed_failed, detections go on),
 * and writes next to a feed file never rebuild the feeds.
 */
import assert from 'node:assert/strict'
import { copyFile, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, it } from 'node:test'
import { DEMO_FEEDS, EICAR_MD5, event, sendTcp, startWithConfig, waitFor, type ConfiguredService } from '../helpers/net.js'

const FEED = 'kl_malicious_hash.json'
const EICAR_KEY = `category=kl_malicious_hash detected=${EICAR_MD5}`

async function setupFeed (): Promise<{ setup: ConfiguredService, feed: string }> {
  let feed = ''
  const setup = await startWithConfig(async (siemPort, dir) => {
    feed = join(dir, FEED)
    await copyFile(join(DEMO_FEEDS, FEED), feed)
    return {
      input: { listen: ['tcp://127.0.0.1:0'] },
      output: { target: `tcp://127.0.0.1:${siemPort}`, preset: 'alienvault' },
      feeds: { sources: [feed], watch: true, reloadDebounce: '200ms' },
      workers: 1,
    }
  })
  await waitFor(() => setup.siem.alerts('started').length === 1, 'alert=started')
  return { setup, feed }
}

/** Sends event `i` with the EICAR hash and waits for its detection. */
async function stillDetects (setup: ConfiguredService, i: number): Promise<void> {
  await sendTcp(setup.svc.port(), [event(i, EICAR_MD5)])
  await waitFor(() => setup.siem.detections().some((f) => f.includes(EICAR_KEY) && f.includes(` src=10.0.0.${i} `)), `the detection of event ${i}`)
}

/** Replaces the feed as a downloader does: a new file renamed over it. */
async function replace (feed: string, text: string): Promise<void> {
  await writeFile(feed + '.part', text)
  await rename(feed + '.part', feed)
}

describe('feeds that cannot be poisoned', { timeout: 120_000 }, () => {
  it('garbage, an empty array, a cut to a tenth, then deletion: each fails alone and the good version stays', async () => {
    const { setup, feed } = await setupFeed()
    const { siem } = setup
    try {
      await stillDetects(setup, 1)
      const good = await readFile(feed, 'utf8')
      const cases: Array<[string, string | null, RegExp]> = [
        ['garbage', 'this is not a feed\n\x00\x01', /code=FM_ERR_FEED_(READ|FORMAT|EMPTY)/],
        ['an empty array', '[]', /code=FM_ERR_FEED_EMPTY/],
        ['a tenth of the records', '[' + good.trim().slice(1, -1).split('\n').filter((l) => l.startsWith('{')).slice(0, 20).join('\n').replace(/,$/, '') + ']', /code=FM_ERR_FEED_SHRUNK/],
        ['deleted', null, /code=FM_ERR_FEED_NOT_FOUND/],
      ]
      let i = 2
      for (const [what, text, code] of cases) {
        const failedBefore = siem.alerts('feed_failed').length
        if (text === null) await rm(feed)
        else await replace(feed, text)
        await waitFor(() => siem.alerts('feed_failed').length > failedBefore, `alert=feed_failed after ${what}`, 20_000)
        const alert = siem.alerts('feed_failed').at(-1)!
        assert.match(alert, code, `${what}: ${alert}`)
        assert.match(alert, /kept=previous/, `${what}: the good version stays`)
        await stillDetects(setup, i++)
      }
      assert.equal(siem.alerts('feeds_updated').length, 0, 'a reload that read nothing new announces no update')
      // The good file back: one real update.
      await replace(feed, good)
      await waitFor(() => siem.alerts('feeds_updated').length === 1, 'alert=feeds_updated once the good file is back', 20_000)
      await stillDetects(setup, i)
    } finally {
      await setup.stop()
    }
  })

  it('writes next to a feed file (a log, a capture) never rebuild the feeds; a change of the feed does', async () => {
    const { setup, feed } = await setupFeed()
    try {
      const reloads = (): number => setup.svc.logged('feeds updated').length
      const noise = join(setup.dir.path, 'capture.log')
      for (let k = 0; k < 40; k++) {
        await writeFile(noise, `line ${k}\n`, { flag: 'a' })
        await sleep(50)
      }
      await sleep(1000)
      assert.equal(reloads(), 0, 'writes to another file in the folder rebuilt the feeds')
      await replace(feed, await readFile(feed, 'utf8'))
      await waitFor(() => reloads() === 1, 'one reload after the feed itself changed', 20_000)
    } finally {
      await setup.stop()
    }
  })
})
