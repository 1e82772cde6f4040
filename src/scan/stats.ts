/** What a scan counts; the progress bar and the summary read it (one source for both). */
export interface ScanStats {
  startedAt: number
  /** Files (and archive members) scanned, skipped (binary, unsupported), failed (unreadable, damaged). */
  files: number
  skipped: number
  failed: number
  /** Bytes scanned (decompressed), and bytes on disk done of the total, for progress. */
  bytes: number
  diskDone: number
  diskTotal: number
  lines: number
  /** Lines longer than the line limit, matched on their head; lines holding NUL bytes, dropped. */
  cutLines: number
  binaryLines: number
  detections: number
  perFeed: Map<string, number>
}

/** Zeroed statistics, started now. */
export function newStats (): ScanStats {
  return {
    startedAt: performance.now(), files: 0, skipped: 0, failed: 0, bytes: 0, diskDone: 0, diskTotal: 0,
    lines: 0, cutLines: 0, binaryLines: 0, detections: 0, perFeed: new Map()
  }
}
