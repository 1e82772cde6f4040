/**
 * `feedmatch serve` end to end, the way a user runs it: the compiled CLI, events over TCP (LF,
 * CRLF, octet-counted), over UDP and over CyberTrace's reply-back protocol, detections to a TCP
 * receiver standing for the SIEM. One service serves every subtest in order; each subtest looks
 * only at the frames that arrived after it started, once the output went quiet.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { once } from 'node:events'
import {
  LineCollector, Receiver, Sender, ServiceProcess, expectOnce, expectedVerificationKeys, octet, sendTcp, sendUdp, verificationEvents,
  waitFor, waitStill
} from '../helpers/net.js'

const EVENTS = verificationEvents()
const KEYS = expectedVerificationKeys()

describe('serve: the verification events through TCP, UDP and reply-back', { timeout: 90_000 }, () => {
  let siem: Receiver
  let svc: ServiceProcess
  const sent = { events: 0 }

  before(async () => {
    siem = await Receiver.listen()
    svc = await ServiceProcess.start([
      '--listen', 'tcp://127.0.0.1:0', '--listen', 'udp://127.0.0.1:0',
      '--output', `tcp://127.0.0.1:${siem.port}`, '--preset', 'alienvault'
    // A V8 option before the script, as production runs with big feeds do: Worker refuses those
    // in execArgv, so a pool that handed the workers process.execArgv never started.
    ], { nodeArgs: ['--max-old-space-size=2048'] })
  })
  after(async () => {
    svc?.kill()
    await siem?.close()
  })

  it('LF events over TCP: every expected detection once, after alert=started', async () => {
    await waitFor(() => siem.alerts('started').length === 1, 'alert=started')
    const from = siem.frames.length
    await sendTcp(svc.port(), EVENTS)
    sent.events += EVENTS.length
    await expectOnce(() => siem.frames, from, KEYS, 'LF')
    assert.equal(siem.alerts('started').length, 1)
    assert.match(siem.alerts('started')[0], /listen=tcp:\/\/127\.0\.0\.1:\d+ udp:\/\/127\.0\.0\.1:\d+/)
  })

  it('CRLF line ends', async () => {
    const from = siem.frames.length
    await sendTcp(svc.port(), EVENTS, '\r\n')
    sent.events += EVENTS.length
    await expectOnce(() => siem.frames, from, KEYS, 'CRLF')
  })

  it('RFC 6587 octet counting (detected by the leading length)', async () => {
    const from = siem.frames.length
    // Written in small pieces, so that frames and length prefixes straddle TCP segments.
    const s = await Sender.connect(svc.port())
    const all = Buffer.from(EVENTS.map(octet).join(''))
    for (let i = 0; i < all.length; i += 97) {
      await s.write(all.subarray(i, i + 97))
      if (i % 970 === 0) await new Promise((resolve) => setTimeout(resolve, 2))
    }
    await s.close()
    sent.events += EVENTS.length
    await expectOnce(() => siem.frames, from, KEYS, 'octet counting')
  })

  it('events over UDP, one a datagram', async () => {
    const from = siem.frames.length
    await sendUdp(svc.port('udp'), EVENTS)
    sent.events += EVENTS.length
    await expectOnce(() => siem.frames, from, KEYS, 'UDP')
  })

  it('X-KF-ReplyBack: detections come back on the same socket, none at the SIEM', async () => {
    const from = siem.frames.length
    const client = await Sender.connect(svc.port())
    await client.write('X-KF-ReplyBack\n')
    await client.writeLines(EVENTS)
    sent.events += EVENTS.length
    await expectOnce(() => client.replies.lines, 0, KEYS, 'reply-back')
    assert.equal(client.closed, false, 'the connection stays open for more events')
    // The same connection keeps working.
    const before = client.replies.lines.length
    await client.writeLines([EVENTS[0]])
    sent.events += 1
    await expectOnce(() => client.replies.lines, before, [KEYS[0]], 'reply-back, second round')
    await client.close()
    await waitStill(() => siem.frames.length, 300)
    assert.deepEqual(siem.detections(from), [], 'the SIEM receives none of a reply-back client\'s detections')
  })

  it('X-KF-ReplyBack from a client that ends its side after its last event: it still gets every reply', async () => {
    // `nc -N`, or a script that calls shutdown(SHUT_WR) and then reads: TCP half-close.
    const socket = net.connect({ port: svc.port(), host: '127.0.0.1', allowHalfOpen: true })
    await once(socket, 'connect')
    const replies = new LineCollector()
    socket.on('data', (c: Buffer) => replies.push(c))
    const closed = once(socket, 'close')
    socket.end(['X-KF-ReplyBack', ...EVENTS].join('\n') + '\n')
    sent.events += EVENTS.length
    await closed
    await expectOnce(() => replies.lines, 0, KEYS, 'reply-back after a half-close')
  })

  it('X-KF-SendFinishedEventX-KF-ReplyBack: one finished event per input event as well', async () => {
    const client = await Sender.connect(svc.port())
    await client.write('X-KF-SendFinishedEventX-KF-ReplyBack\n')
    await client.writeLines(EVENTS)
    sent.events += EVENTS.length
    const finished = (): string[] => client.replies.lines.filter((l) => l.startsWith('event=finished'))
    await waitFor(() => finished().length >= EVENTS.length, () => `${EVENTS.length} finished events, got ${finished().length}`)
    await expectOnce(() => client.replies.lines.filter((l) => !l.startsWith('event=finished')), 0, KEYS, 'reply-back with finished events')
    assert.equal(finished().length, EVENTS.length)
    // Every verification event yields one detection; the finished events say so, in input order.
    for (const f of finished()) assert.match(f, /detections=1$/)
    await client.close()
  })

  it('X-KF-ReplyBackPING is answered PONG', async () => {
    const client = await Sender.connect(svc.port())
    await client.write('X-KF-ReplyBackPING\n')
    await waitFor(() => client.replies.lines.length > 0, 'PONG')
    assert.deepEqual(client.replies.lines, ['PONG'])
    await client.close()
  })

  it('SIGTERM: exits 0, alert=stopping, final statistics count every event', async () => {
    const from = siem.frames.length
    const { code, stats } = await svc.stop()
    assert.equal(code, 0)
    await waitFor(() => siem.alerts('stopping', from).length === 1, 'alert=stopping')
    assert.equal(stats.events, sent.events)
    assert.equal(stats.dropped.binary ?? 0, 0)
    // Reply-back detections stay out of the statistics (CyberTrace without X-KF-SaveStatistic).
    assert.equal(stats.detections, 4 * KEYS.length)
  })
})
