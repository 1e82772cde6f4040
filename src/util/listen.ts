import { once, type EventEmitter } from 'node:events'
import { FeedmatchError } from '../errors.js'

const REASONS: Record<string, string> = {
  EADDRINUSE: 'the port is in use by another process',
  EACCES: 'permission denied (ports under 1024 need privileges)',
  EADDRNOTAVAIL: 'the address is not on this machine'
}

/**
 * Waits for a server or socket to listen; a failure (a port in use, an address that is not
 * here) becomes FM_ERR_LISTEN naming `what` (the configured address) and the reason.
 */
export async function listening (server: EventEmitter, what: string): Promise<void> {
  try {
    await once(server, 'listening')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? ''
    throw new FeedmatchError('FM_ERR_LISTEN', `${what}: cannot listen: ${REASONS[code] ?? (err as Error).message}`, { cause: err })
  }
}
