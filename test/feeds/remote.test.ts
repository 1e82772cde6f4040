import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, readdir, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { zipSync } from 'fflate'
import { promisify } from 'node:util'
import { createServer as createHttpsServer } from 'node:https'
import { createServer as createHttpServer } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'
import { skipWithout } from '../helpers/peers.js'
import { validateConfig } from '../../src/config/load.js'
import { expandFeedSources } from '../../src/config/feed-sources.js'
import { fetchFeed } from '../../src/feeds/remote/fetch.js'
import { setRetryBase } from '../../src/feeds/remote/http.js'
import type { ResolvedFeed } from '../../src/config/types.js'
import { FeedServer } from '../helpers/feed-server.js'

// Remote feeds against a real HTTP server on loopback (test/helpers/feed-server.ts): conditional
// requests, gzip and zip bodies, retries, timeouts, size limits, secrets, and validation before a
// download replaces the cached copy.
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CLI = join(ROOT, 'dist/cli/main.js')
const URLHAUS = await readFile(join(ROOT, 'fixtures/layouts/urlhaus.csv'), 'utf8')
const FEODO = await readFile(join(ROOT, 'fixtures/layouts/feodo.csv'), 'utf8')
const NETSET = await readFile(join(ROOT, 'fixtures/layouts/firehol_level1.netset'), 'utf8')

setRetryBase(20)
const server = await FeedServer.start()
after(async () => await server.close())

async function feedsOf (sources: unknown[]): Promise<{ feeds: ResolvedFeed[], dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'feedmatch-remote-'))
  const config = validateConfig({ feeds: { cache: 'cache', sources } }, 'test', { baseDir: dir })
  return { feeds: await expandFeedSources(config, { keepMissing: true }), dir }
}

test('a download is validated, cached with its validators, and the next fetch is a 304 that costs nothing', async () => {
  server.set('/urlhaus/csv.txt', { body: URLHAUS, gzip: true })
  const { feeds: [feed], dir } = await feedsOf([{ url: `${server.url}/urlhaus/csv.txt`, preset: 'urlhaus-csv', every: '1h' }])
  assert.equal(feed.name, 'csv')
  assert.equal(feed.path, join(dir, 'cache', 'csv', 'feed.txt'))
  const first = await fetchFeed(feed)
  assert.equal(first.status, 'updated', JSON.stringify(first))
  assert.equal(first.records, 3)
  assert.equal(await readFile(feed.path, 'utf8'), URLHAUS, 'gzip transfer encoding undone')
  const state = JSON.parse(await readFile(join(dir, 'cache', 'csv', 'state.json'), 'utf8')) as { validators: { etag: string } }
  assert.match(state.validators.etag, /^"/)
  const mtime = (await stat(feed.path)).mtimeMs
  const second = await fetchFeed(feed)
  assert.equal(second.status, 'not-modified')
  assert.equal(server.hitsOf('/urlhaus/csv.txt').at(-1)?.status, 304)
  assert.equal(server.hitsOf('/urlhaus/csv.txt').at(-1)?.headers['if-none-match'], state.validators.etag)
  assert.equal((await stat(feed.path)).mtimeMs, mtime, 'the cached copy is untouched by a 304')
  assert.deepEqual((await readdir(join(dir, 'cache', 'csv'))).sort(), ['feed.txt', 'state.json'], 'no staging left behind')
})

test('gzip and zip files are unpacked; the file name inside a .gz URL gives the extension', async () => {
  const { gzipSync } = await import('node:zlib')
  server.set('/feodo/ipblocklist.csv.gz', { body: gzipSync(FEODO) })
  server.set('/firehol/level1.zip', { body: Buffer.from(zipSync({ 'firehol_level1.netset': Buffer.from(NETSET) })) })
  const { feeds } = await feedsOf([
    { url: `${server.url}/feodo/ipblocklist.csv.gz` },
    { url: `${server.url}/firehol/level1.zip`, preset: 'firehol-netset' }
  ])
  const [gz, zip] = await Promise.all(feeds.map(async (f) => await fetchFeed(f)))
  assert.equal(gz.status, 'updated', JSON.stringify(gz))
  assert.equal(feeds[0].path.endsWith('feed.csv'), true)
  assert.equal(gz.records, 3)
  assert.equal(await readFile(feeds[0].path, 'utf8'), FEODO)
  assert.equal(zip.status, 'updated', JSON.stringify(zip))
  assert.equal(await readFile(feeds[1].path, 'utf8'), NETSET)
})

test('503s are retried with backoff; a failure after the retries, a timeout or a size past maxBytes keeps the cached copy', async () => {
  server.set('/busy.txt', { body: NETSET, failFirst: 2 })
  const { feeds: [busy] } = await feedsOf([{ url: `${server.url}/busy.txt`, format: 'list', retries: 3 }])
  const ok = await fetchFeed(busy)
  assert.equal(ok.status, 'updated', JSON.stringify(ok))
  assert.deepEqual(server.hitsOf('/busy.txt').map((h) => h.status), [503, 503, 200])

  // Now the publisher breaks in three ways; each time the copy held stays.
  const held = await readFile(busy.path, 'utf8')
  server.set('/busy.txt', { body: NETSET, failFirst: 10 })
  const down = await fetchFeed({ ...busy, remote: { ...busy.remote!, retries: 1 } })
  assert.equal(down.status, 'failed')
  assert.equal(down.error?.code, 'FM_ERR_FEED_FETCH')
  assert.match(down.error?.message ?? '', /answered HTTP 503/)
  server.set('/busy.txt', { body: NETSET + '10.0.0.0/8\n', delay: 1500 })
  const slow = await fetchFeed({ ...busy, remote: { ...busy.remote!, retries: 0, timeout: 300 } })
  assert.equal(slow.status, 'failed', JSON.stringify(slow))
  assert.match(slow.error?.message ?? '', /timeout|Timeout/)
  server.set('/busy.txt', { body: NETSET + '#'.repeat(4096) })
  const big = await fetchFeed({ ...busy, remote: { ...busy.remote!, retries: 0, maxBytes: 1024 } })
  assert.equal(big.status, 'failed')
  assert.match(big.error?.message ?? '', /larger than maxBytes/)
  assert.equal(await readFile(busy.path, 'utf8'), held)
  const state = JSON.parse(await readFile(join(busy.remote!.dir, 'state.json'), 'utf8')) as { lastError: { code: string }, lastSuccess: number }
  assert.equal(state.lastError.code, 'FM_ERR_FEED_FETCH')
  assert.ok(state.lastSuccess > 0)
})

test('a download that would not load is refused and the copy held stays', async () => {
  server.set('/list.txt', { body: NETSET })
  const { feeds: [feed] } = await feedsOf([{ url: `${server.url}/list.txt`, format: 'list' }])
  assert.equal((await fetchFeed(feed)).status, 'updated')
  server.set('/list.txt', { body: '# nothing here today\n' })
  const empty = await fetchFeed(feed)
  assert.equal(empty.status, 'failed')
  assert.equal(empty.error?.code, 'FM_ERR_FEED_EMPTY')
  assert.equal(await readFile(feed.path, 'utf8'), NETSET)
  // The refused download did not move the validators: the next fetch asks without the new ETag.
  server.set('/list.txt', { body: NETSET })
  assert.equal((await fetchFeed(feed)).status, 'not-modified')
})

test('header values come from env variables or files when the request is made, and never reach an outcome', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'feedmatch-secret-'))
  await writeFile(join(dir, 'key'), 'from-a-file\n')
  process.env.FEEDMATCH_TEST_KEY = 'sekrit-123'
  server.set('/keyed.txt', {
    body: NETSET,
    check: (req) => {
      if (req.headers['auth-key'] !== 'sekrit-123' || req.headers['x-other'] !== 'from-a-file') throw new Error('bad key')
    }
  })
  const { feeds: [feed] } = await feedsOf([{ url: `${server.url}/keyed.txt`, format: 'list', headers: { 'Auth-Key': { env: 'FEEDMATCH_TEST_KEY' }, 'X-Other': { file: join(dir, 'key') } } }])
  assert.equal((await fetchFeed(feed)).status, 'updated')
  delete process.env.FEEDMATCH_TEST_KEY
  const missing = await fetchFeed(feed)
  assert.equal(missing.status, 'failed')
  assert.match(missing.error?.message ?? '', /environment variable FEEDMATCH_TEST_KEY is not set/)
  process.env.FEEDMATCH_TEST_KEY = 'wrong'
  const wrong = await fetchFeed(feed)
  assert.doesNotMatch(JSON.stringify(wrong) + await readFile(join(feed.remote!.dir, 'state.json'), 'utf8'), /sekrit|wrong|from-a-file/)
  delete process.env.FEEDMATCH_TEST_KEY
})

test('MISP over HTTP: only new or changed events are downloaded, gone ones leave; to_ids is respected', async () => {
  const ev = (uuid: string, ip: string, toIds = true): unknown => ({ Event: { uuid, info: uuid, Attribute: [{ uuid: `${uuid}-a`, type: 'ip-dst', value: ip, to_ids: toIds }] } })
  const [E1, E2, E3] = ['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000003']
  const publish = (events: Record<string, [string, number, boolean?]>): void => {
    server.set('/misp/manifest.json', { body: JSON.stringify(Object.fromEntries(Object.entries(events).map(([u, [, ts]]) => [u, { info: u, timestamp: String(ts) }]))) })
    for (const [u, [ip, , toIds]] of Object.entries(events)) server.set(`/misp/${u}.json`, { body: JSON.stringify(ev(u, ip, toIds)) })
  }
  publish({ [E1]: ['192.0.2.1', 1], [E2]: ['192.0.2.2', 1], [E3]: ['192.0.2.3', 1, false] })
  const { feeds: [feed] } = await feedsOf([{ url: `${server.url}/misp/`, format: 'misp', name: 'misp' }])
  const first = await fetchFeed(feed)
  assert.equal(first.status, 'updated', JSON.stringify(first))
  assert.equal(first.records, 2, 'the to_ids: false attribute is not a record')
  publish({ [E1]: ['192.0.2.1', 1], [E2]: ['192.0.2.22', 2] })
  const before = server.hits.length
  const second = await fetchFeed(feed)
  assert.equal(second.status, 'updated', JSON.stringify(second))
  assert.deepEqual(server.hits.slice(before).map((h) => h.path).sort(), [`/misp/${E2}.json`, '/misp/manifest.json'])
  assert.deepEqual((await readdir(feed.path)).sort(), [`${E1}.json`, `${E2}.json`, 'manifest.json'])
  assert.match(await readFile(join(feed.path, `${E2}.json`), 'utf8'), /192\.0\.2\.22/)
  assert.equal((await fetchFeed(feed)).status, 'not-modified')
})

test('feedmatch feeds fetch -c CONF -o DIR downloads for an isolated host, which then serves the copy offline', async () => {
  server.set('/dmz/urlhaus.csv', { body: URLHAUS })
  const dir = await mkdtemp(join(tmpdir(), 'feedmatch-dmz-'))
  const conf = join(dir, 'feedmatch.yaml')
  await writeFile(conf, `feeds:\n  sources:\n    - url: ${server.url}/dmz/urlhaus.csv\n      name: urlhaus\n      preset: urlhaus-csv\n`)
  const run = async (args: string[]): Promise<{ code: number, stdout: string, stderr: string }> => await new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: dir }, (err, stdout, stderr) => resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? -1, stdout, stderr }))
  })
  const fetched = await run(['feeds', 'fetch', '-c', conf, '-o', join(dir, 'out'), '--json'])
  assert.equal(fetched.code, 0, fetched.stderr)
  const report = JSON.parse(fetched.stdout) as { feeds: Array<{ feed: string, status: string, records: number }> }
  assert.deepEqual(report.feeds.map((f) => [f.feed, f.status, f.records]), [['urlhaus', 'updated', 3]])
  // The isolated host: the same config, its cache the copied folder, the publisher unreachable.
  await writeFile(conf, `feeds:\n  cache: out\n  sources:\n    - url: http://127.0.0.1:9/unreachable/urlhaus.csv\n      name: urlhaus\n      preset: urlhaus-csv\n`)
  const looked = await run(['lookup', '-c', conf, '--format', 'json', 'http://192.0.2.77:40133/i'])
  assert.equal(looked.code, 0, looked.stderr)
  assert.equal((JSON.parse(looked.stdout) as Array<{ matches: unknown[] }>)[0].matches.length, 1)
  const again = await run(['feeds', 'fetch', '-c', conf, '-o', join(dir, 'out')])
  assert.equal(again.code, 2, 'a feed that cannot be fetched fails the command')
  assert.match(again.stdout, /urlhaus: FAILED FM_ERR_FEED_FETCH/)
})

test('config: a URL written as a path is refused with the fix; path, url and taxii exclude each other', () => {
  assert.throws(() => validateConfig({ feeds: { sources: ['https://urlhaus.example/downloads/csv.txt'] } }, 'test'),
    { code: 'FM_ERR_CONFIG', message: /feeds\.sources\[0\]: expected a file or folder; found the URL "https:\/\/urlhaus\.example\/downloads\/csv\.txt" \(write it as url:/ })
  assert.throws(() => validateConfig({ feeds: { sources: [{ path: 'a.txt', url: 'https://x.example/a.txt' }] } }, 'test'),
    { code: 'FM_ERR_CONFIG', message: /expected one of path:, url: or taxii:; found 2/ })
  assert.throws(() => validateConfig({ feeds: { sources: [{ taxii: { collection: 'c' } }] } }, 'test'),
    { code: 'FM_ERR_CONFIG', message: /taxii\.apiRoot or taxii\.discovery/ })
})

test('HTTPS with the feed\'s own CA bundle, through an HTTP CONNECT proxy; without the CA the download fails', { skip: skipWithout('openssl', 'openssl') }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'feedmatch-https-'))
  const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')]
  await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'])
  const https = createHttpsServer({ key: await readFile(key), cert: await readFile(cert) }, (_req, res) => res.end(NETSET))
  await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve))
  // A CONNECT proxy, as corporate proxies are: it tunnels bytes and counts the tunnels.
  const tunnels: string[] = []
  const proxy = createHttpServer()
  proxy.on('connect', (req, client: Socket, head: Buffer) => {
    tunnels.push(String(req.url))
    const [host, port] = String(req.url).split(':')
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      upstream.write(head)
      upstream.pipe(client)
      client.pipe(upstream)
    })
    upstream.on('error', () => client.destroy())
    client.on('error', () => upstream.destroy())
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  try {
    const url = `https://127.0.0.1:${(https.address() as AddressInfo).port}/level1.netset`
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`
    const { feeds: [trusted, untrusted] } = await feedsOf([
      { url, name: 'trusted', ca: cert, proxy: proxyUrl, retries: 0 },
      { url, name: 'untrusted', retries: 0 }
    ])
    const ok = await fetchFeed(trusted)
    assert.equal(ok.status, 'updated', JSON.stringify(ok))
    assert.equal(await readFile(trusted.path, 'utf8'), NETSET)
    assert.deepEqual(tunnels, [`127.0.0.1:${(https.address() as AddressInfo).port}`])
    const refused = await fetchFeed(untrusted)
    assert.equal(refused.status, 'failed')
    assert.match(refused.error?.message ?? '', /self.signed|certificate/i)
  } finally {
    https.closeAllConnections()
    proxy.closeAllConnections()
    await Promise.all([new Promise((resolve) => https.close(resolve)), new Promise((resolve) => proxy.close(resolve))])
  }
})
