/**
 * The build-thread side of a large feed's load: a parse thread (src/workers/parse-worker.ts) reads
 * the feed and posts chunks of prepared records, which this side indexes while the next ones are
 * parsed. Parsing, normalizing and packing are about three quarters of a build and indexing the
 * rest, so one parse thread alone leaves this one idle half the time: the next feed's parse
 * thread starts while the current feed loads (src/workers/build-worker.ts), running ahead by at
 * most a window of chunks, which wait here until load() takes them.
 */
import { Worker } from 'node:worker_threads'
import type { ResolvedFeed } from '../config/feed-sources.js'
import type { IndexBuilder } from '../index/builder.js'
import { FeedmatchError, reviveError } from '../errors.js'
import { workerUrl } from '../util/worker-url.js'
import type { FeedFormat } from './detect.js'
import { addChunk } from './chunk.js'
import { feedReadError, type FeedTally } from './prepare.js'
import { ACK, type ParseMessage, type ParseRequest } from './parse-protocol.js'

/** Bytes of prepared records per chunk: about 2,500 Kaspersky records, a few ms of indexing. */
const CHUNK_BYTES = 512 * 1024
/**
 * Chunks a parse thread may have posted and not seen indexed (32 MB of 512 KB chunks): bounds the
 * memory a feed read ahead holds (a 2 GB feed never piles up), while leaving the next feed room
 * to get well ahead as the current one finishes.
 */
export const MAX_IN_FLIGHT = 64

/** What reaches the build thread from a parse thread, in order: its messages, or its death. */
type ParseEvent = ParseMessage | { t: 'fail', error: FeedmatchError }

/** A feed being read in a parse thread of its own; load() indexes what it prepares. */
export class ParseThread {
  private readonly worker: Worker
  private readonly pending: ParseEvent[] = []
  private handle: ((ev: ParseEvent) => void) | undefined

  /** Starts the thread now: it parses until its window is full, then waits for load(). */
  constructor (private readonly feed: ResolvedFeed, format: FeedFormat, now: number, chunkBytes = CHUNK_BYTES) {
    const req: ParseRequest = { feed, format, now, chunkBytes, maxInFlight: MAX_IN_FLIGHT }
    this.worker = new Worker(workerUrl('parse-worker'), { workerData: req })
    const where = `feed "${feed.name}" (${feed.path})`
    const push = (ev: ParseEvent): void => {
      if (this.handle !== undefined) this.handle(ev)
      else this.pending.push(ev)
    }
    const fail = (message: string, cause?: Error): void => push({ t: 'fail', error: new FeedmatchError('FM_ERR_WORKER', `${where}: ${message}`, { cause }) })
    this.worker.on('message', push)
    this.worker.on('error', (err) => fail(`the parse thread failed: ${err.message}`, err))
    this.worker.on('messageerror', (err) => fail(`a message from the parse thread could not be read: ${err.message}`, err))
    this.worker.on('exit', (code) => fail(`the parse thread exited with code ${code} before the end of the feed`))
  }

  /**
   * Indexes the feed's records into `builder` under `feedId`, in file order, exactly as the
   * one-thread load adds them, and resolves with the feed's tally. Rejects with the parser's
   * error (its code kept, else FM_ERR_FEED_READ), or FM_ERR_WORKER when the thread died.
   * The thread is terminated either way.
   */
  async load (builder: IndexBuilder, feedId: number): Promise<FeedTally> {
    try {
      return await new Promise<FeedTally>((resolve, reject) => {
        let settled = false
        const handle = (ev: ParseEvent): void => {
          if (settled) return
          try {
            switch (ev.t) {
              case 'chunk':
                addChunk(builder, feedId, ev)
                // Acknowledged once indexed, so the window counts the chunk being indexed too.
                this.worker.postMessage(ACK)
                return
              case 'done': settled = true; return resolve(ev.tally)
              case 'error': settled = true; return reject(reviveError(ev.error))
              case 'fail': settled = true; return reject(ev.error)
            }
          } catch (err) {
            // The builder's own errors (index full...) keep their code, as on the one-thread path.
            settled = true
            reject(feedReadError(this.feed, err))
          }
        }
        this.handle = handle
        for (const ev of this.pending.splice(0)) handle(ev)
      })
    } finally {
      await this.close()
    }
  }

  /** Stops the thread (whatever it was doing) and drops what it prepared and nobody took. */
  async close (): Promise<void> {
    this.handle = () => {}
    this.pending.length = 0
    await this.worker.terminate()
  }
}
