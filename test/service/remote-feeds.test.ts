/**
 * `serve` with a feed it downloads itself, through the compiled CLI, against a real HTTP publisher
 * on loopback: detections from the download, an update picked up on schedule, a publisher that
 * breaks (feed_failed, /health degraded, then feed_stale past maxAge, then feed_fresh), and a
 * restart with the publisher gone that serves the cached copy.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { readFile, writeFile } from 'node:fs/promises'
import { FeedServer } from '../helpers/feed-server.js'
import { Receiver, ServiceProcess, alertName, detectionKey, sendTcp, tempDir, waitFor, writeConfig } from '../helpers/net.js'

async function getJson (url: string): Promise<{ status: number, body: any }> {
  const res = await fetch(url)
  return { status: res.status, body: await res.json() }
}

describe('serve: remote feeds, on schedule, with freshness', { timeout: 120_000 }, () => {
  let pub: FeedServer
  let siem: Receiver
  let dir: { path: string, remove: () => Promise<void> }
  let svc: ServiceProcess | undefined
  let configPath: string
  const alerts = (name: string): string[] => siem.frames.filter((f) => alertName(f) === name)
  const detected = (ip: string): boolean => siem.frames.some((f) => detectionKey(f) === `category=Remote_IPs detected=${ip}`)

  before(async () => {
    pub = await FeedServer.start()
    pub.set('/pub/bad-ips.txt', { body: '198.51.100.10\n' })
    siem = await Receiver.listen()
    dir = await tempDir()
    configPath = await writeConfig(dir.path, {
      input: { listen: ['tcp://127.0.0.1:0'] },
      output: { target: `tcp://127.0.0.1:${siem.port}`, preset: 'alienvault' },
      feeds: {
        cache: join(dir.path, 'cache'),
        watch: false,
        sources: [{ url: `${pub.url}/pub/bad-ips.txt`, name: 'pub', format: 'list', category: 'Remote_IPs', every: '1s', maxAge: '4s', retries: 0, timeout: '2s' }]
      },
      workers: 1,
      api: { listen: 'http://127.0.0.1:0' }
    })
  })
  after(async () => {
    svc?.kill()
    await siem.close()
    await pub.close().catch(() => {})
    await dir.remove()
  })

  it('downloads at start-up, picks an update up on schedule, reports a broken publisher, then staleness and recovery', async () => {
    svc = await ServiceProcess.start(['--config', configPath])
    const base = `http://127.0.0.1:${svc.port('http')}`
    await sendTcp(svc.port(), 'deny src=10.0.0.1 dst=198.51.100.10 proto=tcp')
    await waitFor(() => detected('198.51.100.10'), 'the detection from the downloaded feed')
    assert.equal((await getJson(`${base}/health`)).body.status, 'ok')

    pub.set('/pub/bad-ips.txt', { body: '198.51.100.10\n198.51.100.11\n' })
    await svc.waitForLog('feeds updated', 20_000)
    await sendTcp(svc.port(), 'deny src=10.0.0.1 dst=198.51.100.11 proto=tcp')
    await waitFor(() => detected('198.51.100.11'), 'the detection from the update')
    const conditional = pub.hitsOf('/pub/bad-ips.txt').filter((h) => h.status === 304)
    await waitFor(() => pub.hitsOf('/pub/bad-ips.txt').filter((h) => h.status === 304).length > conditional.length, 'a 304 for an unchanged feed')

    pub.set('/pub/bad-ips.txt', { body: 'broken', status: 500 })
    await waitFor(() => alerts('feed_failed').length > 0, 'feed_failed')
    assert.match(alerts('feed_failed')[0], /FM_ERR_FEED_FETCH/)
    const health = await getJson(`${base}/health`)
    assert.equal(health.body.status, 'degraded', JSON.stringify(health.body))
    assert.deepEqual(health.body.degradedFeeds.map((f: { feed: string, code: string }) => [f.feed, f.code]), [['pub', 'FM_ERR_FEED_FETCH']])
    await waitFor(() => alerts('feed_stale').length > 0, 'feed_stale past maxAge', 20_000)
    const metrics = await (await fetch(`${base}/metrics`)).text()
    assert.match(metrics, /feedmatch_feed_stale\{feed="pub"\} 1/)
    assert.match(metrics, /feedmatch_feed_age_seconds\{feed="pub",source="http"\} \d+/)
    assert.match(metrics, /feedmatch_feed_last_error_timestamp_seconds\{feed="pub",code="FM_ERR_FEED_FETCH"\} \d+/)
    // The feed in service stays while its publisher is broken.
    await sendTcp(svc.port(), 'deny src=10.0.0.2 dst=198.51.100.11 proto=tcp')
    await waitFor(() => siem.frames.filter((f) => detectionKey(f) === 'category=Remote_IPs detected=198.51.100.11').length === 2, 'detections from the cached copy')

    pub.set('/pub/bad-ips.txt', { body: '198.51.100.10\n198.51.100.11\n' })
    await waitFor(() => alerts('feed_fresh').length > 0, 'feed_fresh once the publisher is back', 20_000)
    assert.equal(alerts('feed_stale').length, 1, 'stale is said once')
    assert.equal((await getJson(`${base}/health`)).body.status, 'ok')
    const stats = await getJson(`${base}/stats`)
    const entry = stats.body.feedHealth.find((f: { feed: string }) => f.feed === 'pub')
    assert.equal(entry.source, 'http')
    assert.equal(entry.stale, false)
    assert.equal(typeof entry.lastError.time, 'number')
    await svc.stop()
  })

  it('restarts with the publisher gone and serves the cached copy', async () => {
    await pub.close()
    const before = siem.frames.length
    svc = await ServiceProcess.start(['--config', configPath])
    await sendTcp(svc.port(), 'deny src=10.0.0.3 dst=198.51.100.11 proto=tcp')
    await waitFor(() => siem.frames.slice(before).some((f) => detectionKey(f) === 'category=Remote_IPs detected=198.51.100.11'), 'a detection from the cache')
    await waitFor(() => alerts('feed_failed').length >= 2, 'the failed fetch reported')
    await svc.stop()
  })

  it('SIGHUP with a new remote feed in the config: fetched and matched without a restart', async () => {
    const pub2 = await FeedServer.start()
    try {
      pub2.set('/more.txt', { body: 'sighup-remote.example\n' })
      svc = await ServiceProcess.start(['--config', configPath])
      const config = JSON.parse(await readFile(configPath, 'utf8')) as { feeds: { sources: unknown[] } }
      config.feeds.sources.push({ url: `${pub2.url}/more.txt`, name: 'more', format: 'list', category: 'Remote_Domains', retries: 0 })
      await writeFile(configPath, JSON.stringify(config))
      const loads = svc.logged('feeds updated').length
      svc.signal('SIGHUP')
      await waitFor(() => pub2.hitsOf('/more.txt').length > 0, 'the new feed fetched')
      await svc.waitForLog('feeds updated', 20_000, loads + 1)
      await sendTcp(svc.port(), 'GET http://www.sighup-remote.example/x 200')
      await waitFor(() => siem.frames.some((f) => detectionKey(f) === 'category=Remote_Domains detected=sighup-remote.example'), 'a detection from the feed added by SIGHUP')
      await svc.stop()
    } finally {
      await pub2.close()
    }
  })
})
