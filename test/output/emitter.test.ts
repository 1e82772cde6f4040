import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { setImmediate as tick } from 'node:timers/promises'
import { Emitter, type EmitterOptions } from '../../src/output/emitter.js'
import { backoffDelay } from '../../src/output/transports/connection.js'
import { Receiver, cleanup, freePort, frames, line, numbers, waitFor, writeAll } from './emitter-helpers.js'

const T = { timeout: 30_000 }

function tcp (port: number, extra: Partial<EmitterOptions> = {}): EmitterOptions {
  return {
    target: { protocol: 'tcp', host: '127.0.0.1', port },
    batch: { maxBytes: 16 * 1024, maxDelay: 5 },
    queue: { maxBytes: 1024 * 1024 },
    reconnect: { initialDelay: 20, maxDelay: 200 },
    closeTimeout: 5_000,
    ...extra,
  }
}

function range (n: number): number[] {
  return Array.from({ length: n }, (_, i) => i)
}

test('a receiver on loopback gets every frame once, in order, small writes coalesced into batches', T, async (t) => {
  const r = await Receiver.listen()
  const em = new Emitter(tcp(r.port))
  cleanup(t, em, r)
  await em.start()
  const bufs: Buffer[] = []
  // Writes of 1 to 7 frames: batching joins them, and must never cut one.
  for (let i = 0, n = 1; i < 3000; i += n, n = n % 7 + 1) bufs.push(frames(i, Math.min(i + n, 3000)))
  await writeAll(em, bufs)
  await waitFor(() => r.lines.length >= 3000, '3000 lines')
  await em.close()
  assert.deepEqual(r.lines, range(3000).map(line))
  assert.equal(em.counters.bytesSent, bufs.reduce((n, b) => n + b.length, 0))
  assert.equal(em.counters.bytesDropped, 0)
  assert.equal(em.buffered, 0)
})

test('a slow receiver makes write() return false, memory stays bounded, and drain comes once it reads', T, async (t) => {
  const r = await Receiver.listen()
  r.pause()
  const queueMax = 256 * 1024
  const em = new Emitter(tcp(r.port, { queue: { maxBytes: queueMax } }))
  cleanup(t, em, r)
  await em.start()
  await waitFor(() => r.connections === 1, 'the connection')
  const per = 10
  let next = 0
  let maxBuffered = 0
  let refused = false
  // 1 KiB writes until the kernel buffers on both sides are full and our queue reaches the mark;
  // bounded at 64 MiB, far above what loopback sockets hold.
  for (let i = 0; i < 65_536 && !refused; i++) {
    refused = !em.write(frames(next, next + per))
    next += per
    maxBuffered = Math.max(maxBuffered, em.buffered)
    if (i % 16 === 0) await tick()
  }
  assert.ok(refused, 'write() returned false')
  assert.ok(em.needsDrain)
  const drained = once(em, 'drain')
  r.resume()
  await drained
  assert.equal(em.needsDrain, false)
  const more: Buffer[] = []
  for (let i = 0; i < 200; i++, next += per) more.push(frames(next, next + per))
  await writeAll(em, more)
  await waitFor(() => r.lines.length >= next, `${next} lines`)
  await em.close()
  // The largest write is about 1 KiB: held memory never passed the bound plus one write.
  assert.ok(maxBuffered <= queueMax + 2048, `buffered peaked at ${maxBuffered}`)
  assert.deepEqual(numbers(r.lines), range(next))
})

test('receiver down at start, up later: start() resolves, lost then regained, everything arrives', T, async (t) => {
  const port = await freePort()
  const em = new Emitter(tcp(port))
  cleanup(t, em)
  const lost = once(em, 'lost')
  await em.start()
  const [err] = await lost
  assert.ok(err instanceof Error)
  const bufs = range(100).map((i) => frames(i * 10, i * 10 + 10))
  for (const b of bufs) assert.equal(em.write(b), true, 'within the queue bound, writes are taken')
  const r = await Receiver.listen(port)
  cleanup(t, r)
  await once(em, 'regained')
  await waitFor(() => r.lines.length >= 1000, '1000 lines')
  await em.close()
  assert.deepEqual(r.lines, range(1000).map(line))
  assert.equal(em.counters.reconnects, 1)
  assert.ok(em.counters.errors >= 1)
})

test('receiver killed mid-stream and restarted: nothing lost, resent from the in-memory window', T, async (t) => {
  const first = await Receiver.listen()
  const port = first.port
  // A resend window (480 KiB, under the 512 KiB mark) larger than all 4000 frames: what the dead
  // receiver had not read is always sent again, so the test can expect no gap at all.
  const em = new Emitter(tcp(port, { resendBytes: 480 * 1024 }))
  cleanup(t, em, first)
  await em.start()
  first.onLine = (r) => { if (r.lines.length === 1000) void r.kill() }
  const lost = once(em, 'lost')
  const total = 4000
  for (let i = 0; i < total; i += 4) {
    if (!em.write(frames(i, i + 4))) await once(em, 'drain')
    if (i % 64 === 0) await tick()
  }
  await lost
  const second = await Receiver.listen(port)
  cleanup(t, second)
  await waitFor(() => new Set([...numbers(first.lines), ...numbers(second.lines)]).size >= total, 'every frame')
  await em.close()
  const a = numbers(first.lines)
  const b = numbers(second.lines)
  assert.deepEqual(a, range(a.length), 'the first receiver got a prefix, in order')
  assert.deepEqual(b, range(total).slice(b[0]), 'the second got the rest, in order, from a point the first had reached')
  assert.ok(b[0]! <= a.length, 'no gap between the two')
  assert.ok(em.counters.bytesResent > 0)
  assert.equal(em.counters.reconnects, 1)
})

test('close() sends what is queued before it resolves; a write after close() is refused and counted', T, async (t) => {
  const r = await Receiver.listen()
  const em = new Emitter(tcp(r.port, { batch: { maxBytes: 1 << 20, maxDelay: 60_000 } }))
  cleanup(t, em, r)
  await em.start()
  em.write(frames(0, 50))
  // The batch delay is a minute: only close() can have sent these.
  await em.close()
  await waitFor(() => r.lines.length >= 50, '50 lines')
  assert.deepEqual(r.lines, range(50).map(line))
  const late = frames(0, 1)
  assert.equal(em.write(late), false)
  assert.equal(em.counters.dropped.close, late.length)
})

test('a caller that ignores false cannot grow memory: past queue.maxBytes writes are dropped, counted and announced', T, async (t) => {
  const port = await freePort()
  const queueMax = 64 * 1024
  const em = new Emitter(tcp(port, { queue: { maxBytes: queueMax }, closeTimeout: 100 }))
  cleanup(t, em)
  const drops: number[] = []
  em.on('drop', (reason: string, bytes: number) => { if (reason === 'overflow') drops.push(bytes) })
  await em.start()
  let refusedAt = -1
  for (let i = 0; i < 200; i++) {
    if (!em.write(frames(i * 10, i * 10 + 10)) && refusedAt === -1) refusedAt = i
    assert.ok(em.buffered <= queueMax + 1024, `buffered ${em.buffered}`)
  }
  assert.ok(refusedAt > 0, 'write() said false first')
  assert.ok(drops.length > 0)
  assert.equal(em.counters.dropped.overflow, drops.reduce((a, b) => a + b, 0))
  assert.equal(em.counters.bytesQueued + em.counters.bytesDropped, range(200).reduce((n, i) => n + frames(i * 10, i * 10 + 10).length, 0))
})

test('usage errors: bad bounds, spool with UDP, write() before start()', () => {
  assert.throws(() => new Emitter(tcp(1)).write(frames(0, 1)), { code: 'FM_ERR_USAGE' })
  assert.throws(() => new Emitter(tcp(1, { queue: { maxBytes: 0 } })), { code: 'FM_ERR_USAGE' })
  assert.throws(() => new Emitter(tcp(1, { highWaterMark: 2 << 20 })), { code: 'FM_ERR_USAGE' })
  assert.throws(() => new Emitter({ ...tcp(1), target: { protocol: 'udp', host: '127.0.0.1', port: 1 }, spool: '/tmp/x' }), { code: 'FM_ERR_USAGE' })
})

test('backoff doubles up to the maximum, with jitter in the upper half', () => {
  const b = { initialDelay: 100, maxDelay: 1000 }
  assert.equal(backoffDelay(0, b, () => 0), 50)
  assert.equal(backoffDelay(0, b, () => 1), 100)
  assert.equal(backoffDelay(3, b, () => 1), 800)
  assert.equal(backoffDelay(10, b, () => 1), 1000)
  assert.equal(backoffDelay(10, b, () => 0), 500)
})

test('after a drop the resend window goes back in front without using up the queue: a small write still goes in', T, async (t) => {
  const first = await Receiver.listen()
  const port = first.port
  // A window larger than the whole queue: once it is put back in front at the drop, `buffered`
  // passes queue.maxBytes, and a write (a service event such as output_lost) must still be taken.
  const queueMax = 256 * 1024
  const em = new Emitter(tcp(port, { queue: { maxBytes: queueMax }, resendBytes: 2 * queueMax }))
  cleanup(t, em, first)
  const drops: string[] = []
  em.on('drop', (reason: string) => { drops.push(reason) })
  await em.start()
  let next = 0
  while (next < 40_000) {
    if (!em.write(frames(next, next + 20))) await once(em, 'drain')
    next += 20
  }
  await waitFor(() => first.lines.length >= next, 'the first receiver read everything')
  await waitFor(() => em.resendHeld > queueMax, 'a resend window larger than the queue')
  const lost = once(em, 'lost')
  await first.kill()
  await lost
  assert.ok(em.buffered >= queueMax, `the window is back in the queue (buffered ${em.buffered})`)
  em.write(frames(next, next + 1))
  assert.deepEqual(drops, [], 'nothing dropped')
  const second = await Receiver.listen(port)
  cleanup(t, second)
  await waitFor(() => numbers(second.lines).includes(next), 'the late write arrives')
})
