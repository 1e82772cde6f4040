/**
 * The FortiSIEM guide's input: events concatenated without newlines, cut before each syslog
 * `<PRI>` that does not follow `=` (`input.framing: delimiter`, `input.delimiter: '[^\=](\<\d+\>)'`,
 * from a config file). Delimiter framing only knows an event ended when the next one starts, so the
 * last event of a stream must be flushed when the connection goes quiet or closes.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import {
  DEMO_FEEDS, Sender, expectOnce, expectedVerificationKeys, startWithConfig, verificationEvents, waitFor,
  type ConfiguredService, type Receiver, type ServiceProcess
} from '../helpers/net.js'

const EVENTS = verificationEvents()
const KEYS = expectedVerificationKeys()

describe('serve: FortiSIEM delimiter framing from a config file', { timeout: 60_000 }, () => {
  let setup: ConfiguredService
  let siem: Receiver
  let svc: ServiceProcess

  before(async () => {
    setup = await startWithConfig((siemPort) => ({
      input: { listen: ['tcp://127.0.0.1:0'], framing: 'delimiter', delimiter: '[^\\=](\\<\\d+\\>)' },
      output: { target: `tcp://127.0.0.1:${siemPort}`, preset: 'alienvault' },
      feeds: { sources: [DEMO_FEEDS], watch: false },
      workers: 1
    }))
    ;({ siem, svc } = setup)
  })
  after(async () => await setup?.stop())

  it('concatenated events, the last one flushed when the sender closes', async () => {
    const from = siem.frames.length
    const s = await Sender.connect(svc.port())
    // Small pieces: delimiters and <PRI> tags straddle reads.
    const all = Buffer.from(EVENTS.join(''))
    for (let i = 0; i < all.length; i += 61) await s.write(all.subarray(i, i + 61))
    await s.close()
    await expectOnce(() => siem.frames, from, KEYS, 'delimiter, flushed at close')
  })

  it('concatenated events, the last one flushed once the connection is idle', async () => {
    const from = siem.frames.length
    const s = await Sender.connect(svc.port())
    await s.write(EVENTS.join(''))
    // All but the last are cut by the next <PRI>; the last waits for quiet (about a second).
    const last = KEYS.at(-1) as string
    await waitFor(() => siem.detections(from).some((f) => f.includes(last.split(' ')[1])), 'the last event, flushed on idle', 10_000)
    await expectOnce(() => siem.frames, from, KEYS, 'delimiter, flushed on idle')
    assert.equal(s.closed, false, 'the connection is still open')
    await s.close()
  })

  it('a <PRI> after "=" is not a delimiter', async () => {
    const from = siem.frames.length
    // One event whose value holds "=<134>": cutting there would split the hash off its event.
    await new Promise((resolve) => setTimeout(resolve, 50))
    const s = await Sender.connect(svc.port())
    await s.write(`<134>Mar  1 09:30:07 host app: msg=<134>oops ${EVENTS[0].slice(EVENTS[0].indexOf('CEF:'))}${EVENTS[1]}`)
    await s.close()
    await expectOnce(() => siem.frames, from, [KEYS[0], KEYS[1]], '=<PRI> inside an event')
    const stats = (await svc.stop()).stats
    // 46 + 46 + 2 events: none split, none merged.
    assert.equal(stats.events, 2 * EVENTS.length + 2)
  })
})
