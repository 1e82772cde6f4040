/**
 * Bad input (DESIGN.md section 8): binary junk, invalid UTF-8, events over `input.maxEventSize`,
 * an unterminated last line, a client that sends nothing, random bytes. The service must not
 * crash, must keep matching later events on the same and on new connections, and its final
 * statistics must count each case.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import { once } from 'node:events'
import {
  DEMO_FEEDS, EICAR_MD5, Sender, detectionSrc, event, expectOnce, seqIp, startWithConfig, waitFor, waitStill,
  type ConfiguredService, type Receiver, type ServiceProcess
} from '../helpers/net.js'

const MAX = 256
const KEY = `category=kl_malicious_hash detected=${EICAR_MD5}`

/** Events over MAX bytes are cut; one worker, so events are matched in the order sent. */
function badInputConfig (siemPort: number): unknown {
  return {
    input: { listen: ['tcp://127.0.0.1:0'], maxEventSize: MAX },
    output: { target: `tcp://127.0.0.1:${siemPort}`, preset: 'alienvault' },
    feeds: { sources: [DEMO_FEEDS], watch: false },
    workers: 1
  }
}

describe('serve: bad input is cut or dropped, counted, and harms nothing else', { timeout: 60_000 }, () => {
  let setup: ConfiguredService
  let siem: Receiver
  let svc: ServiceProcess
  const expect = { binary: 0, truncated: 0, empty: 0, invalidUtf8: 0 }

  before(async () => {
    setup = await startWithConfig(badInputConfig)
    ;({ siem, svc } = setup)
  })
  after(async () => await setup?.stop())

  /** Sends a good event numbered `i` on `s` and waits for its detection. */
  async function stillMatches (s: Sender, i: number): Promise<void> {
    const from = siem.frames.length
    await s.write(event(i, EICAR_MD5) + '\n')
    await waitFor(() => siem.detections(from).some((f) => detectionSrc(f) === seqIp(i)), `the detection of event ${i}`)
  }

  it('binary junk (NUL bytes) is dropped, even with an indicator in it; the connection stays up', async () => {
    const from = siem.frames.length
    const s = await Sender.connect(svc.port())
    await s.write(Buffer.concat([Buffer.from([0, 1, 2, 3, 0xfe, 0, 0x7f]), Buffer.from('\n')]))
    await s.write(Buffer.concat([Buffer.from(event(1, EICAR_MD5)), Buffer.from([0]), Buffer.from(' tail\n')]))
    await s.write(Buffer.concat([Buffer.alloc(100), Buffer.from('\n')]))
    expect.binary += 3
    await stillMatches(s, 2)
    await s.close()
    await waitStill(() => siem.frames.length, 300)
    assert.deepEqual(siem.detections(from).map(detectionSrc), [seqIp(2)], 'only the clean event is detected')
  })

  it('invalid UTF-8 is matched as bytes and counted', async () => {
    const from = siem.frames.length
    const bad = Buffer.concat([Buffer.from('<134>Mar  1 09:30:07 host app: user=\xff\xfe\xc3('), Buffer.from([0xff, 0xc0, 0x80, 0xed, 0xa0, 0x80]), Buffer.from(` src=${seqIp(3)} hash=${EICAR_MD5}\n`)])
    const s = await Sender.connect(svc.port())
    await s.write(bad)
    expect.invalidUtf8 += 1
    await s.close()
    await expectOnce(() => siem.frames, from, [KEY], 'invalid UTF-8')
  })

  it('an event over maxEventSize is cut to it and counted; the connection stays up', async () => {
    const from = siem.frames.length
    const s = await Sender.connect(svc.port())
    // The indicator within the first MAX bytes: still found. Past them: cut away.
    await s.write(event(4, EICAR_MD5, 3 * MAX) + '\n')
    await s.write(`<134>Mar  1 09:30:07 host app: note=${'y'.repeat(2 * MAX)} src=${seqIp(5)} hash=${EICAR_MD5}\n`)
    // A 4 MiB line: memory held for it stays bounded by MAX.
    await s.write(Buffer.alloc(4 << 20, 'z'))
    await s.write('\n')
    expect.truncated += 3
    await stillMatches(s, 6)
    await s.close()
    await waitStill(() => siem.frames.length, 300)
    assert.deepEqual(siem.detections(from).map(detectionSrc), [seqIp(4), seqIp(6)])
  })

  it('an unterminated last line (the connection ends without LF) is still matched', async () => {
    const from = siem.frames.length
    const s = await Sender.connect(svc.port())
    await s.write(event(7, EICAR_MD5))
    await s.close()
    await waitFor(() => siem.detections(from).some((f) => detectionSrc(f) === seqIp(7)), 'the unterminated event')
  })

  it('a client that connects, sends nothing and closes; one that resets', async () => {
    const quiet = net.connect(svc.port(), '127.0.0.1')
    await once(quiet, 'connect')
    quiet.end()
    await once(quiet, 'close')
    const reset = net.connect(svc.port(), '127.0.0.1')
    await once(reset, 'connect')
    reset.resetAndDestroy()
    expect.empty += 2
    const s = await Sender.connect(svc.port())
    await stillMatches(s, 8)
    await s.close()
  })

  it('random bytes do not crash the service; later events are matched', async () => {
    const s = await Sender.connect(svc.port())
    for (let i = 0; i < 16; i++) await s.write(randomBytes(64 * 1024))
    // Whatever the junk left unfinished (an octet count it announced, a line) ends with the connection.
    await s.close()
    const t = await Sender.connect(svc.port())
    await stillMatches(t, 9)
    await t.close()
    assert.equal(svc.exit, null, 'the service is running')
  })

  it('the final statistics count each case', async () => {
    const { code, stats } = await svc.stop()
    assert.equal(code, 0)
    // The random bytes add their own (unknown) share to these counters, hence >=.
    assert.ok((stats.dropped.binary ?? 0) >= expect.binary, `binary dropped: ${stats.dropped.binary}`)
    assert.ok((stats.dropped.invalid_utf8_processed ?? 0) >= expect.invalidUtf8, `invalid UTF-8: ${stats.dropped.invalid_utf8_processed}`)
    assert.ok(stats.input.truncated >= expect.truncated, `truncated: ${stats.input.truncated}`)
    assert.equal(stats.input.empty, expect.empty, 'empty connections')
    assert.equal(stats.input.open, 0)
  })
})

describe('serve: bad input, counted exactly (no random bytes)', { timeout: 30_000 }, () => {
  it('binary, invalid UTF-8, oversized and empty connections, each counted once', async () => {
    const setup = await startWithConfig(badInputConfig)
    const { siem, svc } = setup
    try {
      const s = await Sender.connect(svc.port())
      await s.write(Buffer.from('\x00junk\n', 'latin1'))
      await s.write(Buffer.from('caf\xe9 latin-1 text\n', 'latin1'))
      await s.write(`${'o'.repeat(MAX + 1)}\n`)
      await s.write(event(1, EICAR_MD5))
      await s.close()
      const quiet = net.connect(svc.port(), '127.0.0.1')
      await once(quiet, 'connect')
      quiet.end()
      await once(quiet, 'close')
      await waitFor(() => siem.detections().length === 1, 'the one detection')
      const { code, stats } = await svc.stop()
      assert.equal(code, 0)
      assert.equal(stats.events, 4)
      assert.equal(stats.dropped.binary, 1)
      assert.equal(stats.dropped.invalid_utf8_processed, 1)
      assert.equal(stats.input.truncated, 1)
      assert.equal(stats.input.empty, 1)
      assert.equal(stats.input.connections, 2)
      assert.equal(stats.detections, 1)
    } finally {
      await setup.stop()
    }
  })
})
