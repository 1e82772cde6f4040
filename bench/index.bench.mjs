// FeedIndex benchmark: build time and bytes per indicator for a seeded mixed set of 1M keys,
// lookups per second for each key kind beside a JS Set baseline measured in the same run, and
// snapshot write/load time. Imports the compiled dist/index/*.js (run `npx tsc` first).
// Prints a table, writes bench/results/index.json, never asserts a time.
import { mkdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Bench } from 'tinybench'
import { seeded } from '../scripts/lib/seeded.mjs'

const dist = (p) => new URL(`../dist/index/${p}`, import.meta.url).href

/** Share of each key kind in the mixed set. */
const MIX = { md5: 0.30, sha1: 0.10, sha256: 0.20, ipv4: 0.20, cidr: 0.03, domain: 0.12, url: 0.05 }
// Lengths as ranges split into CIDRs give them: many lengths, mostly long networks.
const CIDR_PREFIXES = [16, 18, 20, 21, 22, 23, 24, 24, 24, 25, 26, 27, 28, 29, 30, 31]
// Masks whose host part is all wildcard anchor at the trie root and are tried on every URL lookup.
const ROOT_MASKS = 3
const TLDS = ['com', 'net', 'org', 'ru', 'info', 'xyz', 'io', 'de']
/** Lookups per tinybench iteration: one call per lookup would measure the harness, not the index. */
const BATCH = 1024
const FEEDS = 4

/** A seeded PRNG (the data generators' mulberry32), so every run indexes the same set. */
const prng = (seed) => seeded(seed).rand

function randomBytes (rnd, n) {
  const b = new Uint8Array(n)
  for (let i = 0; i < n; i++) b[i] = (rnd() * 256) | 0
  return b
}

const hexOf = (b) => Buffer.from(b).toString('hex')
const quad = (a) => `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`
const word = (rnd) => Math.floor(rnd() * 36 ** 6).toString(36)

/** The mixed indicator set, plus query lists (half hits, half misses) for each lookup kind. */
function makeData (n, rnd) {
  const count = Object.fromEntries(Object.entries(MIX).map(([k, share]) => [k, Math.round(n * share)]))
  const keys = { md5: [], sha1: [], sha256: [], ipv4: [], cidr: [], domain: [], url: [] }
  for (const [t, width] of [['md5', 16], ['sha1', 20], ['sha256', 32]]) {
    for (let i = 0; i < count[t]; i++) keys[t].push(randomBytes(rnd, width))
  }
  for (let i = 0; i < count.ipv4; i++) keys.ipv4.push((rnd() * 2 ** 32) >>> 0)
  for (let i = 0; i < count.cidr; i++) {
    const prefix = CIDR_PREFIXES[i % CIDR_PREFIXES.length]
    keys.cidr.push({ net: (((rnd() * 2 ** 32) >>> 0) & (~0 << (32 - prefix))) >>> 0, prefix })
  }
  for (let i = 0; i < count.domain; i++) {
    const d = `${word(rnd)}${i}.${TLDS[i % TLDS.length]}`
    keys.domain.push({ host: i % 4 === 0 ? `cdn.${d}` : d, kind: i % 3 === 0 ? 'host' : 'domain' })
  }
  for (let i = 0; i < count.url; i++) {
    const h = `${word(rnd)}${i}.${TLDS[i % TLDS.length]}`
    // Mostly literal hosts with a path glob, some wildcard subdomains, a few root-anchored masks.
    const mask = i < ROOT_MASKS ? `*${word(rnd)}*` : i % 4 === 0 ? `*.${h}/login*` : i % 4 === 1 ? `${h}/dl/*.exe` : `${h}/${word(rnd)}/${word(rnd)}`
    keys.url.push(mask)
  }
  return keys
}

function build (IndexBuilder, keys) {
  const b = new IndexBuilder()
  for (let f = 0; f < FEEDS; f++) {
    b.addFeed({ name: `feed${f}`, category: 'bench', role: 'feed', actionable: {}, path: '', format: 'bench', records: 0, keys: {}, skipped: 0, skippedByReason: {}, skippedSamples: [], filtered: 0 })
  }
  let i = 0
  const ctx = () => b.addContext({ id: i, category: 'malware', first_seen: '2024-01-01T00:00:00Z', threat_score: i % 100 })
  const feed = () => i++ % FEEDS
  for (const t of ['md5', 'sha1', 'sha256']) for (const k of keys[t]) b.addHash(k, feed(), ctx())
  const ip = new Uint8Array(4)
  const setIp = (a) => { ip[0] = a >>> 24; ip[1] = a >>> 16; ip[2] = a >>> 8; ip[3] = a }
  for (const a of keys.ipv4) { setIp(a); b.addIp(ip, 32, feed(), ctx()) }
  for (const c of keys.cidr) { setIp(c.net); b.addIp(ip, c.prefix, feed(), ctx()) }
  for (const d of keys.domain) b.addDomain(d.host, d.kind, feed(), ctx())
  for (const m of keys.url) b.addUrlMask(m, feed(), ctx())
  return b
}

/**
 * Queries for each lookup kind, in two sets of BATCH: `mixed` alternates a hit and a miss (a hit
 * builds the matched string and pushes records, so it costs more), `misses` has only misses (what
 * most of a log stream is). Each set holds what FeedIndex is given (bytes, u32, host + rest) and
 * the same value as a string for the Set baseline.
 */
function makeQueries (keys, rnd) {
  const pick = (arr) => arr[(rnd() * arr.length) | 0]
  const sets = (hit, miss, toQuery) => ({
    mixed: toQuery(Array.from({ length: BATCH }, (_, i) => i % 2 === 0 ? hit() : miss())),
    misses: toQuery(Array.from({ length: BATCH }, miss))
  })
  const hexQuery = (width) => (strs) => ({ strs, buf: Buffer.from(strs.join(''), 'latin1'), width })
  const ipQuery = (strs) => ({ strs, addrs: Uint32Array.from(strs, (s) => s.split('.').reduce((a, x) => a * 256 + Number(x), 0)) })
  const split = (u) => { const i = u.search(/[/?]/); return i < 0 ? [u, ''] : [u.slice(0, i), u.slice(i)] }
  const asText = (u, i) => `${i % 2 === 0 ? 'http' : 'HTTPS'}://${i % 3 === 0 ? 'www.' : ''}${i % 5 === 0 ? u.toUpperCase() : u}`
  const urlQuery = (strs) => ({ strs, hosts: strs.map((u) => split(u)[0]), rests: strs.map((u) => split(u)[1]), texts: strs.map(asText) })
  const randomIp = () => quad((rnd() * 2 ** 32) >>> 0)
  return {
    md5: { set: new Set(keys.md5.map(hexOf)), ...sets(() => hexOf(pick(keys.md5)), () => hexOf(randomBytes(rnd, 16)), hexQuery(32)) },
    sha256: { set: new Set(keys.sha256.map(hexOf)), ...sets(() => hexOf(pick(keys.sha256)), () => hexOf(randomBytes(rnd, 32)), hexQuery(64)) },
    ipv4: { set: new Set(keys.ipv4.map(quad)), ...sets(() => quad(pick(keys.ipv4)), randomIp, ipQuery) },
    cidr: {
      set: new Set(keys.cidr.map((c) => `${quad(c.net)}/${c.prefix}`)),
      ...sets(() => { const c = pick(keys.cidr); return quad((c.net + ((rnd() * 2 ** (32 - c.prefix)) >>> 0)) >>> 0) }, randomIp, ipQuery)
    },
    domain: {
      set: new Set(keys.domain.map((d) => d.host)),
      ...sets(() => `www2.${pick(keys.domain).host}`, () => `${word(rnd)}.${word(rnd)}.com`, urlQuery)
    },
    url: {
      set: new Set(keys.url),
      ...sets(() => {
        const m = pick(keys.url)
        return m.startsWith('*') && !m.startsWith('*.') ? `${word(rnd)}.com/x` : m.replace(/^\*\./, 'a.').replaceAll('*', 'x')
      }, () => `${word(rnd)}.net/${word(rnd)}`, urlQuery)
    }
  }
}

function tasks (index, Hits, normalizeUrl, q) {
  // Hits are cleared once per batch, as a worker clears them once per event: Hits.clear() drops
  // the arrays' storage, so clearing after every single hit would measure array regrowth.
  const hits = new Hits()
  let sink = 0
  const clear = () => { sink += hits.length; hits.clear() }
  const hex = (x) => () => { for (let i = 0; i < BATCH; i++) index.lookupHashHex(x.buf, i * x.width, (i + 1) * x.width, hits); clear() }
  const ip = (x) => () => { for (let i = 0; i < BATCH; i++) index.lookupIpv4(x.addrs[i], hits); clear() }
  const url = (type) => (x) => () => { for (let i = 0; i < BATCH; i++) index.lookupUrl(x.hosts[i], x.rests[i], hits, type); clear() }
  // As the matcher does it: the URL as extracted (scheme, some capitals and `www.`), normalized first.
  const urlText = (x) => () => {
    for (let i = 0; i < BATCH; i++) { const u = normalizeUrl(x.texts[i]); if (u !== null) index.lookupUrl(u.host, u.rest, hits, 'url') }
    clear()
  }
  const setHas = (k) => () => { for (let i = 0; i < BATCH; i++) if (k.set.has(k.mixed.strs[i])) sink++ }
  // What a Set costs when the value arrives as bytes, as it does in an event: make the string first.
  const setHexBytes = (k) => () => { const x = k.mixed; for (let i = 0; i < BATCH; i++) if (k.set.has(x.buf.latin1Slice(i * x.width, (i + 1) * x.width))) sink++ }
  const setIpBytes = (k) => () => { for (let i = 0; i < BATCH; i++) if (k.set.has(quad(k.mixed.addrs[i]))) sink++ }
  const row = (name, k, ours, fromBytes) => ({ name, mixed: ours(k.mixed), misses: ours(k.misses), set: setHas(k), setFromBytes: fromBytes?.(k) })
  return {
    rows: [
      row('md5 hex', q.md5, hex, setHexBytes),
      row('sha256 hex', q.sha256, hex, setHexBytes),
      row('ipv4', q.ipv4, ip, setIpBytes),
      row('ipv4 in CIDRs', q.cidr, ip, setIpBytes),
      row('domain', q.domain, url('domain')),
      row('url mask', q.url, url('url')),
      row('url text (normalized)', q.url, urlText)
    ],
    sink: () => sink
  }
}

/** Runs the benchmark; returns the figures (and writes bench/results/index.json). */
export async function runIndexBench ({ quick = false } = {}) {
  const { IndexBuilder } = await import(dist('builder.js'))
  const { FeedIndex } = await import(dist('feed-index.js'))
  const { Hits } = await import(dist('types.js'))
  const { writeSnapshot, readSnapshot } = await import(dist('snapshot.js'))
  const { normalizeUrl } = await import(new URL('../dist/match/normalize/url.js', import.meta.url).href)
  const n = quick ? 100_000 : 1_000_000
  const rnd = prng(0x5eed)
  const keys = makeData(n, rnd)

  const t0 = performance.now()
  const builder = build(IndexBuilder, keys)
  const t1 = performance.now()
  const handle = builder.build(1)
  const t2 = performance.now()
  const index = new FeedIndex(handle)
  const stats = index.stats()

  const snap = join(tmpdir(), `feedmatch-index-bench-${process.pid}.fmidx`)
  const t3 = performance.now()
  await writeSnapshot(handle, snap)
  const t4 = performance.now()
  const loaded = await readSnapshot(snap)
  const t5 = performance.now()
  void new FeedIndex(loaded)
  const snapshotBytes = (await stat(snap)).size
  await rm(snap, { force: true })

  const q = makeQueries(keys, rnd)
  const t = tasks(index, Hits, normalizeUrl, q)
  const bench = new Bench({ time: quick ? 200 : 1000, warmupTime: quick ? 50 : 200 })
  const COLUMNS = ['mixed', 'misses', 'set', 'setFromBytes']
  for (const r of t.rows) for (const c of COLUMNS) if (r[c] !== undefined) bench.add(`${r.name}: ${c}`, r[c])
  await bench.run()
  const perSec = (name) => {
    const task = bench.getTask(name)
    if (task === undefined) return null
    const r = task.result
    return r.state === 'completed' ? Math.round(r.throughput.mean * BATCH) : null
  }
  const lookups = {}
  for (const r of t.rows) {
    const [mixed, misses, set, setFromBytes] = COLUMNS.map((c) => perSec(`${r.name}: ${c}`))
    lookups[r.name] = {
      perSec: mixed, missesPerSec: misses, setPerSec: set, setFromBytesPerSec: setFromBytes,
      ratioToSet: Number((mixed / set).toFixed(3)),
      ratioToSetFromBytes: setFromBytes === null ? null : Number((mixed / setFromBytes).toFixed(3))
    }
  }

  const result = {
    indicators: n,
    mix: MIX,
    cidrPrefixLengths: new Set(CIDR_PREFIXES).size,
    rootMasks: ROOT_MASKS,
    buildMs: Math.round(t2 - t0),
    addMs: Math.round(t1 - t0),
    layoutMs: Math.round(t2 - t1),
    indexBytes: stats.bytes,
    bytesPerIndicator: Number((stats.bytes / n).toFixed(1)),
    arenaBytes: stats.byTable.arena,
    byTable: stats.byTable,
    duplicates: builder.duplicates,
    snapshotBytes,
    snapshotWriteMs: Math.round(t4 - t3),
    snapshotLoadMs: Math.round(t5 - t4),
    lookups,
    batch: BATCH,
    checksum: t.sink()
  }
  console.log(`\nFeedIndex: ${n.toLocaleString()} mixed indicators (${FEEDS} feeds)`)
  console.table({
    'build (add + layout)': `${result.buildMs} ms (${result.addMs} + ${result.layoutMs})`,
    'index bytes / indicator': `${result.bytesPerIndicator} (context arena excluded: ${(result.arenaBytes / 2 ** 20).toFixed(1)} MiB)`,
    'snapshot write / load': `${result.snapshotWriteMs} ms / ${result.snapshotLoadMs} ms (${(snapshotBytes / 2 ** 20).toFixed(1)} MiB)`
  })
  const fmt = (x) => x === null ? '-' : x.toLocaleString()
  console.table(Object.fromEntries(Object.entries(lookups).map(([k, v]) => [k, {
    'FeedIndex /s (half hits)': fmt(v.perSec),
    'FeedIndex /s (misses)': fmt(v.missesPerSec),
    'Set.has(string) /s': fmt(v.setPerSec),
    'ratio to Set': v.ratioToSet,
    'Set.has(string from bytes) /s': fmt(v.setFromBytesPerSec),
    'ratio to it': v.ratioToSetFromBytes ?? '-'
  }])))
  const dir = new URL('./results/', import.meta.url)
  await mkdir(dir, { recursive: true })
  await writeFile(new URL('index.json', dir), JSON.stringify({ date: new Date().toISOString(), node: process.version, quick, ...result }, null, 2))
  return result
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runIndexBench({ quick: process.argv.includes('--quick') })
}
