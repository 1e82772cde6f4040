/**
 * RELP output against real rsyslog `imrelp` (Debian rsyslog-relp) standing for the SIEM: numbered
 * events go through `feedmatch serve` to rsyslog, which is killed mid-stream and started again on
 * the same port. RELP says what arrived, so every detection must be in rsyslog's file, none lost.
 * Duplicates can come only from messages rsyslog stored but never answered (librelp answers a
 * read buffer at a time): at most the window (128) of the one drop, and counted as resent.
 */
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { once } from 'node:events'
import { describe, it } from 'node:test'
import { DEMO_FEEDS, EICAR_MD5, Sender, ServiceProcess, event, freePort, ipSeq, tempDir, waitFor, writeConfig } from '../helpers/net.js'
import { findTool, skipWithout } from '../helpers/peers.js'

function imrelpModule (): string {
  for (const base of ['/usr/lib', '/usr/lib64']) {
    if (!existsSync(base)) continue
    for (const d of readdirSync(base)) {
      const f = join(base, d, 'rsyslog', 'imrelp.so')
      if (existsSync(f)) return f
    }
    if (existsSync(join(base, 'rsyslog', 'imrelp.so'))) return join(base, 'rsyslog', 'imrelp.so')
  }
  return '/usr/lib/x86_64-linux-gnu/rsyslog/imrelp.so'
}

const skip = skipWithout('rsyslogd', 'rsyslog') || skipWithout(imrelpModule(), 'rsyslog-relp')

/** rsyslogd in the foreground: imrelp on `port`, every message's text to `file`, one line each. */
async function startSiem (dir: string, port: number, file: string): Promise<ChildProcess> {
  const conf = join(dir, 'siem.conf')
  // A direct main queue: a message is in the file before imrelp answers it, so an answer means stored.
  writeFileSync(conf, `global(workDirectory="${dir}" maxMessageSize="64k")
main_queue(queue.type="Direct")
module(load="imrelp")
template(name="raw" type="string" string="%rawmsg%\\n")
input(type="imrelp" port="${port}" address="127.0.0.1" ruleset="siem")
ruleset(name="siem" queue.type="Direct") { action(type="omfile" file="${file}" template="raw") }
`)
  const p = spawn(findTool('rsyslogd')!, ['-n', '-f', conf, '-i', join(dir, 'siem.pid')], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  p.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  p.stderr?.on('data', (d: Buffer) => { out += d.toString() })
  await waitFor(() => out.includes('imrelp') || p.exitCode !== null || portIsOpen(port), 'rsyslogd to listen', 20_000, 100)
  if (p.exitCode !== null) throw new Error(`rsyslogd exited with ${p.exitCode}: ${out}`)
  return p
}

let lastProbe = false
function portIsOpen (port: number): boolean {
  // Polled by waitFor: starts a probe, answers with the last one's result.
  import('node:net').then(({ connect }) => {
    const s = connect({ port, host: '127.0.0.1' }, () => { lastProbe = true; s.destroy() })
    s.on('error', () => { lastProbe = false })
  }).catch(() => {})
  return lastProbe
}

function seqCounts (file: string): Map<number, number> {
  const counts = new Map<number, number>()
  if (!existsSync(file)) return counts
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = / src=(10\.\d+\.\d+\.\d+) /.exec(line)
    if (m === null || !line.includes('detected=')) continue
    const i = ipSeq(m[1]!)
    counts.set(i, (counts.get(i) ?? 0) + 1)
  }
  return counts
}

describe('RELP output to rsyslog imrelp', { skip }, () => {
  for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
    it(`the SIEM's rsyslog ${signal === 'SIGKILL' ? 'killed with kill -9' : 'stopped'} and restarted mid-stream: 0 lost, duplicates within the window and counted`, { timeout: 120_000 }, async (t) => {
      const dir = await tempDir('feedmatch-relp-')
      const port = await freePort()
      const file = join(dir.path, 'siem.log')
      const N = 20_000
      let siem: ChildProcess | null = await startSiem(dir.path, port, file)
      let svc: ServiceProcess | null = null
      try {
        lastProbe = false
        const config = await writeConfig(dir.path, {
          input: { listen: ['tcp://127.0.0.1:0'] },
          output: { target: `relp://127.0.0.1:${port}`, preset: 'alienvault', reconnect: { initialDelay: '100ms', maxDelay: '500ms' } },
          feeds: { sources: [DEMO_FEEDS], watch: false },
          workers: 2,
        })
        svc = await ServiceProcess.start(['--config', config])
        const sender = await Sender.connect(svc.port())
        const lines = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, k) => event(from + k, EICAR_MD5))
        await sender.writeLines(lines(0, N / 2))
        // Mid-stream: once part of the stream is stored, the SIEM goes away while more is sent.
        await waitFor(() => seqCounts(file).size >= N / 8, 'the first detections in rsyslog', 60_000, 50)
        siem.kill(signal)
        await once(siem, 'exit')
        siem = null
        await sender.writeLines(lines(N / 2, N))
        await new Promise((resolve) => setTimeout(resolve, 1500))
        siem = await startSiem(dir.path, port, file)
        await waitFor(() => seqCounts(file).size >= N, () => `all ${N} detections in rsyslog (have ${seqCounts(file).size})`, 90_000, 200)
        await sender.close()
        const { stats } = await svc.stop()
        svc = null
        const counts = seqCounts(file)
        const missing = Array.from({ length: N }, (_, i) => i).filter((i) => !counts.has(i))
        const doubled = [...counts].filter(([, n]) => n > 1)
        assert.equal(missing.length, 0, `every detection arrived; missing ${missing.length}, first ${missing.slice(0, 5).join(' ')}`)
        t.diagnostic(`lost 0 of ${N}; duplicated ${doubled.length}; bytesResent ${stats.output?.bytesResent}; reconnects ${stats.output?.reconnects}`)
        assert.ok(doubled.every(([, n]) => n === 2), 'nothing arrived more than twice')
        assert.ok(doubled.length <= 128, `duplicates within the RELP window of the one drop (128); got ${doubled.length}`)
        // Every duplicate was a message sent and not answered when the SIEM went: counted as resent.
        const resent = stats.output?.bytesResent ?? 0
        assert.ok(resent >= doubled.length * 200, `duplicates are counted: ${doubled.length} doubled, ${resent} bytes counted as resent`)
        assert.ok(resent <= 128 * 1024, `only the unanswered window counts as resent; got ${resent} bytes`)
        assert.ok((stats.output?.reconnects ?? 0) >= 1, 'the emitter noticed the SIEM go and come back')
      } finally {
        svc?.kill()
        siem?.kill('SIGKILL')
        await dir.remove()
      }
    })
  }
})
