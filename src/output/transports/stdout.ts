/**
 * Output to the process's stdout. It belongs to the process, so the link never ends or destroys
 * it, and it cannot be reopened: an error there (EPIPE: the reader went away) is fatal.
 */
import { streamLink, type Link } from './link.js'

/** Wraps process.stdout as a Link; its write() return value and 'drain' carry the backpressure. */
export function openStdout (): Promise<Link> {
  return Promise.resolve(streamLink(process.stdout, { lossy: false, own: false, name: 'stdout' }))
}
