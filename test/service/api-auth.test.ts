/**
 * The HTTP API with tokens, over HTTPS, through the compiled CLI: every endpoint without a token,
 * with a token of the wrong scope, with a bad token and with a good one; rate limits per token;
 * the HTTP limits answered in the JSON error form; a token file; and the refusal to open an API
 * without tokens on an address other machines reach.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawnSync } from 'node:child_process'
import { promisify } from 'node:util'
import { request as httpsRequest } from 'node:https'
import { join } from 'node:path'
import { writeFile } from 'node:fs/promises'
import { skipWithout } from '../helpers/peers.js'
import { CLI, DEMO_FEEDS, ServiceProcess, cliToken, tempDir, writeConfig } from '../helpers/net.js'

interface Answer { status: number, body: any, headers: Record<string, string | string[] | undefined> }

const skip = skipWithout('openssl', 'openssl')

describe('serve: the API with tokens over HTTPS', { timeout: 90_000, skip }, () => {
  let dir: { path: string, remove: () => Promise<void> }
  let svc: ServiceProcess
  let cert: string
  let port: number
  const reader = cliToken('dashboard', 'read')
  const analyst = cliToken('analyst', 'lookup')
  const slow = cliToken('slow', 'read')
  const fromFile = cliToken('from-file', 'read,lookup')

  const call = async (path: string, token?: string, init: { method?: string, body?: string, headers?: Record<string, string> } = {}): Promise<Answer> =>
    await new Promise((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port, path, method: init.method ?? 'GET', ca: cert, headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...init.headers } }, (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => { text += c })
        res.on('end', () => {
          let body: unknown = text
          try { body = JSON.parse(text) } catch { /* metrics are text */ }
          resolve({ status: res.statusCode ?? 0, body, headers: res.headers })
        })
      })
      req.on('error', reject)
      req.end(init.body)
    })

  before(async () => {
    dir = await tempDir()
    const key = join(dir.path, 'key.pem')
    const certFile = join(dir.path, 'cert.pem')
    await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
      '-nodes', '-keyout', key, '-out', certFile, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'])
    cert = (await import('node:fs')).readFileSync(certFile, 'utf8')
    await writeFile(join(dir.path, 'tokens.yaml'), `tokens:\n  - ${fromFile.yaml}\n`)
    const cfg = await writeConfig(dir.path, {
      input: { listen: ['tcp://127.0.0.1:0'] },
      output: { target: 'stdout' },
      feeds: { sources: [DEMO_FEEDS], watch: false },
      workers: 1,
      store: { path: join(dir.path, 'detections.db') },
      api: {
        listen: 'https://127.0.0.1:0',
        tls: { cert: certFile, key },
        tokens: [reader.entry, analyst.entry, { ...slow.entry, rate: 1 }],
        tokenFile: join(dir.path, 'tokens.yaml')
      }
    })
    svc = await ServiceProcess.start(['--config', cfg])
    port = svc.port('https')
  })
  after(async () => { svc?.kill(); await dir?.remove() })

  it('/ui/: the web UI\'s files are public (they hold no data), under a same-origin CSP', async () => {
    const page = await call('/ui/')
    assert.equal(page.status, 200)
    assert.match(String(page.headers['content-type']), /^text\/html/)
    assert.match(String(page.body), /<script type="module" src="app.js">/)
    assert.match(String(page.headers['content-security-policy']), /default-src 'self'; script-src 'self'/)
    assert.equal(page.headers['x-content-type-options'], 'nosniff')
    assert.equal((await call('/ui/app.js')).status, 200)
    assert.equal((await call('/ui/../config.yaml')).status, 404)
    assert.equal((await call('/')).status, 302)
  })

  it('/health: the status alone without a token, the details with a read token', async () => {
    assert.deepEqual((await call('/health')).body, { status: 'ok' })
    const full = await call('/health', reader.token)
    assert.equal(full.status, 200)
    assert.equal(full.body.status, 'ok')
    assert.ok(full.body.records > 0)
    assert.equal((await call('/health', 'fmk_not-a-token')).status, 401)
  })

  it('each endpoint: 401 without a token and with a bad one, 403 with the wrong scope, 200 with the right one', async () => {
    const cases: Array<[string, string | undefined, string | undefined]> = [
      ['/stats', reader.token, analyst.token],
      ['/feeds', reader.token, analyst.token],
      ['/metrics', reader.token, analyst.token],
      ['/detections', reader.token, analyst.token],
      ['/detections/indicators', reader.token, analyst.token],
      ['/lookup?indicator=44d88612fea8a8f36de82e1278abb02f', analyst.token, reader.token],
    ]
    for (const [path, good, wrongScope] of cases) {
      const none = await call(path)
      assert.equal(none.status, 401, path)
      assert.equal(none.body.error.code, 'FM_ERR_API_AUTH')
      assert.match(String(none.headers['www-authenticate']), /^Bearer/)
      const bad = await call(path, 'fmk_' + 'x'.repeat(43))
      assert.equal(bad.status, 401, path)
      assert.match(bad.body.error.message, /not one of this service's tokens/)
      const scope = await call(path, wrongScope)
      assert.equal(scope.status, 403, path)
      assert.match(scope.body.error.message, /lacks the scope/)
      assert.match(scope.body.error.hint, /Authorization: Bearer/)
      assert.equal((await call(path, good)).status, 200, path)
    }
    const posted = await call('/lookup', analyst.token, { method: 'POST', body: '44d88612fea8a8f36de82e1278abb02f\n' })
    assert.equal(posted.status, 200)
    assert.equal(posted.body[0].matches.length > 0, true)
    assert.equal((await call('/lookup', undefined, { method: 'POST', body: 'x' })).status, 401)
    assert.equal((await call('/stats', fromFile.token)).status, 200, 'a token of api.tokenFile')
  })

  it('a token over its rate gets 429 with Retry-After; others are not held back', async () => {
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) statuses.push((await call('/stats', slow.token)).status)
    assert.deepEqual(statuses.slice(0, 2), [200, 200], 'a burst of twice the rate')
    const limited = await call('/stats', slow.token)
    assert.equal(limited.status, 429)
    assert.equal(limited.body.error.code, 'FM_ERR_API_RATE')
    assert.ok(Number(limited.headers['retry-after']) >= 1)
    assert.equal((await call('/stats', reader.token)).status, 200)
  })

  it('HTTP limits answer in the JSON error form: headers over 64 KiB, 1,001 indicators', async () => {
    const big = await call('/stats', reader.token, { headers: { 'x-padding': 'a'.repeat(70_000) } })
    assert.equal(big.status, 431)
    assert.equal(big.body.error.code, 'FM_ERR_API')
    assert.match(big.body.error.message, /headers over 65536 bytes/)
    const many = Array.from({ length: 1001 }, (_, i) => `indicator=10.0.${i >> 8}.${i & 255}`).join('&')
    const tooMany = await call(`/lookup?${many}`, analyst.token)
    assert.equal(tooMany.status, 413)
    assert.match(tooMany.body.error.message, /1001 indicators in one request; at most 1000/)
  })
})

describe('serve: an API other machines reach needs tokens', { timeout: 30_000 }, () => {
  it('api.listen on 0.0.0.0 without tokens: refused at start with FM_ERR_CONFIG and the fix', async () => {
    const dir = await tempDir()
    try {
      const cfg = await writeConfig(dir.path, { api: { listen: 'http://0.0.0.0:0' }, feeds: { sources: [DEMO_FEEDS] } })
      const r = spawnSync(process.execPath, [CLI, 'config', 'check', cfg, '--no-feeds'], { encoding: 'utf8' })
      assert.equal(r.status, 2)
      assert.match(r.stderr, /FM_ERR_CONFIG: .*api\.listen: expected api\.tokens or api\.tokenFile for an API on 0\.0\.0\.0, which other machines reach; found none.*feedmatch token new/)
      const s = await ServiceProcess.start(['--config', cfg], { noWait: true })
      const exit = await s.exited
      assert.equal(exit.code, 2)
    } finally {
      await dir.remove()
    }
  })
})
