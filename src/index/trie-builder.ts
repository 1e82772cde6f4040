/**
 * Build-time domain suffix trie and URL masks. The trie is one hash table keyed by (parent node,
 * label), labels walked from the right (`com` -> `example` -> `www`); masks hang off the node
 * that anchors them. Strings here are byte strings (text.ts toByteString): one char per byte.
 */
import { GrowBytes, GrowU32, sharedBuffer, place } from './grow.js'
import {
  NONE, ROOT, NODE_LABEL, NODE_PARENT, NODE_WORDS, NODE_MASKS, MASK_WORDS, MASK_NEXT, MASK_EXACT_HOST, MASK_FLAGS,
  capacityFor, hashLabel, nodesLayout, masksLayout
} from './layout.js'

const DOT = 46
const STAR = 42
const SLASH = 47
const QUESTION = 63

/** The growing trie: node rows, labels, and the (parent, label) -> node table. */
export class TrieBuilder {
  private slots = new Uint32Array(16)
  /** NODE_WORDS u32 per node; row 0 is the root (layout.ts; the sentinel row is added by toShared). */
  readonly rows = new GrowU32(64 * NODE_WORDS)
  readonly labels = new GrowBytes()
  private readonly hashes = new GrowU32()

  constructor () {
    this.rows.reserve(NODE_WORDS)
    this.rows.length = NODE_WORDS
    this.hashes.push(0)
  }

  /** Nodes other than the root. */
  get size (): number { return this.hashes.length - 1 }

  /** The node of the labels of str[s..e) (ROOT when empty), created as needed. */
  nodeOf (str: string, s: number, e: number): number {
    if (s === e) return ROOT
    let node = ROOT
    let end = e
    for (;;) {
      let dot = end - 1
      while (dot >= s && str.charCodeAt(dot) !== DOT) dot--
      node = this.child(node, str, dot + 1, end)
      if (dot < s) return node
      end = dot
    }
  }

  private child (parent: number, str: string, s: number, e: number): number {
    const h = hashLabel(parent, str, s, e)
    const { slots } = this
    const mask = slots.length - 1
    const rows = this.rows.a
    const labels = this.labels.a
    const last = this.size
    const tag = h & ~mask
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const v = slots[i]
      if (v === NONE) break
      if ((v & ~mask) !== tag) continue
      const node = v & mask
      const row = node * NODE_WORDS
      if (rows[row + NODE_PARENT] !== parent) continue
      const ls = rows[row + NODE_LABEL]
      const le = node === last ? this.labels.length : rows[row + NODE_WORDS + NODE_LABEL]
      if (le - ls !== e - s) continue
      let j = 0
      while (j < e - s && labels[ls + j] === str.charCodeAt(s + j)) j++
      if (j === e - s) return node
    }
    const node = this.hashes.push(h)
    this.rows.reserve(NODE_WORDS)
    this.rows.a.fill(NONE, this.rows.length, this.rows.length + NODE_WORDS)
    this.rows.a[this.rows.length + NODE_PARENT] = parent
    this.rows.a[this.rows.length + NODE_LABEL] = this.labels.length
    this.rows.length += NODE_WORDS
    this.labels.reserve(e - s)
    for (let j = s; j < e; j++) this.labels.a[this.labels.length++] = str.charCodeAt(j)
    if (this.size > slots.length * 0.5) {
      this.slots = new Uint32Array(slots.length * 2)
      for (let n = 1; n <= this.size; n++) place(this.slots, this.hashes.a[n], n)
    } else {
      place(slots, h, node)
    }
    return node
  }

  /** Drops the nodes after node n (those a failed feed added); nodes are numbered in creation order. */
  truncate (n: number): void {
    if (n >= this.size) return
    this.labels.length = this.rows.a[(n + 1) * NODE_WORDS + NODE_LABEL]
    this.rows.length = (n + 1) * NODE_WORDS
    this.hashes.length = n + 1
    this.slots.fill(NONE)
    for (let i = 1; i <= n; i++) place(this.slots, this.hashes.a[i], i)
  }

  /** The `nodes` and `labels` buffers (layout.ts nodesLayout). */
  toShared (): { nodes: SharedArrayBuffer, labels: SharedArrayBuffer, cap: number, n: number } {
    const n = this.size
    const cap = capacityFor(n)
    const lay = nodesLayout(cap, n)
    const nodes = sharedBuffer(lay.bytes, 'the domain trie')
    const slots = new Uint32Array(nodes, 0, cap)
    for (let i = 1; i <= n; i++) place(slots, this.hashes.a[i], i)
    const rows = new Uint32Array(nodes, lay.rows, (n + 2) * NODE_WORDS)
    rows.set(this.rows.a.subarray(0, (n + 1) * NODE_WORDS))
    rows[(n + 1) * NODE_WORDS + NODE_LABEL] = this.labels.length
    const labels = sharedBuffer(this.labels.length, 'the label arena')
    new Uint8Array(labels).set(this.labels.a.subarray(0, this.labels.length))
    return { nodes, labels, cap, n }
  }
}

/**
 * Where a mask is anchored: the labels [s, e) of the mask text (s === e: the root), and whether the
 * host part is literal (then only that exact host is tried). The host part ends at the first `/`
 * or `?`; with a `*` in it, the anchor is the complete labels after the last `*`: `*.example.com`
 * -> example.com, `ex*ample.com` -> com (the `*` may end inside `ample`), `example.com*` -> root.
 */
export function maskAnchor (m: string): { s: number, e: number, exact: boolean } {
  let hostEnd = 0
  let star = -1
  for (; hostEnd < m.length; hostEnd++) {
    const c = m.charCodeAt(hostEnd)
    if (c === SLASH || c === QUESTION) break
    if (c === STAR) star = hostEnd
  }
  if (star < 0) return { s: 0, e: hostEnd, exact: true }
  let s = star + 1
  if (s < hostEnd && m.charCodeAt(s) === DOT) {
    s++
  } else {
    while (s < hostEnd && m.charCodeAt(s) !== DOT) s++
    s = s < hostEnd ? s + 1 : hostEnd
  }
  return { s, e: hostEnd, exact: false }
}

/** The growing set of distinct URL masks, each attached to its anchor node in the trie. */
export class MaskBuilder {
  /** MASK_WORDS u32 per mask. */
  readonly rows = new GrowU32(16 * MASK_WORDS)
  readonly textStart = new GrowU32()
  readonly text = new GrowBytes()
  private readonly byText = new Map<string, number>()

  constructor () { this.textStart.push(0) }

  get size (): number { return this.textStart.length - 1 }

  /** Mask index of byte string m, adding and anchoring it when new. */
  findOrAdd (m: string, trie: TrieBuilder): number {
    const known = this.byText.get(m)
    if (known !== undefined) return known
    const idx = this.size
    const anchor = maskAnchor(m)
    const node = trie.nodeOf(m, anchor.s, anchor.e)
    const nodeRow = node * NODE_WORDS
    this.rows.reserve(MASK_WORDS)
    const r = this.rows.length
    this.rows.a.fill(NONE, r, r + MASK_WORDS)
    // Prepend to the node's mask chain; chains hold mask index + 1 so that 0 ends them.
    this.rows.a[r + MASK_NEXT] = trie.rows.a[nodeRow + NODE_MASKS]
    this.rows.a[r + MASK_FLAGS] = anchor.exact ? MASK_EXACT_HOST : 0
    this.rows.length += MASK_WORDS
    trie.rows.a[nodeRow + NODE_MASKS] = idx + 1
    this.text.reserve(m.length)
    for (let j = 0; j < m.length; j++) this.text.a[this.text.length++] = m.charCodeAt(j)
    this.textStart.push(this.text.length)
    this.byText.set(m, idx)
    return idx
  }

  /** Drops the masks from index m on (those a failed feed added) and unhooks them from the trie's nodes. */
  truncate (m: number, trie: TrieBuilder): void {
    if (m >= this.size) return
    const starts = this.textStart.a
    const text = Buffer.from(this.text.a.buffer, this.text.a.byteOffset, this.text.length)
    for (let i = m; i < this.size; i++) this.byText.delete(text.toString('latin1', starts[i], starts[i + 1]))
    // A new mask is prepended to its node's chain, so the dropped ones (refs above m) lead every chain.
    const nodeRows = trie.rows.a
    for (let r = 0; r <= trie.size * NODE_WORDS; r += NODE_WORDS) {
      let head = nodeRows[r + NODE_MASKS]
      while (head > m) head = this.rows.a[(head - 1) * MASK_WORDS + MASK_NEXT]
      nodeRows[r + NODE_MASKS] = head
    }
    this.rows.length = m * MASK_WORDS
    this.textStart.length = m + 1
    this.text.length = starts[m]
  }

  /** The `masks` and `maskText` buffers (layout.ts masksLayout). */
  toShared (): { masks: SharedArrayBuffer, text: SharedArrayBuffer, n: number } {
    const n = this.size
    const lay = masksLayout(n)
    const masks = sharedBuffer(lay.bytes, 'the URL masks')
    new Uint32Array(masks, 0, n * MASK_WORDS).set(this.rows.a.subarray(0, n * MASK_WORDS))
    new Uint32Array(masks, lay.textStart, n + 1).set(this.textStart.a.subarray(0, n + 1))
    const text = sharedBuffer(this.text.length, 'the mask arena')
    new Uint8Array(text).set(this.text.a.subarray(0, this.text.length))
    return { masks, text, n }
  }
}
