/**
 * From the feed entries of a config to the feeds to load: a file is one feed, a folder is one feed
 * per file (or one MISP feed when it holds `manifest.json`). Names and categories get their
 * defaults here; formats stay as configured, since the loader detects the rest.
 */
import type { Dirent, Stats } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { basename, extname, join } from 'node:path'
import { FeedmatchError } from '../errors.js'
import type { FeedRole } from '../index/types.js'
import type { Config, FeedConfig, ResolvedFeed } from './types.js'

const COMPRESSED = new Set(['.gz', '.bz2', '.xz', '.zst', '.zip'])

// Files that sit beside feeds in downloaded feed folders but are not feeds.
function ignored (name: string): boolean {
  return name.startsWith('.') || /^readme/i.test(name) || /\.md$/i.test(name)
}

/** The feed name a file gives: its name without the extension (`x.json.gz` -> `x`). */
function stem (file: string): string {
  let name = basename(file)
  if (COMPRESSED.has(extname(name).toLowerCase())) name = name.slice(0, -extname(name).length)
  const ext = extname(name)
  return ext === '' ? name : name.slice(0, -ext.length)
}

const DEFAULT_CATEGORY: Record<FeedRole, string | undefined> = { feed: undefined, allow: 'Allowlist', block: 'Blocklist' }

function resolved (entry: FeedConfig, role: FeedRole, path: string, name: string): ResolvedFeed {
  return Object.freeze({
    ...entry,
    role,
    path,
    name,
    category: entry.category ?? DEFAULT_CATEGORY[role] ?? name,
  })
}

async function statOrUndefined (path: string): Promise<Stats | undefined> {
  try {
    return await stat(path)
  } catch {
    return undefined
  }
}

async function isMispFolder (folder: string): Promise<boolean> {
  return (await statOrUndefined(join(folder, 'manifest.json')))?.isFile() === true
}

async function expandFolder (entry: FeedConfig, role: FeedRole): Promise<ResolvedFeed[]> {
  let items: Dirent[]
  try {
    items = await readdir(entry.path, { withFileTypes: true })
  } catch (err) {
    throw new FeedmatchError('FM_ERR_FEED_READ', `${entry.origin}: cannot read the folder ${entry.path}: ${(err as Error).message}`, { cause: err })
  }
  const out: ResolvedFeed[] = []
  const names = items.map(d => d.name).filter(n => !ignored(n)).sort()
  for (const name of names) {
    const path = join(entry.path, name)
    // stat rather than the Dirent, so that symlinked feeds count; a broken link is skipped.
    const st = await statOrUndefined(path)
    if (st?.isFile() === true) {
      out.push(resolved(entry, role, path, stem(name)))
    } else if (st?.isDirectory() === true && (entry.format === undefined || entry.format === 'misp') && await isMispFolder(path)) {
      out.push(resolved({ ...entry, format: 'misp' }, role, path, name))
    }
  }
  return out
}

async function expandEntry (entry: FeedConfig, role: FeedRole, keepMissing: boolean): Promise<ResolvedFeed[]> {
  // A remote feed is its copy in the cache, there or not yet (its fetch says why not).
  if (entry.remote !== undefined) return [resolved(entry, role, entry.path, entry.name ?? stem(entry.path))]
  let st: Stats
  try {
    st = await stat(entry.path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    // On a reload, a feed that vanished is one feed that fails (and keeps its version in
    // service, with a feed_failed event), not a reload that fails as a whole.
    if (keepMissing && (code === 'ENOENT' || code === 'ENOTDIR')) return [resolved(entry, role, entry.path, entry.name ?? stem(entry.path))]
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new FeedmatchError('FM_ERR_FEED_NOT_FOUND', `${entry.origin}: ${entry.path} does not exist`, { cause: err })
    }
    throw new FeedmatchError('FM_ERR_FEED_READ', `${entry.origin}: cannot read ${entry.path}: ${(err as Error).message}`, { cause: err })
  }
  if (st.isDirectory()) {
    if (await isMispFolder(entry.path)) {
      return [resolved({ ...entry, format: entry.format ?? 'misp' }, role, entry.path, entry.name ?? basename(entry.path))]
    }
    return await expandFolder(entry, role)
  }
  if (!st.isFile()) {
    throw new FeedmatchError('FM_ERR_FEED_NOT_FOUND', `${entry.origin}: ${entry.path} is neither a file nor a folder`)
  }
  return [resolved(entry, role, entry.path, entry.name ?? stem(entry.path))]
}

/**
 * The feeds a config names, one per file or MISP folder: feeds, then allowlist, then blocklist,
 * each in config order and folders in name order. Disabled entries are skipped without looking
 * at their path. Throws FM_ERR_FEED_NOT_FOUND for a missing path, naming where it came from (with
 * `keepMissing`, a reload's choice, the path is kept as a feed whose load then fails), and
 * FM_ERR_CONFIG when two feeds end up with the same name.
 */
export async function expandFeedSources (config: Config, opts: { keepMissing?: boolean } = {}): Promise<ResolvedFeed[]> {
  const lists: Array<[FeedRole, readonly FeedConfig[]]> = [
    ['feed', config.feeds.sources],
    ['allow', config.feeds.allowlist],
    ['block', config.feeds.blocklist],
  ]
  const out: ResolvedFeed[] = []
  const byPath = new Set<string>()
  const byName = new Map<string, ResolvedFeed>()
  for (const [role, entries] of lists) {
    for (const entry of entries) {
      if (!entry.enabled) continue
      for (let feed of await expandEntry(entry, role, opts.keepMissing === true)) {
        // The same file named twice (a folder in the config and again with --feeds) loads once.
        if (byPath.has(`${role} ${feed.path}`)) continue
        byPath.add(`${role} ${feed.path}`)
        let other = byName.get(feed.name)
        if (other !== undefined && entry.name === undefined) {
          // A name taken from the file (two `urlhaus.csv` in two folders) gets a suffix; a
          // name the user wrote is never changed.
          let n = 2
          while (byName.has(`${feed.name}-${n}`)) n++
          feed = Object.freeze({ ...feed, name: `${feed.name}-${n}` }) // the category stays the file's
          other = undefined
        }
        if (other !== undefined) {
          throw new FeedmatchError(
            'FM_ERR_CONFIG',
            `${feed.origin}: expected a feed name used once; found "${feed.name}" for ${feed.path}, ` +
              `already the name of ${other.path} (${other.origin}); set name: or rename a file`
          )
        }
        byName.set(feed.name, feed)
        out.push(feed)
      }
    }
  }
  return out
}

export type { ResolvedFeed } from './types.js'
