/**
 * Live lists through the API of the compiled CLI: an allowlist entry stops a detection at once, a
 * scoped one only for its senders or feeds, a blocklist entry detects a value no feed lists,
 * entries expire, are removed, survive a restart, are audited, and need the write scope.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DEMO_FEEDS, EICAR_MD5, cliToken, Receiver, ServiceProcess, alertName, detectionKey, sendTcp, tempDir, waitFor, writeConfig } from '../helpers/net.js'

describe('serve: live allowlist and blocklist through the API', { timeout: 120_000 }, () => {
  let dir: { path: string, remove: () => Promise<void> }
  let siem: Receiver
  let svc: ServiceProcess
  let cfg: string
  let base: string
  const writer = cliToken('analyst', 'read,write')
  const reader = cliToken('viewer', 'read')
  const lookupTok = cliToken('lookups', 'lookup')
  let marker = 0

  const api = async (method: string, path: string, token: string | undefined, body?: unknown): Promise<{ status: number, body: any }> => {
    const res = await fetch(`${base}${path}`, { method, headers: token === undefined ? {} : { authorization: `Bearer ${token}` }, body: body === undefined ? undefined : JSON.stringify(body) })
    return { status: res.status, body: await res.json() }
  }
  /**
   * Sends `line`, then a marker event that always detects (a value of the live blocklist added in
   * before()); once the marker's detection is back, the line's has had its chance (one connection:
   * in order). Returns the detection keys of the line.
   */
  const detectionsOf = async (line: string): Promise<string[]> => {
    const m = ++marker
    const from = siem.frames.length
    await sendTcp(svc.port(), [line, `marker ${m} http://marker.live-test.example/${m}`])
    await waitFor(() => siem.frames.slice(from).some((f) => f.includes(`/${m}`) || detectionKey(f) === 'category=Live_Blocklist detected=marker.live-test.example'), `the marker ${m}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
    return siem.frames.slice(from).map(detectionKey).filter((k): k is string => k !== undefined && !k.includes('marker.live-test.example'))
  }

  before(async () => {
    dir = await tempDir()
    siem = await Receiver.listen()
    cfg = await writeConfig(dir.path, {
      input: { listen: ['tcp://127.0.0.1:0'] },
      output: { target: `tcp://127.0.0.1:${siem.port}`, preset: 'alienvault' },
      feeds: { sources: [DEMO_FEEDS], watch: false, lists: join(dir.path, 'lists') },
      workers: 1,
      api: { listen: 'http://127.0.0.1:0', tokens: [writer.entry, reader.entry, lookupTok.entry] }
    })
    svc = await ServiceProcess.start(['--config', cfg])
    base = `http://127.0.0.1:${svc.port('http')}`
    const r = await api('POST', '/lists/blocklist', writer.token, { value: 'marker.live-test.example', reason: 'test marker' })
    assert.equal(r.status, 201, JSON.stringify(r.body))
  })
  after(async () => { svc?.kill(); await siem?.close(); await dir?.remove() })

  it('an allowlist entry stops a detection at once; removing it brings it back', async () => {
    const eicar = `deny src=10.0.0.1 fileHash=${EICAR_MD5}`
    assert.equal((await detectionsOf(eicar)).length > 0, true, 'EICAR is in a demo feed')
    const added = await api('POST', '/lists/allowlist', writer.token, { value: EICAR_MD5.toUpperCase(), reason: 'the AV test file' })
    assert.equal(added.status, 201, JSON.stringify(added.body))
    assert.equal(added.body.by, 'analyst')
    assert.deepEqual(await detectionsOf(eicar), [], 'allowlisted: no detection')
    const listed = await api('GET', '/lists/allowlist', reader.token)
    assert.deepEqual(listed.body.map((e: { value: string }) => e.value), [EICAR_MD5.toUpperCase()])
    const gone = await api('DELETE', `/lists/allowlist/${added.body.id as string}`, writer.token)
    assert.equal(gone.status, 200)
    assert.ok((await detectionsOf(eicar)).length > 0, 'detected again')
    // Audited: the log line and the service event.
    assert.ok(svc.logs.some((l) => l.audit === true && l.action === 'add' && l.by === 'analyst'))
    assert.ok(siem.frames.some((f) => alertName(f) === 'list_changed'))
  })

  it('scopes: a sender network that is not ours, or another feed, leaves the detection', async () => {
    const eicar = `deny src=10.0.0.1 fileHash=${EICAR_MD5}`
    const other = await api('POST', '/lists/allowlist', writer.token, { value: EICAR_MD5, reason: 'only the lab', scope: { sender: '192.0.2.0/24' } })
    assert.equal(other.status, 201)
    assert.ok((await detectionsOf(eicar)).length > 0, 'the sender 127.0.0.1 is outside the scope')
    const ours = await api('POST', '/lists/allowlist', writer.token, { value: EICAR_MD5, reason: 'loopback tests', scope: { sender: '127.0.0.0/8', feed: 'no-such-feed' } })
    assert.equal(ours.status, 201)
    assert.ok((await detectionsOf(eicar)).length > 0, 'scoped to a feed that is not the one detecting')
    const before = await detectionsOf(eicar)
    const feed = before[0] === undefined ? '' : before[0]
    const hashFeed = /category=(\S+)/.exec(feed)?.[1] as string
    const fp = await api('POST', '/lists/allowlist', writer.token, { value: EICAR_MD5, reason: 'false positive in this feed', scope: { feed: hashFeed } })
    assert.equal(fp.status, 201)
    const after = await detectionsOf(eicar)
    assert.ok(!after.some((k) => k.startsWith(`category=${hashFeed} `)), `no detection of ${hashFeed}: ${after.join(' ')}`)
    for (const e of [other, ours, fp]) assert.equal((await api('DELETE', `/lists/allowlist/${e.body.id as string}`, writer.token)).status, 200)
  })

  it('a blocklist entry detects a value no feed lists; an expiry removes it by itself', async () => {
    const line = 'GET http://live-block.example/payload 200'
    assert.deepEqual(await detectionsOf(line), [])
    const r = await api('POST', '/lists/blocklist', writer.token, { value: 'live-block.example', reason: 'seen in an incident', expires: '2s' })
    assert.equal(r.status, 201)
    assert.deepEqual(await detectionsOf(line), ['category=Live_Blocklist detected=live-block.example'])
    await new Promise((resolve) => setTimeout(resolve, 2500))
    assert.deepEqual(await detectionsOf(line), [], 'expired')
    const file = JSON.parse(await readFile(join(dir.path, 'lists', 'lists.json'), 'utf8')) as { entries: Array<{ value: string }> }
    assert.ok(!file.entries.some((e) => e.value === 'live-block.example'), 'gone from lists.json too')
  })

  it('writes need the write scope; bad entries are refused with what is wrong', async () => {
    assert.equal((await api('POST', '/lists/blocklist', undefined, { value: 'x.example', reason: 'r' })).status, 401)
    const ro = await api('POST', '/lists/blocklist', reader.token, { value: 'x.example', reason: 'r' })
    assert.equal(ro.status, 403)
    assert.equal(ro.body.error.code, 'FM_ERR_API_AUTH')
    const cases: Array<[unknown, RegExp]> = [
      [{ reason: 'r' }, /expected "value"/],
      [{ value: 'not an indicator!', reason: 'r' }, /"value": /],
      [{ value: 'x.example' }, /expected "reason"/],
      [{ value: 'x.example', reason: 'r', scope: { sender: 'not-a-cidr' } }, /"scope\.sender": expected an address or a CIDR/],
      [{ value: 'x.example', reason: 'r', expires: 'yesterday' }, /"expires": expected a duration/],
    ]
    for (const [body, msg] of cases) {
      const r = await api('POST', '/lists/blocklist', writer.token, body)
      assert.equal(r.status, 400, JSON.stringify(body))
      assert.match(r.body.error.message, msg)
    }
    const notJson = await fetch(`${base}/lists/blocklist`, { method: 'POST', headers: { authorization: `Bearer ${writer.token}` }, body: '{nope' })
    assert.equal(notJson.status, 400)
    assert.equal((await api('DELETE', '/lists/blocklist/no-such-id', writer.token)).status, 404)
  })

  it('/lookup shows the live entries a value matches', async () => {
    const r = await api('POST', '/lists/allowlist', writer.token, { value: '203.0.113.0/24', reason: 'our scanner range', scope: { sender: '10.9.0.0/16' } })
    assert.equal(r.status, 201)
    const looked = await fetch(`${base}/lookup?indicator=203.0.113.77`)
    assert.equal(looked.status, 401, 'lookup needs its scope')
    const res = await fetch(`${base}/lookup?indicator=203.0.113.77&indicator=198.51.100.250`, { headers: { authorization: `Bearer ${lookupTok.token}` } })
    const body = await res.json() as Array<{ live?: Array<{ id: string, list: string, reason: string, matched: string, scope: unknown }> }>
    assert.deepEqual(body[0].live?.map((e) => [e.id, e.list, e.reason, e.matched]), [[r.body.id, 'allowlist', 'our scanner range', '203.0.113.0/24']])
    assert.deepEqual(body[0].live?.[0].scope, { senders: ['10.9.0.0/16'] })
    assert.equal(body[1].live, undefined)
    assert.equal((await api('DELETE', `/lists/allowlist/${r.body.id as string}`, writer.token)).status, 200)
  })

  it('the lists survive a restart', async () => {
    const r = await api('POST', '/lists/blocklist', writer.token, { value: '198.51.100.201', reason: 'kept across restarts' })
    assert.equal(r.status, 201)
    await svc.stop()
    svc = await ServiceProcess.start(['--config', cfg])
    base = `http://127.0.0.1:${svc.port('http')}`
    assert.deepEqual(await detectionsOf('deny src=10.0.0.9 dst=198.51.100.201'), ['category=Live_Blocklist detected=198.51.100.201'])
  })

  it('a change that cannot be written is refused with FM_ERR_WRITE, and not made', async () => {
    // The lists folder replaced by a file: the next write fails (root writes anywhere, so chmod would not).
    await rm(join(dir.path, 'lists'), { recursive: true })
    await writeFile(join(dir.path, 'lists'), 'not a folder')
    const r = await api('POST', '/lists/blocklist', writer.token, { value: 'unsaved.example', reason: 'cannot be kept' })
    assert.equal(r.status, 500)
    assert.equal(r.body.error.code, 'FM_ERR_WRITE')
    assert.match(r.body.error.message, /set feeds\.lists to a writable folder/)
    const listed = await api('GET', '/lists/blocklist', reader.token)
    assert.ok(!listed.body.some((e: { value: string }) => e.value === 'unsaved.example'))
  })
})
