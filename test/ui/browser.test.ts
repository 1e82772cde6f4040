/**
 * The web UI in a real browser: Debian's chromium driven by playwright-core, against the compiled
 * CLI with tokens, the detection store and a SIEM socket. Login (a wrong token refused), lookup
 * (defanged too, CSV export), an allowlist entry added in the UI stops a detection, a detection
 * marked a false positive stops too, and the dashboard follows events while they flow. A failing
 * step leaves a screenshot in test-results/ (its path in the test output). The page must raise
 * no script error and no Content-Security-Policy violation.
 */
import { after, before, describe, it, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { chromium, type Browser, type Page } from 'playwright-core'
import { DEMO_FEEDS, EICAR_MD5, ROOT, Receiver, Sender, ServiceProcess, cliToken, detectionKey, event, sendTcp, tempDir, waitFor, writeConfig } from '../helpers/net.js'
import { findTool, skipWithout } from '../helpers/peers.js'

const BOTNET_IP = '192.0.2.66'
const SHOTS = join(ROOT, 'test-results')
const skip = skipWithout('chromium', 'chromium')
/** In the page (a function: the page's CSP forbids evaluating strings): whether a dashboard tile shows more than `above`. */
const tileAbove = ([id, above]: [string, number]): boolean => {
  const text = ((globalThis as any).document.querySelector(`[data-testid=${id}]`)?.textContent ?? '0') as string
  return Number(text.replace(/[^0-9]/g, '')) > above
}

describe('web UI in chromium', { skip, timeout: 240_000 }, () => {
  let dir: { path: string, remove: () => Promise<void> }
  let siem: Receiver
  let svc: ServiceProcess
  let browser: Browser
  let page: Page
  let base: string
  const problems: string[] = []
  const analyst = cliToken('analyst', 'read,lookup,write')

  /** Runs a step; on failure a full-page screenshot goes to test-results/ and its path to the output. */
  const step = async (t: TestContext, name: string, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn()
    } catch (err) {
      mkdirSync(SHOTS, { recursive: true })
      const file = join(SHOTS, `ui-${name}-${Date.now()}.png`)
      await page.screenshot({ path: file, fullPage: true }).catch(() => {})
      t.diagnostic(`screenshot: ${file}`)
      process.stderr.write(`\n*** UI step "${name}" failed; screenshot: ${file}\n`)
      throw err
    }
  }
  /** Detection keys of the frames since `from` that name `what`. */
  const detected = (from: number, what: string): string[] => siem.frames.slice(from).map(detectionKey).filter((k): k is string => k?.includes(what) === true)

  before(async () => {
    dir = await tempDir()
    siem = await Receiver.listen()
    const cfg = await writeConfig(dir.path, {
      input: { listen: ['tcp://127.0.0.1:0'] },
      output: { target: `tcp://127.0.0.1:${siem.port}`, preset: 'alienvault' },
      feeds: { sources: [DEMO_FEEDS], watch: false, lists: join(dir.path, 'lists') },
      workers: 1,
      api: { listen: 'http://127.0.0.1:0', tokens: [analyst.entry] },
      store: { path: join(dir.path, 'detections.db') },
      log: { statsInterval: '1s' },
    })
    svc = await ServiceProcess.start(['--config', cfg])
    base = `http://127.0.0.1:${svc.port('http')}`
    // As root (CI) chromium needs --no-sandbox; a developer's user runs it sandboxed.
    browser = await chromium.launch({ executablePath: findTool('chromium') as string, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] })
    const context = await browser.newContext({ acceptDownloads: true })
    page = await context.newPage()
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
    // The 401s are the login's: the probe without a token, and the wrong token.
    page.on('console', (m) => { if (m.type() === 'error' && !m.text().includes('status of 401')) problems.push(`console: ${m.text()}`) })
  })
  after(async () => {
    await browser?.close()
    svc?.kill()
    await siem?.close()
    await dir?.remove()
  })

  it('login: a wrong token is refused, the right one opens the dashboard', async (t) => {
    await step(t, 'login', async () => {
      await page.goto(`${base}/`)
      assert.equal(new URL(page.url()).pathname, '/ui/', 'the root redirects to the UI')
      await page.fill('#token', 'fm_not-a-real-token')
      await page.click('button[type=submit]')
      await page.getByRole('alert').filter({ hasText: 'not known' }).waitFor()
      await page.fill('#token', analyst.token)
      await page.click('button[type=submit]')
      await page.locator('[data-testid=events-total]').waitFor()
      assert.equal(await page.locator('header nav a').count(), 5)
      // The token lives in this tab only: a reload keeps the session, a log out ends it.
      await page.reload()
      await page.locator('[data-testid=events-total]').waitFor()
    })
  })

  it('lookup: many indicators, defanged too, and a CSV export', async (t) => {
    await step(t, 'lookup', async () => {
      await page.click('header nav a[href="#/lookup"]')
      await page.fill('#indicators', [EICAR_MD5, 'hxxp://verify-malicious-domain[.]example[.]com/x', '198.51.100.254', 'no such thing'].join('\n'))
      await page.getByRole('button', { name: /Look up/ }).click()
      const rows = page.locator('#lookup-results tbody tr')
      await rows.nth(3).waitFor()
      const verdicts: Array<string | null> = []
      for (let r = 0; r < await rows.count(); r++) verdicts.push(await rows.nth(r).getAttribute('data-verdict'))
      assert.deepEqual(verdicts, ['listed', 'listed', 'not listed', 'not an indicator'])
      assert.match(await rows.nth(0).innerText(), /kl_malicious_hash/)
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()])
      const csv = readFileSync(await download.path(), 'utf8').split('\r\n')
      assert.equal(csv[0], 'indicator,type,value,verdict,feed,category,matched')
      assert.ok(csv.some((l) => l.startsWith(`${EICAR_MD5},md5,${EICAR_MD5},listed,kl_malicious_hash,`)), csv.join('\n'))
    })
  })

  it('an allowlist entry added in the UI stops the detection; a false positive marked in the UI too', async (t) => {
    await step(t, 'allowlist', async () => {
      // Both values detect before.
      let from = siem.frames.length
      await sendTcp(svc.port(), [event(1, EICAR_MD5) + ` cnc=${BOTNET_IP}`])
      await waitFor(() => detected(from, EICAR_MD5).length === 1 && detected(from, BOTNET_IP).length === 1, 'both detections before the lists change')

      await page.click('header nav a[href="#/lists"]')
      await page.fill('input[name=value]', EICAR_MD5)
      await page.fill('input[name=reason]', 'the AV test file, on purpose')
      await page.fill('input[name=expires]', '1d')
      await page.click('#add-entry button[type=submit]')
      await page.locator('#allowlist tbody tr', { hasText: EICAR_MD5 }).waitFor()

      // The hash stops; the IP of the same event still detects (it marks that the event was matched).
      from = siem.frames.length
      await sendTcp(svc.port(), [event(2, EICAR_MD5) + ` cnc=${BOTNET_IP}`])
      await waitFor(() => detected(from, BOTNET_IP).length === 1, 'the botnet IP detection')
      await sleep(100)
      assert.deepEqual(detected(from, EICAR_MD5), [], 'allowlisted in the UI: no detection')

      // The IP's detection, found in the store and marked a false positive.
      await page.click('header nav a[href="#/detections"]')
      await page.fill('#search input[aria-label=indicator]', BOTNET_IP)
      await page.click('#search button[type=submit]')
      const row = page.locator('#detections tbody tr').first()
      await row.getByRole('button', { name: 'False positive' }).waitFor()
      assert.match(await row.innerText(), /kl_ip_reputation/)
      await row.getByRole('button', { name: 'False positive' }).click()
      await row.getByText('allowlisted').waitFor()

      from = siem.frames.length
      await sendTcp(svc.port(), [event(3, EICAR_MD5) + ` cnc=${BOTNET_IP}`, `marker http://verify-malicious-domain.example.com/done`])
      await waitFor(() => detected(from, 'verify-malicious-domain.example.com').length === 1, 'the marker detection')
      await sleep(100)
      assert.deepEqual([...detected(from, EICAR_MD5), ...detected(from, BOTNET_IP)], [], 'both allowlisted now')
    })
  })

  it('the dashboard follows events while they flow', async (t) => {
    await step(t, 'dashboard', async () => {
      await page.click('header nav a[href="#/dashboard"]')
      const total = async (): Promise<number> => Number((await page.locator('[data-testid=events-total]').innerText()).replace(/\D/g, ''))
      await page.locator('[data-testid=events-total]').waitFor()
      const before = await total()
      // About 8 s of events at a steady pace, while the page polls every 2 s.
      const sender = await Sender.connect(svc.port())
      let i = 0
      const flowing = (async () => {
        const end = Date.now() + 8000
        while (Date.now() < end) {
          await sender.writeLines((function * () { for (let k = 0; k < 200; k++) yield event(1000 + i++, i % 10 === 0 ? EICAR_MD5 : undefined) })())
          await sleep(50)
        }
      })()
      try {
        const chart = page.getByRole('img', { name: /events and detections per second/ })
        await page.waitForFunction(tileAbove, ['events-rate', 0] as [string, number], { timeout: 20_000 })
        assert.ok(Number(await chart.getAttribute('data-points')) >= 1)
        assert.match(await chart.getAttribute('aria-label') ?? '', /events\/s: [1-9]/)
        const mid = await total()
        assert.ok(mid > before, `events total went from ${before} to ${mid}`)
        await page.waitForFunction(tileAbove, ['events-total', mid] as [string, number], { timeout: 20_000 })
      } finally {
        await flowing
        await sender.close()
      }
      const perFeed = page.getByRole('img', { name: /detections per feed/ })
      assert.match(await perFeed.getAttribute('aria-label') ?? '', /detections: \d/)
    })
  })

  it('no script error and no CSP violation on any page', () => {
    assert.deepEqual(problems, [])
  })
})
