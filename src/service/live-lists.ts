/**
 * Live lists: allowlist and blocklist entries added and removed through the API while the service
 * runs, each with a reason, an optional scope (sender networks, feeds) and an optional expiry.
 * They are kept on disk (`feeds.lists`/lists.json, written by rename), survive restarts, and go
 * to matching as a small overlay index beside the generation in service: a change rebuilds the
 * overlay alone (milliseconds at thousands of entries) and the next batch carries it, so it
 * takes effect without a rebuild of the feeds. The overlay stays an overlay: its scoped entries
 * cannot be said by the main index's roles, so it is not merged into it.
 */
import { randomUUID } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs'
import { join } from 'node:path'
import { EventEmitter } from 'node:events'
import { FeedmatchError } from '../errors.js'
import { IndexBuilder } from '../index/builder.js'
import type { FeedMeta, GenerationHandle } from '../index/types.js'
import { indicatorKeys } from '../match/keys.js'
import { addKey } from '../feeds/prepare.js'
import { tryParseDuration } from '../config/duration.js'
import { isAddressOrCidr } from '../config/endpoint.js'

export type ListName = 'allowlist' | 'blocklist'

export interface ListEntry {
  id: string
  list: ListName
  value: string
  reason: string
  /** Only events from these sender networks; only detections of these feeds (allowlist). */
  scope?: { senders?: string[], feeds?: string[] }
  /** Epoch ms. */
  expires?: number
  added: number
  /** The token that added it (or `local` without tokens). */
  by: string
}

/** A request to add an entry, as the API takes it (JSON). */
export interface EntryRequest {
  value?: unknown
  reason?: unknown
  scope?: { sender?: unknown, feed?: unknown }
  expires?: unknown
}

/** The overlay's feed names (and the blocklist's category). */
export const LIVE_ALLOW = 'live-allowlist'
export const LIVE_BLOCK = 'live-blocklist'
const LIVE_BLOCK_CATEGORY = 'Live_Blocklist'
/** Entries the lists may hold, together: a change rewrites the file and rebuilds the overlay on the service thread (about 250 ms at 10,000 entries here), so they stay small; big lists belong in feed files. */
export const MAX_ENTRIES = 20_000
const MAX_REASON = 500

/** A request that cannot be taken: the API answers 400 with the message. */
export class EntryError extends Error {}

function list <T> (v: unknown): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v as T[] : [v as T]
}

/** The entry a request asks for, checked: an indicator, a reason, scope networks and an expiry that parse. */
export function entryOf (listName: ListName, req: EntryRequest, by: string, now = Date.now()): ListEntry {
  if (typeof req.value !== 'string' || req.value.trim() === '') throw new EntryError('expected "value": an indicator (hash, IP, CIDR, URL or domain)')
  const value = req.value.trim()
  const keys = indicatorKeys(value, 'auto')
  if ('error' in keys) throw new EntryError(`"value": ${keys.error}`)
  if (typeof req.reason !== 'string' || req.reason.trim() === '') throw new EntryError('expected "reason": why this entry exists (it is shown in detections and the audit log)')
  if (req.reason.length > MAX_REASON) throw new EntryError(`"reason": at most ${MAX_REASON} characters`)
  const senders = list<unknown>(req.scope?.sender)
  for (const s of senders) if (typeof s !== 'string' || !isAddressOrCidr(s)) throw new EntryError(`"scope.sender": expected an address or a CIDR; found ${JSON.stringify(s)}`)
  const feeds = list<unknown>(req.scope?.feed)
  for (const f of feeds) if (typeof f !== 'string' || f === '') throw new EntryError(`"scope.feed": expected feed names; found ${JSON.stringify(f)}`)
  if (feeds.length > 0 && listName === 'blocklist') throw new EntryError('"scope.feed": only an allowlist entry can be scoped to feeds')
  let expires: number | undefined
  if (req.expires !== undefined) {
    const d = typeof req.expires === 'string' ? tryParseDuration(req.expires) : undefined
    const at = d !== undefined ? now + d : typeof req.expires === 'string' ? Date.parse(req.expires) : NaN
    if (!Number.isFinite(at) || at <= now) throw new EntryError('"expires": expected a duration (30m, 7d) or a date in the future (ISO 8601)')
    expires = at
  }
  const scope = senders.length > 0 || feeds.length > 0
    ? { ...(senders.length > 0 ? { senders: senders as string[] } : {}), ...(feeds.length > 0 ? { feeds: feeds as string[] } : {}) }
    : undefined
  return { id: randomUUID(), list: listName, value, reason: req.reason.trim(), ...(scope === undefined ? {} : { scope }), ...(expires === undefined ? {} : { expires }), added: now, by }
}

function meta (name: string, role: 'allow' | 'block', category: string): Omit<FeedMeta, 'id'> {
  return { name, category, role, actionable: {}, path: `(live ${name})`, format: 'live', records: 0, keys: {}, skipped: 0, skippedByReason: {}, skippedSamples: [], filtered: 0 }
}

/**
 * The lists, their file, and the overlay built from them. Emits 'changed' (the overlay handle, or
 * null when both lists are empty) after every change, expiry included.
 */
export class LiveLists extends EventEmitter {
  private entries: ListEntry[] = []
  private overlayHandle: GenerationHandle | null = null
  private expiryTimer?: NodeJS.Timeout
  private nextId = 1_000_000

  constructor (private readonly dir: string) {
    super()
  }

  get overlay (): GenerationHandle | null { return this.overlayHandle }

  /** Reads lists.json (none yet: empty lists); drops what expired meanwhile. */
  load (): void {
    let doc: unknown
    try {
      doc = JSON.parse(readFileSync(join(this.dir, 'lists.json'), 'utf8'))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      doc = { entries: [] }
    }
    const entries = (doc as { entries?: unknown }).entries
    this.entries = Array.isArray(entries) ? (entries as ListEntry[]).filter((e) => typeof e?.id === 'string' && typeof e.value === 'string') : []
    this.sweep(false)
    this.rebuild()
  }

  all (listName?: ListName): ListEntry[] {
    return this.entries.filter((e) => listName === undefined || e.list === listName)
  }

  add (entry: ListEntry): void {
    if (this.entries.length >= MAX_ENTRIES) throw new EntryError(`the live lists hold ${MAX_ENTRIES} entries at most; remove some, or put large lists in a feed file`)
    this.entries.push(entry)
    try {
      this.commit()
    } catch (err) {
      this.entries.pop() // not on disk: not in the lists either
      throw err
    }
  }

  /** Removes an entry; false when there is none with that id in that list. */
  remove (listName: ListName, id: string): ListEntry | undefined {
    const i = this.entries.findIndex((e) => e.id === id && e.list === listName)
    if (i < 0) return undefined
    const [gone] = this.entries.splice(i, 1)
    try {
      this.commit()
    } catch (err) {
      this.entries.splice(i, 0, gone)
      throw err
    }
    return gone
  }

  close (): void {
    clearTimeout(this.expiryTimer)
  }

  private commit (): void {
    this.save()
    this.rebuild()
  }

  /** lists.json by write, fsync and rename: a crash leaves the old file or the new one. */
  private save (): void {
    try {
      mkdirSync(this.dir, { recursive: true })
      const tmp = join(this.dir, `.lists.json.${process.pid}`)
      writeFileSync(tmp, JSON.stringify({ entries: this.entries }, null, 1))
      const fd = openSync(tmp, 'r')
      try { fsyncSync(fd) } finally { closeSync(fd) }
      renameSync(tmp, join(this.dir, 'lists.json'))
    } catch (err) {
      throw new FeedmatchError('FM_ERR_WRITE', `cannot write the live lists to ${this.dir}/lists.json (${(err as Error).message}); the change was not made: set feeds.lists to a writable folder`, { cause: err })
    }
  }

  /** Drops expired entries; with `persist`, writes the file when any went. */
  private sweep (persist: boolean): boolean {
    const now = Date.now()
    const before = this.entries.length
    this.entries = this.entries.filter((e) => e.expires === undefined || e.expires > now)
    const gone = this.entries.length !== before
    if (gone && persist) this.save()
    return gone
  }

  /** The overlay from the entries, and the expiry timer for the earliest one. */
  private rebuild (): void {
    clearTimeout(this.expiryTimer)
    if (this.entries.length === 0) {
      this.overlayHandle = null
    } else {
      const b = new IndexBuilder()
      const allow = b.addFeed(meta(LIVE_ALLOW, 'allow', 'Allowlist'))
      const block = b.addFeed(meta(LIVE_BLOCK, 'block', LIVE_BLOCK_CATEGORY))
      const counts = [0, 0]
      for (const e of this.entries) {
        const keys = indicatorKeys(e.value, 'auto')
        if ('error' in keys) continue
        const feed = e.list === 'allowlist' ? allow : block
        const ctx = b.addContext({ id: e.id, list: e.list, reason: e.reason, ...(e.scope === undefined ? {} : { scope: e.scope }), by: e.by, added: new Date(e.added).toISOString(), ...(e.expires === undefined ? {} : { expires: new Date(e.expires).toISOString() }) })
        for (const k of keys) addKey(b, k, feed, ctx)
        counts[feed]++
      }
      b.setFeedMeta(allow, { records: counts[0] })
      b.setFeedMeta(block, { records: counts[1] })
      this.overlayHandle = b.build(this.nextId++)
    }
    const next = Math.min(...this.entries.map((e) => e.expires ?? Infinity))
    if (Number.isFinite(next)) {
      this.expiryTimer = setTimeout(() => { if (this.sweep(true)) this.rebuild() }, Math.min(Math.max(0, next - Date.now()) + 10, 2 ** 31 - 1))
      this.expiryTimer.unref()
    }
    this.emit('changed', this.overlayHandle)
  }
}
