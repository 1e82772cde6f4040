/**
 * Output to a file, appended to. A file write callback means the bytes are in the file, so file
 * links are not `lossy`. After log rotation the emitter's reopen() starts a new file.
 */
import { createWriteStream } from 'node:fs'
import { streamLink, type Link } from './link.js'

/** Opens `path` for appending (created if missing); rejects when it cannot be opened. */
export function openFile (path: string): Promise<Link> {
  return new Promise((resolve, reject) => {
    const stream = createWriteStream(path, { flags: 'a' })
    const onError = (err: Error): void => reject(err)
    stream.once('error', onError)
    stream.once('ready', () => {
      stream.off('error', onError)
      resolve(streamLink(stream, { lossy: false, own: true, name: `file:${path}` }))
    })
  })
}
