// `feedmatch scan` end to end: the compiled CLI as a user runs it, on a corpus (a file or a folder)
// against a feed folder (or a snapshot). Scan speed excludes the feed load, which is reported
// apart (`setupMs`); peak RSS covers the whole process, workers included. Never asserts a time.
// Build first (`npm run build`). Usage by hand:
//   node bench/scan.bench.mjs --corpus bench/corpus/x.log --feeds bench/corpus/indicators-1000000 [--workers 2] [--snapshot F]
// (`scan` summary `bytes` are bytes scanned: what a .gz inflates to, not its size on disk.)
import { spawn, execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { cpus } from 'node:os'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { watchPeakRss } from './lib/proc.mjs'

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))
const TIME = '/usr/bin/time'

/** True when GNU time is there to report the peak RSS of the process tree exactly. */
function hasGnuTime () {
  if (!existsSync(TIME)) return false
  try { execFileSync(TIME, ['-v', 'true'], { stdio: 'ignore' }); return true } catch { return false }
}

/**
 * Runs `feedmatch scan` once; returns { mbPerSec, linesPerSec, detections, peakRssMb, setupMs,
 * scanMs, bytes, lines, files, skippedFiles, failedFiles, workers }. `feeds` is a feed folder or
 * file, or a list of them (an indicators-N folder also holds list.txt, which would load as one more
 * feed: name the kl_*.json files), or give `snapshot` (a file written by `feeds build`) to leave
 * feed parsing out of setupMs.
 * `corpus` is a file or a folder (scan walks it), or `-` with `stdinFrom`, a command line whose
 * output is piped into the scan (`['zcat', ...parts]`: `zcat parts | feedmatch scan -`); the pipe
 * opens at spawn, so the producer waits on it while the feeds load. `config`: a config file (its
 * sources' rules; feeds come from `feeds`). `quick` changes nothing here:
 * the caller picks a smaller corpus.
 * @param {{ quick?: boolean, corpus?: string, feeds?: string | string[], snapshot?: string, workers?: number, stdinFrom?: string[], config?: string }} [options]
 */
export async function runScanBench ({ quick = false, corpus, feeds, snapshot, workers = cpus().length, stdinFrom, config } = {}) {
  if (stdinFrom !== undefined) corpus ??= '-'
  if (corpus === undefined || (feeds === undefined && snapshot === undefined)) throw new Error('runScanBench: give corpus and feeds (or snapshot)')
  const feedArgs = snapshot !== undefined ? ['--snapshot', snapshot] : [feeds].flat().flatMap((f) => ['--feeds', f])
  const args = [CLI, 'scan', ...(config === undefined ? [] : ['-c', config]), ...feedArgs,
    '--workers', String(workers), '--no-progress', '--summary-json', '-o', '/dev/null', corpus]
  const producer = stdinFrom === undefined ? null : spawn(stdinFrom[0], stdinFrom.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
  let producerErr = ''
  producer?.stderr?.setEncoding('utf8').on('data', (s) => { producerErr += s })
  const producerDone = producer === null
    ? null
    : new Promise((resolve) => {
      producer.on('error', (e) => { producerErr += e.message; resolve({ code: null, signal: null }) })
      producer.on('close', (code, signal) => resolve({ code, signal }))
    })
  // The scan gets the pipe's read end (duplicated into it); ours is closed at once, so nothing here reads from it.
  const stdin = producer?.stdout ?? 'ignore'
  const timed = hasGnuTime()
  const child = timed
    ? spawn(TIME, ['-v', process.execPath, ...args], { stdio: [stdin, 'ignore', 'pipe'] })
    : spawn(process.execPath, args, { stdio: [stdin, 'ignore', 'pipe'] })
  producer?.stdout.destroy()
  const rss = timed ? null : watchPeakRss(child.pid, 50)
  let err = ''
  child.stderr.setEncoding('utf8').on('data', (s) => { err += s })
  const code = await new Promise((resolve) => child.on('close', resolve))
  const polled = rss?.stop() ?? null
  // Exit 1 means detections, the expected outcome on a corpus with planted indicators.
  if (code !== 0 && code !== 1) throw new Error(`feedmatch scan exited with ${code}: ${err.slice(-2000)}`)
  if (producerDone !== null) {
    const p = await producerDone
    if (p.code !== 0) throw new Error(`${stdinFrom[0]} (piping into feedmatch scan) ${p.signal !== null ? `was killed by ${p.signal}` : p.code === null ? 'failed' : `exited with ${p.code}`}: ${producerErr.slice(-2000)}`)
  }
  const line = err.split('\n').find((l) => l.startsWith('{"files"'))
  if (line === undefined) throw new Error(`feedmatch scan printed no summary: ${err.slice(-2000)}`)
  const s = JSON.parse(line)
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(err)
  const peakRssMb = m !== null ? Number(m[1]) / 1024 : polled
  return {
    quick,
    workers,
    mbPerSec: s.mbPerSec,
    linesPerSec: s.linesPerSec,
    detections: s.detections,
    peakRssMb: peakRssMb === null ? null : Math.round(peakRssMb),
    setupMs: s.setupMs,
    scanMs: s.scanMs,
    bytes: s.bytes,
    lines: s.lines,
    files: s.files,
    skippedFiles: s.skipped,
    failedFiles: s.failed
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2)
  const opt = (name) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : undefined }
  const workers = opt('workers')
  const r = await runScanBench({ corpus: opt('corpus'), feeds: opt('feeds'), snapshot: opt('snapshot'), workers: workers === undefined ? undefined : Number(workers) })
  process.stdout.write(JSON.stringify(r) + '\n')
}
