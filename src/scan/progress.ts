/**
 * The progress bar (stderr, on a TTY only) and the summary of a scan. Both read ScanStats; the
 * bar redraws on a timer, never per result, so a fast scan does not spend itself on drawing.
 */
import type { WriteStream } from 'node:tty'
import { humanBytes } from '../util/text.js'
import type { ScanStats } from './stats.js'

const REDRAW_MS = 200
const WIDTH = 24

function clock (s: number): string {
  if (!Number.isFinite(s) || s < 0) return '--:--'
  const m = Math.floor(s / 60)
  const h = Math.floor(m / 60)
  const pad = (n: number): string => String(n).padStart(2, '0')
  return h > 0 ? `${h}:${pad(m % 60)}:${pad(Math.floor(s % 60))}` : `${pad(m)}:${pad(Math.floor(s % 60))}`
}

function mbPerSec (bytes: number, ms: number): number {
  return ms <= 0 ? 0 : bytes / 1e6 / (ms / 1000)
}

/** A one-line progress bar; `clear()` before writing anything else to the same stream. */
export class ProgressBar {
  private timer: NodeJS.Timeout | null = null
  private shown = false

  constructor (private readonly stats: ScanStats, private readonly out: WriteStream) {}

  start (): void {
    this.timer = setInterval(() => this.draw(), REDRAW_MS)
    this.timer.unref()
  }

  /** Removes the bar (before a warning, and at the end). */
  clear (): void {
    if (this.shown) this.out.write('\r\x1b[K')
    this.shown = false
  }

  stop (): void {
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
    this.clear()
  }

  private draw (): void {
    const s = this.stats
    const ms = performance.now() - s.startedAt
    // The bar and the ETA go by bytes on disk (known up front); the speed by bytes scanned, which
    // for a .gz is what it inflates to.
    const diskRate = mbPerSec(s.diskDone, ms)
    const total = Math.max(s.diskTotal, s.diskDone)
    const frac = total > 0 ? s.diskDone / total : 0
    const fill = Math.round(frac * WIDTH)
    const eta = diskRate > 0 ? (total - s.diskDone) / 1e6 / diskRate : Infinity
    const bar = `[${'='.repeat(fill)}${' '.repeat(WIDTH - fill)}] ${(frac * 100).toFixed(0).padStart(3)}%`
    const line = `${bar} ${humanBytes(s.diskDone)}/${humanBytes(total)}  ${mbPerSec(s.bytes, ms).toFixed(0)} MB/s  ETA ${clock(eta)}  files ${s.files}  detections ${s.detections}`
    this.out.write(`\r${line.slice(0, Math.max(20, (this.out.columns ?? 100) - 1))}\x1b[K`)
    this.shown = true
  }
}

/** The end-of-scan summary, several lines, for people (stderr). */
export function formatSummary (s: ScanStats): string {
  const ms = performance.now() - s.startedAt
  const lines = [
    `scanned ${s.files} file(s)${s.skipped > 0 ? `, ${s.skipped} skipped` : ''}${s.failed > 0 ? `, ${s.failed} failed` : ''}: ` +
      `${humanBytes(s.bytes)} in ${s.lines.toLocaleString('en-US')} lines, ${(ms / 1000).toFixed(2)} s, ` +
      `${mbPerSec(s.bytes, ms).toFixed(1)} MB/s`,
    `detections: ${s.detections}`
  ]
  const width = Math.max(0, ...[...s.perFeed.keys()].map((k) => k.length))
  for (const [feed, n] of [...s.perFeed].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))) {
    lines.push(`  ${feed.padEnd(width)}  ${n}`)
  }
  if (s.cutLines > 0) lines.push(`lines longer than the line limit, matched on their start: ${s.cutLines}`)
  if (s.binaryLines > 0) lines.push(`lines holding NUL bytes, not matched: ${s.binaryLines}`)
  return lines.join('\n') + '\n'
}

/** The summary as one JSON object (for scripts and benchmarks); `setupMs` is the time before scanning began. */
export function summaryJson (s: ScanStats): string {
  const ms = performance.now() - s.startedAt
  return JSON.stringify({
    files: s.files,
    skipped: s.skipped,
    failed: s.failed,
    bytes: s.bytes,
    lines: s.lines,
    detections: s.detections,
    perFeed: Object.fromEntries(s.perFeed),
    cutLines: s.cutLines,
    binaryLines: s.binaryLines,
    setupMs: Math.round(s.startedAt),
    scanMs: Math.round(ms),
    mbPerSec: Number(mbPerSec(s.bytes, ms).toFixed(1)),
    linesPerSec: Math.round(ms > 0 ? s.lines / (ms / 1000) : 0)
  }) + '\n'
}
