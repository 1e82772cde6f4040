// Issue 4's claim for `feedmatch scan` on rotated logs: a `.gz` archive set is scanned at least as
// fast as `zcat` alone allows. On the corpus cut into 4 gzip parts (bench/lib/data.mjs ensureGzSet)
// it measures zcat alone to /dev/null (the speed limit of any tool that reads through zcat),
// `feedmatch scan` on the .gz files (it inflates them itself) and `zcat parts | feedmatch scan -`
// (the pipe a user would write). Every MB/s counts decompressed bytes. Never asserts a time.
// Build first (`npm run build`). Usage by hand:
//   node bench/gz.bench.mjs --gz bench/corpus/corpus-20mb-indicators-100000-gz --feeds A.json,B.json,C.json
import { spawn } from 'node:child_process'
import { cpus } from 'node:os'
import { pathToFileURL } from 'node:url'
import { which } from './grep.bench.mjs'
import { GZ_LEVEL, gzSetOf } from './lib/data.mjs'
import { runScanBench } from './scan.bench.mjs'

/** Runs one `zcat` per list of files, all at once, output to /dev/null; resolves with the wall time in ms. */
async function zcatMs (lists) {
  const t0 = performance.now()
  await Promise.all(lists.map((files) => /** @type {Promise<void>} */ (new Promise((resolve, reject) => {
    const child = spawn('zcat', files, { stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    child.stderr.setEncoding('utf8').on('data', (s) => { err += s })
    child.on('error', reject)
    child.on('close', (code, signal) => code === 0 ? resolve() : reject(new Error(`zcat ${signal ?? `exited with ${code}`}: ${err.slice(-500)}`)))
  }))))
  return performance.now() - t0
}

/** The figures of one scan run on the set, checked against the corpus (bytes, lines, detections). */
function scanFigures (r, set, lines, expectedDetections) {
  return {
    mbPerSec: r.mbPerSec,
    linesPerSec: r.linesPerSec,
    detections: r.detections,
    vsExpected: expectedDetections === undefined ? null : r.detections - expectedDetections,
    bytes: r.bytes,
    // scan's summary counts bytes scanned, which for a .gz is what it inflates to.
    bytesAreDecompressed: r.bytes === set.rawBytes,
    lines: r.lines,
    linesMatchCorpus: lines === undefined ? null : r.lines === lines,
    files: r.files,
    skippedFiles: r.skippedFiles,
    failedFiles: r.failedFiles,
    setupMs: r.setupMs,
    scanMs: r.scanMs,
    peakRssMb: r.peakRssMb,
    workers: r.workers
  }
}

/**
 * Measures the archive set in `gzDir` against the feed files `feedFiles`: zcat alone (one process
 * over the 4 files, run before and after the scans, the faster kept: it is the bar, so a load spike
 * can only make it harder to reach; and one zcat per core at once, for the machine's inflate
 * ceiling), feedmatch scan on the folder, and zcat piped into feedmatch scan -. `lines` and
 * `expectedDetections` (the corpus sidecar's) check the counts. A measure that cannot run holds
 * `{ skipped: why }`. `quick` changes nothing here: the caller picks a smaller corpus.
 * @param {{ quick?: boolean, gzDir: string, feedFiles: string[], lines?: number, expectedDetections?: number }} options
 */
export async function runGzBench ({ quick = false, gzDir, feedFiles, lines, expectedDetections }) {
  const set = gzSetOf(gzDir)
  if (set === null) throw new Error(`runGzBench: no archive set in ${gzDir} (ensureGzSet makes it)`)
  const mbPerSec = (ms) => set.rawBytes / 1e6 / (ms / 1000)
  const out = { quick, dir: gzDir, files: set.files.length, bytes: set.bytes, rawBytes: set.rawBytes, level: GZ_LEVEL, lines, expectedDetections }
  const hasZcat = which('zcat') !== null
  const noZcat = { skipped: 'zcat is not installed (it comes with gzip)' }
  const zcatRuns = []
  if (hasZcat) zcatRuns.push(await zcatMs([set.files]))

  out.scan = scanFigures(await runScanBench({ quick, corpus: gzDir, feeds: feedFiles }), set, lines, expectedDetections)

  if (hasZcat) {
    // One zcat per core, the files dealt out in turn: what inflating alone reaches on every core.
    const n = Math.max(1, Math.min(set.files.length, cpus().length))
    const lists = Array.from({ length: n }, (_, i) => set.files.filter((_f, j) => j % n === i))
    const ms = await zcatMs(lists)
    out.zcatParallel = { processes: n, mbPerSec: mbPerSec(ms), ms }
    out.pipe = scanFigures(await runScanBench({ quick, feeds: feedFiles, stdinFrom: ['zcat', ...set.files] }), set, lines, expectedDetections)
    zcatRuns.push(await zcatMs([set.files]))
    const best = Math.min(...zcatRuns)
    out.zcat = { mbPerSec: mbPerSec(best), ms: best, runsMbPerSec: zcatRuns.map(mbPerSec), linesPerSec: lines === undefined ? null : lines / (best / 1000) }
    out.scan.vsZcat = out.scan.mbPerSec / out.zcat.mbPerSec
    out.pipe.vsZcat = out.pipe.mbPerSec / out.zcat.mbPerSec
  } else {
    out.zcat = noZcat
    out.zcatParallel = noZcat
    out.pipe = noZcat
  }
  return out
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2)
  const opt = (name) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : undefined }
  const r = await runGzBench({ gzDir: opt('gz'), feedFiles: opt('feeds')?.split(',') })
  process.stdout.write(JSON.stringify(r, null, 2) + '\n')
}
