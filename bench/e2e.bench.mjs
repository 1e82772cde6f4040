// The end-to-end comparison a user decides from: every tool on the same corpus and indicator list,
// in one run, in one table, each as a ratio to the plain Node baseline measured in that same run
// (absolute figures on a shared machine are noise; ratios measured side by side are not).
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runBaseline } from './baseline.mjs'
import { runServeBench } from './serve.bench.mjs'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { rsyslogd, runRsyslogPeer } from './peers/rsyslog.mjs'
import { runFixedStringTool, rgSkipReason, which } from './grep.bench.mjs'
import { runGzBench } from './gz.bench.mjs'
import { fmt, ratio } from './lib/report.mjs'
import { FEED_FILES, ensureGzSet } from './lib/data.mjs'

/** Most a substring tool may scan (after its setup) before the rest of the corpus is left out. */
const TOOL_SCAN_MS = { quick: 20_000, full: 120_000 }

/** bench/peers/python_set.py in its own process: its figures, `partial` when it was stopped at maxScanMs. */
async function runPythonSet ({ list, corpus, maxScanMs }) {
  const child = spawn('python3', [fileURLToPath(new URL('./peers/python_set.py', import.meta.url)), '--list', list, '--max-ms', String(maxScanMs), corpus], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (s) => { out += s })
  const code = await new Promise((resolve) => child.on('close', resolve))
  if (code !== 0) throw new Error(`bench/peers/python_set.py exited with ${code}`)
  return JSON.parse(out)
}

/** Runs one comparison; a failure becomes a skipped line, so one broken tool never hides the rest. */
async function attempt (name, short, fn, skipped) {
  const t0 = performance.now()
  try {
    const r = await fn()
    if (r === null) return null
    console.log(`  ${name}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
    return { name, short, ...r }
  } catch (err) {
    skipped.push(`${name}: failed: ${err.message.split('\n')[0]}`)
    console.log(`  ${name}: FAILED: ${err.message}`)
    return null
  }
}

/** The feedmatch scan row, from bench/scan.bench.mjs once its author has written it. */
async function scanRow ({ quick, corpus, feedFiles }, skipped) {
  const path = new URL('./scan.bench.mjs', import.meta.url)
  if (!existsSync(path)) {
    skipped.push('feedmatch scan: bench/scan.bench.mjs does not exist yet (`feedmatch scan` is being written)')
    return null
  }
  const mod = await import(path.href)
  // The feed files, not their folder: it also holds list.txt, which would load as a fourth feed.
  return await mod.runScanBench({ quick, corpus, feeds: feedFiles })
}

/**
 * The scan row again with one custom DOMAIN rule added to the generic preset (a user's
 * `query=` rule for DNS logs): the preset stays on the byte scanner, the rule runs on RE2 behind
 * its literal. Before, one such rule took the whole source onto RE2, about 18x slower.
 */
async function customRuleRow ({ quick, corpus, feedFiles }) {
  const dir = await mkdtemp(join(tmpdir(), 'feedmatch-bench-rule-'))
  const config = join(dir, 'custom-rule.yaml')
  await writeFile(config, "input:\n  sources:\n    - name: default\n      rules:\n        - { name: RE_QUERY, type: DOMAIN, extract: all, pattern: 'query=([\\w.-]+)' }\n")
  try {
    const mod = await import(new URL('./scan.bench.mjs', import.meta.url).href)
    return await mod.runScanBench({ quick, corpus, feeds: feedFiles, config })
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** Issue 4's .gz archive set: the corpus in 4 gzip parts (made on first use, reused), zcat and scan on it. */
async function gzRun ({ quick, corpus, feedFiles, meta }) {
  const set = await ensureGzSet(corpus)
  if (set.generatedMs > 0) console.log(`  gz archive set made in ${(set.generatedMs / 1000).toFixed(1)} s (${set.dir}, reused next time)`)
  const r = await runGzBench({ quick, gzDir: set.dir, feedFiles, lines: meta.lines, expectedDetections: meta.expectedDetections })
  return { ...r, generatedMs: set.generatedMs }
}

/**
 * Runs every comparison on `corpus` (with its sidecar `meta` from scripts/make-corpus.mjs) against
 * the indicator set in `indicators`; prints the table; returns rows, skipped lines and footnotes.
 */
export async function runEndToEnd ({ quick, corpus, meta, indicators }) {
  const list = join(indicators, 'list.txt')
  const feedFiles = FEED_FILES.map((f) => join(indicators, f))
  const patterns = meta.listEntries
  const { bytes, lines } = meta
  const skipped = []
  console.log(`\nEnd to end: ${(bytes / 1e6).toFixed(0)} MB corpus (${lines.toLocaleString()} lines), ${patterns.toLocaleString()} indicators`)

  // The baseline runs before and after feedmatch and the faster run is kept: on a shared machine
  // a load spike during one run would otherwise flatter every ratio; this way it can only hurt them.
  const baseName = 'Node baseline (V8 RegExp + Set, 1 thread)'
  const before = await attempt(baseName, 'Node baseline', () => runBaseline({ list, corpus }), skipped)
  const scan = await attempt('feedmatch scan', 'feedmatch scan', () => scanRow({ quick, corpus, feedFiles }, skipped), skipped)
  const custom = await attempt('feedmatch scan + a custom DOMAIN rule (RE2)', 'feedmatch scan + rule', () => customRuleRow({ quick, corpus, feedFiles }), skipped)
  // Not a row of the table (its MB/s are of another input): a footnote, and endToEnd.gz in the JSON.
  const gz = await attempt('gz archive set: zcat alone, feedmatch scan on the .gz files, zcat | feedmatch scan -', 'gz', () => gzRun({ quick, corpus, feedFiles, meta }), skipped)
  for (const [key, label] of [['zcat', 'zcat alone'], ['pipe', 'zcat | feedmatch scan -']]) {
    if (gz?.[key]?.skipped !== undefined) skipped.push(`gz archive set, ${label}: ${gz[key].skipped}`)
  }
  const serve = await attempt('feedmatch serve (TCP to TCP)', 'feedmatch serve', () => runServeBench({ quick, corpus, lines, feedFiles, expectedDetections: meta.expectedDetections }), skipped)
  // Its slow-receiver and feed-swap runs fail apart from it: each becomes a skipped line of its own.
  for (const [key, label] of [['slowReceiver', 'slow receiver'], ['feedSwap', 'feed swap']]) {
    if (serve?.[key]?.skipped !== undefined) skipped.push(`feedmatch serve, ${label}: ${serve[key].skipped}`)
  }
  const after = await attempt(baseName, 'Node baseline', () => runBaseline({ list, corpus }), skipped)
  const runs = [before, after].filter((r) => r !== null)
  const base = runs.length === 0 ? null : { ...runs.reduce((a, b) => b.mbPerSec > a.mbPerSec ? b : a), runsMbPerSec: runs.map((r) => r.mbPerSec) }
  const tools = []
  for (const tool of ['grep', 'rg']) {
    const name = `${tool} -F -f LIST`
    if (which(tool) === null) { skipped.push(`${name}: not installed (apt-get install ${tool === 'rg' ? 'ripgrep' : 'grep'} to compare)`); continue }
    const why = tool === 'rg' ? rgSkipReason(patterns) : null
    if (why !== null) { skipped.push(`${name}: ${why}`); continue }
    tools.push(await attempt(name, `${tool} -F -f`, () => runFixedStringTool({ tool, list, corpus, bytes, lines, maxScanMs: TOOL_SCAN_MS[quick ? 'quick' : 'full'] }), skipped))
  }
  // The same rules as the baseline in Python (re + set), what a team scripts without feedmatch.
  if (which('python3') === null) skipped.push('Python set scanner: python3 is not installed (apt-get install python3 to compare)')
  else tools.push(await attempt('Python set scanner (re + set, 1 thread)', 'Python set', () => runPythonSet({ list, corpus, maxScanMs: TOOL_SCAN_MS[quick ? 'quick' : 'full'] / 2 }), skipped))
  // rsyslog's lookup() tables on the same stream, as a team tags syslog without feedmatch.
  if (await rsyslogd() === null) skipped.push('rsyslog lookup(): rsyslogd is not installed (apt-get install rsyslog to compare)')
  else tools.push(await attempt('rsyslog lookup() (TCP to TCP)', 'rsyslog', () => runRsyslogPeer({ list, corpus, lines }), skipped))
  const rows = [scan, custom, serve, base, ...tools].filter((r) => r !== null)
  const baseMb = base?.mbPerSec ?? null
  for (const r of rows) {
    r.vsBaseline = baseMb === null ? null : r.mbPerSec / baseMb
    // feedmatch reports one detection per matched feed record; the others count values or lines.
    r.expected = r.name.startsWith('feedmatch') ? meta.expectedDetections : meta.plantedLines
    r.vsExpected = r.detections === undefined || r.partial !== undefined ? null : r.detections - r.expected
  }

  console.table(Object.fromEntries(rows.map((r) => [r.name, {
    'MB/s': fmt(r.mbPerSec, 1),
    'events/s': fmt(r.linesPerSec),
    'peak RSS MB': fmt(r.peakRssMb),
    'setup s': fmt(r.setupMs / 1000, 2),
    detections: r.partial === undefined ? fmt(r.detections) : `${fmt(r.detections)} in ${fmt(r.partial.bytes / 1e6)} MB`,
    'vs baseline': ratio(r.mbPerSec, baseMb)
  }])))
  for (const s of skipped) console.log(`  skipped: ${s}`)
  const footnotes = footnotesFor({ rows, meta, serve, base, quick, gz })
  footnotes.forEach((f, i) => console.log(`  ${i + 1}. ${f}`))
  return { corpus: meta, rows, skipped, footnotes, baselineMbPerSec: baseMb, gz }
}

/** Why the counts and the setup times differ between tools, with this run's figures. */
function footnotesFor ({ rows, meta, serve, base, quick, gz }) {
  const p = meta.planted
  const sign = (n) => n === null ? 'n/a (partial)' : n >= 0 ? `+${n}` : String(n)
  const diff = rows.map((r) => `${r.short} ${sign(r.vsExpected)}`).join(', ')
  const notes = [
    `The corpus plants ${fmt(meta.plantedLines)} listed indicators, one a line (${p.hash} MD5 hashes, ${p.ip} IPs, ${p.cidr} /24 network addresses, ` +
      `${p.domain} domains and ${p.host} hosts in URLs, ${p.url} exact URLs, ${p.urlMask} URLs under a mask); every other IP, host and hash in it is checked to match nothing. ` +
      `So the baseline should find ${fmt(meta.plantedLines)} values and grep and rg ${fmt(meta.plantedLines)} lines, while feedmatch, which reports one detection per matched feed record, ` +
      `should find ${fmt(meta.expectedDetections)} (${fmt(meta.expectedDetections - meta.plantedLines)} planted values also match a second record, e.g. an IP that also lies in a listed /24). ` +
      `Found minus expected: ${diff}.`,
    'grep and rg count matching lines (-c) by substring, not typed values: a listed IP 1.2.3.4 also hits 11.2.3.45 or 1.2.3.40, and a listed domain any longer name that contains it, ' +
      'so they over-report; they cannot match an IP inside a CIDR or a subdomain of a listed domain but by luck of spelling, and a line with two indicators counts once.',
    'Setup: feedmatch parses the Kaspersky JSON feeds and builds its index (serve: from spawn to its alert=started frame); the baseline reads the list into a Set; grep and rg compile the list (timed until they first read input). MB/s and events/s exclude setup.',
    'The Python set scanner (bench/peers/python_set.py) is the baseline\'s rules in Python 3 (`re`, a `set`, one thread): same values, same count.',
    'rsyslog lookup() (bench/peers/rsyslog.mjs): imtcp in, re_extract() of a hash, two IPv4 addresses and a URL host, lookup() in a string table of the same list, omfwd out of one line per event with a hit; timed from the first byte sent to the last hit received. It matches exact values only (no CIDR, no subdomains of a listed domain, no URL masks or paths) and takes one match per pattern, so it finds fewer than the planted lines.',
    `The Node baseline ran twice, before and after feedmatch (${(base?.runsMbPerSec ?? []).map((x) => fmt(x, 1)).join(' and ')} MB/s); the faster run is the row and the 1x of every ratio.`,
    'feedmatch scan + a custom DOMAIN rule: the generic preset plus `query=([\\w.-]+)` as a source rule; the preset stays on the byte scanner and the rule runs on RE2 only in events that hold its literal `query=`.',
    'serve is timed from the first byte sent to the alert=stopping frame that follows SIGTERM, once every detection has been written, so it includes the drain; events pass through a real TCP listener, the worker pool and a TCP emitter.'
  ]
  for (const r of rows.filter((x) => x.partial !== undefined)) {
    notes.push(`${r.short} was stopped after ${TOOL_SCAN_MS[quick ? 'quick' : 'full'] / (r.short === 'Python set' ? 2000 : 1000)} s of scanning (the run has a time limit): its rate is over the first ${fmt(r.partial.bytes / 1e6)} MB, its detections are for those bytes only.`)
  }
  if (serve?.halfRate !== undefined) {
    const h = serve.halfRate
    notes.push(`serve latency at half its maximum rate (${fmt(h.mbPerSec, 1)} MB/s for ${fmt(h.seconds, 1)} s): p99 ${fmt(h.latencyP99Ms)} ms, p50 ${fmt(h.latencyP50Ms)} ms (batch latency from accept to emit, the service's final statistics; its histogram is exact below 16 ms and reads at most 12.5% high above).`)
  }
  const baseMb = base?.mbPerSec ?? null
  if (gz !== null && gz !== undefined) notes.push(gzNote(gz, baseMb))
  if (serve?.slowReceiver !== undefined && serve.slowReceiver.skipped === undefined) notes.push(slowReceiverNote(serve.slowReceiver, serve, baseMb))
  if (serve?.feedSwap !== undefined && serve.feedSwap.skipped === undefined) notes.push(feedSwapNote(serve.feedSwap, serve, baseMb))
  if (serve?.store !== undefined && serve.store.skipped === undefined) {
    const st = serve.store
    notes.push(`serve with the detection store (store.path: every detection also written to SQLite in its own thread): ${fmt(st.mbPerSec, 1)} MB/s (${ratio(st.mbPerSec, baseMb)} the baseline; ` +
      `${ratio(st.mbPerSec, serve.mbPerSec)} the serve row, the same run without the store, measured just before: sequential runs on a shared machine, so within a few percent is noise); ` +
      `${fmt(st.detections)} detections sent, ${fmt(st.stored)} stored, ${fmt(st.overflow)} not stored because the store fell behind; the database ${fmt((st.storeBytes ?? 0) / 1e6, 1)} MB; peak RSS ${fmt(st.peakRssMb)} MB.`)
  }
  return notes
}

/**
 * The .gz archive set's footnote: zcat alone (the speed limit of a pipe through it), feedmatch scan
 * on the .gz files and zcat piped into it, in MB/s of decompressed bytes, and their counts.
 */
function gzNote (g, baseMb) {
  const zMb = g.zcat.mbPerSec
  const vsZcat = (r) => zMb === undefined ? '' : `= ${ratio(r.mbPerSec, zMb)} zcat, `
  // Said only when off: scan's bytes and lines must be those of the corpus the set inflates to.
  const counted = (r) => (r.bytesAreDecompressed ? '' : `; it counted ${fmt(r.bytes / 1e6)} MB, not the ${fmt(g.rawBytes / 1e6)} MB the set inflates to`) +
    (r.linesMatchCorpus === false ? `; it counted ${fmt(r.lines)} lines, not the corpus's ${fmt(g.lines)}` : '')
  const zcat = zMb === undefined
    ? `zcat alone not measured (${g.zcat.skipped})`
    : `zcat alone ${fmt(zMb, 1)} MB/s to /dev/null (one process, one core; the faster of ${g.zcat.runsMbPerSec.length} runs, ${g.zcat.runsMbPerSec.map((x) => fmt(x, 1)).join(' and ')}; ` +
      `${g.zcatParallel.processes} zcat at once, a file each in turn: ${fmt(g.zcatParallel.mbPerSec, 1)} MB/s)`
  const pipe = g.pipe.skipped !== undefined ? '' : `; zcat | feedmatch scan - ${fmt(g.pipe.mbPerSec, 1)} MB/s (= ${ratio(g.pipe.mbPerSec, zMb)} zcat${counted(g.pipe)})`
  const expected = g.expectedDetections === undefined ? '' : ` of ${fmt(g.expectedDetections)} expected`
  const detections = g.pipe.skipped !== undefined
    ? `detections ${fmt(g.scan.detections)}${expected}`
    : `detections ${fmt(g.scan.detections)} (scan on the .gz files) and ${fmt(g.pipe.detections)} (through zcat)${expected}`
  return `gz archive set (the corpus cut at line ends into ${g.files} files, ${fmt(g.bytes / 1e6)} MB at gzip level ${g.level}; every MB/s counts the ${fmt(g.rawBytes / 1e6)} MB they inflate to): ` +
    `${zcat}; feedmatch scan on the .gz files ${fmt(g.scan.mbPerSec, 1)} MB/s (${vsZcat(g.scan)}${ratio(g.scan.mbPerSec, baseMb)} the baseline; ${g.scan.workers} workers: ` +
    `a .gz cannot be cut, so each file is inflated and matched in one worker, files in parallel${counted(g.scan)})${pipe}; ${detections}.`
}

/** `the corpus` or `the corpus N times`: how much a serve run sent. */
const corpusTimes = (passes) => passes === 1 ? 'the corpus' : `the corpus ${passes} times`

/** A serve run's detections beside the count expected, and frame by frame beside the full-rate run's. */
function countText (r) {
  const frames = r.missing === null ? '' : ` (frame by frame against ${r.passes === 1 ? 'those' : `${r.passes} times those`} of the full-rate run: ${fmt(r.missing)} missing, ${fmt(r.extra)} extra)`
  return `Detections ${fmt(r.detections)} of ${fmt(r.expected)} expected${frames}`
}

/** What a serve run lost, from the service's final statistics, and its warnings. */
function dropsText (r) {
  const w = r.warnings.length === 0 ? 'no warnings' : `${r.warnings.length} warnings (${[...new Set(r.warnings)].slice(0, 3).join('; ')})`
  return `dropped: ${fmt(r.drops.outputBytes)} output bytes and ${fmt(r.drops.events)} events, ${w}`
}

/** The slow-receiver run's footnote: input rate, pushback, memory beside the full-rate run, counts. */
function slowReceiverNote (s, serve, baseMb) {
  const kib = (b) => fmt(b / 1024)
  // From the service's own statistics: its output queue past the wait mark means it held its input.
  const queue = s.maxOutputBufferedBytes === null
    ? 'the service logged no statistics during the run, so how full its output queue got is unknown'
    : s.maxOutputBufferedBytes >= s.queueWaitMarkBytes
      ? `its output queue reached ${kib(s.maxOutputBufferedBytes)} KiB (it stops taking input from ${kib(s.queueWaitMarkBytes)} KiB), so the service held its input back and the sender waited`
      : `its output queue ${s.maxOutputBufferedBytes === 0 ? 'was empty at every look' : `reached only ${kib(s.maxOutputBufferedBytes)} KiB`} (it stops taking input from ${kib(s.queueWaitMarkBytes)} KiB): ` +
        'the loopback sockets\' buffers (a few MB) took the whole backlog, so the input was never held back'
  return `serve with a slow receiver: the SIEM reads at most ${fmt(s.readCapKbPerSec)} kB/s (the full-rate run produced ${fmt(s.producedKbPerSecAtFullRate)} kB/s of detections; ` +
    `these ${fmt(s.outputMb, 1)} MB take ${fmt(s.outputMb * 1e3 / s.readCapKbPerSec, 1)} s to read) and the service runs with a ${fmt(s.queueMaxBytes / 2 ** 20)} MiB output queue (output.queue.maxBytes). ` +
    `On ${corpusTimes(s.passes)} (${fmt(s.bytes / 1e6)} MB): ${fmt(s.mbPerSec, 1)} MB/s of input (${ratio(s.mbPerSec, baseMb)} the baseline), ${fmt(s.linesPerSec)} events/s, to the alert=stopping frame; ` +
    `the sender got it all in within ${fmt(s.sendSeconds, 1)} s; ${queue}. ` +
    `Service RSS during the traffic at most ${fmt(s.rssMaxDuringTrafficMb)} MB (full-rate run: ${fmt(serve.rssMaxDuringTrafficMb)} MB), peak RSS ${fmt(s.peakRssMb)} MB ` +
    `(full-rate run: ${fmt(serve.peakRssMb)} MB; the peak is set by the index build at start-up). ${countText(s)}; ${dropsText(s)}.`
}

/** The feed-swap run's footnote: rate over the run, whether and how fast the swap came, counts. */
function feedSwapNote (f, serve, baseMb) {
  const swap = f.swapSeen
    ? `the rebuild took ${fmt(f.buildMs / 1000, 1)} s (the service's buildMs; ${fmt(f.changeToSwapMs / 1000, 1)} s from the change to the alert=feeds_updated frame, ` +
      `with the 2 s feeds.reloadDebounce) and the swap ${f.swapDuringRun ? 'came while events were flowing' : 'came only after the sender was done'}, ${fmt(f.mbAfterSwap)} MB went in after it`
    : 'the swap did not complete during the run (no alert=feeds_updated frame)'
  return `serve during a feed swap: once ${fmt(f.changedAtMb)} MB were sent, one feed file is replaced by rename (the feeds are symlinks in a scratch folder; a downloader updates files so), ` +
    `the service, which watches its feeds, rebuilds them and swaps the new index in between batches. ${fmt(f.mbPerSec, 1)} MB/s (${ratio(f.mbPerSec, baseMb)} the baseline; the serve row, one pass without a swap: ${fmt(serve.mbPerSec, 1)} MB/s) ` +
    `over ${corpusTimes(f.passes)} (${fmt(f.bytes / 1e6)} MB: sent again until the swap was seen and half a pass more went in after it); ${swap}. ` +
    `${countText(f)}; peak RSS ${fmt(f.peakRssMb)} MB (old and new index are both held while the new one is built); ${dropsText(f)}.`
}
