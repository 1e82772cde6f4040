// `rg -F -f LIST` and `grep -F -f LIST` on the bench corpus: what a user who greps logs for a list
// of indicators runs today. Both count matching lines (`-c`), which is a different question from
// feedmatch's: a substring of a line, not a typed value (see the footnotes of the table).
import { spawn, execFileSync } from 'node:child_process'
import { createReadStream } from 'node:fs'
import { once } from 'node:events'
import { watchPeakRss, memAvailable } from './lib/proc.mjs'

/**
 * rg's memory for a fixed-string pattern list grows with the list: about 7.9 kB a pattern measured
 * here with rg 13 (790 MB for 100k, 7.9 GB and 49 s for 1M), 9.8 kB in the measure. We take
 * the larger, so the rule errs towards skipping rather than towards an out-of-memory kill.
 */
export const RG_BYTES_PER_PATTERN = 9800
/** Share of MemAvailable a comparison tool may take: the machine is shared, and serve runs after. */
export const MEMORY_SHARE = 0.5

/** The tool's path, or null when it is not installed. */
export function which (tool) {
  try { return execFileSync('which', [tool], { encoding: 'utf8' }).trim() || null } catch { return null }
}

/**
 * Why rg must be skipped for `patterns` fixed strings, or null to run it: skipped when its
 * expected peak RSS is over MEMORY_SHARE of the memory available right now.
 */
export function rgSkipReason (patterns) {
  const need = patterns * RG_BYTES_PER_PATTERN
  const avail = memAvailable()
  if (avail === null) return null
  if (need <= avail * MEMORY_SHARE) return null
  return `rg would need about ${(need / 1e9).toFixed(1)} GB for ${patterns.toLocaleString()} patterns ` +
    `(${RG_BYTES_PER_PATTERN / 1000} kB a pattern), over ${MEMORY_SHARE * 100}% of the ${(avail / 1e9).toFixed(1)} GB available`
}

/**
 * Runs `tool -c -F -f list -` with the corpus on stdin. The corpus is fed through a pipe rather
 * than named so the setup can be timed without a second run: both tools compile the whole list
 * before their first read, so the pipe first drains when the compile is done. Feeding stops after
 * `maxScanMs` of scanning (at 1M patterns both tools crawl at a few MB/s on a busy machine, and the
 * run has a time limit): the rate is then over the bytes fed, and the row says it is partial.
 */
export async function runFixedStringTool ({ tool, list, corpus, bytes, lines, maxScanMs = Infinity }) {
  const child = spawn(tool, ['-c', '-F', '-f', list, '-'], { stdio: ['pipe', 'pipe', 'pipe'] })
  const rss = watchPeakRss(child.pid, 50)
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8').on('data', (s) => { out += s })
  child.stderr.setEncoding('utf8').on('data', (s) => { err += s })
  child.stdin.on('error', () => {}) // a tool that dies early is reported from its exit code below
  const exited = new Promise((resolve) => child.on('close', (code) => resolve(code)))
  const started = performance.now()
  let compiled = null
  let fed = 0
  for await (const chunk of createReadStream(corpus, { highWaterMark: 1 << 20 })) {
    if (child.exitCode !== null) break
    if (compiled !== null && performance.now() - compiled > maxScanMs) break
    fed += chunk.length
    if (!child.stdin.write(chunk)) {
      await Promise.race([once(child.stdin, 'drain'), exited])
    }
    compiled ??= performance.now()
  }
  child.stdin.end()
  const code = await exited
  const ended = performance.now()
  const peakRssMb = rss.stop()
  // Exit 1 is "no line matched", not an error.
  if (code !== 0 && code !== 1) throw new Error(`${tool} exited with ${code}: ${err.trim().slice(0, 300)}`)
  const scanSec = (ended - compiled) / 1000
  // Lines are near enough the same length everywhere in the corpus to prorate them by bytes.
  const scannedLines = fed === bytes ? lines : Math.round(lines * fed / bytes)
  return {
    mbPerSec: fed / 1e6 / scanSec, linesPerSec: scannedLines / scanSec, detections: Number(out.trim() || 0),
    peakRssMb, setupMs: compiled - started, seconds: (ended - started) / 1000,
    partial: fed < bytes ? { bytes: fed, share: fed / bytes } : undefined
  }
}
