/**
 * Worker side: turns a stream of bytes of one file (a decompressed .gz, a tar member) into whole
 * lines for the LineScanner, in batches. Sniffs the first bytes for binary data (looksBinary), cuts lines at
 * maxLineBytes (the rest of such a line is skipped), and keeps one Section open until flushed.
 */
import type { LineScanner } from './lines.js'
import type { ResultWriter, Section } from './protocol.js'

const LF = 0x0a
/** Bytes sniffed before a file is taken for text or binary. */
export const SNIFF_BYTES = 8 * 1024

/**
 * True when `head` is binary data rather than a log with some NUL bytes in it. A NUL alone does
 * not decide it, as it does for grep and git: logs get runs of NULs from a crash or a power cut
 * (the file's length was written, its blocks were not), and the lines around them hold hits; those
 * lines are dropped and counted as binary, as serve drops them. Binary data (executables, images,
 * databases) is full of other control bytes too, or has no line end at all.
 */
export function looksBinary (head: Buffer): boolean {
  if (head.indexOf(0) === -1) return false
  let control = 0
  let text = 0
  for (let i = 0; i < head.length; i++) {
    const c = head[i]!
    if (c === 0) continue
    text++
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x1b) || c === 0x7f) control++
  }
  return text === 0 || head.indexOf(LF) === -1 || control * 20 > text
}
/** Lines are matched once this much is buffered: one scan call per batch, not per chunk. */
const BATCH = 1024 * 1024

/** Feeds one file's bytes to the scanner; hands each finished Section to `out`. */
export class LineFeeder {
  private buf = Buffer.allocUnsafe(0)
  private len = 0
  private sniffed = false
  private binary = false
  /** Inside a line cut at maxLineBytes: the bytes up to its LF are not a new line. */
  private skipping = false
  private section: Section

  constructor (readonly label: string, private readonly maxLine: number, private readonly lines: LineScanner,
    private readonly writer: ResultWriter, private readonly out: (s: Section) => void) {
    this.section = this.fresh(true)
  }

  push (chunk: Buffer): void {
    if (this.binary) return
    this.append(chunk)
    if (!this.sniffed) {
      if (this.len < SNIFF_BYTES) return
      this.sniff()
      if (this.binary) return
    }
    if (this.len >= BATCH) this.process(false)
  }

  /** Closes the open section (a part is about to be sent); buffered bytes stay for the next. */
  flush (): void {
    if (this.binary || !this.sniffed) return
    this.process(false)
    this.out(this.section)
    this.section = this.fresh(false)
  }

  /** The file is complete: matches what is left, closes the section. */
  end (): void {
    if (this.binary) return
    if (!this.sniffed) this.sniff()
    if (!this.binary) {
      this.process(true)
      this.out(this.section)
    }
    this.buf = Buffer.allocUnsafe(0)
    this.len = 0
  }

  private fresh (newFile: boolean): Section {
    return { label: this.label, newFile, bytes: 0, lines: 0, lfs: 0, records: 0, cutLines: 0 }
  }

  private sniff (): void {
    this.sniffed = true
    if (looksBinary(this.buf.subarray(0, Math.min(this.len, SNIFF_BYTES)))) {
      this.binary = true
      this.out({ ...this.section, skipped: 'binary data' })
      this.buf = Buffer.allocUnsafe(0)
      this.len = 0
    }
  }

  private append (chunk: Buffer): void {
    if (this.len + chunk.length > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.len + chunk.length, BATCH + BATCH / 2, this.buf.length * 2))
      this.buf.copy(next, 0, 0, this.len)
      this.buf = next
    }
    chunk.copy(this.buf, this.len)
    this.len += chunk.length
  }

  /** Matches the whole lines buffered (all of it when `final`), keeps the rest. */
  private process (final: boolean): void {
    const len = this.len
    if (len === 0) return
    let upto = final ? len : this.buf.lastIndexOf(LF, len - 1) + 1
    if (upto === 0) {
      // No LF in the buffer. Below maxLine: wait for more. Above: the line is cut here.
      if (len <= this.maxLine) return
      upto = len
    }
    const s = this.section
    const c = this.lines.scan(this.buf.subarray(0, upto), 0, upto, !this.skipping, this.label, this.writer, s.lfs)
    s.lines += c.lines; s.lfs += c.lfs; s.records += c.records; s.cutLines += c.cutLines; s.bytes += upto
    // Ended on a LF: the next byte starts a line. Otherwise the line was cut: skip to its LF.
    this.skipping = this.buf[upto - 1] !== LF
    this.buf.copy(this.buf, 0, upto, len)
    this.len = len - upto
  }
}
