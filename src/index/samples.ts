/**
 * A few of the indicators a generation holds, read back from its tables and spelled as logs carry
 * them. The match workers' warm-up (match/warmup.ts) plants them in its text, so that the path of
 * a hit (full key compare, record chains, contexts, rendering) is compiled along with the path of
 * a miss, as real traffic needs both.
 */
import type { GenerationHandle } from './types.js'
import { keyTable, maskStarts, nodeRows, openCidrs } from './views.js'
import { formatIpv4, wordsToHex } from './text.js'
import { NODE_DOMAIN, NODE_HOST, NODE_LABEL, NODE_PARENT, NODE_WORDS, NONE, ROOT } from './layout.js'

export interface IndicatorSamples {
  /** Hex digests (MD5, SHA-1, SHA-256). */
  hashes: string[]
  /** IPv4 addresses: exact keys, and an address inside each sampled network. */
  ips: string[]
  /** Host names and domains of the trie. */
  hosts: string[]
  /** URL masks with their wildcards filled in (no scheme). */
  urls: string[]
}

/** Up to `perKind` samples of each kind, spread over each table. */
export function indicatorSamples (handle: GenerationHandle, perKind: number): IndicatorSamples {
  const hashes: string[] = []
  for (const name of ['md5', 'sha1', 'sha256'] as const) {
    const t = keyTable(handle, name)
    const n = t.keys.length / t.words
    for (const i of spread(n, perKind)) hashes.push(wordsToHex(t.keys, i * t.words, t.words))
  }
  const v4 = keyTable(handle, 'ipv4')
  const ips = spread(v4.keys.length, perKind).map((i) => formatIpv4(v4.keys[i]))
  for (const c of openCidrs(handle, 4)) {
    for (const i of spread(c.keys.length, Math.ceil(perKind / 4))) ips.push(formatIpv4((c.keys[i] | (c.prefix < 32 ? 1 : 0)) >>> 0))
  }
  return { hashes, ips, hosts: trieNames(handle, perKind), urls: maskUrls(handle, perKind) }
}

/** Up to `want` indexes spread evenly over [0, n). */
function spread (n: number, want: number): number[] {
  const step = Math.max(1, Math.floor(n / want))
  const out: number[] = []
  for (let i = 0; i < n && out.length < want; i += step) out.push(i)
  return out
}

/** Names of trie nodes that hold records (domain or host kind), spelled from their labels up. */
function trieNames (handle: GenerationHandle, want: number): string[] {
  const n = handle.geometry['nodes.n']
  const rows = nodeRows(handle)
  const labels = Buffer.from(handle.buffers.labels)
  const label = (node: number): string => labels.toString('latin1', rows[node * NODE_WORDS + NODE_LABEL], rows[(node + 1) * NODE_WORDS + NODE_LABEL])
  const out: string[] = []
  // Nodes are 1..n; from each spread start, the next node with records.
  for (const i of spread(n, want)) {
    let node = i + 1
    while (node <= n && rows[node * NODE_WORDS + NODE_DOMAIN] === NONE && rows[node * NODE_WORDS + NODE_HOST] === NONE) node++
    if (node > n) break
    const parts: string[] = []
    for (let at = node; at !== ROOT && parts.length < 128; at = rows[at * NODE_WORDS + NODE_PARENT]) parts.push(label(at))
    out.push(parts.join('.'))
  }
  return out
}

/** URL masks with `*` and `?` filled in: URLs the masks match, mostly. */
function maskUrls (handle: GenerationHandle, want: number): string[] {
  const m = handle.geometry['masks.n']
  if (m === 0) return []
  const start = maskStarts(handle)
  const text = Buffer.from(handle.buffers.maskText)
  return spread(m, want).map((i) => text.toString('utf8', start[i], start[i + 1]).replace(/[*?]/g, 'a'))
}
