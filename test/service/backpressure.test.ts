/**
 * Backpressure end to end (DESIGN.md section 1, rule 4) and output outages, through real sockets:
 * - a SIEM that stops reading: the service stops reading its input, the sender sees its socket
 *   push back, the service's memory stays bounded, and once the SIEM reads again every detection
 *   arrives, once;
 * - a SIEM that goes down for a while and comes back on the same port: nothing is lost.
 * One service serves both, in order.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  DEMO_FEEDS, EICAR_MD5, SeqCounter, Sender, event, startWithConfig, waitFor, waitStill,
  type ConfiguredService, type Receiver, type ServiceProcess
} from '../helpers/net.js'
import { kernelBuffersMax } from '../../src/output/transports/options.js'

const MB = 1024 * 1024
/** The output's memory queue (output.queue.maxBytes); write() says false from half of it on. */
const QUEUE = 4 * MB
/** Events in the slow-receiver stream, each about 1 KiB: 200 MiB if the service took it all. */
const EVENTS = 200_000
const PAD = 900
/** One event in HIT carries an indicator. */
const HIT = 2
/**
 * How much the service's resident memory may grow over its RSS once started (about 95 MiB with
 * two match workers; 150-190 MiB at the peak here). What the pipeline may hold is small: the
 * output queue (4 MiB here), sealed batches waiting for the pool (8 x 256 KiB), batches in the
 * workers and their results (4), the sockets' chunks, and garbage the collector has not taken yet.
 * The stream is 192 MiB: had the service read it while the SIEM was not reading, the input bytes
 * alone (before their 47 MiB of detections) would have grown it by more than this bound. The
 * sender's side says the same more directly: it could hand the service only ~30 MiB of it.
 */
const GROWTH_BOUND = 150 * MB
/** Events sent across the outage. */
const OUTAGE_EVENTS = 40_000
/**
 * Small events, each with a detection: 72 MB of detections, more than the output queue and the
 * kernel buffers on both sides of the SIEM connection (its receive buffer grew in the first test).
 */
const DENSE_EVENTS = 150_000
/** Event numbers of each subtest, so that their detections never mix. */
const DENSE_FROM = EVENTS
const OUTAGE_FROM = DENSE_FROM + DENSE_EVENTS

/** The stream: event i, with the EICAR MD5 in every `hit`-th one. */
function * stream (from: number, to: number, hit = HIT, pad = PAD): Generator<string> {
  for (let i = from; i < to; i++) yield event(i, i % hit === 0 ? EICAR_MD5 : undefined, pad)
}

/**
 * Resolves once the sender has been pushed back for `ms` running, or has sent everything and `ms`
 * went by (small events can all fit in the kernels' buffers, then the pipeline stalls inside).
 */
async function stalled (sender: Sender, sending: Promise<void>, ms: number): Promise<void> {
  let done = false
  void sending.then(() => { done = true }, () => { done = true })
  await waitFor(() => done || (sender.stats.waiting && Date.now() - sender.stats.waitingSince > ms), 'the sender to be pushed back or done', 60_000)
  if (done) await sleep(ms)
}

/** Expected event numbers in [from, to) that are missing or repeated in `counts`. */
function misses ({ counts }: SeqCounter, from: number, to: number, exact: boolean, hit = HIT): { missing: number[], repeated: number[] } {
  const missing: number[] = []
  const repeated: number[] = []
  for (let i = from; i < to; i++) {
    if (i % hit !== 0) continue
    const n = counts.get(i) ?? 0
    if (n === 0) missing.push(i)
    else if (exact && n > 1) repeated.push(i)
  }
  return { missing, repeated }
}

describe('serve: backpressure and output outages', { timeout: 150_000 }, () => {
  let setup: ConfiguredService
  let siem: Receiver
  let svc: ServiceProcess
  let seqs: SeqCounter

  before(async () => {
    setup = await startWithConfig((siemPort) => ({
      input: { listen: ['tcp://127.0.0.1:0'] },
      output: {
        target: `tcp://127.0.0.1:${siemPort}`,
        preset: 'alienvault',
        queue: { maxBytes: QUEUE },
        // A SIEM back after an outage is found within a second.
        reconnect: { initialDelay: '100ms', maxDelay: '1s' }
      },
      feeds: { sources: [DEMO_FEEDS], watch: false },
      workers: 2
    }))
    ;({ siem, svc } = setup)
    seqs = new SeqCounter(siem)
    await waitFor(() => siem.alerts('started').length === 1, 'alert=started')
  })
  after(async () => await setup?.stop())

  it('a SIEM that stops reading: the sender is pushed back, memory stays bounded, then all arrives once', async () => {
    const base = svc.rss()
    let peak = base
    const sampler = setInterval(() => { try { peak = Math.max(peak, svc.rss()) } catch { /* exited: reported below */ } }, 50)
    try {
      siem.pause()
      const sender = await Sender.connect(svc.port())
      const sending = sender.writeLines(stream(0, EVENTS))
      const total = EVENTS * (event(0, undefined, PAD).length + 1)

      // The service stopped reading: the sender has waited for 'drain' for two seconds running.
      await waitFor(() => sender.stats.waiting && Date.now() - sender.stats.waitingSince > 2000,
        () => `the sender to be pushed back (sent ${sender.stats.bytes} of ${total} bytes)`, 60_000)
      const taken = sender.stats.bytes
      const stalled = sender.stats.bytes
      await sleep(500)
      assert.equal(sender.stats.bytes, stalled, 'nothing more was taken while the SIEM does not read')
      assert.ok(sender.stats.backpressured > 0, 'write() returned false')
      assert.ok(sender.stats.maxWritableLength > 0, 'bytes queued in the sender\'s socket')
      assert.ok(taken < total / 2, `the service took ${taken} of ${total} bytes while the SIEM was not reading`)
      const stalledPeak = peak
      assert.ok(stalledPeak - base < GROWTH_BOUND, `RSS grew by ${Math.round((stalledPeak - base) / MB)} MiB while stalled (bound ${GROWTH_BOUND / MB} MiB)`)

      siem.resume()
      await sending
      await sender.close()
      const hits = EVENTS / HIT
      await waitFor(() => seqs.counts.size >= hits, () => `${hits} detections, got ${seqs.counts.size}`, 90_000)
      await waitStill(() => siem.frames.length, 500)
      const { missing, repeated } = misses(seqs, 0, EVENTS, true)
      assert.deepEqual({ missing: missing.slice(0, 10), repeated: repeated.slice(0, 10) }, { missing: [], repeated: [] })
      assert.equal(seqs.others, 0, 'no other detections')
      assert.ok(peak - base < GROWTH_BOUND, `RSS grew by ${Math.round((peak - base) / MB)} MiB (bound ${GROWTH_BOUND / MB} MiB)`)
      console.log(`slow receiver: base RSS ${Math.round(base / MB)} MiB, peak ${Math.round(peak / MB)} MiB (stalled: ${Math.round(stalledPeak / MB)}), taken while stalled ${Math.round(taken / MB)} of ${Math.round(total / MB)} MiB`)
    } finally {
      clearInterval(sampler)
    }
  })

  it('dense detections (one per small event) and a SIEM that stops reading: nothing dropped, all arrive once', async () => {
    // 4096 events a batch, each a detection of ~480 bytes: one batch's frames are about 2 MiB, as
    // much as the room above the output's high-water mark, and the pool has 4 batches in flight.
    const from = DENSE_FROM
    const to = from + DENSE_EVENTS
    siem.pause()
    const sender = await Sender.connect(svc.port())
    const sending = sender.writeLines(stream(from, to, 1, 0))
    try {
      await stalled(sender, sending, 1000)
    } finally {
      siem.resume()
    }
    await sending
    await sender.close()
    await waitFor(() => seqs.seen(from, to) === DENSE_EVENTS, () => `${DENSE_EVENTS} detections, got ${seqs.seen(from, to)}`, 60_000)
    await waitStill(() => siem.frames.length, 500)
    const { missing, repeated } = misses(seqs, from, to, true, 1)
    assert.deepEqual({ missing: missing.slice(0, 10), repeated: repeated.slice(0, 10) }, { missing: [], repeated: [] })
  })

  it('a SIEM down for a while, then up on the same port: nothing is lost', async () => {
    const from = OUTAGE_FROM
    const to = from + OUTAGE_EVENTS
    const frame0 = siem.frames.length
    const accepted = siem.accepted
    const sender = await Sender.connect(svc.port())
    const sending = sender.writeLines(stream(from, to))
    // Down in mid-stream, while detections flow.
    await waitFor(() => seqs.seen(from, to) >= 1000, 'the first detections of the stream')
    await siem?.close()
    await svc.waitForLog('output lost')
    await sleep(1500)
    await siem.restart()
    await sending
    await sender.close()
    const hits = OUTAGE_EVENTS / HIT
    await waitFor(() => seqs.seen(from, to) === hits, () => `${hits} detections, missing ${misses(seqs, from, to, false).missing.length}`, 60_000)
    await waitFor(() => siem.alerts('output_regained', frame0).length === 1, 'alert=output_regained')
    await waitStill(() => siem.frames.length, 500)
    assert.ok(siem.accepted > accepted, 'the service connected again')
    // Queued while the SIEM was away, so the SIEM learns it lost us.
    assert.equal(siem.alerts('output_lost', frame0).length, 1)
    // What the dead connection may have swallowed (our send buffer and the SIEM's unread receive
    // buffer) is sent again: duplicates are the price of no loss (emitter.ts), bounded by its
    // resend window (tcp_wmem + tcp_rmem maxima, detections of about 400 bytes here).
    let dup = 0
    for (const [i, n] of seqs.counts) if (i >= from && i < to) dup += n - 1
    assert.ok(dup <= kernelBuffersMax() / 400, `${dup} detections repeated (window ${kernelBuffersMax()} bytes)`)
    console.log(`outage: ${hits} detections, ${dup} repeated after the reconnect`)
  })

  it('SIGTERM: the output dropped nothing', async () => {
    const { code, stats } = await svc.stop()
    assert.equal(code, 0)
    assert.deepEqual(Object.keys(stats.dropped).filter((k) => k.startsWith('output_')), [])
    assert.equal((stats.output as { bytesDropped: number }).bytesDropped, 0)
  })
})

describe('serve: a SIEM that stalls, then crashes with our detections unread, and comes back', { timeout: 60_000 }, () => {
  it('nothing is lost: the resend window covers what the kernel had taken', async () => {
    const setup = await startWithConfig((siemPort) => ({
      input: { listen: ['tcp://127.0.0.1:0'] },
      output: { target: `tcp://127.0.0.1:${siemPort}`, queue: { maxBytes: QUEUE }, reconnect: { initialDelay: '100ms', maxDelay: '1s' } },
      feeds: { sources: [DEMO_FEEDS], watch: false },
      workers: 2
    }))
    const { siem, svc } = setup
    const seqs = new SeqCounter(siem)
    try {
      await waitFor(() => siem.alerts('started').length === 1, 'alert=started')
      // The SIEM reads nothing from the start, so its own receive queue stays small (~100 KB)
      // and what goes unread is what our side holds: the kernel's send buffer and the emitter.
      siem.pause()
      const n = 60_000
      const sender = await Sender.connect(svc.port())
      const sending = sender.writeLines(stream(0, n, 1, 0))
      await stalled(sender, sending, 1000)
      await siem.close()
      await sleep(300)
      await siem.restart()
      await sending
      await sender.close()
      await waitFor(() => seqs.seen(0, n) > n / 2, 'detections after the SIEM came back')
      await waitStill(() => siem.frames.length, 1000, 30_000)
      const { missing } = misses(seqs, 0, n, false, 1)
      assert.equal(missing.length, 0, `${missing.length} of ${n} detections lost, e.g. events ${missing.slice(0, 5).join(', ')}`)
    } finally {
      await setup.stop()
    }
  })
})
