/**
 * Main side: what each input file is (sniffed from its first bytes, not its name) and how it is
 * cut into tasks. A plain file is cut into byte ranges, so one huge log keeps every worker busy;
 * small files are packed several to a task; an uncompressed tar is listed and its members are
 * ranges too; a gzip file is one stream task (inflating cannot start mid-file). Tasks come out in
 * input order: their sequence is the output order.
 */
import { open } from 'node:fs/promises'
import { SNIFF_BYTES, looksBinary } from './line-feeder.js'
import { hasUstarMagic, listTar, parseHeader, type TarMember } from './tar.js'
import type { InputFile } from './inputs.js'
import type { RangeSegment } from './protocol.js'

/** A task to submit, with the disk bytes it accounts for (progress). */
export type PlannedTask =
  | { kind: 'ranges', segments: RangeSegment[], diskBytes: number }
  | { kind: 'stream', path: string, label: string, diskBytes: number }

/** How the planner reports files it will not scan, or only partly. */
export interface PlanReport {
  /** Not scanned on purpose (binary, unsupported compression): counted, not an error. */
  skipped (label: string, why: string): void
  /** Could not be read (permission, damaged archive): an error of the scan. */
  failed (label: string, why: string): void
  /** Disk bytes no task will scan (skipped files, tar headers): done for the progress bar. */
  done (diskBytes: number): void
}

export interface PlanOptions {
  /** Bytes of one range (and the most packed into one task). */
  rangeBytes: number
}

/** Packed small files per task at most: a task's sections stay few. */
const MAX_SEGMENTS = 256

type Kind = 'plain' | 'gzip' | 'tar' | 'binary' | { unsupported: string }

const MAGIC: Array<[number[], string]> = [
  [[0x42, 0x5a, 0x68], 'bzip2'],
  [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], 'xz'],
  [[0x28, 0xb5, 0x2f, 0xfd], 'zstd'],
  [[0x50, 0x4b, 0x03, 0x04], 'zip'],
  [[0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], '7z']
]

/** What the first bytes of a file say it is. */
export function sniff (head: Buffer, name: string): Kind {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip'
  if (hasUstarMagic(head)) return 'tar'
  // An old v7 tar has no magic: trust the name when the first header's checksum holds.
  if (/\.tar$/i.test(name) && head.length >= 512) {
    try { if (parseHeader(head) !== null) return 'tar' } catch { /* not a tar after all */ }
  }
  for (const [bytes, what] of MAGIC) if (bytes.every((b, i) => head[i] === b)) return { unsupported: what }
  return looksBinary(head) ? 'binary' : 'plain'
}

function why (err: unknown): string {
  const e = err as NodeJS.ErrnoException
  return e.code === 'EACCES' || e.code === 'EPERM' ? 'permission denied' : e.code === 'ENOENT' ? 'no such file (removed?)' : e.message
}

/** Plans the files into tasks, in order. Reads each file's first 8 KiB (and a tar's headers). */
export async function * planTasks (files: InputFile[], opts: PlanOptions, report: PlanReport): AsyncGenerator<PlannedTask> {
  let pending: RangeSegment[] = []
  let pendingBytes = 0
  const flush = (): PlannedTask | null => {
    if (pending.length === 0) return null
    const t: PlannedTask = { kind: 'ranges', segments: pending, diskBytes: pendingBytes }
    pending = []
    pendingBytes = 0
    return t
  }
  function * add (path: string, label: string, regionStart: number, size: number): Generator<PlannedTask> {
    const regionEnd = regionStart + size
    let start = regionStart
    do {
      const end = Math.min(regionEnd, start + opts.rangeBytes)
      if (pendingBytes + (end - start) > opts.rangeBytes || pending.length >= MAX_SEGMENTS) {
        const t = flush()
        if (t !== null) yield t
      }
      pending.push({ path, start, end, regionStart, regionEnd, label })
      pendingBytes += end - start
      start = end
    } while (start < regionEnd)
  }

  for (const f of files) {
    let fh
    try {
      fh = await open(f.path, 'r')
    } catch (err) {
      report.failed(f.label, why(err))
      report.done(f.size)
      continue
    }
    try {
      const head = Buffer.alloc(Math.min(SNIFF_BYTES, f.size))
      const { bytesRead } = await fh.read(head, 0, head.length, 0)
      const kind = sniff(head.subarray(0, bytesRead), f.label)
      if (kind === 'gzip') {
        const t = flush()
        if (t !== null) yield t
        yield { kind: 'stream', path: f.path, label: f.label, diskBytes: f.size }
      } else if (kind === 'tar') {
        const members: TarMember[] = []
        let damage: string | null = null
        await listTar(fh, f.size, (m) => members.push(m)).catch((err: Error) => { damage = err.message })
        let scanned = 0
        for (const m of members) {
          const label = `${f.label}:${m.name}`
          const mhead = Buffer.alloc(Math.min(SNIFF_BYTES, m.size))
          await fh.read(mhead, 0, mhead.length, m.dataStart)
          if (mhead.indexOf(0) >= 0) { report.skipped(label, 'binary data'); continue }
          scanned += m.size
          yield * add(f.path, label, m.dataStart, m.size)
        }
        // Members are scanned as ranges; the rest (headers, padding, skipped members) is done now.
        report.done(f.size - scanned)
        if (damage !== null) report.failed(f.label, `damaged tar archive (${damage as string}): the members after that are not scanned`)
      } else if (kind === 'plain') {
        yield * add(f.path, f.label, 0, f.size)
      } else {
        report.skipped(f.label, kind === 'binary' ? 'binary data' : `${kind.unsupported}-compressed: not supported, decompress it first`)
        report.done(f.size)
      }
    } catch (err) {
      // Planned tasks of this file stand; what was not planned is lost (only a tar can get here late).
      report.failed(f.label, why(err))
    } finally {
      await fh.close()
    }
  }
  const t = flush()
  if (t !== null) yield t
}
