// Child-process helpers shared by the end-to-end benchmarks: peak RSS of a process we did not
// write (grep, rg, the feedmatch CLI) and the machine's free memory. Linux only (/proc); elsewhere
// the figures are null and the tables show a dash.
import { readFileSync } from 'node:fs'

/** kB value of a `Name:   123 kB` line of a /proc status file, or null. */
function statusKb (text, name) {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)
  return m === null ? null : Number(m[1])
}

/**
 * Follows a process's peak RSS (VmHWM, which the kernel keeps as a high-water mark) until it
 * exits. Node cannot read a child's rusage, so we sample: VmHWM only grows, so the last sample
 * before exit misses at most what grew in the last interval. It also follows the current RSS
 * (VmRSS) from a `mark()` on, so a run can tell what grew after its start-up peak (the index build
 * sets VmHWM, and a backlog of tens of MB would not show in it).
 */
export function watchPeakRss (pid, intervalMs = 50) {
  let peakKb = null
  let markKb = null
  let sinceMarkKb = null
  const sample = () => {
    try {
      const text = readFileSync(`/proc/${pid}/status`, 'latin1')
      const kb = statusKb(text, 'VmHWM')
      if (kb !== null) peakKb = Math.max(peakKb ?? 0, kb)
      const rss = statusKb(text, 'VmRSS')
      if (rss !== null && markKb !== null) sinceMarkKb = Math.max(sinceMarkKb ?? 0, rss)
      return rss
    } catch { return null /* gone, or not Linux: keep what we have */ }
  }
  sample()
  const timer = setInterval(sample, intervalMs)
  const mb = (kb) => kb === null ? null : kb / 1024
  return {
    /** Stops sampling (call on the child's 'exit'); returns the peak in MB, or null. */
    stop () { clearInterval(timer); return mb(peakKb) },
    sample,
    /** Starts following the current RSS: from now on `sinceMark()` has its figures. */
    mark () { markKb = sample(); sinceMarkKb = markKb },
    /** RSS at the mark and the most it reached after it, in MB (null when unknown). */
    sinceMark () { return { atMarkMb: mb(markKb), maxMb: mb(sinceMarkKb) } }
  }
}

/** MemAvailable in bytes (what can be used without swapping), or null when unknown. */
export function memAvailable () {
  try {
    const kb = statusKb(readFileSync('/proc/meminfo', 'latin1'), 'MemAvailable')
    return kb === null ? null : kb * 1024
  } catch { return null }
}

/** Settles as `promise` does, or rejects after `ms` milliseconds with an error naming `what`. */
export function within (promise, ms, what) {
  let timer
  return Promise.race([
    promise,
    new Promise((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms) })
  ]).finally(() => clearTimeout(timer))
}
