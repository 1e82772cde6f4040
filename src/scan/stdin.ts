/**
 * Main side: stdin cut into chunks of whole lines for BufferTasks. Gzip on stdin (`zcat`-less
 * pipes) is recognised by its magic and inflated here (zlib works on the libuv pool, not on this
 * thread). Each chunk is a fresh ArrayBuffer, transferred to a worker without a copy.
 */
import type { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'

const LF = 0x0a

/** One chunk: `data[0, length)`, and whether a line starts at its first byte. */
export interface StdinChunk { data: ArrayBuffer, length: number, atLineStart: boolean }

async function * gunzipIfNeeded (input: Readable): AsyncGenerator<Buffer> {
  const it = (input as AsyncIterable<Buffer>)[Symbol.asyncIterator]()
  const first = await it.next()
  if (first.done === true) return
  const head = first.value
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    const gunzip = createGunzip({ chunkSize: 256 * 1024 })
    void (async () => {
      try {
        if (!gunzip.write(head)) await new Promise((resolve) => gunzip.once('drain', resolve))
        for (let r = await it.next(); r.done !== true; r = await it.next()) {
          if (!gunzip.write(r.value)) await new Promise((resolve) => gunzip.once('drain', resolve))
        }
        gunzip.end()
      } catch (err) {
        gunzip.destroy(err as Error)
      }
    })()
    yield * (gunzip as AsyncIterable<Buffer>)
    return
  }
  yield head
  for (let r = await it.next(); r.done !== true; r = await it.next()) yield r.value
}

/** Chunks of about `chunkBytes` (at least maxLine + 1, so a line is cut only when it must be). */
export async function * stdinChunks (input: Readable, chunkBytes: number): AsyncGenerator<StdinChunk> {
  let ab = new ArrayBuffer(chunkBytes)
  let buf = Buffer.from(ab)
  let len = 0
  let atLineStart = true
  for await (const chunk of gunzipIfNeeded(input)) {
    let at = 0
    while (at < chunk.length) {
      const n = Math.min(chunk.length - at, chunkBytes - len)
      chunk.copy(buf, len, at, at + n)
      len += n
      at += n
      if (len < chunkBytes) continue
      // Full: send the whole lines; the partial last line moves to the next chunk.
      const lastNl = buf.lastIndexOf(LF, len - 1)
      const cut = lastNl >= 0 ? lastNl + 1 : len
      const next = new ArrayBuffer(chunkBytes)
      const nextBuf = Buffer.from(next)
      buf.copy(nextBuf, 0, cut, len)
      yield { data: ab, length: cut, atLineStart }
      // No LF in a whole chunk: the line goes on in the next one, which does not start a line.
      atLineStart = lastNl >= 0
      len -= cut
      ab = next
      buf = nextBuf
    }
  }
  if (len > 0) yield { data: ab, length: len, atLineStart }
}
