/**
 * A MISP feed over HTTP (the layout MISP's "feed" export writes: `manifest.json` and one
 * `<uuid>.json` per event). Each fetch reads the manifest and downloads only the events that are
 * new or whose manifest entry (timestamp) changed; unchanged events are linked from the copy in
 * service, events gone from the manifest are left out. The result is a MISP feed folder that the
 * `misp` format reads as a local one.
 */
import { createHash } from 'node:crypto'
import { copyFile, link, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { FeedmatchError } from '../../errors.js'
import type { RemoteSource } from '../../config/types.js'
import { getJson, requestHeaders } from './http.js'

export interface MispResult {
  status: 'not-modified' | 'downloaded'
  /** Fingerprints of the events in the new folder, by uuid. */
  events: Record<string, string>
  fetched: number
  reused: number
}

function base (url: string): string {
  return url.replace(/manifest\.json$/, '').replace(/\/?$/, '/')
}

/** Fetches into `folder` (made here), reusing event files of `current` whose fingerprint held. */
export async function fetchMisp (src: RemoteSource, what: string, folder: string, current: string, held: Record<string, string>): Promise<MispResult> {
  const root = base(src.url)
  const headers = requestHeaders(src, what, { accept: 'application/json' })
  const { body: manifest } = await getJson(src, what, root + 'manifest.json', headers)
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) {
    throw new FeedmatchError('FM_ERR_FEED_FETCH', `${what}: manifest.json is not an object of events by uuid`)
  }
  const events: Record<string, string> = {}
  for (const [uuid, entry] of Object.entries(manifest)) {
    // The uuid names a file here: nothing but a plain uuid may (no path out of the folder).
    if (!/^[A-Za-z0-9-]{1,64}$/.test(uuid)) continue
    events[uuid] = createHash('sha1').update(JSON.stringify(entry)).digest('hex')
  }
  const same = Object.keys(events).length === Object.keys(held).length && Object.entries(events).every(([u, f]) => held[u] === f)
  if (same) return { status: 'not-modified', events, fetched: 0, reused: 0 }
  await mkdir(folder, { recursive: true })
  let fetched = 0
  let reused = 0
  for (const [uuid, fp] of Object.entries(events)) {
    const file = `${uuid}.json`
    if (held[uuid] === fp && await reuse(join(current, file), join(folder, file))) { reused++; continue }
    const { body } = await getJson(src, what, root + file, headers)
    await writeFile(join(folder, file), JSON.stringify(body))
    fetched++
  }
  await writeFile(join(folder, 'manifest.json'), JSON.stringify(manifest))
  return { status: 'downloaded', events, fetched, reused }
}

/** The held event file linked (or copied) into the new folder; false when it is not there. */
async function reuse (from: string, to: string): Promise<boolean> {
  try {
    await link(from, to)
    return true
  } catch {
    try { await copyFile(from, to); return true } catch { return false }
  }
}
