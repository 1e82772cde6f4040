/**
 * What a remote feed's cache folder remembers between fetches and restarts (`state.json`): the
 * HTTP validators of the copy it holds, when the last fetch succeeded or failed and why, the
 * TAXII cursor and the MISP events it holds. Written by rename, so a crash leaves the old or the
 * new state, never half of one.
 */
import { readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Validators } from './http.js'

export interface FetchState {
  validators?: Validators
  /** Epoch ms of the last fetch that succeeded (a 304 included: the source confirmed the copy). */
  lastSuccess?: number
  /** Epoch ms of the last fetch that brought new content. */
  lastUpdate?: number
  lastError?: { time: number, code: string, message: string }
  taxii?: {
    /** The collection's objects URL, found through discovery once. */
    objectsUrl?: string
    /** `added_after` for the next poll: the X-TAXII-Date-Added-Last of the last page taken. */
    addedAfter?: string
  }
  /** MISP: fingerprint (the manifest entry's timestamp and hash fields) of each event held. */
  misp?: Record<string, string>
}

export const STATE_FILE = 'state.json'

export async function readState (dir: string): Promise<FetchState> {
  try {
    const v = JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8')) as unknown
    return typeof v === 'object' && v !== null ? v as FetchState : {}
  } catch {
    return {}
  }
}

export async function writeState (dir: string, state: FetchState): Promise<void> {
  const tmp = join(dir, `.${STATE_FILE}.${process.pid}`)
  await writeFile(tmp, JSON.stringify(state, null, 2))
  await rename(tmp, join(dir, STATE_FILE))
}
