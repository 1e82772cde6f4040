/**
 * What the inputs lose must show: UDP datagrams the kernel dropped, and events that arrive after
 * the stop drain; and what idle connections must not do: keep a real sender or /health out.
 */
import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import http from 'node:http'
import net from 'node:net'
import { readFileSync } from 'node:fs'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, it } from 'node:test'
import { DEMO_FEEDS, EICAR_MD5, event, sendTcp, startWithConfig, waitFor } from '../helpers/net.js'

const EICAR_KEY = `category=kl_malicious_hash detected=${EICAR_MD5}`

/** CPU seconds (user + system) a process has used, from /proc/PID/stat. */
function cpuSeconds (pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(f[11]) + Number(f[12])) / 100
}

async function idleSockets (port: number, n: number): Promise<net.Socket[]> {
  const out: net.Socket[] = []
  for (let i = 0; i < n; i++) {
    const s = net.connect({ port, host: '127.0.0.1' })
    s.on('error', () => {})
    out.push(s)
  }
  await Promise.all(out.map(async (s) => await Promise.race([once(s, 'connect'), once(s, 'close'), sleep(2000)])))
  return out
}

describe('inputs: losses counted, no lockout', { timeout: 120_000 }, () => {
  it('UDP: datagrams the kernel dropped in a burst are counted (received + kernel-dropped = sent)', async () => {
    const setup = await startWithConfig((siemPort) => ({
      input: { listen: ['udp://127.0.0.1:0'], udpReceiveBuffer: 4096 },
      output: { target: `tcp://127.0.0.1:${siemPort}` },
      feeds: { sources: [DEMO_FEEDS], watch: false },
      workers: 1,
    }))
    try {
      const port = setup.svc.port('udp')
      const socket = dgram.createSocket('udp4')
      const N = 20_000
      const msg = Buffer.from(event(1, EICAR_MD5))
      // As fast as the socket takes them: a burst the 4 KiB receive buffer cannot hold.
      for (let i = 0; i < N; i++) await new Promise<void>((resolve) => socket.send(msg, port, '127.0.0.1', () => resolve()))
      socket.close()
      await sleep(1500)
      const { stats } = await setup.svc.stop()
      const input = stats.input as Record<string, number>
      assert.ok(input.kernelDropped > 0, `the burst overflowed the receive buffer: ${JSON.stringify(input)}`)
      assert.equal(input.datagrams + input.kernelDropped, N, `every datagram is received or counted as dropped: ${JSON.stringify(input)}`)
    } finally {
      await setup.stop()
    }
  })

  it('events still arriving after the stop drain are counted, not silently discarded', async () => {
    const setup = await startWithConfig((siemPort) => ({
      input: { listen: ['tcp://127.0.0.1:0'] },
      output: { target: `tcp://127.0.0.1:${siemPort}` },
      feeds: { sources: [DEMO_FEEDS], watch: false },
      workers: 1,
    }))
    try {
      // A sender that does not stop, and keeps its side open after the service ends its own
      // (allowHalfOpen): the service still reads and counts what comes until it closes for good.
      const sender = net.connect({ port: setup.svc.port(), host: '127.0.0.1', allowHalfOpen: true })
      sender.on('error', () => {})
      await once(sender, 'connect')
      let sent = 0
      let go = true
      const loop = (async () => {
        while (go && !sender.destroyed && sender.writable) {
          const more = sender.write(event(sent, EICAR_MD5) + '\n')
          sent++
          if (!more) await new Promise((resolve) => { sender.once('drain', resolve); sender.once('close', resolve) })
          await sleep(5)
        }
      })()
      await waitFor(() => setup.siem.detections().length > 10, 'detections')
      setup.svc.signal('SIGTERM')
      // The drain gives up on it (quiet, or 5 s at most); what comes after is dropped and counted.
      await setup.svc.exited
      go = false
      await loop
      const stats = setup.svc.finalStats()
      const input = stats.input as Record<string, number>
      assert.ok(input.linesAfterStop > 0, `lines after the drain are counted: ${JSON.stringify(input)}`)
      assert.ok(input.events + input.linesAfterStop <= sent, `no event is counted twice (${input.events} + ${input.linesAfterStop} of ${sent} sent)`)
    } finally {
      await setup.stop()
    }
  })

  it('idle connections cannot lock a sender out (per-source cap, silent ones evicted) nor /health', async () => {
    const setup = await startWithConfig((siemPort) => ({
      input: { listen: ['tcp://127.0.0.1:0'], maxConnections: 100 },
      output: { target: `tcp://127.0.0.1:${siemPort}` },
      feeds: { sources: [DEMO_FEEDS], watch: false },
      api: { listen: 'http://127.0.0.1:0' },
      workers: 1,
    }))
    const held: net.Socket[] = []
    try {
      held.push(...await idleSockets(setup.svc.port(), 300))
      const apiPort = setup.svc.addresses.find((a) => a.protocol === 'http')!.port
      held.push(...await idleSockets(apiPort, 300))
      // A real sender from the same address gets through, and so does a health check.
      await sendTcp(setup.svc.port(), [event(7, EICAR_MD5)])
      await waitFor(() => setup.siem.detections().some((f) => f.includes(EICAR_KEY) && f.includes(' src=10.0.0.7 ')), 'the sender\'s detection')
      const health = await new Promise<number>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: apiPort, path: '/health', timeout: 5000 }, (res) => { res.resume(); resolve(res.statusCode ?? 0) }).on('error', reject)
      })
      assert.equal(health, 200)
      const { stats } = await setup.svc.stop()
      const input = stats.input as Record<string, number>
      assert.ok(input.silentClosed > 0, `silent connections were evicted: ${JSON.stringify(input)}`)
    } finally {
      for (const s of held) s.destroy()
      await setup.stop()
    }
  })

  it('log.statsInterval 0 means never, not a busy loop', async () => {
    const setup = await startWithConfig((siemPort) => ({
      input: { listen: ['tcp://127.0.0.1:0'] },
      output: { target: `tcp://127.0.0.1:${siemPort}` },
      feeds: { sources: [DEMO_FEEDS], watch: false },
      log: { statsInterval: 0 },
      workers: 1,
    }))
    try {
      const before = cpuSeconds(setup.svc.pid)
      await sleep(2000)
      const used = cpuSeconds(setup.svc.pid) - before
      // Idle, the service uses next to no CPU; spinning on a 0 ms timer took a whole core (2 s here).
      assert.ok(used < 0.8, `an idle service used ${used.toFixed(2)} CPU seconds in 2 s`)
      assert.equal(setup.svc.logged('statistics').length, 0)
    } finally {
      await setup.stop()
    }
  })
})
