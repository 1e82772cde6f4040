/**
 * The detection store through the API of the compiled CLI (real SQLite file, real sockets):
 * detections are stored with their event, filtered and paged, summed per indicator (first and
 * last seen, hits); a false positive becomes a scoped allowlist entry that stops the detection;
 * the store survives a restart; its age and size limits remove the oldest rows, counted; a bad
 * query, a missing scope and a file that is not a store get their errors.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { DEMO_FEEDS, EICAR_MD5, cliToken, Receiver, ServiceProcess, detectionKey, event, ipSeq, sendTcp, tempDir, waitFor, writeConfig } from '../helpers/net.js'

const BOTNET_IP = '192.0.2.66'

interface Page { detections: Array<Record<string, any>>, next: string | null }

describe('serve: the detection store', { timeout: 180_000 }, () => {
  let dir: { path: string, remove: () => Promise<void> }
  let siem: Receiver
  let svc: ServiceProcess
  let cfg: string
  let base: string
  const writer = cliToken('analyst', 'read,write')
  const reader = cliToken('viewer', 'read')

  const api = async (method: string, path: string, token: string | null = reader.token, body?: unknown): Promise<{ status: number, body: any }> => {
    const res = await fetch(`${base}${path}`, { method, headers: token === null ? {} : { authorization: `Bearer ${token}` }, body: body === undefined ? undefined : JSON.stringify(body) })
    return { status: res.status, body: await res.json() }
  }
  /** Rows in the store once nothing waits to be written. */
  const stored = async (): Promise<number> => {
    for (let i = 0; ; i++) {
      const s = (await api('GET', '/stats')).body.store as { rows: number, pending: number }
      if (s.pending === 0 || i === 100) return s.rows
      await sleep(50)
    }
  }
  const start = async (): Promise<void> => {
    svc = await ServiceProcess.start(['--config', cfg])
    base = `http://127.0.0.1:${svc.port('http')}`
  }

  before(async () => {
    dir = await tempDir()
    siem = await Receiver.listen()
    cfg = await writeConfig(dir.path, {
      input: { listen: ['tcp://127.0.0.1:0'] },
      output: { target: `tcp://127.0.0.1:${siem.port}`, preset: 'alienvault' },
      feeds: { sources: [DEMO_FEEDS], watch: false, lists: join(dir.path, 'lists') },
      workers: 1,
      api: { listen: 'http://127.0.0.1:0', tokens: [writer.entry, reader.entry] },
      store: { path: join(dir.path, 'store', 'detections.db'), eventBytes: 64 },
    })
    await start()
  })
  after(async () => { svc?.kill(); await siem?.close(); await dir?.remove() })

  it('stores every detection with its event; filters and pages; sums each indicator', async () => {
    // 30 events: the even ones carry EICAR, every third one the botnet IP, numbered by src=.
    const lines: string[] = []
    let expected = 0
    for (let i = 1; i <= 30; i++) {
      const hash = i % 2 === 0 ? EICAR_MD5 : undefined
      lines.push(event(i, hash, 100) + (i % 3 === 0 ? ` cnc=${BOTNET_IP}` : ''))
      expected += (hash === undefined ? 0 : 1) + (i % 3 === 0 ? 1 : 0)
    }
    const t0 = Date.now()
    await sendTcp(svc.port(), lines)
    await waitFor(() => siem.frames.filter((f) => detectionKey(f) !== undefined).length >= expected, `${expected} detections at the SIEM`)
    let rows = 0
    for (let i = 0; i < 100 && rows < expected; i++) { rows = await stored(); if (rows < expected) await sleep(100) }
    assert.equal(rows, expected, 'every detection the SIEM got is stored')

    // Paging: newest first, each detection once, `next` until the end.
    const seen: Array<Record<string, any>> = []
    let cursor: string | null = ''
    let pages = 0
    while (cursor !== null) {
      const r = await api('GET', `/detections?limit=4${cursor === '' ? '' : `&cursor=${cursor}`}`)
      assert.equal(r.status, 200, JSON.stringify(r.body))
      const page = r.body as Page
      seen.push(...page.detections)
      cursor = page.next
      pages++
    }
    assert.equal(seen.length, expected)
    assert.equal(pages, Math.ceil(expected / 4))
    const ids = seen.map((d) => d.id as number)
    assert.deepEqual(ids, [...ids].sort((a, b) => b - a), 'newest first')
    assert.equal(new Set(ids).size, ids.length, 'no detection twice')

    const hash = seen.filter((d) => d.indicator === EICAR_MD5)
    assert.equal(hash.length, 15)
    const d = hash[0]
    assert.equal(d.feed, 'kl_malicious_hash')
    assert.equal(d.type, 'md5')
    assert.equal(d.sender, '127.0.0.1')
    assert.equal(d.context.threat, 'EICAR-Test-File')
    assert.ok(Date.parse(d.time) >= t0 - 1000 && Date.parse(d.time) <= Date.now(), d.time)
    // The event, cut at store.eventBytes (64).
    assert.ok(event(30, EICAR_MD5, 100).startsWith(d.event), d.event)
    assert.equal(Buffer.byteLength(d.event), 64)
    assert.equal(ipSeq(/src=([\d.]+)/.exec(d.event)?.[1] ?? ''), 30, 'the newest detection of the hash is event 30')

    // Filters: each narrows to what it says; all of them together.
    const only = async (q: string): Promise<Page> => (await api('GET', `/detections?limit=1000&${q}`)).body as Page
    assert.equal((await only('feed=kl_ip_reputation')).detections.length, 10)
    assert.ok((await only('feed=kl_ip_reputation')).detections.every((x) => x.indicator === BOTNET_IP))
    assert.equal((await only(`indicator=${EICAR_MD5}`)).detections.length, 15)
    assert.equal((await only('sender=127.0.0.1&type=ip')).detections.length, 10)
    assert.equal((await only('sender=10.9.9.9')).detections.length, 0)
    assert.equal((await only('from=1h')).detections.length, expected)
    assert.equal((await only(`from=${new Date(Date.now() + 60_000).toISOString()}`)).detections.length, 0)
    assert.equal((await only(`to=${t0 - 60_000}`)).detections.length, 0)
    const one = await api('GET', `/detections/${d.id as number}`)
    assert.deepEqual(one.body, d)

    // Per indicator and feed: first and last seen, hits.
    const sums = (await api('GET', '/detections/indicators')).body.indicators as Array<Record<string, any>>
    const eicar = sums.find((x) => x.indicator === EICAR_MD5)
    const ip = sums.find((x) => x.indicator === BOTNET_IP)
    assert.equal(eicar?.hits, 15)
    assert.equal(ip?.hits, 10)
    assert.ok(Date.parse(eicar?.firstSeen) <= Date.parse(eicar?.lastSeen))
    const paged = await api('GET', '/detections/indicators?limit=1')
    assert.equal(paged.body.indicators.length, 1)
    const rest = await api('GET', `/detections/indicators?limit=1&cursor=${paged.body.next as string}`)
    assert.equal(rest.body.indicators.length, 1)
    assert.notDeepEqual(rest.body.indicators[0], paged.body.indicators[0])
  })

  it('a false positive: a scoped allowlist entry for its value, and the detection stops', async () => {
    const page = (await api('GET', `/detections?indicator=${EICAR_MD5}&limit=1`)).body as Page
    const id = page.detections[0].id as number
    assert.equal((await api('POST', `/detections/${id}/false-positive`, null, {})).status, 401)
    const denied = await api('POST', `/detections/${id}/false-positive`, reader.token, {})
    assert.equal(denied.status, 403)
    assert.equal(denied.body.error.code, 'FM_ERR_API_AUTH')
    assert.equal((await api('POST', '/detections/999999/false-positive', writer.token, {})).status, 404)
    const badScope = await api('POST', `/detections/${id}/false-positive`, writer.token, { scope: 'planet' })
    assert.equal(badScope.status, 400)
    assert.match(badScope.body.error.message, /scope/)

    const r = await api('POST', `/detections/${id}/false-positive`, writer.token, { reason: 'the AV test file, on purpose' })
    assert.equal(r.status, 200, JSON.stringify(r.body))
    assert.equal(r.body.entry.list, 'allowlist')
    assert.equal(r.body.entry.value, EICAR_MD5)
    assert.deepEqual(r.body.entry.scope, { senders: ['127.0.0.1'], feeds: ['kl_malicious_hash'] })
    assert.equal(r.body.detection.falsePositive, r.body.entry.id)
    assert.equal((await api('GET', `/detections/${id}`)).body.falsePositive, r.body.entry.id)
    assert.ok((await api('GET', '/lists/allowlist')).body.some((e: { id: string }) => e.id === r.body.entry.id))

    // The hash no longer detects from this sender; the botnet IP still does, in the same event.
    const from = siem.frames.length
    await sendTcp(svc.port(), [event(100, EICAR_MD5) + ` cnc=${BOTNET_IP}`])
    await waitFor(() => siem.frames.slice(from).some((f) => detectionKey(f)?.includes(BOTNET_IP) === true), 'the botnet IP detection')
    await sleep(100)
    assert.deepEqual(siem.frames.slice(from).map(detectionKey).filter((k) => k?.includes(EICAR_MD5) === true), [])
  })

  it('bad queries are 400s that name the parameter; the read scope is needed', async () => {
    for (const [q, word] of [['bogus=1', 'bogus'], ['limit=0', 'limit'], ['limit=5000', 'limit'], ['from=yesterday', 'from'], ['cursor=abc', 'cursor'], ['feed=a&feed=b', 'feed']]) {
      const r = await api('GET', `/detections?${q}`)
      assert.equal(r.status, 400, q)
      assert.equal(r.body.error.code, 'FM_ERR_API')
      assert.ok((r.body.error.message as string).includes(word), `${q}: ${r.body.error.message as string}`)
    }
    assert.equal((await api('GET', '/detections/indicators?cursor=!!')).status, 400)
    assert.equal((await api('GET', '/detections', null)).status, 401)
    assert.equal((await api('GET', '/detections', 'not-a-token')).status, 401)
    assert.equal((await api('DELETE', '/detections')).status, 405)
    assert.equal((await api('GET', '/detections/999999')).status, 404)
  })

  it('a restart keeps the store', async () => {
    const before = await stored()
    assert.ok(before > 0)
    const { code } = await svc.stop()
    assert.equal(code, 0)
    await start()
    assert.equal(await stored(), before)
    const page = (await api('GET', `/detections?indicator=${EICAR_MD5}&limit=1000`)).body as Page
    assert.equal(page.detections.filter((d) => d.falsePositive !== null).length, 1, 'the mark is kept')
  })
})

describe('serve: the detection store keeps its limits', { timeout: 180_000 }, () => {
  let dir: { path: string, remove: () => Promise<void> }
  let siem: Receiver
  let svc: ServiceProcess
  let base: string
  const get = async (path: string): Promise<any> => await (await fetch(`${base}${path}`)).json()
  const storeStats = async (): Promise<Record<string, number>> => (await get('/stats')).store as Record<string, number>
  /** Events from..to, each with EICAR, padded to about 2 KiB (stored whole: eventBytes 4096). */
  const send = async (from: number, to: number): Promise<void> => {
    const lines: string[] = []
    for (let i = from; i < to; i++) lines.push(event(i, EICAR_MD5, 2000))
    await sendTcp(svc.port(), lines)
  }
  const settle = async (n: number): Promise<Record<string, number>> => {
    let s = await storeStats()
    for (let i = 0; i < 200 && s.written < n; i++) { await sleep(100); s = await storeStats() }
    assert.equal(s.written, n, JSON.stringify(s))
    return s
  }
  const eventsHeld = async (): Promise<number[]> => {
    const out: number[] = []
    let cursor: string | null = ''
    while (cursor !== null) {
      const page: Page = await get(`/detections?limit=1000${cursor === '' ? '' : `&cursor=${cursor}`}`)
      for (const d of page.detections) out.push(ipSeq(/src=([\d.]+)/.exec(d.event as string)?.[1] ?? ''))
      cursor = page.next
    }
    return out.sort((a, b) => a - b)
  }

  before(async () => {
    dir = await tempDir()
    siem = await Receiver.listen()
    const cfg = await writeConfig(dir.path, {
      input: { listen: ['tcp://127.0.0.1:0'] },
      output: { target: `tcp://127.0.0.1:${siem.port}`, preset: 'alienvault' },
      feeds: { sources: [DEMO_FEEDS], watch: false, lists: join(dir.path, 'lists') },
      workers: 1,
      api: { listen: 'http://127.0.0.1:0' },
      store: { path: join(dir.path, 'd.db'), maxAge: '3s', maxBytes: 1024 * 1024, eventBytes: 4096 },
    })
    svc = await ServiceProcess.start(['--config', cfg])
    base = `http://127.0.0.1:${svc.port('http')}`
  })
  after(async () => { svc?.kill(); await siem?.close(); await dir?.remove() })

  it('older than maxAge: removed at the next batch, counted as expired', async () => {
    await send(0, 50)
    await settle(50)
    await sleep(3500)
    await send(50, 60)
    const s = await settle(60)
    assert.equal(s.expired, 50)
    assert.equal(s.rows, 10)
    assert.deepEqual(await eventsHeld(), Array.from({ length: 10 }, (_, i) => 50 + i))
  })

  it('beyond maxBytes: the oldest go first, counted as evicted; the newest stay', async () => {
    // 2,000 detections of ~2.3 KiB: about 4.5 MiB into a store of 1 MiB.
    await send(1000, 3000)
    const s = await settle(2060)
    assert.ok(s.evicted > 0, JSON.stringify(s))
    assert.ok(s.bytes <= 1024 * 1024, `${s.bytes} bytes in use`)
    const held = await eventsHeld()
    assert.equal(held.length, s.rows)
    assert.equal(s.rows + s.evicted + s.expired, 2060)
    // What is held is the newest, without a gap.
    assert.equal(held.at(-1), 2999)
    assert.deepEqual(held, Array.from({ length: held.length }, (_, i) => 3000 - held.length + i))
  })
})

describe('serve: a store file that is not a store', { timeout: 60_000 }, () => {
  it('start-up fails with FM_ERR_STORE naming the file', async () => {
    const dir = await tempDir()
    try {
      const path = join(dir.path, 'd.db')
      await writeFile(path, 'these are not the pages of a database\n'.repeat(200))
      const cfg = await writeConfig(dir.path, {
        input: { listen: ['tcp://127.0.0.1:0'] },
        output: { target: 'stdout' },
        feeds: { sources: [DEMO_FEEDS], watch: false, lists: join(dir.path, 'lists') },
        workers: 1,
        store: { path },
      })
      const svc = await ServiceProcess.start(['--config', cfg], { noWait: true })
      const exit = await svc.exited
      assert.notEqual(exit.code, 0)
      const text = [...svc.stderrText, ...svc.logs.map((l) => JSON.stringify(l))].join('\n')
      assert.match(text, /FM_ERR_STORE/)
      assert.ok(text.includes(path), text)
    } finally {
      await dir.remove()
    }
  })
})
