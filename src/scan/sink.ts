/**
 * Where `scan` writes detections: stdout, a file (`-o`, truncated first, as a shell redirect
 * would) or a SIEM through the Emitter of `serve` (`--to`). One contract for the three:
 * write() returns false at the high-water mark and 'drain' follows (CONVENTIONS.md rule 4).
 */
import { EventEmitter, once } from 'node:events'
import { createWriteStream } from 'node:fs'
import type { Writable } from 'node:stream'
import { FeedmatchError } from '../errors.js'
import { Emitter, type EmitterOptions } from '../output/emitter.js'

/** A destination for output records; emits 'drain' and 'broken' (the reader went away). */
export interface Sink extends EventEmitter {
  write (buf: Buffer): boolean
  readonly needsDrain: boolean
  /** Set when the destination failed for good (EPIPE on stdout, a full disk). */
  readonly broken: Error | null
  /** Flushes and closes; resolves with a message when something could not be delivered. */
  close (): Promise<string | null>
}

class StreamSink extends EventEmitter implements Sink {
  needsDrain = false
  broken: Error | null = null

  constructor (private readonly stream: Writable, private readonly own: boolean) {
    super()
    stream.on('drain', () => { this.needsDrain = false; this.emit('drain') })
    stream.on('error', (err: Error) => {
      this.broken ??= err
      this.emit('broken', err)
    })
  }

  write (buf: Buffer): boolean {
    if (this.broken !== null) return true
    const ok = this.stream.write(buf)
    if (!ok) this.needsDrain = true
    return ok
  }

  async close (): Promise<string | null> {
    if (this.broken === null) {
      if (this.own) {
        this.stream.end()
        await once(this.stream, 'finish').catch(() => {})
      } else if (this.stream.writableLength > 0) {
        await new Promise<void>((resolve) => this.stream.write('', () => resolve()))
      }
    }
    const b = this.broken as NodeJS.ErrnoException | null
    // A reader that stops early (`| head`) is not an error: it has what it wanted.
    return b === null || b.code === 'EPIPE' ? null : b.message
  }
}

class EmitterSink extends EventEmitter implements Sink {
  readonly broken: Error | null = null

  constructor (private readonly emitter: Emitter) {
    super()
    emitter.on('drain', () => this.emit('drain'))
  }

  get needsDrain (): boolean { return this.emitter.needsDrain }

  write (buf: Buffer): boolean { return this.emitter.write(buf) }

  async close (): Promise<string | null> {
    await this.emitter.close()
    const c = this.emitter.counters
    return c.bytesDropped > 0 ? `${c.bytesDropped} bytes of detections could not be delivered (${Object.entries(c.dropped).filter(([, n]) => n > 0).map(([r, n]) => `${r}: ${n}`).join(', ')})` : null
  }
}

/** Standard output. */
export function stdoutSink (): Sink {
  return new StreamSink(process.stdout, false)
}

/** A file, created or truncated; rejects with FM_ERR_USAGE when it cannot be opened. */
export async function fileSink (path: string): Promise<Sink> {
  const stream = createWriteStream(path, { flags: 'w' })
  await new Promise<void>((resolve, reject) => {
    stream.once('ready', resolve)
    stream.once('error', (err) => reject(new FeedmatchError('FM_ERR_USAGE', `-o ${path}: cannot write the file (${err.message})`, { cause: err })))
  })
  return new StreamSink(stream, true)
}

/** A SIEM over the serve emitter (connects now; detections queue while it is unreachable). */
export async function emitterSink (opts: EmitterOptions, onLost: (err: Error) => void): Promise<Sink> {
  const emitter = new Emitter(opts)
  emitter.on('lost', onLost)
  emitter.on('error', onLost)
  await emitter.start()
  return new EmitterSink(emitter)
}
