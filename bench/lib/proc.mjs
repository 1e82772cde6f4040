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
 * before exit misses at most what grew in the last interval.
 */
export function watchPeakRss (pid, intervalMs = 50) {
  let peakKb = null
  const sample = () => {
    try {
      const kb = statusKb(readFileSync(`/proc/${pid}/status`, 'latin1'), 'VmHWM')
      if (kb !== null) peakKb = Math.max(peakKb ?? 0, kb)
    } catch { /* gone, or not Linux: keep what we have */ }
  }
  sample()
  const timer = setInterval(sample, intervalMs)
  return {
    /** Stops sampling (call on the child's 'exit'); returns the peak in MB, or null. */
    stop () { clearInterval(timer); return peakKb === null ? null : peakKb / 1024 },
    sample
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
