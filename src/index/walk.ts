/**
 * Reads a generation back as the keys it was built from: every table (hashes of each width, IPv4
 * and IPv6 addresses, CIDR tables, domain trie nodes, URL masks) walked for one feed's records.
 * This is how a feed that failed to load is carried over from the generation in service into the
 * next one (IndexBuilder.copyFeed). Not a hot path: it runs in the build worker, after a failure.
 */
import type { GenerationHandle } from './types.js'
import { KeyTable, openCidrs } from './views.js'
import { fromByteString } from './text.js'
import {
  KEY_WORDS, MASK_HEAD, MASK_WORDS, NODE_DOMAIN, NODE_HOST, NODE_LABEL, NODE_PARENT, NODE_WORDS, NONE, REC_CTX, REC_FEED,
  REC_NEXT, REC_WORDS, ROOT, masksLayout, nodesLayout, type KeyedName
} from './layout.js'

/** One key as IndexBuilder's add methods take it (hosts and masks as text, not byte strings). */
export type StoredKey =
  | { t: 'hash', bytes: Uint8Array }
  | { t: 'ip', bytes: Uint8Array, prefix: number }
  | { t: 'domain' | 'host', host: string }
  | { t: 'url', mask: string }

const EXACT: Array<[KeyedName, 'hash' | 'ip']> = [['md5', 'hash'], ['sha1', 'hash'], ['sha256', 'hash'], ['ipv4', 'ip'], ['ipv6', 'ip']]

/**
 * Calls visit(key, rec, ctx) for every record that feed `feedId` holds in the generation, with
 * its key and its context reference (the keys of one feed record share theirs). A key the feed
 * lists in several records is visited once for each, in chain order.
 */
export function forEachFeedKey (handle: GenerationHandle, feedId: number, visit: (key: StoredKey, rec: number, ctx: number) => void): void {
  const b = handle.buffers
  const g = handle.geometry
  const records = new Uint32Array(b.records)
  /** Visits every record of the feed on the chain at head, the key made once, on the first. */
  const eachRecord = (head: number, key: () => StoredKey): void => {
    let k: StoredKey | undefined
    for (let r = head; r !== NONE; r = records[r * REC_WORDS + REC_NEXT]) {
      if (records[r * REC_WORDS + REC_FEED] === feedId) visit(k ??= key(), r, records[r * REC_WORDS + REC_CTX])
    }
  }
  const keyed = (t: KeyTable, kind: 'hash' | 'ip'): void => {
    for (let e = 0; e < t.heads.length; e++) {
      if (t.heads[e] === NONE) continue
      eachRecord(t.heads[e], () => {
        const bytes = wordsToBytes(t.keys, e * t.words, t.words)
        return kind === 'hash' ? { t: 'hash', bytes } : { t: 'ip', bytes, prefix: t.prefix }
      })
    }
  }
  for (const [name, kind] of EXACT) {
    const words = KEY_WORDS[name]
    keyed(new KeyTable(b[name], g[`${name}.cap`], g[`${name}.n`], words, words * 32), kind)
  }
  for (const t of [...openCidrs(handle, 4), ...openCidrs(handle, 6)]) keyed(t, 'ip')

  const nodes = g['nodes.n']
  const rows = new Uint32Array(b.nodes, nodesLayout(g['nodes.cap'], nodes).rows, (nodes + 2) * NODE_WORDS)
  const labels = Buffer.from(b.labels)
  // The trie stores labels only: a node's host is its label, then its parents' up to the root.
  const hostOf = (node: number): string => {
    const parts: string[] = []
    for (let n = node; n !== ROOT; n = rows[n * NODE_WORDS + NODE_PARENT]) {
      parts.push(labels.toString('latin1', rows[n * NODE_WORDS + NODE_LABEL], rows[(n + 1) * NODE_WORDS + NODE_LABEL]))
    }
    return fromByteString(parts.join('.'))
  }
  for (let node = 1; node <= nodes; node++) {
    for (const [word, t] of [[NODE_DOMAIN, 'domain'], [NODE_HOST, 'host']] as const) {
      eachRecord(rows[node * NODE_WORDS + word], () => ({ t, host: hostOf(node) }))
    }
  }

  const masks = g['masks.n']
  const maskRows = new Uint32Array(b.masks, 0, masks * MASK_WORDS)
  const starts = new Uint32Array(b.masks, masksLayout(masks).textStart, masks + 1)
  const text = Buffer.from(b.maskText)
  for (let m = 0; m < masks; m++) {
    eachRecord(maskRows[m * MASK_WORDS + MASK_HEAD], () => ({ t: 'url', mask: text.toString('utf8', starts[m], starts[m + 1]) }))
  }
}

/** Big-endian bytes of `words` u32 words at k[off] (the inverse of layout.ts bytesToWords). */
function wordsToBytes (k: Uint32Array, off: number, words: number): Uint8Array {
  const out = new Uint8Array(words * 4)
  const dv = new DataView(out.buffer)
  for (let i = 0; i < words; i++) dv.setUint32(i * 4, k[off + i])
  return out
}
