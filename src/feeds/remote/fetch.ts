/**
 * One fetch of one remote feed, end to end: download into a staging folder inside the feed's cache
 * folder, validate the download by building it alone (the same checks as a reload: it must parse,
 * hold `minRecords`, and not shrink past `maxShrink` against the version in service), then move it
 * into place by rename and record the outcome in state.json. A download that fails any step leaves
 * the cached copy, and so the feed in service, as it was.
 */
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { FeedmatchError, ourCode } from '../../errors.js'
import type { ResolvedFeed } from '../../config/types.js'
import type { GenerationHandle } from '../../index/types.js'
import { buildGeneration } from '../build.js'
import { download } from './http.js'
import { fetchMisp } from './misp.js'
import { fetchTaxii } from './taxii.js'
import { readState, writeState, type FetchState } from './state.js'

export interface FetchOutcome {
  feed: string
  status: 'updated' | 'not-modified' | 'failed'
  /** Records of the validated download (updated only). */
  records?: number
  error?: { code: string, message: string }
  ms: number
}

/** Builds the downloaded copy alone; throws the feed's failure (FM_ERR_FEED_EMPTY, ...) when it would not load. */
async function validate (feed: ResolvedFeed, candidate: string, previous?: GenerationHandle): Promise<number> {
  const res = await buildGeneration([{ ...feed, path: candidate, inServiceAs: feed.path }], { previous })
  const failure = res.failed[0]
  if (failure !== undefined) {
    throw new FeedmatchError(ourCode(failure.code, 'FM_ERR_FEED_READ'), `the download of feed "${feed.name}" was not taken: ${failure.message}`)
  }
  return res.loaded[0]?.meta.records ?? 0
}

/** Fetches a remote feed into its cache folder (see the module comment). Never throws: the outcome says. */
export async function fetchFeed (feed: ResolvedFeed, opts: { previous?: GenerationHandle } = {}): Promise<FetchOutcome> {
  const src = feed.remote
  const started = performance.now()
  if (src === undefined) return { feed: feed.name, status: 'failed', error: { code: 'FM_ERR_INTERNAL', message: 'not a remote feed' }, ms: 0 }
  const what = `feed "${feed.name}"`
  await mkdir(src.dir, { recursive: true })
  await clearStaging(src.dir)
  const state = await readState(src.dir)
  const staging = await mkdtemp(join(src.dir, '.incoming-'))
  const candidate = join(staging, basename(feed.path))
  const next: FetchState = { ...state }
  let outcome: FetchOutcome
  try {
    let changed: boolean
    if (src.kind === 'http') {
      const r = await download(src, what, candidate, state.validators ?? {})
      changed = r.status === 'downloaded'
      if (r.status === 'downloaded') next.validators = r.validators
    } else if (src.kind === 'misp') {
      const r = await fetchMisp(src, what, candidate, feed.path, state.misp ?? {})
      changed = r.status === 'downloaded'
      next.misp = r.events
    } else {
      const r = await fetchTaxii(src, what, candidate, feed.path, state.taxii)
      changed = r.status === 'downloaded'
      next.taxii = r.taxii
    }
    let records: number | undefined
    if (changed) {
      records = await validate(feed, candidate, opts.previous)
      // A file replaces the old copy in one rename. A MISP folder cannot be renamed over: the old
      // one moves aside first (a crash between the two leaves the feed to the next fetch).
      if (src.kind === 'misp') await rename(feed.path, join(staging, 'previous')).catch(() => {})
      await rename(candidate, feed.path)
      next.lastUpdate = Date.now()
    }
    next.lastSuccess = Date.now()
    delete next.lastError
    outcome = { feed: feed.name, status: changed ? 'updated' : 'not-modified', records, ms: performance.now() - started }
  } catch (err) {
    const e = err as FeedmatchError
    const code = ourCode(e.code, 'FM_ERR_FEED_FETCH')
    // The cursor and validators stay those of the copy held: the next fetch asks again.
    Object.assign(next, { validators: state.validators, taxii: state.taxii, misp: state.misp })
    next.lastError = { time: Date.now(), code, message: e.message }
    outcome = { feed: feed.name, status: 'failed', error: { code, message: e.message }, ms: performance.now() - started }
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
  await writeState(src.dir, next)
  return outcome
}

/** Staging folders a crash left behind. */
async function clearStaging (dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (name.startsWith('.incoming-')) await rm(join(dir, name), { recursive: true, force: true })
  }
}
