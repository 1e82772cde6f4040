// Framing benchmark: src/input/framing.ts `Framer` cutting a TCP byte stream into events, LF
// framing and RFC 6587 octet counting, fed in 64 KiB chunks as a socket delivers them. Events are
// the first 8 MB of the bench corpus when one is given, else generated lines of the same shape.
// Prints a table, returns MB/s and events/s; never asserts a time. Build first (`npm run build`).
import { openSync, readSync, closeSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { Bench } from 'tinybench'

const CHUNK = 64 << 10
const SAMPLE = 8e6

function sampleLines (corpus) {
  if (corpus !== undefined) {
    const fd = openSync(corpus, 'r')
    const buf = Buffer.allocUnsafe(SAMPLE)
    const n = readSync(fd, buf, 0, SAMPLE, 0)
    closeSync(fd)
    const text = buf.toString('latin1', 0, buf.lastIndexOf(0x0a, n - 1))
    return text.split('\n')
  }
  const lines = []
  for (let i = 0, n = 0; n < SAMPLE; i++) {
    const l = `<134>Oct 11 22:14:15 fsm01 CEF:0|Fortinet|FortiGate-600E|7.2.5|13|traffic:forward accept|5|eventId=${i} src=10.0.${i & 255}.1 dst=93.184.${i >> 8 & 255}.34 request=https://cdn.example.com/${i}.js suser=alice`
    lines.push(l)
    n += l.length + 1
  }
  return lines
}

const chunks = (buf) => { const out = []; for (let i = 0; i < buf.length; i += CHUNK) out.push(buf.subarray(i, i + CHUNK)); return out }

/**
 * Runs the benchmark; returns { lf, octet } with MB/s and events/s.
 * @param {{ quick?: boolean, corpus?: string }} [options]
 */
export async function runFramingBench ({ quick = false, corpus } = {}) {
  const { Framer } = await import(new URL('../dist/input/framing.js', import.meta.url).href)
  const lines = sampleLines(corpus)
  const streams = {
    lf: Buffer.from(lines.join('\n') + '\n', 'latin1'),
    // Octet-counted frames as rsyslog sends them: `LEN SP MSG`, no LF.
    octet: Buffer.from(lines.map((l) => `${l.length} ${l}`).join(''), 'latin1')
  }
  const bench = new Bench({ time: quick ? 300 : 1500, warmupTime: quick ? 100 : 300 })
  let events = 0
  for (const [mode, buf] of Object.entries(streams)) {
    const parts = chunks(buf)
    bench.add(mode, () => {
      const f = new Framer({ mode, maxEventSize: 64 * 1024 })
      const onEvent = () => { events++ }
      for (const c of parts) f.push(c, onEvent)
      f.end(onEvent)
    })
  }
  await bench.run()
  const results = {}
  for (const task of bench.tasks) {
    const r = task.result
    const sec = r.state === 'completed' ? r.latency.mean / 1000 : NaN
    results[task.name] = { mbPerSec: Number((streams[task.name].length / sec / 1e6).toFixed(0)), eventsPerSec: Math.round(lines.length / sec), bytes: streams[task.name].length }
  }
  console.log(`\nFraming: ${lines.length.toLocaleString()} events, ${(streams.lf.length / 1e6).toFixed(1)} MB in ${CHUNK / 1024} KiB chunks`)
  console.table(Object.fromEntries(Object.entries(results).map(([k, v]) => [k, { 'MB/s': v.mbPerSec, 'events/s': v.eventsPerSec.toLocaleString() }])))
  return { ...results, checksum: events }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--corpus')
  await runFramingBench({ quick: process.argv.includes('--quick'), corpus: i > 0 ? process.argv[i + 1] : undefined })
}
