import { workerData } from 'node:worker_threads'
import { LineScanner } from '../scan/lines.js'
import { ResultWriter, type ScanTask, type ScanWorkerData } from '../scan/protocol.js'
import { runBuffer, runRanges } from '../scan/read-ranges.js'
import { runStream } from '../scan/read-gzip.js'

// Worker entry of `scan`: nothing runs at load time but reading workerData (CONVENTIONS.md rule 6).
// The rules and the output format are fixed for the run and come once as workerData; the
// generation comes with each task (shared memory, nothing copied) and its view is kept by id.

let state: { gen: number, lines: LineScanner, writer: ResultWriter, data: ScanWorkerData } | undefined

function init (task: ScanTask): NonNullable<typeof state> {
  if (state?.gen !== task.gen.id) {
    const data = workerData as ScanWorkerData
    state = { gen: task.gen.id, lines: new LineScanner(data, task.gen), writer: new ResultWriter(), data }
  }
  return state
}

/** Scans one task; returns one shared result buffer (stream tasks send theirs on their port). */
export default async function scanTask (task: ScanTask): Promise<unknown> {
  const { lines, writer, data } = init(task)
  if (task.kind === 'stream') { await runStream(task, data.maxLineBytes, lines, writer); return null }
  const r = task.kind === 'ranges' ? runRanges(task, data.maxLineBytes, lines, writer) : runBuffer(task, lines, writer)
  // Shared, never transferred: a transfer would detach it here (protocol.ts says what that costs).
  return writer.finish({ ...r, counters: lines.takeCounters() })
}
