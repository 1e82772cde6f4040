/**
 * Signals: SIGHUP reloads the configuration (a changed output template takes effect) without
 * dropping a connection; SIGTERM drains what senders already sent, delivers its detections and
 * exits 0, also when a sender keeps its connection open and when detections go back to a
 * reply-back client.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { once } from 'node:events'
import { writeFile } from 'node:fs/promises'
import {
  DEMO_FEEDS, EICAR_MD5, LineCollector, Receiver, Sender, ServiceProcess, detectionSrc, event, freePort, seqIp,
  startWithConfig, tempDir, waitFor, writeConfig, type ConfiguredService
} from '../helpers/net.js'

function config (siemPort: number, tag: string): unknown {
  return {
    input: { listen: ['tcp://127.0.0.1:0'] },
    output: {
      target: `tcp://127.0.0.1:${siemPort}`,
      preset: 'alienvault',
      templates: { event: `${tag} category=%Category% detected=%MatchedIndicator% src=%SRC_IP%` }
    },
    feeds: { sources: [DEMO_FEEDS], watch: false },
    workers: 1
  }
}

describe('serve: SIGHUP reloads the configuration', { timeout: 60_000 }, () => {
  let setup: ConfiguredService
  let siem: Receiver
  let svc: ServiceProcess
  let dir: ConfiguredService['dir']
  let path: string

  before(async () => {
    setup = await startWithConfig((siemPort) => config(siemPort, 'v1'))
    ;({ siem, svc, dir, configPath: path } = setup)
  })
  after(async () => await setup?.stop())

  it('a changed output template takes effect; the sender\'s and the SIEM\'s connections stay up', async () => {
    const sender = await Sender.connect(svc.port())
    await sender.write(event(1, EICAR_MD5) + '\n')
    await waitFor(() => siem.detections().some((f) => f.startsWith('v1 ') && detectionSrc(f) === seqIp(1)), 'the v1 detection')

    await writeConfig(dir.path, config(siem.port, 'v2'))
    svc.signal('SIGHUP')
    await waitFor(() => siem.alerts('feeds_updated').length === 1, 'alert=feeds_updated')
    await sender.write(event(2, EICAR_MD5) + '\n')
    await waitFor(() => siem.detections().some((f) => detectionSrc(f) === seqIp(2)), 'the detection after SIGHUP')
    const after = siem.detections().find((f) => detectionSrc(f) === seqIp(2)) as string
    assert.match(after, /^v2 category=kl_malicious_hash detected=44d88612fea8a8f36de82e1278abb02f src=10\.0\.0\.2$/)
    assert.equal(sender.closed, false, 'the sender\'s connection is still open')
    assert.equal(siem.accepted, 1, 'the output connection was not dropped')

    // A broken configuration on SIGHUP keeps the running one.
    await writeFile(path, '{ "output": { "preset": "no-such-preset" } }')
    svc.signal('SIGHUP')
    await svc.waitForLog('reload failed')
    await sender.write(event(3, EICAR_MD5) + '\n')
    await waitFor(() => siem.detections().some((f) => detectionSrc(f) === seqIp(3)), 'the detection after a failed reload')
    assert.match(siem.detections().find((f) => detectionSrc(f) === seqIp(3)) as string, /^v2 /)
    await sender.close()
    const { code } = await svc.stop()
    assert.equal(code, 0)
  })
})

describe('serve: SIGTERM drains events in flight and exits 0', { timeout: 90_000 }, () => {
  const BURST = 30_000

  async function burstThenTerm (keepOpen: boolean): Promise<void> {
    const siem = await Receiver.listen()
    const svc = await ServiceProcess.start(['--listen', 'tcp://127.0.0.1:0', '--output', `tcp://127.0.0.1:${siem.port}`, '--workers', '1'])
    try {
      // A sender that ignores our FIN (TCP allows it) stands for a forwarder that keeps its
      // connection open for days: shutdown must not wait for it to close.
      const socket = net.connect({ port: svc.port(), host: '127.0.0.1', allowHalfOpen: keepOpen })
      socket.on('error', () => {})
      await once(socket, 'connect')
      const sender = { socket }
      let chunk = ''
      for (let i = 0; i < BURST; i++) {
        chunk += event(i, EICAR_MD5) + '\n'
        if (chunk.length > 65536 || i === BURST - 1) {
          if (!sender.socket.write(chunk)) await once(sender.socket, 'drain')
          chunk = ''
        }
      }
      // Everything is in the kernel's hands (much of it not yet read by the service): stop now.
      if (keepOpen) await new Promise<void>((resolve) => sender.socket.write('', () => resolve()))
      else await new Promise<void>((resolve) => sender.socket.end(() => resolve()))
      const t0 = Date.now()
      const { code, stats } = await svc.stop()
      const took = Date.now() - t0
      assert.equal(code, 0)
      assert.equal(stats.events, BURST, 'every event sent was taken')
      await waitFor(() => siem.detections().length >= BURST, () => `${BURST} detections, got ${siem.detections().length}`)
      const srcs = new Set(siem.detections().map(detectionSrc))
      assert.equal(srcs.size, BURST, 'each event detected once')
      assert.ok(took < 10_000, `stopped in ${took} ms`)
      socket.destroy()
    } finally {
      svc.kill()
      await siem.close()
    }
  }

  it('a burst, then SIGTERM as soon as the sender has ended its connection', async () => {
    await burstThenTerm(false)
  })

  it('a burst, then SIGTERM while the sender keeps its connection open', async () => {
    await burstThenTerm(true)
  })

  it('SIGTERM while the SIEM is unreachable and the output is full: exits 0, and counts what it could not deliver', async () => {
    const port = await freePort()
    const dir = await tempDir()
    const path = await writeConfig(dir.path, {
      input: { listen: ['tcp://127.0.0.1:0'] },
      output: { target: `tcp://127.0.0.1:${port}`, queue: { maxBytes: 4 << 20 } },
      feeds: { sources: [DEMO_FEEDS], watch: false },
      workers: 1
    })
    const svc = await ServiceProcess.start(['--config', path])
    try {
      const sender = await Sender.connect(svc.port())
      const n = 20_000
      const lines: string[] = []
      for (let i = 0; i < n; i++) lines.push(event(i, EICAR_MD5))
      // 10 MB of detections for a 4 MiB queue: the pipeline stops, the sender may block.
      const sending = sender.writeLines(lines).catch(() => {})
      await waitFor(() => svc.logged('output lost').length > 0, 'output lost')
      await new Promise((resolve) => setTimeout(resolve, 500))
      const t0 = Date.now()
      const { code, stats } = await svc.stop(30_000)
      assert.equal(code, 0)
      assert.ok(Date.now() - t0 < 15_000, `stopped in ${Date.now() - t0} ms`)
      assert.equal(stats.events, stats.input.events, 'every event taken was matched')
      const lost = (stats.dropped.output_close_bytes ?? 0) + (stats.dropped.output_overflow_bytes ?? 0)
      assert.ok(lost > 0, `undelivered detections are counted: ${JSON.stringify(stats.dropped)}`)
      sender.socket.destroy()
      await sending
    } finally {
      svc.kill()
      await dir.remove()
    }
  })

  it('a reply-back client gets the detections of its last events before the connection closes', async () => {
    const siem = await Receiver.listen()
    const svc = await ServiceProcess.start(['--listen', 'tcp://127.0.0.1:0', '--output', `tcp://127.0.0.1:${siem.port}`, '--workers', '1'])
    try {
      const socket = net.connect({ port: svc.port(), host: '127.0.0.1' })
      await once(socket, 'connect')
      const replies = new LineCollector()
      socket.on('data', (c: Buffer) => replies.push(c))
      const closed = once(socket, 'close')
      let text = 'X-KF-ReplyBack\n'
      for (let i = 0; i < 5000; i++) text += event(i, EICAR_MD5) + '\n'
      await new Promise<void>((resolve) => socket.write(text, () => resolve()))
      const { code } = await svc.stop()
      assert.equal(code, 0)
      await closed
      assert.equal(replies.lines.filter((l) => l.startsWith('category=')).length, 5000)
      assert.equal(siem.detections().length, 0)
    } finally {
      svc.kill()
      await siem.close()
    }
  })
})
