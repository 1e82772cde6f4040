import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import fs from 'node:fs'
import { mkdtemp, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setImmediate as tick } from 'node:timers/promises'
import { Emitter, type EmitterOptions } from '../../src/output/emitter.js'
import { Spool } from '../../src/output/spool.js'
import { Receiver, cleanup, freePort, frames, line, numbers, waitFor } from './emitter-helpers.js'

const T = { timeout: 30_000 }

async function spoolDir (): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'feedmatch-spool-'))
}

async function segments (dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.seg'))
}

function spooled (port: number, dir: string, extra: Partial<EmitterOptions> = {}): EmitterOptions {
  return {
    target: { protocol: 'tcp', host: '127.0.0.1', port },
    batch: { maxBytes: 8 * 1024, maxDelay: 5 },
    // Small memory, so that an outage goes to disk within a few hundred frames.
    queue: { maxBytes: 32 * 1024 },
    spool: dir,
    spoolMaxBytes: 16 * 1024 * 1024,
    spoolSegmentBytes: 64 * 1024,
    reconnect: { initialDelay: 20, maxDelay: 200 },
    ...extra,
  }
}

function range (n: number): number[] {
  return Array.from({ length: n }, (_, i) => i)
}

test('receiver killed mid-stream and restarted: what the outage spilled to disk arrives, in order', T, async (t) => {
  const dir = await spoolDir()
  const first = await Receiver.listen()
  const port = first.port
  // The resend window (part of memory) covers all that is sent before the kill, so what the dead
  // receiver had not read yet is sent again: the test can then expect no gap at all.
  const queueMax = 2 * 1024 * 1024
  const em = new Emitter(spooled(port, dir, { queue: { maxBytes: queueMax }, resendBytes: 768 * 1024 }))
  cleanup(t, em, first)
  await em.start()
  first.onLine = (r) => { if (r.lines.length === 500) void r.kill() }
  const lost = once(em, 'lost')
  const total = 24_000
  let i = 0
  for (; i < 3000; i += 5) {
    assert.equal(em.write(frames(i, i + 5)), true, 'with a spool, write() spills instead of refusing')
    if (i % 50 === 0) await tick()
  }
  await lost
  // The SIEM is away: these go to disk once memory reaches the mark (1 MiB).
  for (; i < total; i += 5) assert.equal(em.write(frames(i, i + 5)), true)
  assert.ok(em.counters.bytesSpooled > 0, 'the outage spilled to the spool')
  assert.ok(em.buffered <= queueMax, `memory stays bounded (${em.buffered})`)
  const second = await Receiver.listen(port)
  cleanup(t, second)
  await waitFor(() => second.lines.length > 0 && numbers(second.lines).at(-1) === total - 1, 'the last frame')
  await em.close()
  const a = numbers(first.lines)
  const b = numbers(second.lines)
  assert.deepEqual(a, range(a.length))
  assert.ok(b[0]! <= a.length, 'no gap between the two receivers')
  assert.deepEqual(b, range(total).slice(b[0]), 'the rest in order, spooled frames included')
  assert.deepEqual(await segments(dir), [], 'a segment is deleted once sent')
})

test('spool survives a restart: closed with the SIEM down, replayed by the next emitter before new frames', T, async (t) => {
  const dir = await spoolDir()
  const port = await freePort()
  const em1 = new Emitter(spooled(port, dir, { closeTimeout: 100 }))
  cleanup(t, em1)
  await em1.start()
  for (let i = 0; i < 3000; i += 10) assert.equal(em1.write(frames(i, i + 10)), true)
  await em1.close()
  assert.equal(em1.counters.bytesDropped, 0)
  assert.ok((await segments(dir)).length > 1, 'memory and spool are on disk')

  const r = await Receiver.listen(port)
  const em2 = new Emitter(spooled(port, dir))
  cleanup(t, em2, r)
  await em2.start()
  for (let i = 3000; i < 3500; i += 10) em2.write(frames(i, i + 10))
  await waitFor(() => r.lines.length >= 3500, '3500 lines')
  await em2.close()
  assert.deepEqual(r.lines, range(3500).map(line), 'old frames first, each once, then the new ones')
  assert.deepEqual(await segments(dir), [])
})

test('a full spool blocks: write() returns false, and everything arrives once the SIEM is back', T, async (t) => {
  const dir = await spoolDir()
  const port = await freePort()
  const queueMax = 32 * 1024
  const em = new Emitter(spooled(port, dir, { spoolMaxBytes: 64 * 1024, spoolSegmentBytes: 16 * 1024 }))
  cleanup(t, em)
  await em.start()
  let next = 0
  let refused = false
  let maxBuffered = 0
  for (let i = 0; i < 10_000 && !refused; i++, next += 5) {
    refused = !em.write(frames(next, next + 5))
    maxBuffered = Math.max(maxBuffered, em.buffered)
  }
  assert.ok(refused, 'write() returned false once disk and memory were full')
  assert.ok(maxBuffered <= queueMax + 1024, `buffered peaked at ${maxBuffered}`)
  assert.ok(em.counters.bytesSpooled > 0)
  const drained = once(em, 'drain')
  const r = await Receiver.listen(port)
  cleanup(t, r)
  await drained
  await waitFor(() => r.lines.length >= next, `${next} lines`)
  assert.deepEqual(numbers(r.lines), range(next))
  assert.equal(em.counters.bytesDropped, 0)
})

test('spool: a record torn by a crash is cut off on open, the rest replays from the saved read offset', async () => {
  const dir = await spoolDir()
  const opts = { maxBytes: 1 << 20, segmentBytes: 64 * 1024 }
  const a = Spool.open(dir, opts)
  for (let i = 0; i < 10; i++) a.append(Buffer.from(`record ${i}\n`))
  assert.deepEqual(a.read(1).map(String), ['record 0\n'])
  a.close()
  const [seg] = await segments(dir)
  // A crash in the middle of an append: a length that promises more than the file holds.
  fs.appendFileSync(path.join(dir, seg!), Buffer.from([0, 0, 0, 50, 1, 2, 3]))
  const b = Spool.open(dir, opts)
  assert.equal(b.recovery.discardedBytes, 7)
  const out: string[] = []
  while (b.hasData) out.push(...b.read(1 << 20).map(String))
  assert.deepEqual(out, Array.from({ length: 9 }, (_, i) => `record ${i + 1}\n`))
  b.close()
  assert.deepEqual(await segments(dir), [], 'read to the end, the segment is gone')
})
