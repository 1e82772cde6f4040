/**
 * Main side: writes the records of results, in order, with their final line numbers (the lines
 * of the earlier sections of the same file plus the record's own), counts what the summary
 * reports, and stops at --max-detections.
 */
import type { FeedMeta } from '../index/types.js'
import { RECORD_HEADER, type ScanResult } from './protocol.js'
import type { Sink } from './sink.js'
import type { ScanStats } from './stats.js'

/** Reports a file skipped (`error` false) or failed (`error` true). */
export type Warn = (label: string, message: string, error: boolean) => void

/** Consumes ordered results into the sink. */
export class OrderedOutput {
  /** LFs of the current file before the next section. */
  private base = 0
  /** --max-detections reached: nothing more is written. */
  full = false

  constructor (private readonly sink: Sink, private readonly lineless: boolean, private readonly max: number,
    private readonly feeds: FeedMeta[], private readonly stats: ScanStats, private readonly warn: Warn) {}

  readonly consume = (r: ScanResult): void => {
    const st = this.stats
    st.diskDone += r.diskBytes
    st.binaryLines += r.counters.binary
    if (this.full) return
    const rec = r.records
    const out: Buffer[] = []
    let at = 0
    for (const s of r.sections) {
      if (s.newFile) this.base = 0
      if (s.skipped !== undefined) { st.skipped++; this.warn(s.label, s.skipped, false); continue }
      if (s.newFile && s.error === undefined) st.files++
      st.lines += s.lines
      st.bytes += s.bytes
      st.cutLines += s.cutLines
      for (let i = 0; i < s.records; i++) {
        const rel = rec.readUInt32LE(at)
        const feed = rec.readUInt32LE(at + 4)
        const hl = rec.readUInt32LE(at + 8)
        const tl = rec.readUInt32LE(at + 12)
        at += RECORD_HEADER
        if (!this.full) {
          out.push(rec.subarray(at, at + hl))
          if (!this.lineless) out.push(Buffer.from(String(this.base + rel + 1)), rec.subarray(at + hl, at + hl + tl))
          st.detections++
          const name = this.feeds[feed]?.name ?? String(feed)
          st.perFeed.set(name, (st.perFeed.get(name) ?? 0) + 1)
          if (st.detections >= this.max) this.full = true
        }
        at += hl + tl
      }
      this.base += s.lfs
      if (s.error !== undefined) { st.failed++; this.warn(s.label, s.error, true) }
    }
    if (out.length > 0) this.sink.write(out.length === 1 ? out[0] : Buffer.concat(out))
  }
}
