/**
 * Faults that used to lose detections, each reproduced with real processes and sockets: a SIEM
 * that resets its TCP connection every ~200 kB it reads, and `serve` killed with kill -9 while
 * the SIEM is away (spool mode always). Numbered events carry one listed indicator each, so every
 * detection names its event (see helpers/net.ts `event`).
 */
import assert from 'node:assert/strict'
import { existsSync, readdirSync, statSync } from 'node:fs'
import net from 'node:net'
import { once } from 'node:events'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import {
  DEMO_FEEDS, EICAR_MD5, FrameParser, Receiver, SeqCounter, Sender, ServiceProcess, event, freePort, ipSeq, tempDir, waitFor, waitStill, writeConfig,
} from '../helpers/net.js'

/** A SIEM behind a load balancer with a small read window: reads about `limit` bytes of a connection, then resets it. */
class ResettingSiem {
  readonly counts = new Map<number, number>()
  connections = 0
  bytes = 0
  private readonly server: net.Server

  private constructor (readonly limit: number) {
    this.server = net.createServer((socket) => {
      this.connections++
      let read = 0
      const parser = new FrameParser((f) => {
        const m = / src=(10\.\d+\.\d+\.\d+) /.exec(f)
        if (m === null || !f.includes('detected=')) return
        const i = ipSeq(m[1]!)
        this.counts.set(i, (this.counts.get(i) ?? 0) + 1)
      })
      socket.on('error', () => {})
      socket.on('data', (chunk: Buffer) => {
        const take = chunk.subarray(0, Math.max(0, this.limit - read))
        read += take.length
        this.bytes += take.length
        parser.push(take)
        if (read >= this.limit) socket.resetAndDestroy()
      })
    })
  }

  static async listen (limit: number): Promise<ResettingSiem> {
    const s = new ResettingSiem(limit)
    s.server.listen(0, '127.0.0.1')
    await once(s.server, 'listening')
    return s
  }

  get port (): number { return (this.server.address() as net.AddressInfo).port }

  async close (): Promise<void> {
    this.server.close()
  }
}

const lines = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, k) => event(from + k, EICAR_MD5))

describe('faults', () => {
  it('plain TCP to a SIEM that resets every ~200 kB it reads: delivery always moves forward, duplicates bounded and counted', { timeout: 120_000 }, async (t) => {
    const siem = await ResettingSiem.listen(200_000)
    const dir = await tempDir()
    const N = 30_000
    let svc: ServiceProcess | null = null
    try {
      const config = await writeConfig(dir.path, {
        input: { listen: ['tcp://127.0.0.1:0'] },
        output: { target: `tcp://127.0.0.1:${siem.port}`, reconnect: { initialDelay: '20ms', maxDelay: '100ms' } },
        feeds: { sources: [DEMO_FEEDS], watch: false },
        workers: 2,
      })
      svc = await ServiceProcess.start(['--config', config])
      const sender = await Sender.connect(svc.port())
      await sender.writeLines(lines(0, N))
      await sender.close()
      // No loop: once the service has nothing new to send, the SIEM stops being sent the same
      // window again and again (it read 660 MB for 9.3 MB before the fix), so its reads go still.
      await waitFor(() => svc!.logs.length > 0, 'the log')
      await waitStill(() => siem.bytes, 3000, 90_000)
      const { stats } = await svc.stop(60_000)
      svc = null
      const delivered = siem.counts.size
      const duplicated = [...siem.counts.values()].reduce((a, n) => a + n - 1, 0)
      const resent = stats.output?.bytesResent ?? 0
      t.diagnostic(`delivered ${delivered} of ${N} (lost ${N - delivered}); duplicated ${duplicated}; connections ${siem.connections}; bytesResent ${resent}; bytesSent ${stats.output?.bytesSent}`)
      // Each resent batch goes again once only: the SIEM read at most twice what there was to send.
      const frameBytes = (stats.output?.bytesQueued ?? 0)
      assert.ok(siem.bytes <= 2 * frameBytes + siem.connections * 200_000, `bounded resending: the SIEM read ${siem.bytes} bytes for ${frameBytes}`)
      assert.ok(resent <= frameBytes, `each byte resent at most once: ${resent} resent of ${frameBytes}`)
      assert.ok(duplicated * 200 <= resent, `duplicates (${duplicated}) are within what is counted as resent (${resent} bytes)`)
    } finally {
      svc?.kill()
      await siem.close()
      await dir.remove()
    }
  })

  it('kill -9 while the SIEM is away, spool mode always: after the restart every detection arrives', { timeout: 120_000 }, async (t) => {
    const dir = await tempDir()
    const siemPort = await freePort()
    const N = 20_000
    let svc: ServiceProcess | null = null
    let siem: Receiver | null = null
    try {
      const config = await writeConfig(dir.path, {
        input: { listen: ['tcp://127.0.0.1:0'] },
        output: {
          target: `tcp://127.0.0.1:${siemPort}`,
          spool: { dir: join(dir.path, 'spool'), mode: 'always' },
          reconnect: { initialDelay: '50ms', maxDelay: '200ms' },
        },
        feeds: { sources: [DEMO_FEEDS], watch: false },
        workers: 2,
      })
      // The SIEM is down from the start: everything the service takes waits in its spool.
      svc = await ServiceProcess.start(['--config', config])
      const sender = await Sender.connect(svc.port())
      await sender.writeLines(lines(0, N))
      await sender.close()
      // Every event was matched and its frames accepted by the output (in the journal) before the kill.
      await waitFor(() => journalBytes(join(dir.path, 'spool')) >= N * 250, () => `the journal to hold ${N} detections (${journalBytes(join(dir.path, 'spool'))} bytes)`, 60_000, 100)
      await waitStill(() => journalBytes(join(dir.path, 'spool')), 500, 30_000)
      svc.signal('SIGKILL')
      await svc.exited
      svc = null
      siem = await Receiver.listen(siemPort)
      const counter = new SeqCounter(siem)
      svc = await ServiceProcess.start(['--config', config])
      await waitFor(() => counter.seen(0, N) >= N, () => `all ${N} detections after the restart (have ${counter.seen(0, N)})`, 90_000, 100)
      const doubled = [...counter.counts.values()].filter((n) => n > 1).length
      t.diagnostic(`lost 0 of ${N}; duplicated ${doubled}`)
      assert.equal(counter.wrong, 0)
    } finally {
      svc?.kill()
      await siem?.close()
      await dir.remove()
    }
  })
})

function journalBytes (dir: string): number {
  if (!existsSync(dir)) return 0
  return readdirSync(dir).filter((f) => f.endsWith('.seg')).reduce((n, f) => n + statSync(join(dir, f)).size, 0)
}
