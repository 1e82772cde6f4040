#!/usr/bin/env node
// Deterministic (seeded) log corpus for `npm run bench`: a realistic mix of CEF lines as FortiSIEM
// forwards them, squid access-log lines and key=value firewall lines, with about 1% of lines
// carrying one indicator from an indicator set's list.txt (made by make-bench-data.mjs) at a
// position of its type: a hash where a hash goes, an IP where an IP goes, a URL where a URL goes.
// Everything else in the corpus is checked against the list so that it can match nothing, and a
// sidecar JSON records how many indicators of each type were planted: the expected detections.
// Usage: node scripts/make-corpus.mjs --indicators bench/corpus/indicators-100000
//          [--size 500MB | --quick] [--out bench/corpus] [--seed 7] [--rate 0.01]
// Prints the corpus path. Output goes under bench/corpus/ (git-ignored).
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs'
import { basename, join } from 'node:path'
import { options, seeded } from './lib/seeded.mjs'

const args = process.argv.slice(2)
const opt = options(args)
const quick = args.includes('--quick')
const indicators = opt('indicators')
if (indicators === undefined) {
  process.stderr.write('make-corpus: --indicators DIR is required (a folder made by scripts/make-bench-data.mjs)\n')
  process.exit(2)
}
const size = parseSize(opt('size', quick ? '20MB' : '500MB'))
const out = opt('out', 'bench/corpus')
const rate = Number(opt('rate', '0.01'))
const { rand, int, pick, hex } = seeded(Number(opt('seed', '7')))

function parseSize (s) {
  const m = /^(\d+(?:\.\d+)?)\s*(k|m|g)?i?b?$/i.exec(s)
  if (m === null) throw new Error(`make-corpus: --size "${s}": expected a size such as 500MB or 20MB`)
  return Math.round(Number(m[1]) * { k: 1e3, m: 1e6, g: 1e9 }[(m[2] ?? 'm').toLowerCase()])
}

const pad = (n, w = 2) => String(n).padStart(w, '0')

const list = readFileSync(join(indicators, 'list.txt'), 'latin1').split('\n').filter((l) => l !== '')
// Each kind of indicator sits in one feed, and a value matches every record that lists it: a value
// the random set drew twice (two records, each its own id) counts twice.
const listed = new Map()
for (const v of list) listed.set(v, (listed.get(v) ?? 0) + 1)
const known = { has: (v) => listed.has(v) }
const records = (v) => listed.get(v) ?? 0

/** What kind of list entry this is (make-bench-data.mjs writes /24 networks as their address). */
function kindOf (v) {
  if (/^[0-9a-f]{32}$/.test(v)) return 'hash'
  if (/^\d+\.\d+\.\d+\.\d+$/.test(v)) return v.endsWith('.0') ? 'cidr' : 'ip'
  if (v.includes('/')) return v.endsWith('/') ? 'urlMask' : 'url'
  return v.split('.').length > 2 ? 'host' : 'domain'
}

/** Background IPs must match nothing: not listed, and not inside a listed /24 network. */
function ipClean (a, b, c, d) {
  const s = `${a}.${b}.${c}.${d}`
  return known.has(s) || known.has(`${a}.${b}.${c}.0`) ? null : s
}
function publicIp () {
  for (;;) {
    let a = 1 + int(223)
    if (a === 10 || a === 127 || a === 172 || a === 192) a = 93
    const s = ipClean(a, int(256), int(256), 1 + int(254))
    if (s !== null) return s
  }
}
function privateIp () {
  for (;;) {
    const s = rand() < 0.6 ? ipClean(10, int(256), int(256), 1 + int(254)) : ipClean(192, 168, int(256), 1 + int(254))
    if (s !== null) return s
  }
}

// Benign hosts: dropped if they or a parent domain happen to be in the list.
const HOSTS = [
  'www.google.com', 'fonts.gstatic.com', 'cdn.jsdelivr.net', 'update.microsoft.com', 'login.microsoftonline.com',
  'outlook.office365.com', 's3.amazonaws.com', 'api.github.com', 'registry.npmjs.org', 'deb.debian.org',
  'www.wikipedia.org', 'static.xx.fbcdn.net', 'i.ytimg.com', 'ocsp.digicert.com', 'crl.globalsign.com',
  'teams.microsoft.com', 'slack-edge.com', 'zoom.us', 'www.linkedin.com', 'cdn.shopify.com',
  'api.dropboxapi.com', 'clients2.google.com', 'safebrowsing.googleapis.com', 'mail.example.com',
  'intranet.corp.local', 'wpad.corp.local', 'updates.vendor.net', 'telemetry.vendor.net', 'news.ycombinator.com',
  'www.bbc.co.uk', 'www.spiegel.de', 'yandex.ru', 'vk.com', 'www.baidu.com', 'cdn.cloudflare.com'
].filter((h) => { const p = h.split('.'); return p.every((_, i) => !known.has(p.slice(i).join('.'))) })
const PATHS = [
  () => `/static/${hex(8)}/app.js?v=${int(100)}`, () => `/api/v1/items/${int(100000)}`, () => '/',
  () => `/images/${hex(12)}.png`, () => `/search?q=${hex(6)}&lang=en`, () => `/download/setup-${int(20)}.${int(10)}.exe`,
  () => `/css/main.${hex(6)}.css`, () => `/index.html`
]
const benignUrl = () => `${rand() < 0.7 ? 'https' : 'http'}://${pick(HOSTS)}${pick(PATHS)()}`

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
let epoch = 1_728_000_000 // a clock that only moves forward, as in a real log
const tick = () => { epoch += int(3); return epoch }
const syslogTs = (t) => { const d = new Date(t * 1000); return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}` }
const USERS = ['alice', 'bob', 'svc_backup', 'CORP\\jdoe', 'admin', 'mallory']
const ACTIONS = ['accept', 'deny', 'close', 'timeout']

/**
 * One CEF event as FortiSIEM forwards it over syslog (REFERENCE.md: src, dst, dvc, eventId, suser,
 * request, fileHash). `plant` overrides the field of its type.
 */
function cefLine (plant) {
  const t = tick()
  const act = pick(ACTIONS)
  let ext = `eventId=${int(1e9)} src=${privateIp()} dst=${plant?.ip ?? publicIp()} spt=${1024 + int(64000)} dpt=${pick([443, 80, 53, 8080, 25])} proto=${pick([6, 17])} act=${act} dvc=10.0.${int(4)}.${1 + int(20)}`
  if (plant?.url !== undefined || rand() < 0.3) ext += ` request=${plant?.url ?? benignUrl()}`
  if (plant?.hash !== undefined || rand() < 0.05) ext += ` fileHash=${plant?.hash ?? hex(pick([32, 40, 64]))}`
  ext += ` suser=${pick(USERS)}` // last: the guide's UserName rule takes the rest of the event
  return `<134>${syslogTs(t)} fsm01 CEF:0|Fortinet|FortiGate-600E|7.2.5|${pad(int(100), 5)}|traffic:forward ${act}|${1 + int(9)}|${ext}`
}

/** One squid access.log line (native format): the URL and the server IP are its indicator positions. */
function squidLine (plant) {
  const t = tick()
  const status = pick(['TCP_MISS/200', 'TCP_HIT/200', 'TCP_MISS/304', 'TCP_DENIED/403', 'TCP_MISS/404'])
  const method = plant === undefined ? pick(['GET', 'GET', 'GET', 'POST', 'HEAD']) : 'GET'
  const type = pick(['text/html', 'application/javascript', 'image/png', 'application/json', 'application/octet-stream'])
  return `${t}.${pad(int(1000), 3)} ${String(int(5000)).padStart(6, ' ')} ${privateIp()} ${status} ${int(200000)} ${method} ${plant?.url ?? benignUrl()} ${pick(['-', ...USERS.slice(0, 3)])} HIER_DIRECT/${plant?.ip ?? publicIp()} ${type}`
}

/** One FortiGate-style key=value traffic or UTM line: dstip, url and filehash are its positions. */
function kvLine (plant) {
  const t = tick()
  const d = new Date(t * 1000)
  let s = `date=${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} time=${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} devname="FGT60E" devid="FGT60E4Q1700${pad(int(100), 4)}" logid="00000000${pad(int(100))}" type="${plant?.hash === undefined ? 'traffic' : 'utm'}" subtype="forward" level="notice" vd="root" srcip=${privateIp()} srcport=${1024 + int(64000)} srcintf="port1" dstip=${plant?.ip ?? publicIp()} dstport=${pick([443, 80, 53])} dstintf="wan1" sessionid=${int(1e8)} proto=6 action="${pick(ACTIONS)}" policyid=${int(50)} service="HTTPS" sentbyte=${int(1e6)} rcvdbyte=${int(1e7)}`
  if (plant?.url !== undefined || rand() < 0.25) s += ` url="${plant?.url ?? benignUrl()}"`
  if (plant?.hash !== undefined || rand() < 0.03) s += ` filehash="${plant?.hash ?? hex(64)}" virus="${pick(['EICAR_TEST_FILE', 'W32/Agent.XYZ!tr'])}"`
  return s
}

/**
 * Feed records a planted value matches under DESIGN.md section 3, which can be more than one: an
 * IP that is also inside a listed /24, a host under a listed domain (a list entry with one dot is
 * a domain record, which covers subdomains; with two it is an exact host).
 */
function recordsMatching (kind, v) {
  if (kind === 'hash' || kind === 'cidr') return records(v)
  if (kind === 'ip') return records(v) + records(v.slice(0, v.lastIndexOf('.')) + '.0')
  const host = v.split('/')[0]
  let n = kind === 'domain' || kind === 'host' ? 0 : records(v) // the URL's own mask
  n += records(host)
  const labels = host.split('.')
  for (let i = 1; i < labels.length - 1; i++) {
    const parent = labels.slice(i).join('.')
    if (parent.split('.').length === 2) n += records(parent)
  }
  return n
}

/** A URL that carries a URL-kind list entry, as a browser would have requested it. */
function urlFor (kind, v) {
  const scheme = rand() < 0.5 ? 'http' : 'https'
  if (kind === 'url') return `${scheme}://${v}`
  if (kind === 'urlMask') return `${scheme}://${v}${pick(['index.php', 'gate.php?id=' + int(1000), 'a/b.bin'])}` // the mask's `*`
  return `${scheme}://${v}${pick(PATHS)()}` // domain or host: any path
}

/** @type {Array<[number, (plant?: { hash?: string, ip?: string, url?: string }) => string]>} */
const MAKERS = [[40, cefLine], [35, squidLine], [25, kvLine]]
const WEIGHT = MAKERS.reduce((n, [w]) => n + w, 0)
function background () {
  let r = int(WEIGHT)
  for (const [w, make] of MAKERS) if ((r -= w) < 0) return make()
  return cefLine()
}
function planted (counts) {
  const v = pick(list)
  const kind = kindOf(v)
  counts[kind]++
  expected += recordsMatching(kind, v)
  if (kind === 'hash') return rand() < 0.6 ? cefLine({ hash: v }) : kvLine({ hash: v })
  const plant = kind === 'ip' || kind === 'cidr' ? { ip: v } : { url: urlFor(kind, v) }
  let r = int(WEIGHT)
  for (const [w, make] of MAKERS) if ((r -= w) < 0) return make(plant)
  return cefLine(plant)
}

mkdirSync(out, { recursive: true })
const name = `corpus-${Math.round(size / 1e6)}mb-${basename(indicators)}`
const file = join(out, `${name}.log`)
const counts = { hash: 0, ip: 0, cidr: 0, domain: 0, host: 0, url: 0, urlMask: 0 }
const started = performance.now()
const fd = openSync(`${file}.tmp`, 'w')
let bytes = 0
let lines = 0
let plantedLines = 0
let expected = 0
let chunk = ''
while (bytes + chunk.length < size) {
  // Lines are ASCII, so string length is byte length.
  let line
  if (rand() < rate) { line = planted(counts); plantedLines++ } else line = background()
  chunk += line + '\n'
  lines++
  if (chunk.length > 1 << 20) { writeSync(fd, chunk, null, 'latin1'); bytes += chunk.length; chunk = '' }
}
writeSync(fd, chunk, null, 'latin1')
bytes += chunk.length
closeSync(fd)
renameSync(`${file}.tmp`, file) // a corpus cut short by ^C is never taken for a whole one
const sidecar = {
  file: basename(file), bytes, lines, plantedLines, planted: counts, expectedDetections: expected,
  indicators: basename(indicators), listEntries: list.length, seed: Number(opt('seed', '7')), rate,
  mix: Object.fromEntries(MAKERS.map(([w, f]) => [f.name, w / WEIGHT])), generateMs: Math.round(performance.now() - started)
}
writeFileSync(join(out, `${name}.json`), JSON.stringify(sidecar, null, 2) + '\n')
console.log(file)
