// Live lists at scale: how long a change made through the API takes to reach matching, with the
// bench's 1M-indicator feeds in service (100k with --quick) and the live lists already holding
// LIVE_ENTRIES entries. A sender streams numbered events at a steady pace, each with an IP the
// feeds list and a domain no feed lists; then a blocklist entry for the domain and an allowlist
// entry for the IP are added through the API. Measured from the request sent: until the first
// detection of the blocklisted domain arrives, and until the last event whose IP still detected
// had been sent. Never asserts a time.
import { readFileSync } from 'node:fs'
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startReceiver, startService } from './serve.bench.mjs'
import { FEED_FILES } from './lib/data.mjs'
import { within } from './lib/proc.mjs'

/** Entries in the live lists before the measured changes (the overlay is rebuilt whole on each). */
const LIVE_ENTRIES = 10_000
/** One event every PACE_MS: the resolution of the allowlist figure. */
const PACE_MS = 2
const TIMEOUT_MS = 180_000

export async function runListsBench ({ quick, indicators }) {
  const dir = await mkdtemp(join(tmpdir(), 'feedmatch-lists-bench-'))
  const ip = readFileSync(join(indicators, 'list.txt'), 'utf8').split('\n').find((l) => /^\d+\.\d+\.\d+\.\d+$/.test(l.trim()))?.trim()
  if (ip === undefined) throw new Error('no IPv4 indicator in the bench list')
  const domain = 'live-bench-block.example'
  const sentAt = new Map()
  let firstBlocked = null
  let lastAllowedSeq = -1
  const receiver = await startReceiver({
    onDetection: (line, now) => {
      // The event's number is its src= address (10.a.b.c), which the alienvault preset carries.
      const src = / src=10\.(\d+)\.(\d+)\.(\d+)/.exec(line)
      const seq = src === null ? -1 : (Number(src[1]) << 16) | (Number(src[2]) << 8) | Number(src[3])
      if (line.includes(`detected=${domain}`) && firstBlocked === null) firstBlocked = now
      if (line.includes(`detected=${ip}`)) lastAllowedSeq = Math.max(lastAllowedSeq, seq)
    }
  })
  let svc
  let sending = true
  try {
    // The lists as the service keeps them (feeds.lists/lists.json), filled before the start.
    await mkdir(join(dir, 'lists'))
    const entries = Array.from({ length: LIVE_ENTRIES }, (_, i) => ({ id: `pre-${i}`, list: i % 2 === 0 ? 'allowlist' : 'blocklist', value: `pre-${i}.live-bench.example`, reason: 'bench', added: Date.now(), by: 'bench' }))
    await writeFile(join(dir, 'lists', 'lists.json'), JSON.stringify({ entries }))
    const configFile = join(dir, 'serve.yaml')
    await writeFile(configFile, `api:\n  listen: http://127.0.0.1:0\nfeeds:\n  lists: ${JSON.stringify(join(dir, 'lists'))}\n`)
    svc = await startService(FEED_FILES.map((f) => join(indicators, f)), receiver.port, TIMEOUT_MS, configFile)
    await within(receiver.onStarted, TIMEOUT_MS, 'the alert=started frame')
    const api = `http://127.0.0.1:${svc.apiPort}`
    const socket = connect(svc.port, '127.0.0.1')
    await once(socket, 'connect')
    socket.setNoDelay(true)
    let seq = 0
    const pump = (async () => {
      while (sending) {
        sentAt.set(seq, performance.now())
        socket.write(`<134>Mar  1 09:30:07 fw01 app[42]: act=allow src=10.${(seq >>> 16) & 255}.${(seq >>> 8) & 255}.${seq & 255} dst=${ip} url=http://${domain}/x\n`)
        seq++
        await new Promise((resolve) => setTimeout(resolve, PACE_MS))
      }
    })()
    await new Promise((resolve) => setTimeout(resolve, 2000))
    const post = async (list, value) => {
      const t = performance.now()
      const res = await fetch(`${api}/lists/${list}`, { method: 'POST', body: JSON.stringify({ value, reason: 'bench' }) })
      if (res.status !== 201) throw new Error(`POST /lists/${list}: ${res.status} ${await res.text()}`)
      return { sent: t, answered: performance.now() }
    }
    const block = await post('blocklist', domain)
    while (firstBlocked === null && performance.now() - block.sent < 10_000) await new Promise((resolve) => setTimeout(resolve, 5))
    const allow = await post('allowlist', ip)
    await new Promise((resolve) => setTimeout(resolve, 1500))
    sending = false
    await pump
    socket.end()
    const lastAllowedSentAt = sentAt.get(lastAllowedSeq) ?? null
    const result = {
      indicators: quick ? 100_000 : 1_000_000, liveEntries: LIVE_ENTRIES, paceMs: PACE_MS, events: seq,
      blocklistMs: firstBlocked === null ? null : firstBlocked - block.sent, blocklistAnswerMs: block.answered - block.sent,
      allowlistMs: lastAllowedSentAt === null ? null : Math.max(0, lastAllowedSentAt - allow.sent), allowlistAnswerMs: allow.answered - allow.sent,
    }
    console.log(`\nlive lists (${result.indicators.toLocaleString('en-US')} feed indicators, ${LIVE_ENTRIES.toLocaleString('en-US')} live entries): ` +
      `blocklist entry to its first detection ${result.blocklistMs?.toFixed(0) ?? 'never'} ms (the POST answered in ${result.blocklistAnswerMs.toFixed(0)} ms); ` +
      `allowlist entry to the last event still detected ${result.allowlistMs?.toFixed(0) ?? '-'} ms (answered in ${result.allowlistAnswerMs.toFixed(0)} ms; events every ${PACE_MS} ms)`)
    return result
  } finally {
    sending = false
    if (svc !== undefined && svc.child.exitCode === null) svc.child.kill('SIGKILL')
    await receiver.close()
    await rm(dir, { recursive: true, force: true })
  }
}
