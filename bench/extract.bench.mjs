// Extraction benchmark: the generic and cef presets through RE2 against the byte scanners that replace them,
// on one batch of 10k generated log lines of common formats (firewall, proxy, CEF, web, system),
// 1% of them carrying an extra hash. Both engines must find the same spans (checked here, not
// timed). Then, when a generated corpus is in bench/corpus/ (scripts/make-corpus.mjs), the generic
// preset on the first MBs of it, line by line: the byte scanner's skips depend on how dense dots,
// colons, digits and hex are, so it is measured on the realistic mix too. Prints tables, writes
// bench/results/extract.json, never asserts a time.
// Build first (`npm run build`): it measures the compiled dist/ code, as the workers run it.
import { closeSync, openSync, readdirSync, readSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { pathToFileURL } from 'node:url'
import { Bench } from 'tinybench'
import { seeded } from '../scripts/lib/seeded.mjs'

const dist = (p) => new URL(`../dist/extract/${p}`, import.meta.url).href
const LINES = 10_000

/** A seeded PRNG (the data generators' mulberry32), so every run measures the same lines. */
const prng = (seed) => seeded(seed).rand

/** The lines of the batch, and the event offsets, as a worker receives them (one buffer). */
function makeBatch () {
  const rnd = prng(20240105)
  const int = (n) => Math.floor(rnd() * n)
  const ip = () => `${10 + int(200)}.${int(256)}.${int(256)}.${1 + int(254)}`
  const hex = (n) => { let s = ''; while (s.length < n) s += int(0x10000).toString(16).padStart(4, '0'); return s.slice(0, n) }
  const ts = () => `Oct ${10 + int(20)} ${String(int(24)).padStart(2, '0')}:${String(int(60)).padStart(2, '0')}:${String(int(60)).padStart(2, '0')}`
  const hosts = ['cdn.example.com', 'www.example.org', 'api.service.internal', 'update.vendor.net', 'mail.example.com']
  /** @type {Array<[number, () => string]>} */
  const makers = [
    [25, () => `${ts()} app01 systemd[1]: Started Session ${int(99999)} of user ${['root', 'alice', 'svc_backup'][int(3)]}; took ${int(900)}ms, memory ${int(4096)}M.`],
    [25, () => `${ts()} gw kernel: [UFW BLOCK] IN=eth0 OUT= MAC=00:16:3e:5e:6c:00:52:54:00:12:35:02:08:00 SRC=${ip()} DST=${ip()} LEN=60 TOS=0x00 PREC=0x00 TTL=${int(255)} ID=${int(65535)} DF PROTO=TCP SPT=${1024 + int(60000)} DPT=${[22, 80, 443, 3389][int(4)]} WINDOW=29200 RES=0x00 SYN URGP=0`],
    [20, () => `${1697040000 + int(86400)}.${int(1000)}    ${int(5000)} ${ip()} TCP_MISS/200 ${int(99999)} GET http://${hosts[int(hosts.length)]}/static/${hex(8)}/app.js?v=${int(100)} - HIER_DIRECT/${ip()} application/javascript`],
    [15, () => `${ts()} fsm CEF:0|Fortinet|FortiGate-600E|7.2.5|13|traffic:forward ${['accept', 'deny'][int(2)]}|5|eventId=${int(1e6)} src=${ip()} dst=${ip()} spt=${int(65535)} dpt=443 proto=6 act=${['accept', 'deny'][int(2)]} deviceInboundInterface=port1`],
    [15, () => `${ip()} - - [11/Oct/2023:22:14:15 +0000] "GET /index.html HTTP/1.1" 200 ${int(9999)} "-" "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.5993.88 Safari/537.36"`]
  ]
  const total = makers.reduce((n, [w]) => n + w, 0)
  const lines = []
  for (let i = 0; i < LINES; i++) {
    let r = int(total)
    const [, make] = makers.find(([w]) => (r -= w) < 0)
    let line = make()
    if (i % 100 === 0) line += ` fileHash=${hex([32, 40, 64][int(3)])}` // the 1% with an indicator
    lines.push(line)
  }
  const parts = lines.map((l) => Buffer.from(l + '\n'))
  const buf = Buffer.concat(parts)
  const starts = new Uint32Array(LINES)
  const ends = new Uint32Array(LINES)
  let at = 0
  for (let i = 0; i < LINES; i++) { starts[i] = at; ends[i] = at + parts[i].length - 1; at += parts[i].length }
  return { buf, starts, ends }
}

/** Runs the benchmark; returns MB/s, events/s and the ratio to RE2 per preset and engine (and writes bench/results/extract.json). */
export async function runExtractBench ({ quick = false } = {}) {
  const { compileExtractor, compileRe2Extractor } = await import(dist('extractor.js'))
  const { Candidates } = await import(dist('types.js'))
  const { buf, starts, ends } = makeBatch()
  const spec = { name: 'default', preset: 'generic', normalize: [], rules: [] }
  const cef = { ...spec, preset: 'cef' }
  const engines = {
    'generic, RE2': compileRe2Extractor(spec),
    'generic, scanner': compileExtractor(spec),
    'cef, RE2': compileRe2Extractor(cef),
    'cef, scanner': compileExtractor(cef)
  }
  const out = new Candidates()
  const found = {}
  const spans = {}
  for (const [name, x] of Object.entries(engines)) {
    const list = []
    for (let i = 0; i < LINES; i++) {
      x.run(buf, starts[i], ends[i], out)
      for (let k = 0; k < out.n; k++) list.push(`${i}:${out.rule[k]}:${out.start[k]}-${out.end[k]}`)
    }
    found[name] = list.length
    spans[name] = list.join(' ')
  }
  for (const preset of ['generic', 'cef']) {
    if (spans[`${preset}, RE2`] !== spans[`${preset}, scanner`]) throw new Error(`the ${preset} scanner and RE2 disagree on the bench batch: a bug`)
  }

  const bench = new Bench({ time: quick ? 300 : 1500, warmupTime: quick ? 100 : 300 })
  let sink = 0
  for (const [name, x] of Object.entries(engines)) {
    bench.add(name, () => {
      for (let i = 0; i < LINES; i++) { x.run(buf, starts[i], ends[i], out); sink += out.n }
    })
  }
  await bench.run()

  const results = {}
  for (const task of bench.tasks) {
    const res = task.result
    const sec = res.state === 'completed' ? res.latency.mean / 1000 : NaN
    results[task.name] = {
      mbPerSec: Number((buf.length / sec / 1e6).toFixed(1)),
      eventsPerSec: Math.round(LINES / sec),
      candidatesPerEvent: Number((found[task.name] / LINES).toFixed(2))
    }
  }
  for (const [k, v] of Object.entries(results)) v.vsRe2 = Number((v.eventsPerSec / results[`${k.split(',')[0]}, RE2`].eventsPerSec).toFixed(1))
  console.log(`\nExtraction: ${LINES.toLocaleString()} events, ${(buf.length / 1e6).toFixed(2)} MB in one batch`)
  console.table(Object.fromEntries(Object.entries(results).map(([k, v]) => [k, {
    'MB/s': v.mbPerSec, 'events/s': v.eventsPerSec.toLocaleString(), 'candidates/event': v.candidatesPerEvent,
    'vs RE2, same preset': `${v.vsRe2}x`
  }])))
  const corpus = await corpusBench({ quick, compileExtractor, compileRe2Extractor, Candidates, spec })
  const dir = new URL('./results/', import.meta.url)
  await mkdir(dir, { recursive: true })
  await writeFile(new URL('extract.json', dir), JSON.stringify({ date: new Date().toISOString(), node: process.version, quick, lines: LINES, bytes: buf.length, results, corpus, checksum: sink }, null, 2))
  return { ...results, corpus }
}

/** The first `mb` MB (whole lines) of the smallest generated corpus in bench/corpus/, or null. */
function readCorpus (mb) {
  const dir = new URL('./corpus/', import.meta.url)
  let names = []
  try { names = readdirSync(dir).filter((n) => /^corpus-\d+mb-.*\.log$/.test(n)) } catch {}
  if (names.length === 0) return null
  names.sort((a, b) => parseInt(a.slice(7)) - parseInt(b.slice(7)))
  const buf = Buffer.alloc(mb * 1e6)
  const fd = openSync(new URL(names[0], dir), 'r')
  const got = readSync(fd, buf, 0, buf.length, 0)
  closeSync(fd)
  const data = buf.subarray(0, buf.lastIndexOf(10, got - 1) + 1)
  const starts = []
  const ends = []
  for (let at = 0; at < data.length;) {
    const nl = data.indexOf(10, at)
    starts.push(at); ends.push(nl); at = nl + 1
  }
  return { name: names[0], data, starts: Uint32Array.from(starts), ends: Uint32Array.from(ends) }
}

/** The generic preset on a corpus prefix: the scanner on all of it, RE2 (about 40x slower) on its first 1/20. */
async function corpusBench ({ quick, compileExtractor, compileRe2Extractor, Candidates, spec }) {
  const corpus = readCorpus(quick ? 5 : 20)
  if (corpus === null) {
    console.log('\nExtraction on the corpus: skipped, no bench/corpus/corpus-*.log (npm run bench makes one)')
    return { skipped: 'no corpus' }
  }
  const { data, starts, ends } = corpus
  const lines = starts.length
  const re2Lines = Math.ceil(lines / 20)
  const engines = { 'generic, RE2': [compileRe2Extractor(spec), re2Lines], 'generic, scanner': [compileExtractor(spec), lines] }
  const out = new Candidates()
  const spans = (x, n) => {
    const list = []
    for (let i = 0; i < n; i++) {
      x.run(data, starts[i], ends[i], out)
      for (let k = 0; k < out.n; k++) list.push(`${i}:${out.rule[k]}:${out.start[k]}-${out.end[k]}`)
    }
    return list.join(' ')
  }
  const [re2, scanner] = Object.values(engines).map(([x]) => x)
  if (spans(re2, re2Lines) !== spans(scanner, re2Lines)) throw new Error('the generic scanner and RE2 disagree on the corpus: a bug')
  const bench = new Bench({ time: quick ? 300 : 1500, warmupTime: quick ? 100 : 300 })
  let sink = 0
  for (const [name, [x, n]] of Object.entries(engines)) {
    bench.add(name, () => {
      for (let i = 0; i < n; i++) { x.run(data, starts[i], ends[i], out); sink += out.n }
    })
  }
  await bench.run()
  const results = { corpus: corpus.name, bytes: data.length, lines, checksum: sink }
  for (const task of bench.tasks) {
    const n = engines[task.name][1]
    const sec = task.result.state === 'completed' ? task.result.latency.mean / 1000 : NaN
    results[task.name] = { mbPerSec: Number(((ends[n - 1] + 1) / sec / 1e6).toFixed(1)), eventsPerSec: Math.round(n / sec) }
  }
  const vs = results['generic, scanner'].eventsPerSec / results['generic, RE2'].eventsPerSec
  results['generic, scanner'].vsRe2 = Number(vs.toFixed(1))
  console.log(`\nExtraction on the corpus: the first ${(data.length / 1e6).toFixed(1)} MB of ${corpus.name}, ${lines.toLocaleString()} lines (RE2 on the first ${re2Lines.toLocaleString()})`)
  console.table({
    'generic, RE2': { 'MB/s': results['generic, RE2'].mbPerSec, 'events/s': results['generic, RE2'].eventsPerSec.toLocaleString(), 'vs RE2': '1x' },
    'generic, scanner': { 'MB/s': results['generic, scanner'].mbPerSec, 'events/s': results['generic, scanner'].eventsPerSec.toLocaleString(), 'vs RE2': `${results['generic, scanner'].vsRe2}x` }
  })
  return results
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runExtractBench({ quick: process.argv.includes('--quick') })
}
