/**
 * Parse thread of a large feed's load (src/feeds/parse-thread.ts starts it from the build
 * worker): reads the feed, applies its policy, normalizes indicators and packs contexts, and
 * posts the prepared records in binary chunks (src/feeds/chunk.ts) to the build thread, which
 * only indexes them. At the end it posts the feed's tally, or the error that stopped it.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { Packr } from 'msgpackr'
import { ChunkWriter } from '../feeds/chunk.js'
import { RecordPreparer, feedReadError, parseFeed } from '../feeds/prepare.js'
import { ACK, type ParseMessage, type ParseRequest } from '../feeds/parse-protocol.js'
import type { FeedRecord } from '../feeds/record.js'

async function run (req: ParseRequest, port: NonNullable<typeof parentPort>): Promise<void> {
  const prep = new RecordPreparer(req.feed, req.now)
  // The same options as IndexBuilder's Packr, so the bytes (and what readers decode) are the same.
  const packr = new Packr({ useRecords: false })
  const writer = new ChunkWriter(req.chunkBytes)
  let inFlight = 0
  let wake: (() => void) | undefined
  port.on('message', (msg) => {
    if (msg !== ACK) return
    inFlight--
    const w = wake
    wake = undefined
    w?.()
  })
  // Flow control: a 2 GB feed parsed faster than it is indexed must not pile up in memory.
  const post = async (): Promise<void> => {
    while (inFlight >= req.maxInFlight) await new Promise<void>((resolve) => { wake = resolve })
    const c = writer.take()
    inFlight++
    port.postMessage({ t: 'chunk', buffer: c.buffer, length: c.length, records: c.records } satisfies ParseMessage, [c.buffer])
  }
  for await (const got of parseFeed(req.feed, req.format)) {
    for (const item of Array.isArray(got) ? got : [got]) {
      const keys = prep.take(item)
      if (keys === null) continue
      writer.add(packr.pack((item as FeedRecord).context), keys)
      if (writer.full) await post()
    }
  }
  if (writer.records > 0) await post()
  port.postMessage({ t: 'done', tally: prep.tally } satisfies ParseMessage)
}

// Worker entry: the request comes in workerData; the tally or the error goes back as the last message.
const port = parentPort
const req = workerData as ParseRequest
if (port !== null) {
  run(req, port).catch((err: unknown) => {
    const e = feedReadError(req.feed, err)
    port.postMessage({ t: 'error', error: { code: e.code, message: e.message } } satisfies ParseMessage)
  }).finally(() => port.unref()) // the thread may end; the build thread terminates it anyway
}
