/**
 * FeedIndex: a read-only view over one generation's SharedArrayBuffers, usable in any thread.
 * Lookups push into a caller-owned Hits; a miss allocates nothing, and strings (the matched
 * indicator) are built only on a hit. Layout: src/index/layout.ts.
 */
import { Unpackr } from 'msgpackr'
import { FeedmatchError } from '../errors.js'
import type { FeedMeta, GenerationHandle, Hits, MatchType } from './types.js'
import { checkHandle, findU32, findWords, keyTable, maskStarts, nodeRows, openCidrs, type KeyTable } from './views.js'
import { globMatch, holdsNeedle, maskNeedle } from './glob.js'
import { urlMayMatch, type TrieView } from './url-prefilter.js'
import { HEX_VALUE, formatIpv4, formatIpv6, fromByteString, isAscii, toByteString, wordsToHex } from './text.js'
import {
  CTX_LEN_BYTES, MASK_EXACT_HOST, MASK_FLAGS, MASK_HEAD, MASK_NEXT, MASK_WORDS, NODE_DOMAIN,
  NODE_HOST, NODE_LABEL, NODE_MASKS, NODE_PARENT, NODE_WORDS, NONE, REC_CTX, REC_FEED, REC_NEXT, REC_WORDS, ROOT,
  bytesToWords, hashDigest, hashIpv4, hashIpv6, hashLabel, type KeyedName
} from './layout.js'

const DOT = 46
const HEX_PER_WORD = 8

/** Lookups over one FeedIndex generation (any thread; the memory is shared, never copied). */
export class FeedIndex {
  readonly handle: GenerationHandle
  private readonly tables: Record<KeyedName, KeyTable>
  private readonly cidr4: KeyTable[]
  private readonly cidr6: KeyTable[]
  private readonly ipv4Filter: Uint32Array
  private readonly ipv4FilterShift: number
  private readonly cidr4Filter: Uint32Array
  private readonly cidr4FilterShift: number
  private readonly records: Uint32Array
  private readonly arena: Uint8Array
  private readonly nodeSlots: Uint32Array
  private readonly nodeMask: number
  private readonly nodeRows: Uint32Array
  private readonly labels: Uint8Array
  private readonly maskRows: Uint32Array
  private readonly maskStart: Uint32Array
  private readonly maskText: Uint8Array
  /**
   * Masks anchored at the root (no complete label after the host's last `*`: `*evil*`, `bad.net*`)
   * are tried on every URL: their refs in chain order, and the longest literal run of each.
   */
  private readonly rootMasks: number[] = []
  private readonly trie: TrieView
  private readonly rootNeedles: string[] = []
  /** Scratch key words, reused by every lookup so that probing allocates nothing. */
  private readonly key = new Uint32Array(8)
  private readonly net = new Uint32Array(4)
  private readonly unpackr = new Unpackr({ useRecords: false })

  constructor (handle: GenerationHandle) {
    const bad = checkHandle(handle)
    if (bad !== null) throw new FeedmatchError('FM_ERR_INTERNAL', `index generation ${handle.id} is inconsistent: ${bad}`)
    this.handle = handle
    const b = handle.buffers
    const g = handle.geometry
    this.tables = { md5: keyTable(handle, 'md5'), sha1: keyTable(handle, 'sha1'), sha256: keyTable(handle, 'sha256'), ipv4: keyTable(handle, 'ipv4'), ipv6: keyTable(handle, 'ipv6') }
    this.cidr4 = openCidrs(handle, 4)
    this.cidr6 = openCidrs(handle, 6)
    this.ipv4Filter = new Uint32Array(b.ipv4filter)
    this.ipv4FilterShift = 32 - g['ipv4filter.bits']
    this.cidr4Filter = new Uint32Array(b.cidr4filter)
    // With no IPv4 CIDR the shift is never used (the CIDR loop is empty): `>>> 32` would not shift.
    this.cidr4FilterShift = 32 - g['cidr4filter.bits']
    this.records = new Uint32Array(b.records)
    this.arena = new Uint8Array(b.arena)
    this.nodeSlots = new Uint32Array(b.nodes, 0, g['nodes.cap'])
    this.nodeMask = g['nodes.cap'] - 1
    this.nodeRows = nodeRows(handle)
    this.labels = new Uint8Array(b.labels)
    this.trie = { slots: this.nodeSlots, rows: this.nodeRows, labels: this.labels, mask: this.nodeMask }
    this.maskRows = new Uint32Array(b.masks, 0, g['masks.n'] * MASK_WORDS)
    this.maskStart = maskStarts(handle)
    this.maskText = new Uint8Array(b.maskText)
    for (let m = this.nodeRows[ROOT * NODE_WORDS + NODE_MASKS]; m !== NONE; m = this.maskRows[(m - 1) * MASK_WORDS + MASK_NEXT]) {
      this.rootMasks.push(m)
      this.rootNeedles.push(maskNeedle(this.maskText, this.maskStart[m - 1], this.maskStart[m]))
    }
  }

  /** Hot path. ASCII hex at src[start..end) (either case; 32, 40 or 64 chars), decoded without allocating. */
  lookupHashHex (src: Uint8Array, start: number, end: number, hits: Hits): void {
    const len = end - start
    let t: KeyTable
    let type: MatchType
    if (len === 32) { t = this.tables.md5; type = 'md5' } else if (len === 40) { t = this.tables.sha1; type = 'sha1' } else if (len === 64) { t = this.tables.sha256; type = 'sha256' } else return
    if (start < 0 || end > src.length) return
    const { slots, keys, mask, words } = t
    const k = this.key
    const w0 = hexWord(src, start)
    const wLast = hexWord(src, end - HEX_PER_WORD)
    if (w0 < 0 || wLast < 0) return
    k[0] = w0
    k[words - 1] = wLast
    const h = hashDigest(k, 0, words)
    const tag = h & ~mask
    let decoded = false
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const v = slots[s]
      if (v === NONE) return
      if ((v & ~mask) !== tag) continue
      const e = v & mask
      const base = (e - 1) * words
      if (keys[base] !== w0) continue
      // Only a first-word match decodes the middle: a miss reads 16 hex chars, not up to 64. A bad
      // char there can only turn this into a miss, which is what it would have been anyway.
      if (!decoded) {
        for (let i = 1; i < words - 1; i++) {
          const w = hexWord(src, start + i * HEX_PER_WORD)
          if (w < 0) return
          k[i] = w
        }
        decoded = true
      }
      let i = 1
      while (i < words && keys[base + i] === k[i]) i++
      if (i === words) return this.pushChain(t.heads[e - 1], hexText(src, start, end), type, hits)
    }
  }

  /** Looks up raw digest bytes (16, 20 or 32); anything else finds nothing. */
  lookupHash (bytes: Uint8Array, hits: Hits): void {
    const n = bytes.length
    const type: MatchType | undefined = n === 16 ? 'md5' : n === 20 ? 'sha1' : n === 32 ? 'sha256' : undefined
    if (type === undefined) return
    bytesToWords(bytes, this.key)
    this.digestHit(this.tables[type], type, hits)
  }

  /**
   * Hot path. An IPv4 address as u32: the exact table, then every CIDR length present, longest
   * first. Most addresses are in no feed and stop at the first filter's bit (layout.ts).
   */
  lookupIpv4 (addr: number, hits: Hits): void {
    addr >>>= 0
    const b = addr >>> this.ipv4FilterShift
    if ((this.ipv4Filter[b >>> 5] & (1 << (b & 31))) === 0) return
    const t = this.tables.ipv4
    const e = findU32(t, addr, hashIpv4(addr))
    if (e !== NONE) this.pushChain(t.heads[e - 1], formatIpv4(addr), 'ip', hits)
    const cidrs = this.cidr4
    if (cidrs.length === 0) return
    const block = addr >>> this.cidr4FilterShift
    if ((this.cidr4Filter[block >>> 5] & (1 << (block & 31))) === 0) return
    for (let i = 0; i < cidrs.length; i++) {
      const c = cidrs[i]
      const net = (addr & c.netmask[0]) >>> 0
      const f = findU32(c, net, hashIpv4(net))
      if (f !== NONE) this.pushChain(c.heads[f - 1], `${formatIpv4(net)}/${c.prefix}`, 'ip', hits)
    }
  }

  /** An IPv4 (4 bytes) or IPv6 (16 bytes) address; `::ffff:a.b.c.d` is looked up as a.b.c.d. */
  lookupIp (bytes: Uint8Array, hits: Hits): void {
    if (bytes.length === 4) return this.lookupIpv4(((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0, hits)
    if (bytes.length !== 16) return
    const k = this.key
    bytesToWords(bytes, k)
    if (k[0] === 0 && k[1] === 0 && k[2] === 0xffff) return this.lookupIpv4(k[3], hits)
    const t = this.tables.ipv6
    const e = findWords(t, k, hashIpv6(k, 0))
    if (e !== NONE) this.pushChain(t.heads[e - 1], formatIpv6(k, 0), 'ip', hits)
    const net = this.net
    const cidrs = this.cidr6
    for (let j = 0; j < cidrs.length; j++) {
      const c = cidrs[j]
      for (let i = 0; i < 4; i++) net[i] = k[i] & c.netmask[i]
      const f = findWords(c, net, hashIpv6(net, 0))
      if (f !== NONE) this.pushChain(c.heads[f - 1], `${formatIpv6(net, 0)}/${c.prefix}`, 'ip', hits)
    }
  }

  /**
   * A normalized URL (`host` + `rest`, rest '' or starting with `/` or `?`) or a domain (rest '').
   * Domain-kind records on the host and every parent domain, host-kind records on the host itself,
   * then the masks anchored on the way (DESIGN.md section 3). Hits carry the caller's `type`.
   */
  lookupUrl (host: string, rest: string, hits: Hits, type: MatchType): void {
    // Labels and masks are compared as bytes: respell a rare non-ASCII URL as UTF-8 bytes.
    // Only the host is checked here: the rest is read by masks alone, checked when one is tried.
    if (isAscii(host)) this.walk(host, rest, false, hits, type)
    else this.walk(toByteString(host), toByteString(rest), true, hits, type)
  }

  /**
   * Hot path. False when the URL in buf[s, e) certainly matches nothing here, read from the bytes
   * without a string (url-prefilter.ts); true when it may, and lookupUrl must tell.
   */
  urlMayMatch (buf: Uint8Array, s: number, e: number): boolean {
    return this.rootMasks.length > 0 || urlMayMatch(this.trie, buf, s, e)
  }

  /** Feed id of a record. */
  feedId (rec: number): number {
    return this.records[rec * REC_WORDS + REC_FEED]
  }

  /** Meta of the feed a record belongs to. */
  feed (rec: number): FeedMeta {
    return this.handle.feeds[this.feedId(rec)]
  }

  /** The record's context, decoded from the arena. Runs once per detection. */
  context (rec: number): Record<string, unknown> {
    // From a private copy: msgpackr's native string extraction refuses shared memory ("source must
    // be an ArrayBuffer"), and its throw and the JS fallback made a decode 3x slower than the copy.
    return this.unpackr.unpack(Buffer.from(this.contextBytes(rec))) as Record<string, unknown>
  }

  /** The record's context as raw msgpack bytes (a view into shared memory, not a copy). */
  contextBytes (rec: number): Uint8Array {
    const a = this.arena
    const off = this.records[rec * REC_WORDS + REC_CTX]
    const len = (a[off] | (a[off + 1] << 8) | (a[off + 2] << 16) | (a[off + 3] << 24)) >>> 0
    return a.subarray(off + CTX_LEN_BYTES, off + CTX_LEN_BYTES + len)
  }

  /** Bytes of index memory (context arena excluded) and of each buffer (`arena` is the context arena). */
  stats (): { bytes: number, byTable: Record<string, number> } {
    const byTable: Record<string, number> = {}
    let bytes = 0
    for (const [name, buf] of Object.entries(this.handle.buffers)) {
      byTable[name] = buf.byteLength
      if (name !== 'arena') bytes += buf.byteLength
    }
    return { bytes, byTable }
  }

  private digestHit (t: KeyTable, type: MatchType, hits: Hits): void {
    const k = this.key
    const e = findWords(t, k, hashDigest(k, 0, t.words))
    if (e !== NONE) this.pushChain(t.heads[e - 1], wordsToHex(t.keys, (e - 1) * t.words, t.words), type, hits)
  }

  private pushChain (head: number, matched: string, type: MatchType, hits: Hits): void {
    const recs = this.records
    for (let r = head; r !== NONE; r = recs[r * REC_WORDS + REC_NEXT]) hits.push(r, matched, type)
  }

  /**
   * Hot path. Walks the trie from the top label down, stopping at the first label the trie lacks.
   * Labels are hashed and compared straight from the host string, between dots: no label strings.
   */
  private walk (host: string, rest: string, restBytes: boolean, hits: Hits, type: MatchType): void {
    const rows = this.nodeRows
    // The root anchors masks whose host part is all wildcard; an empty host is "at" the root.
    if (this.rootMasks.length > 0) this.tryRootMasks(host, rest, restBytes, type, hits)
    if (host === '') return
    let parent = ROOT
    let end = host.length
    for (;;) {
      let dot = end - 1
      while (dot >= 0 && host.charCodeAt(dot) !== DOT) dot--
      const node = this.findNode(parent, host, dot + 1, end)
      if (node === NONE) return
      const atHost = dot < 0
      const r = node * NODE_WORDS
      if (rows[r + NODE_DOMAIN] !== NONE) this.pushChain(rows[r + NODE_DOMAIN], fromByteString(host.slice(dot + 1)), type, hits)
      if (atHost && rows[r + NODE_HOST] !== NONE) this.pushChain(rows[r + NODE_HOST], fromByteString(host), type, hits)
      if (rows[r + NODE_MASKS] !== NONE) this.tryMasks(rows[r + NODE_MASKS], host, rest, restBytes, atHost, type, hits)
      if (atHost) return
      parent = node
      end = dot
    }
  }

  private findNode (parent: number, s: string, from: number, to: number): number {
    const { nodeSlots, nodeRows, labels, nodeMask } = this
    const len = to - from
    const h = hashLabel(parent, s, from, to)
    const tag = h & ~nodeMask
    for (let i = h & nodeMask; ; i = (i + 1) & nodeMask) {
      const v = nodeSlots[i]
      if (v === NONE) return NONE
      if ((v & ~nodeMask) !== tag) continue
      const node = v & nodeMask
      const row = node * NODE_WORDS
      if (nodeRows[row + NODE_PARENT] !== parent) continue
      const ls = nodeRows[row + NODE_LABEL]
      if (nodeRows[row + NODE_WORDS + NODE_LABEL] - ls !== len) continue
      let j = 0
      while (j < len && labels[ls + j] === s.charCodeAt(from + j)) j++
      if (j === len) return node
    }
  }

  /** Tries the mask chain from mask ref m. `restBytes`: rest is a byte string already (else respelled here). */
  private tryMasks (m: number, host: string, rest: string, restBytes: boolean, atHost: boolean, type: MatchType, hits: Hits): void {
    if (!restBytes) rest = toByteString(rest)
    for (; m !== NONE; m = this.maskRows[(m - 1) * MASK_WORDS + MASK_NEXT]) this.tryMask(m, host, rest, atHost, type, hits)
  }

  /** The root's chain, as tryMasks, but a mask is only matched against a URL that holds its needle. */
  private tryRootMasks (host: string, rest: string, restBytes: boolean, type: MatchType, hits: Hits): void {
    if (!restBytes) rest = toByteString(rest)
    const { rootMasks, rootNeedles } = this
    for (let i = 0; i < rootMasks.length; i++) {
      // One native search rejects most URLs, where the glob would walk each one char by char.
      if (rootNeedles[i] !== '' && !holdsNeedle(host, rest, rootNeedles[i])) continue
      this.tryMask(rootMasks[i], host, rest, host === '', type, hits)
    }
  }

  /** Matches one mask; exact-host masks only when the URL's host is the anchor. */
  private tryMask (m: number, host: string, rest: string, atHost: boolean, type: MatchType, hits: Hits): void {
    const { maskRows, maskStart, maskText } = this
    const row = (m - 1) * MASK_WORDS
    if (!atHost && (maskRows[row + MASK_FLAGS] & MASK_EXACT_HOST) !== 0) return
    const s = maskStart[m - 1]
    const e = maskStart[m]
    if (!globMatch(maskText, s, e, host, rest)) return
    const text = Buffer.from(maskText.buffer, maskText.byteOffset + s, e - s).toString('utf8')
    this.pushChain(maskRows[row + MASK_HEAD], text, type, hits)
  }
}

/** The u32 spelled by 8 hex chars at src[p], or -1 when one is not a hex digit. */
function hexWord (src: Uint8Array, p: number): number {
  let w = 0
  for (const stop = p + HEX_PER_WORD; p < stop; p++) {
    const v = HEX_VALUE[src[p]]
    if (v < 0) return -1
    w = (w << 4) | v
  }
  return w >>> 0
}

/** The matched hex as lowercase text, sliced from the source (3x faster than spelling the key's words). */
function hexText (src: Uint8Array, start: number, end: number): string {
  const buf = src instanceof Buffer ? src : Buffer.from(src.buffer, src.byteOffset, src.byteLength)
  return buf.toString('latin1', start, end).toLowerCase()
}
