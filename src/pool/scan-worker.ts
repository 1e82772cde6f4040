import { workerData } from 'node:worker_threads'
import { Piscina } from 'piscina'
import { LineScanner } from '../scan/lines.js'
import { ResultWriter, type ScanTask, type ScanWorkerData } from '../scan/protocol.js'
import { runBuffer, runRanges } from '../scan/read-ranges.js'
import { runStream } from '../scan/read-gzip.js'

// Worker entry of `scan`: nothing runs at load time but reading workerData (CONVENTIONS.md rule 6).
// The generation, the rules and the output format are fixed for the whole run, so they come once
// as workerData (the generation's SharedArrayBuffers are shared, not copied), not with each task.

let state: { lines: LineScanner, writer: ResultWriter, data: ScanWorkerData } | undefined

function init (): NonNullable<typeof state> {
  if (state === undefined) {
    const data = workerData as ScanWorkerData
    state = { lines: new LineScanner(data), writer: new ResultWriter(), data }
  }
  return state
}

/** Scans one task; returns one transferred result buffer (stream tasks send theirs on their port). */
export default async function scanTask (task: ScanTask): Promise<unknown> {
  const { lines, writer, data } = init()
  if (task.kind === 'stream') { await runStream(task, data.maxLineBytes, lines, writer); return null }
  const r = task.kind === 'ranges' ? runRanges(task, data.maxLineBytes, lines, writer) : runBuffer(task, lines, writer)
  return Piscina.move(writer.finish({ ...r, counters: lines.takeCounters() }))
}
