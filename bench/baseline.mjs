#!/usr/bin/env node
// The single-threaded Node baseline that every figure of `npm run bench` is compared with: what a
// competent engineer writes in an afternoon. Read the log as text, cut it into lines, find hashes,
// IPv4 addresses and URLs with V8 RegExps equivalent to the generic preset, look each value up in
// a `Set` of the indicator list, count the matches. Written plainly on purpose: no byte tricks,
// no workers. It runs as its own process (the runner spawns it) so that its peak RSS is its own.
// Usage: node bench/baseline.mjs --list LIST.txt CORPUS.log   (prints one JSON object on stdout)
import { createReadStream, readFileSync, statSync } from 'node:fs'
import { spawn } from 'node:child_process'
import { fileURLToPath, pathToFileURL } from 'node:url'

// The generic preset's rules (src/extract/presets.ts) in V8 syntax. Simplified where the corpus
// cannot tell the difference: no IPv6 (the corpus has none) and a look-behind instead of RE2's
// dotted-run branch for `1.2.3.4.5`.
const OCT = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)'
const RE_IP = new RegExp(`(?<![\\w.])${OCT}\\.${OCT}\\.${OCT}\\.${OCT}(?!\\.?\\w)`, 'g')
const RE_HASH = /\b(?:[0-9a-fA-F]{64}|[0-9a-fA-F]{40}|[0-9a-fA-F]{32})\b/g
const RE_URL = /\b(?:[hH][tT][tT][pP][sS]?|[fF][tT][pP]):\/\/[^\x00-\x20\x7f"'<>]*[^\x00-\x20\x7f"'<>)\]},;.]/g

/**
 * Does a URL hit the list? The list holds domains (which cover their subdomains), exact hosts,
 * exact URLs and URL prefixes ending in `/` (the masks' `*`), so try the URL, its `/` prefixes,
 * its host and the host's parent domains.
 */
function urlListed (set, url) {
  let rest = url.slice(url.indexOf('://') + 3)
  const hash = rest.indexOf('#')
  if (hash >= 0) rest = rest.slice(0, hash)
  let cut = rest.search(/[/?]/)
  if (cut < 0) cut = rest.length
  let host = rest.slice(0, cut).toLowerCase()
  const at = host.lastIndexOf('@')
  if (at >= 0) host = host.slice(at + 1)
  const colon = host.indexOf(':')
  if (colon >= 0) host = host.slice(0, colon)
  if (host.startsWith('www.')) host = host.slice(4)
  const path = rest.slice(cut)
  if (set.has(host + path)) return true
  for (let i = path.indexOf('/', 1); i > 0; i = path.indexOf('/', i + 1)) if (set.has(host + path.slice(0, i + 1))) return true
  for (let d = host; d !== ''; d = d.slice(d.indexOf('.') + 1 || d.length)) if (set.has(d)) return true
  return false
}

/** Scans `corpus` against the indicators of `list`; returns the counts and timings. */
export async function baseline (list, corpus) {
  const t0 = performance.now()
  const set = new Set(readFileSync(list, 'utf8').split('\n').filter((l) => l !== ''))
  const setupMs = performance.now() - t0

  const found = { hash: 0, ip: 0, url: 0 }
  let lines = 0
  const scan = (line) => {
    lines++
    for (const m of line.matchAll(RE_HASH)) if (set.has(m[0].toLowerCase())) found.hash++
    for (const m of line.matchAll(RE_IP)) if (set.has(m[0])) found.ip++
    for (const m of line.matchAll(RE_URL)) if (urlListed(set, m[0])) found.url++
  }
  const t1 = performance.now()
  let carry = ''
  for await (const chunk of createReadStream(corpus, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    const parts = (carry + chunk).split('\n')
    carry = parts.pop()
    for (const line of parts) scan(line)
  }
  if (carry !== '') scan(carry)
  const scanMs = performance.now() - t1
  const bytes = statSync(corpus).size
  return {
    bytes, lines, detections: found.hash + found.ip + found.url, byType: found, indicators: set.size,
    setupMs, scanMs, mbPerSec: bytes / 1e6 / (scanMs / 1000), linesPerSec: lines / (scanMs / 1000),
    peakRssMb: process.resourceUsage().maxRSS / 1024
  }
}

/** Runs the baseline in a child process (so the RSS is its own) and returns its figures. */
export async function runBaseline ({ list, corpus }) {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--list', list, corpus], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (s) => { out += s })
  const code = await new Promise((resolve) => child.on('close', resolve))
  if (code !== 0) throw new Error(`bench/baseline.mjs exited with ${code}`)
  return JSON.parse(out)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2)
  const i = args.indexOf('--list')
  if (i < 0 || args.length < 3) {
    process.stderr.write('usage: node bench/baseline.mjs --list LIST.txt CORPUS.log\n')
    process.exit(2)
  }
  const list = args[i + 1]
  const corpus = args.filter((_, k) => k !== i && k !== i + 1)[0]
  process.stdout.write(JSON.stringify(await baseline(list, corpus)) + '\n')
}
