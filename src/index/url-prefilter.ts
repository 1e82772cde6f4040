/**
 * A URL's first look at the domain trie, straight from the event bytes: most URLs in logs lead
 * to hosts no feed lists, and for those the full lookup (a string, normalizeUrl, the trie walk)
 * was a fifth of the matching work. This walks the host's labels from the right in the bytes and
 * answers false, "certainly no match", only when the walk ends at a missing label before any node
 * that holds a record (domain, host or URL mask): exactly where FeedIndex.walk would stop empty.
 *
 * It reads a host only when plainUrl (match/normalize/url-plain.ts) would take the URL and keep
 * its host as written but lowercased: ASCII host characters and single dots, no `xn--`, a last
 * label not starting with a digit (no IP in any form), an optional port, then the end, `/`, `?`
 * or `#`. Anything else answers true and goes the full way. plainUrl's one change to the host's
 * labels, dropping a leading `www.`, removes the leftmost label only: walking it as well can at
 * worst find a node with a record and answer true. test/index/url-prefilter.test.ts checks that
 * false never hides a detection, on random URLs against random feeds.
 */
import { NODE_DOMAIN, NODE_HOST, NODE_LABEL, NODE_MASKS, NODE_PARENT, NODE_WORDS, NONE, ROOT, hashLabelBytes } from './layout.js'

/** The trie as FeedIndex holds it. */
export interface TrieView {
  slots: Uint32Array
  rows: Uint32Array
  labels: Uint8Array
  mask: number
}

const SLASH = 0x2f
const BACKSLASH = 0x5c
const COLON = 0x3a
const DOT = 0x2e
const DASH = 0x2d
const QUESTION = 0x3f
const HASH = 0x23

/** A byte of a host label as plainUrl reads one: [A-Za-z0-9_-]. */
function isHostByte (c: number): boolean {
  const l = c | 0x20
  return (l >= 0x61 && l <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === DASH || c === 0x5f
}

/** Where the host starts in buf[s, e) as plainUrl's hostStart reads it, or -1 (not a plain URL). */
function hostStart (buf: Uint8Array, s: number, e: number): number {
  const c0 = buf[s]
  if (c0 === SLASH || c0 === BACKSLASH) return -1
  const l0 = c0 | 0x20
  if (!(l0 >= 0x61 && l0 <= 0x7a)) return s
  let i = s + 1
  for (; i < e; i++) {
    const c = buf[i]
    const l = c | 0x20
    if (!((l >= 0x61 && l <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === DASH || c === DOT)) break
  }
  if (i >= e || buf[i] !== COLON) return s
  const a = i + 1 < e ? buf[i + 1] : -1
  const b = i + 2 < e ? buf[i + 2] : -1
  if (a === BACKSLASH || b === BACKSLASH) return -1
  if (a !== SLASH || b !== SLASH) return s
  const c = i + 3 < e ? buf[i + 3] : -1
  return c === SLASH || c === BACKSLASH ? -1 : i + 3
}

/** Hot path. False when the URL in buf[s, e) certainly matches nothing in the trie (see above). */
export function urlMayMatch (t: TrieView, buf: Uint8Array, s: number, e: number): boolean {
  if (e <= s || buf[s] <= 0x20 || buf[e - 1] <= 0x20) return true
  const start = hostStart(buf, s, e)
  if (start < 0) return true
  let prev = DOT
  let labelStart = start
  let i = start
  for (; i < e; i++) {
    const c = buf[i]
    if (c === DOT) {
      if (prev === DOT) return true
      labelStart = i + 1
    } else if (!isHostByte(c)) {
      break
    } else if (c === DASH && prev === DASH && i - 3 >= start && (buf[i - 2] | 0x20) === 0x6e && (buf[i - 3] | 0x20) === 0x78) {
      return true
    }
    prev = c
  }
  const hostEnd = i
  if (hostEnd === start || prev === DOT) return true
  if (buf[labelStart] >= 0x30 && buf[labelStart] <= 0x39) return true
  let c = i < e ? buf[i] : 0
  if (c === COLON) {
    for (i++; i < e; i++) {
      c = buf[i]
      if (c < 0x30 || c > 0x39) break
    }
  }
  if (i < e && c !== SLASH && c !== QUESTION && c !== HASH) return true
  // The walk: from the top label down, as FeedIndex.walk does on the normalized host.
  let parent = ROOT
  let end = hostEnd
  for (;;) {
    let dot = end - 1
    while (dot >= start && buf[dot] !== DOT) dot--
    const node = findNode(t, parent, buf, dot + 1, end)
    if (node === NONE) return false
    const r = node * NODE_WORDS
    if (t.rows[r + NODE_DOMAIN] !== NONE || t.rows[r + NODE_HOST] !== NONE || t.rows[r + NODE_MASKS] !== NONE) return true
    if (dot < start) return false
    parent = node
    end = dot
  }
}

/** FeedIndex.findNode on bytes, lowercased as they are compared (trie labels are lowercase). */
function findNode (t: TrieView, parent: number, buf: Uint8Array, from: number, to: number): number {
  const { slots, rows, labels, mask } = t
  const len = to - from
  const h = hashLabelBytes(parent, buf, from, to)
  const tag = h & ~mask
  for (let i = h & mask; ; i = (i + 1) & mask) {
    const v = slots[i]
    if (v === NONE) return NONE
    if ((v & ~mask) !== tag) continue
    const node = v & mask
    const row = node * NODE_WORDS
    if (rows[row + NODE_PARENT] !== parent) continue
    const ls = rows[row + NODE_LABEL]
    if (rows[row + NODE_WORDS + NODE_LABEL] - ls !== len) continue
    let j = 0
    while (j < len && labels[ls + j] === lower(buf[from + j])) j++
    if (j === len) return node
  }
}

function lower (c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c
}
