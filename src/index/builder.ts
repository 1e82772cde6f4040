/**
 * IndexBuilder: collects feeds, contexts and keys in one thread, in growable build-time storage,
 * then lays a generation out in SharedArrayBuffers sized exactly (build()).
 */
import { Packr } from 'msgpackr'
import { FeedmatchError } from '../errors.js'
import type { FeedMeta, GenerationHandle } from './types.js'
import type { FeedIndex } from './feed-index.js'
import { forEachFeedKey } from './walk.js'
import { GrowBytes, GrowTable, GrowU32, full, sharedBuffer } from './grow.js'
import { MaskBuilder, TrieBuilder } from './trie-builder.js'
import { toByteString } from './text.js'
import { buildCidr4Filter, buildIpv4Filter, type Cidr4Tables } from './ipv4-filters.js'
import {
  CTX_LEN_BYTES, KEY_WORDS, LAYOUT_VERSION, NODE_DOMAIN, NODE_HOST, NODE_WORDS, MASK_HEAD, MASK_WORDS,
  NONE, REC_CTX, REC_FEED, REC_NEXT, REC_WORDS, cidrName, hashDigest, hashIpv4, hashIpv6, maskV4, maskV6Word,
  bytesToWords, type KeyedName
} from './layout.js'

type KeyCounter = keyof FeedMeta['keys']

/** How far link() walks a chain looking for the same record (see there). */
const LINK_SCAN = 64

const DIGEST_BY_WIDTH: Record<number, KeyedName> = { 16: 'md5', 20: 'sha1', 32: 'sha256' }

/** Where an IndexBuilder stood (IndexBuilder.mark): what rollback() goes back to. */
export interface BuilderMark {
  feeds: number
  keyCounts: Array<Partial<Record<KeyCounter, number>>>
  dupByFeed: number[]
  overlaps: Map<number, number>
  dup: number
  /** Lengths (u32 words, bytes) of the record table and the context arena. */
  records: number
  arena: number
  /** Entries of each keyed table by buffer name; a CIDR table absent here is dropped. */
  tables: Map<string, number>
  nodes: number
  masks: number
}

/** Builds one FeedIndex generation; see DESIGN.md section 2 and src/index/layout.ts. */
export class IndexBuilder {
  private readonly feeds: Array<Omit<FeedMeta, 'id'>> = []
  // useRecords off: msgpackr's record extension would tie every context to a structure table
  // that every reader must also hold; plain maps keep each context self-contained.
  private readonly packr = new Packr({ useRecords: false })
  private readonly arena = new GrowBytes(1 << 16)
  /** REC_WORDS u32 per record; row 0 reserved so that reference 0 means none. */
  private readonly records = new GrowU32(1024 * REC_WORDS)
  private readonly keyed = {
    md5: new GrowTable(KEY_WORDS.md5),
    sha1: new GrowTable(KEY_WORDS.sha1),
    sha256: new GrowTable(KEY_WORDS.sha256),
    ipv4: new GrowTable(KEY_WORDS.ipv4),
    ipv6: new GrowTable(KEY_WORDS.ipv6)
  }

  /** CIDR tables by buffer name (cidrName), built on first use of a (family, prefix length). */
  private readonly cidrs = new Map<string, { family: 4 | 6, prefix: number, table: GrowTable }>()
  private readonly trie = new TrieBuilder()
  private readonly masks = new MaskBuilder()
  private readonly key = new Uint32Array(8)
  private readonly keyCounts: Array<Partial<Record<KeyCounter, number>>> = []
  private readonly dupByFeed: number[] = []
  private dup = 0
  private lastWasDuplicate = false
  /**
   * Keys two feeds share (supplier intersections, for the dashboard): by `a * 2^16 + b`, a < b,
   * counted when a key already held by another feed is added for a feed that does not hold it.
   */
  private readonly overlaps = new Map<number, number>()
  /** The other feeds seen on the chain link() walks (reused). */
  private readonly chainFeeds: number[] = []

  constructor () {
    this.records.reserve(REC_WORDS)
    this.records.length = REC_WORDS
  }

  /** Records given twice for one key in one feed with the same context (one is kept), over all feeds. */
  get duplicates (): number { return this.dup }

  /** Registers a feed; returns its id (0, 1, ...). */
  addFeed (meta: Omit<FeedMeta, 'id'>): number {
    this.keyCounts.push({})
    this.dupByFeed.push(0)
    return this.feeds.push({ ...meta }) - 1
  }

  /** Updates a feed's meta before build (its `keys` counts are replaced by the keys actually indexed). */
  setFeedMeta (id: number, patch: Partial<Omit<FeedMeta, 'id'>>): void {
    this.checkFeed(id)
    Object.assign(this.feeds[id], patch)
  }

  /** Encodes a record's context into the arena; several keys of one record share the returned ref. */
  addContext (context: unknown): number {
    return this.addContextBytes(this.packr.pack(context))
  }

  /** Stores an already encoded context (msgpack bytes, copied as they are); returns its ref. */
  addContextBytes (bytes: Uint8Array): number {
    const a = this.arena
    if (a.length > 0xffffffff - CTX_LEN_BYTES - bytes.length) throw full('the context arena (4 GiB)')
    const ref = a.length
    a.reserve(CTX_LEN_BYTES + bytes.length)
    // The length prefix, little-endian, written byte by byte: a DataView per record cost more
    // than the copy itself (a million contexts per build).
    const arr = a.a
    const len = bytes.length
    arr[ref] = len & 0xff
    arr[ref + 1] = (len >>> 8) & 0xff
    arr[ref + 2] = (len >>> 16) & 0xff
    arr[ref + 3] = len >>> 24
    arr.set(bytes, ref + CTX_LEN_BYTES)
    a.length += CTX_LEN_BYTES + bytes.length
    return ref
  }

  /** Adds an MD5 (16 bytes), SHA1 (20) or SHA256 (32) key. */
  addHash (bytes: Uint8Array, feedId: number, ctxRef: number): void {
    const name = DIGEST_BY_WIDTH[bytes.length]
    if (name === undefined) throw bad(`a hash key has ${bytes.length} bytes; expected 16, 20 or 32`)
    const words = bytesToWords(bytes, this.key)
    const t = this.keyed[name]
    this.addKeyed(t, hashDigest(this.key, 0, words), words, feedId, ctxRef, name)
  }

  /** Adds an address (full prefix) or a network (masked here too, whatever the caller did). */
  addIp (bytes: Uint8Array, prefix: number, feedId: number, ctxRef: number): void {
    if (bytes.length !== 4 && bytes.length !== 16) throw bad(`an IP key has ${bytes.length} bytes; expected 4 or 16`)
    const bits = bytes.length * 8
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) throw bad(`prefix /${prefix} is out of range for a ${bits}-bit address`)
    const k = this.key
    bytesToWords(bytes, k)
    if (bytes.length === 16 && isV4Mapped(k) && prefix >= 96) {
      // `::ffff:a.b.c.d` is a.b.c.d (DESIGN.md section 3): store it where IPv4 lookups look.
      k[0] = k[3]
      return this.addIp4(k, prefix - 96, feedId, ctxRef)
    }
    if (bytes.length === 4) return this.addIp4(k, prefix, feedId, ctxRef)
    for (let i = 0; i < 4; i++) k[i] = (k[i] & maskV6Word(prefix, i)) >>> 0
    const t = prefix === 128 ? this.keyed.ipv6 : this.cidrTable(6, prefix, 4)
    this.addKeyed(t, hashIpv6(k, 0), 4, feedId, ctxRef, prefix === 128 ? 'ipv6' : 'cidr')
  }

  /** Adds a domain-kind (host and subdomains) or host-kind (exact host) record for a normalized host. */
  addDomain (host: string, kind: 'domain' | 'host', feedId: number, ctxRef: number): void {
    if (host === '') throw bad('an empty host cannot be indexed')
    const h = toByteString(host)
    const row = this.trie.nodeOf(h, 0, h.length) * NODE_WORDS + (kind === 'domain' ? NODE_DOMAIN : NODE_HOST)
    const rows = this.trie.rows.a
    rows[row] = this.link(rows[row], feedId, ctxRef)
    this.count(feedId, kind)
  }

  /** Adds a normalized URL mask (`host[/path][?query]`, `*` matching any run). */
  addUrlMask (mask: string, feedId: number, ctxRef: number): void {
    if (mask === '') throw bad('an empty URL mask cannot be indexed')
    const idx = this.masks.findOrAdd(toByteString(mask), this.trie)
    const rows = this.masks.rows.a
    const row = idx * MASK_WORDS + MASK_HEAD
    rows[row] = this.link(rows[row], feedId, ctxRef)
    this.count(feedId, 'url')
  }

  /**
   * Adds to feed toFeedId every key that feed fromFeedId holds in another generation, each with its
   * context copied byte for byte; records that shared a context still share one. This is how a feed
   * that failed to load keeps its previous version in service (DESIGN.md section 8).
   */
  copyFeed (from: FeedIndex, fromFeedId: number, toFeedId: number): void {
    this.checkFeed(toFeedId)
    const ctxOf = new Map<number, number>()
    forEachFeedKey(from.handle, fromFeedId, (key, rec, oldCtx) => {
      let ctx = ctxOf.get(oldCtx)
      if (ctx === undefined) ctxOf.set(oldCtx, ctx = this.addContextBytes(from.contextBytes(rec)))
      switch (key.t) {
        case 'hash': return this.addHash(key.bytes, toFeedId, ctx)
        case 'ip': return this.addIp(key.bytes, key.prefix, toFeedId, ctx)
        case 'url': return this.addUrlMask(key.mask, toFeedId, ctx)
        default: return this.addDomain(key.host, key.t, toFeedId, ctx)
      }
    })
  }

  /** Where the builder stands now; rollback(mark) takes back whatever is added after it. */
  mark (): BuilderMark {
    const tables = new Map<string, number>()
    for (const [name, t] of this.tables()) tables.set(name, t.size)
    return {
      feeds: this.feeds.length,
      keyCounts: this.keyCounts.map((c) => ({ ...c })),
      dupByFeed: [...this.dupByFeed],
      overlaps: new Map(this.overlaps),
      dup: this.dup,
      records: this.records.length,
      arena: this.arena.length,
      tables,
      nodes: this.trie.size,
      masks: this.masks.size
    }
  }

  /**
   * Takes back the feeds, contexts, records and keys added since mark, so that a feed failing
   * halfway leaves nothing of its own behind (its partial records would otherwise shadow the
   * previous version carried over, and hold memory). Records are numbered in order and linked at
   * the tail of their chain, so the ones to drop end every chain: cutting chains there is enough.
   */
  rollback (mark: BuilderMark): void {
    const first = mark.records / REC_WORDS
    const recs = this.records.a
    const cut = (head: number): number => {
      if (head >= first) return NONE
      for (let r = head; r !== NONE; r = recs[r * REC_WORDS + REC_NEXT]) {
        if (recs[r * REC_WORDS + REC_NEXT] >= first) recs[r * REC_WORDS + REC_NEXT] = NONE
      }
      return head
    }
    for (const [name, t] of this.tables()) {
      const n = mark.tables.get(name)
      if (n === undefined) { this.cidrs.delete(name); continue }
      for (let e = 0; e < n; e++) t.heads.a[e] = cut(t.heads.a[e])
      t.truncate(n)
    }
    this.trie.truncate(mark.nodes)
    const nodes = this.trie.rows.a
    for (let r = 0; r <= mark.nodes * NODE_WORDS; r += NODE_WORDS) {
      nodes[r + NODE_DOMAIN] = cut(nodes[r + NODE_DOMAIN])
      nodes[r + NODE_HOST] = cut(nodes[r + NODE_HOST])
    }
    this.masks.truncate(mark.masks, this.trie)
    const masks = this.masks.rows.a
    for (let m = 0; m < mark.masks; m++) masks[m * MASK_WORDS + MASK_HEAD] = cut(masks[m * MASK_WORDS + MASK_HEAD])
    this.records.length = mark.records
    this.arena.length = mark.arena
    this.feeds.length = mark.feeds
    this.keyCounts.splice(0, Infinity, ...mark.keyCounts.map((c) => ({ ...c })))
    this.dupByFeed.splice(0, Infinity, ...mark.dupByFeed)
    this.overlaps.clear()
    for (const [k, v] of mark.overlaps) this.overlaps.set(k, v)
    this.dup = mark.dup
  }

  /** Lays the generation out in SharedArrayBuffers sized exactly; the builder can go on afterwards. */
  build (id: number): GenerationHandle {
    const buffers: Record<string, SharedArrayBuffer> = {}
    const geometry: Record<string, number> = { layout: LAYOUT_VERSION, duplicates: this.dup }
    const recWords = this.records.length
    buffers.records = sharedBuffer(recWords * 4, 'the record table')
    new Uint32Array(buffers.records).set(this.records.a.subarray(0, recWords))
    geometry['records.n'] = recWords / REC_WORDS - 1
    buffers.arena = sharedBuffer(this.arena.length, 'the context arena')
    new Uint8Array(buffers.arena).set(this.arena.a.subarray(0, this.arena.length))
    for (const [name, t] of this.tables()) {
      const { buffer, cap, n } = t.toShared(`the ${name} table`)
      buffers[name] = buffer
      geometry[`${name}.cap`] = cap
      geometry[`${name}.n`] = n
    }
    const cidr4: Cidr4Tables = [...this.cidrs.values()].filter((c) => c.family === 4).map((c) => [c.prefix, c.table])
    const v4 = buildIpv4Filter(this.keyed.ipv4, cidr4)
    buffers.ipv4filter = v4.buffer
    geometry['ipv4filter.bits'] = v4.bits
    const filter = buildCidr4Filter(cidr4)
    buffers.cidr4filter = filter.buffer
    geometry['cidr4filter.bits'] = filter.bits
    const trie = this.trie.toShared()
    buffers.nodes = trie.nodes
    buffers.labels = trie.labels
    geometry['nodes.cap'] = trie.cap
    geometry['nodes.n'] = trie.n
    const masks = this.masks.toShared()
    buffers.masks = masks.masks
    buffers.maskText = masks.text
    geometry['masks.n'] = masks.n
    const feeds: FeedMeta[] = this.feeds.map((f, i) => ({
      ...structuredClone(f), id: i, keys: { ...this.keyCounts[i] }, duplicates: this.dupByFeed[i]
    }))
    const overlaps: Array<[number, number, number]> = [...this.overlaps].map(([k, n]) => [Math.floor(k / 65536), k % 65536, n])
    return { id, buffers, geometry, feeds, builtAt: Date.now(), overlaps }
  }

  /** Every keyed table (hashes, IPs, CIDRs) by buffer name. */
  private tables (): Array<[string, GrowTable]> {
    return [...Object.entries(this.keyed), ...[...this.cidrs].map(([name, c]): [string, GrowTable] => [name, c.table])]
  }

  private addIp4 (k: Uint32Array, prefix: number, feedId: number, ctxRef: number): void {
    k[0] = (k[0] & maskV4(prefix)) >>> 0
    const t = prefix === 32 ? this.keyed.ipv4 : this.cidrTable(4, prefix, 1)
    this.addKeyed(t, hashIpv4(k[0]), 1, feedId, ctxRef, prefix === 32 ? 'ipv4' : 'cidr')
  }

  private cidrTable (family: 4 | 6, prefix: number, words: number): GrowTable {
    const name = cidrName(family, prefix)
    let c = this.cidrs.get(name)
    if (c === undefined) this.cidrs.set(name, c = { family, prefix, table: new GrowTable(words) })
    return c.table
  }

  private addKeyed (t: GrowTable, h: number, words: number, feedId: number, ctxRef: number, counter: KeyCounter): void {
    if (t.words !== words) throw new FeedmatchError('FM_ERR_INTERNAL', 'key width does not match its table')
    const e = t.findOrAdd(this.key, 0, h)
    t.heads.a[e] = this.link(t.heads.a[e], feedId, ctxRef)
    this.count(feedId, counter)
  }

  /**
   * Appends a record (feedId, ctxRef) to the chain starting at head and returns the chain's head.
   * Every record of a key is kept, also several of one feed (one IP listed for two malware
   * families: DESIGN.md section 3), except a record whose feed and context bytes equal one
   * already on the chain: that is the same line given twice, counted as a duplicate, not linked.
   * The walk stops after LINK_SCAN records, so a key listed thousands of times costs no more per
   * add; past that the new record goes right after the head, unchecked.
   */
  private link (head: number, feedId: number, ctxRef: number): number {
    this.checkFeed(feedId)
    if (!Number.isInteger(ctxRef) || ctxRef < 0 || ctxRef >= this.arena.length) {
      throw bad(`context reference ${ctxRef} was not returned by addContext`)
    }
    this.lastWasDuplicate = false
    const recs = this.records.a
    let last = NONE
    let walked = 0
    let own = false
    const others = this.chainFeeds
    others.length = 0
    for (let r = head; r !== NONE && walked < LINK_SCAN; r = recs[r * REC_WORDS + REC_NEXT], walked++) {
      const f = recs[r * REC_WORDS + REC_FEED]
      if (f === feedId) {
        own = true
        if (this.sameContext(recs[r * REC_WORDS + REC_CTX], ctxRef)) {
          this.dup++
          this.dupByFeed[feedId]++
          this.lastWasDuplicate = true
          return head
        }
      } else if (!others.includes(f)) {
        others.push(f)
      }
      last = r
    }
    if (!own) {
      for (const f of others) {
        const k = f < feedId ? f * 65536 + feedId : feedId * 65536 + f
        this.overlaps.set(k, (this.overlaps.get(k) ?? 0) + 1)
      }
    }
    this.records.reserve(REC_WORDS)
    const row = this.records.length
    const ref = row / REC_WORDS
    const a = this.records.a
    a[row + REC_FEED] = feedId
    a[row + REC_CTX] = ctxRef
    a[row + REC_NEXT] = NONE
    this.records.length += REC_WORDS
    if (last === NONE) return ref
    if (walked === LINK_SCAN) {
      // A long chain: insert after the head instead of walking to the end.
      a[row + REC_NEXT] = a[head * REC_WORDS + REC_NEXT]
      a[head * REC_WORDS + REC_NEXT] = ref
      return head
    }
    a[last * REC_WORDS + REC_NEXT] = ref
    return head
  }

  /** Whether two contexts of the arena hold the same bytes (one record's keys share one ref). */
  private sameContext (x: number, y: number): boolean {
    if (x === y) return true
    const arr = this.arena.a
    const len = arr[x] | (arr[x + 1] << 8) | (arr[x + 2] << 16) | (arr[x + 3] << 24)
    const leny = arr[y] | (arr[y + 1] << 8) | (arr[y + 2] << 16) | (arr[y + 3] << 24)
    if (len !== leny) return false
    for (let i = CTX_LEN_BYTES, end = CTX_LEN_BYTES + len; i < end; i++) {
      if (arr[x + i] !== arr[y + i]) return false
    }
    return true
  }

  private count (feedId: number, counter: KeyCounter): void {
    if (this.lastWasDuplicate) return
    const c = this.keyCounts[feedId]
    c[counter] = (c[counter] ?? 0) + 1
  }

  private checkFeed (id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.feeds.length) throw bad(`feed id ${id} was not returned by addFeed`)
  }
}

function bad (message: string): FeedmatchError {
  return new FeedmatchError('FM_ERR_INDICATOR', message)
}

function isV4Mapped (k: Uint32Array): boolean {
  return k[0] === 0 && k[1] === 0 && k[2] === 0xffff
}
