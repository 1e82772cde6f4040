#!/usr/bin/env node
// Writes the demo feeds (fixtures/feeds/) and the verification events (fixtures/verification/).
// Usage: node scripts/make-demo-feeds.mjs [OUT_DIR]   (default: the repository's fixtures/)
//
// Every value is made up: hashes are random hex (or digests of fixed labels), IPs sit in the
// documentation and benchmarking ranges, hosts under .example, .test and example.com/net/org. The
// output is deterministic (seeded PRNG, fixed dates), so running the script again changes nothing.
// Each feed starts with PERMANENT TEST RECORDS, in the spirit of Kaspersky's: fixed indicators that
// `feedmatch verify` sends in fixtures/verification/events.txt and expects back (expected.json).
import { createHash } from 'node:crypto'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const OUT = resolve(process.argv[2] ?? join(ROOT, 'fixtures'))
const FEEDS = join(OUT, 'feeds')

// All dates hang off this instant (2024-03-01T00:00:00Z): never the clock.
const BASE = Date.UTC(2024, 2, 1)
const DAY = 86_400_000

// mulberry32: small, fast, good enough for fixtures. One generator per feed, seeded by its name, so
// a change to one feed does not reshuffle the others.
function prng (name) {
  let seed = 0
  for (const c of name) seed = Math.imul(seed ^ c.charCodeAt(0), 0x9e3779b1) >>> 0
  const next = () => {
    seed = (seed + 0x6d2b79f5) >>> 0
    let t = seed
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1))
  const pick = (list) => list[int(0, list.length - 1)]
  const hex = (n) => { let s = ''; while (s.length < n) s += int(0, 15).toString(16); return s }
  const label = (min = 6, max = 12) => {
    const abc = 'abcdefghijklmnopqrstuvwxyz0123456789'
    let s = pick(abc.slice(0, 26).split(''))
    const n = int(min, max)
    while (s.length < n) s += pick(abc.split(''))
    return s
  }
  const uuid = () => { const h = hex(32); return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${'89ab'[int(0, 3)]}${h.slice(17, 20)}-${h.slice(20)}` }
  // Bulk IPs come from 198.18.0.0/15 (RFC 2544 benchmarking): reserved, and apart from the
  // documentation ranges that the permanent test records use.
  const usedIps = new Set()
  const ip = () => {
    for (;;) {
      const a = `198.${int(18, 19)}.${int(0, 255)}.${int(1, 254)}`
      if (!usedIps.has(a)) { usedIps.add(a); return a }
    }
  }
  // first_seen within two years before BASE, last_seen after it, both before BASE.
  const seen = () => {
    const first = BASE - int(30, 730) * DAY - int(0, 1439) * 60_000
    const last = Math.min(BASE - int(0, 1439) * 60_000, first + int(0, 400) * DAY)
    return { first, last }
  }
  return { next, int, pick, hex, label, uuid, ip, seen }
}

const pad = (n) => String(n).padStart(2, '0')
const klDate = (ms) => {
  const d = new Date(ms)
  return `${pad(d.getUTCDate())}.${pad(d.getUTCMonth() + 1)}.${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`
}
const iso = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z')
const digest = (alg, label) => createHash(alg).update(`feedmatch verification record: ${label}`).digest('hex')
const hashes = (label) => ({ md5: digest('md5', label), sha1: digest('sha1', label), sha256: digest('sha256', label) })

const FAMILIES = ['Demofam', 'Samplebot', 'Fakeloader', 'Mockspy', 'Testcrypt', 'Dummyrat', 'Placebo', 'Stubby', 'Nullgate', 'Shamware']
const CLASSES = ['Trojan', 'Trojan-Downloader', 'Trojan-Spy', 'Trojan-Ransom', 'Backdoor', 'Worm', 'Exploit', 'Trojan-Banker']
const PLATFORMS = ['Win32', 'Win64', 'Linux', 'AndroidOS', 'MSOffice', 'JS', 'MacOS']
const GEO = ['us', 'de', 'nl', 'fr', 'gb', 'br', 'sg', 'jp', 'ca', 'se', 'pl', 'in']
const PATH_WORDS = ['gate.php', 'admin', 'panel', 'login', 'update', 'files', 'dl', 'img', 'api', 'wp-content', 'config.bin', 'index.php', 'secure', 'account', 'verify', 'static', 'download', 'inc', 'tmp', 'bot']
const TLDS = ['example', 'test', 'example.com', 'example.net', 'example.org']

function threatName (r) {
  const name = `${r.pick(CLASSES)}.${r.pick(PLATFORMS)}.${r.pick(FAMILIES)}.${r.label(1, 2)}`
  return r.next() < 0.3 ? `HEUR:${name}` : name
}

const host = (r) => `${r.label()}.${r.pick(TLDS)}`
const urlPath = (r) => Array.from({ length: r.int(1, 3) }, () => r.pick(PATH_WORDS)).join('/')

// Kaspersky URL masks (DESIGN.md section 3): type 1 a domain and its subdomains, type 2 one host;
// masks with a path or `*` carry no type and are URL masks.
function maskRecord (r) {
  const x = r.next()
  const h = host(r)
  if (x < 0.25) return { mask: h, type: 1 }
  if (x < 0.4) return { mask: h, type: 2 }
  if (x < 0.5) return { mask: `*.${h}/${urlPath(r)}/*` }
  if (x < 0.6) return { mask: `${h}/${r.pick(PATH_WORDS)}/*` }
  return { mask: `${h}/${urlPath(r)}` }
}

function jsonArray (records) {
  // One record a line: small files, and a line number in a message points at one record.
  return '[\n' + records.map((rec) => JSON.stringify(rec)).join(',\n') + '\n]\n'
}

// --- verification bookkeeping -------------------------------------------------------------------
const expected = []
const events = []
let clock = Date.UTC(2024, 2, 1, 9, 30, 0)
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
function syslogStamp () {
  clock += 7000
  const d = new Date(clock)
  return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
}
let eventId = 100000
// Log lines by style; each puts the query where such a device logs it. Source addresses are
// private (10.x), so only the indicator under test can match.
const STYLES = {
  cefFirewall: (q, n) => `<134>${syslogStamp()} fw-edge-01 CEF:0|DemoVendor|DemoFirewall|4.2|100|Traffic denied|5|src=10.20.1.${n} dst=${q} spt=${51000 + n} dpt=443 proto=TCP act=deny dvc=10.20.0.1 eventId=${++eventId} suser=alice`,
  cefAv: (q, n) => `<132>${syslogStamp()} av-srv-02 CEF:0|DemoVendor|DemoAV|2.3|200|Malware detected|8|src=10.20.3.${n} fileHash=${q} fname=invoice_${n}.exe act=quarantine dvc=10.20.0.5 eventId=${++eventId} suser=bob`,
  cefProxy: (q, n) => `<134>${syslogStamp()} swg-01 CEF:0|DemoVendor|DemoProxy|1.8|300|URL blocked|6|src=10.20.4.${n} request=${q} requestMethod=GET act=block dvc=10.20.0.9 eventId=${++eventId} suser=carol`,
  kvFirewall: (q, n) => `<134>${syslogStamp()} fw01 kernel: action=deny proto=tcp src=10.0.0.${n} dst=${q} sport=${49152 + n} dport=8443 rule=egress-default`,
  kvAv: (q, n) => `<132>${syslogStamp()} ws-017 av-agent[811]: event=detection action=quarantined file="C:\\Users\\dave\\Downloads\\setup_${n}.exe" hash=${q} user=dave`,
  squid: (q, n) => `<134>${syslogStamp()} proxy01 squid[2211]: ${1709285400 + n}.${String(n * 37 % 1000).padStart(3, '0')}    ${120 + n} 10.0.1.${n} TCP_DENIED/403 3981 GET ${q} - HIER_NONE/- text/html`
}
/** Records a permanent test indicator: its expected detection and one log line carrying it. */
function verifyEntry (feed, kind, type, query, matched, style) {
  expected.push({ feed, category: feed, type, kind, query, matched })
  events.push(STYLES[style](query, expected.length + 10))
}

// --- Kaspersky-format feeds ---------------------------------------------------------------------
function klMaliciousHash () {
  const r = prng('kl_malicious_hash')
  const eicar = {
    md5: '44d88612fea8a8f36de82e1278abb02f',
    sha1: '3395856ce81f2b7382dee72602f798b642f14140',
    sha256: '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f'
  }
  /** @type {Array<Record<string, unknown>>} */
  const records = [{
    MD5: eicar.md5, SHA1: eicar.sha1, SHA256: eicar.sha256, threat: 'EICAR-Test-File', file_size: 68,
    file_type: 'COM', file_names: ['eicar.com', 'eicar.txt'], first_seen: '10.07.2015 23:53',
    last_seen: '04.10.2019 06:25', popularity: 5, geo: 'us, de', id: 999999001
  }]
  verifyEntry('kl_malicious_hash', 'md5', 'md5', eicar.md5, eicar.md5, 'cefAv')
  verifyEntry('kl_malicious_hash', 'sha1', 'sha1', eicar.sha1.toUpperCase(), eicar.sha1, 'kvAv')
  verifyEntry('kl_malicious_hash', 'sha256', 'sha256', eicar.sha256, eicar.sha256, 'cefAv')
  for (let i = 0; i < 200; i++) {
    const { first, last } = r.seen()
    const names = Array.from({ length: r.int(0, 2) }, () => `${r.label(4, 9)}.${r.pick(['exe', 'dll', 'doc', 'js', 'apk', 'elf', 'zip'])}`)
    records.push({
      MD5: r.hex(32), SHA1: r.hex(40), SHA256: r.hex(64), threat: threatName(r), file_size: r.int(2048, 4_000_000),
      file_type: r.pick(['PE32', 'PE32+', 'ELF', 'DOC', 'JS', 'APK', 'ZIP']), ...(names.length > 0 ? { file_names: names } : {}),
      first_seen: klDate(first), last_seen: klDate(last), popularity: r.int(1, 5), geo: `${r.pick(GEO)}, ${r.pick(GEO)}`, id: 40_000_000 + i * 7
    })
  }
  return records
}

function klIpReputation () {
  const r = prng('kl_ip_reputation')
  const records = [{
    ip: '192.0.2.66', threat_score: 100, category: 'botnet_cnc', ip_geo: 'us', first_seen: '10.07.2015 23:53',
    last_seen: '04.10.2019 06:25', popularity: 5, users_geo: 'us, de', id: 999999002
  }]
  verifyEntry('kl_ip_reputation', 'ip', 'ip', '192.0.2.66', '192.0.2.66', 'cefFirewall')
  for (let i = 0; i < 300; i++) {
    const { first, last } = r.seen()
    records.push({
      ip: r.ip(), threat_score: r.int(10, 100), category: r.pick(['malware', 'phishing', 'botnet_cnc', 'spam', 'scanner', 'proxy']),
      ip_geo: r.pick(GEO), first_seen: klDate(first), last_seen: klDate(last), popularity: r.int(1, 5),
      users_geo: `${r.pick(GEO)}, ${r.pick(GEO)}`, id: 50_000_000 + i * 3
    })
  }
  return records
}

/** A Kaspersky URL feed: permanent url/domain/host test masks, then made-up masks. */
function klUrlFeed (feed, tests, extra, idBase, testId) {
  const r = prng(feed)
  const records = tests.map((t, n) => ({
    mask: t.mask, ...(t.type !== undefined ? { type: t.type } : {}), first_seen: '10.07.2015 23:53',
    last_seen: '04.10.2019 06:25', popularity: 1, ...extra(r), id: testId + n
  }))
  for (const t of tests) verifyEntry(feed, t.type === 1 ? 'domain' : t.type === 2 ? 'host' : 'url', 'url', t.query, t.mask, t.style)
  for (let i = 0; i < 200; i++) {
    const { first, last } = r.seen()
    const m = maskRecord(r)
    records.push({ ...m, first_seen: klDate(first), last_seen: klDate(last), popularity: r.int(1, 5), ...extra(r), id: idBase + i * 11 })
  }
  return records
}

const fileRefs = (r) => Array.from({ length: r.int(0, 2) }, () => ({ MD5: r.hex(32), SHA1: r.hex(40), SHA256: r.hex(64), threat: threatName(r) }))

function klBotnetCncUrl () {
  return klUrlFeed('kl_botnet_cnc_url', [
    { mask: 'verify-botnet.example.com/gate.php', query: 'http://verify-botnet.example.com/gate.php', style: 'squid' },
    { mask: 'verify-botnet-domain.example.com', type: 1, query: 'http://c2.verify-botnet-domain.example.com/tasks/next', style: 'cefProxy' },
    { mask: 'verify-botnet-host.example.com', type: 2, query: 'https://verify-botnet-host.example.com/panel/connect.php', style: 'squid' }
  ], (r) => ({ threat: threatName(r), geo: r.pick(GEO), files: fileRefs(r) }), 60_000_000, 999999100)
}

function klPhishingUrl () {
  return klUrlFeed('kl_phishing_url', [
    { mask: 'verify-phishing.example.net/login', query: 'https://verify-phishing.example.net/login', style: 'cefProxy' },
    { mask: 'verify-phishing-domain.example.net', type: 1, query: 'http://login.verify-phishing-domain.example.net/account/update', style: 'squid' },
    { mask: 'verify-phishing-host.example.net', type: 2, query: 'https://verify-phishing-host.example.net/secure/index.html', style: 'cefProxy' }
  ], (r) => ({ geo: r.pick(GEO), industry: r.pick(['banking', 'e-commerce', 'social', 'webmail', 'payments']) }), 70_000_000, 999999200)
}

function klMaliciousUrl () {
  return klUrlFeed('kl_malicious_url', [
    { mask: '*.verify-malicious.example.com/payload/*', query: 'http://dl.verify-malicious.example.com/payload/setup.exe', style: 'squid' },
    { mask: 'verify-malicious-domain.example.com', type: 1, query: 'http://cdn.verify-malicious-domain.example.com/js/loader.js', style: 'cefProxy' },
    { mask: 'verify-malicious-host.example.com', type: 2, query: 'http://verify-malicious-host.example.com/files/doc.zip', style: 'squid' }
  ], (r) => ({ category: r.pick(['malware', 'exploit', 'drive-by', 'miner']), geo: r.pick(GEO), files: fileRefs(r) }), 80_000_000, 999999300)
}

// --- OSINT CSV ----------------------------------------------------------------------------------
function osintCsv () {
  const r = prng('osint_ioc')
  const h = hashes('osint_ioc')
  const feed = 'osint_ioc'
  // The `type` column uses feedmatch's indicator kinds, so a mapping can take the kind per row.
  const rows = [
    ['203.0.113.23', 'ip', 'verify-osint-ip', '2015-07-10T23:53:00Z', 100],
    ['203.0.113.128/27', 'ip', 'verify-osint-cidr', '2015-07-10T23:53:00Z', 100],
    ['verify-osint-domain.test', 'domain', 'verify-osint-domain', '2015-07-10T23:53:00Z', 100],
    ['http://verify-osint.test/dropper/stage2.bin', 'url', 'verify-osint-url', '2015-07-10T23:53:00Z', 100],
    [h.md5, 'md5', 'verify-osint-md5', '2015-07-10T23:53:00Z', 100],
    [h.sha1, 'sha1', 'verify-osint-sha1', '2015-07-10T23:53:00Z', 100],
    [h.sha256, 'sha256', 'verify-osint-sha256', '2015-07-10T23:53:00Z', 100]
  ]
  verifyEntry(feed, 'ip', 'ip', '203.0.113.23', '203.0.113.23', 'kvFirewall')
  verifyEntry(feed, 'ip', 'ip', '203.0.113.140', '203.0.113.128/27', 'cefFirewall')
  verifyEntry(feed, 'domain', 'url', 'http://files.verify-osint-domain.test/update.exe', 'verify-osint-domain.test', 'squid')
  verifyEntry(feed, 'url', 'url', 'http://verify-osint.test/dropper/stage2.bin', 'verify-osint.test/dropper/stage2.bin', 'cefProxy')
  verifyEntry(feed, 'md5', 'md5', h.md5, h.md5, 'kvAv')
  verifyEntry(feed, 'sha1', 'sha1', h.sha1, h.sha1, 'cefAv')
  verifyEntry(feed, 'sha256', 'sha256', h.sha256.toUpperCase(), h.sha256, 'kvAv')
  for (let i = 0; i < 250; i++) {
    const x = r.next()
    const threat = r.pick(FAMILIES).toLowerCase() + '-' + r.pick(['c2', 'dropper', 'phish', 'scan', 'loader', 'exfil'])
    const date = iso(r.seen().first)
    let ind, type
    if (x < 0.25) { ind = r.ip(); type = 'ip' } else if (x < 0.3) { ind = `${r.ip().replace(/\.\d+$/, '.0')}/24`; type = 'ip' } else if (x < 0.5) { ind = host(r); type = 'domain' } else if (x < 0.7) { ind = `http://${host(r)}/${urlPath(r)}`; type = 'url' } else if (x < 0.8) { ind = r.hex(32); type = 'md5' } else if (x < 0.87) { ind = r.hex(40); type = 'sha1' } else { ind = r.hex(64); type = 'sha256' }
    rows.push([ind, type, threat, date, r.int(20, 100)])
  }
  return '# feedmatch demo OSINT feed: made-up indicators for tests and demos; regenerate with scripts/make-demo-feeds.mjs\n' +
    'indicator,type,threat,first_seen,confidence\n' + rows.map((row) => row.join(',')).join('\n') + '\n'
}

// --- STIX 2.1 bundle ----------------------------------------------------------------------------
function stixBundle () {
  const r = prng('stix_indicators')
  const h = hashes('stix_indicators')
  const feed = 'stix_indicators'
  const identity = `identity--${r.uuid()}`
  /** @type {Array<Record<string, unknown>>} */
  const objects = [{
    type: 'identity', spec_version: '2.1', id: identity, created: '2015-07-10T23:53:00.000Z', modified: '2015-07-10T23:53:00.000Z',
    name: 'feedmatch demo intelligence (made-up data)', identity_class: 'organization'
  }]
  const indicator = (name, pattern, fixed, extra = {}) => {
    const created = fixed ? '2015-07-10T23:53:00.000Z' : new Date(r.seen().first).toISOString()
    objects.push({
      type: 'indicator', spec_version: '2.1', id: `indicator--${r.uuid()}`, created, modified: created, created_by_ref: identity,
      name, indicator_types: ['malicious-activity'], pattern, pattern_type: 'stix', valid_from: created,
      valid_until: '2099-12-31T23:59:59.000Z', confidence: fixed ? 100 : r.int(15, 95), ...extra
    })
  }
  const tests = [
    ['verify-stix-md5', `[file:hashes.MD5 = '${h.md5}']`, 'md5', 'md5', h.md5, h.md5, 'cefAv'],
    ['verify-stix-sha1', `[file:hashes.'SHA-1' = '${h.sha1}']`, 'sha1', 'sha1', h.sha1, h.sha1, 'kvAv'],
    ['verify-stix-sha256', `[file:hashes.'SHA-256' = '${h.sha256}']`, 'sha256', 'sha256', h.sha256, h.sha256, 'cefAv'],
    ['verify-stix-ipv4', "[ipv4-addr:value = '203.0.113.7']", 'ip', 'ip', '203.0.113.7', '203.0.113.7', 'cefFirewall'],
    ['verify-stix-cidr', "[ipv4-addr:value = '203.0.113.64/26']", 'ip', 'ip', '203.0.113.77', '203.0.113.64/26', 'kvFirewall'],
    ['verify-stix-ipv6', "[ipv6-addr:value = '2001:db8:5710::7']", 'ip', 'ip', '2001:db8:5710::7', '2001:db8:5710::7', 'kvFirewall'],
    ['verify-stix-domain', "[domain-name:value = 'verify-stix-domain.example']", 'domain', 'url', 'https://www.verify-stix-domain.example/news/today.html', 'verify-stix-domain.example', 'squid'],
    ['verify-stix-url', "[url:value = 'http://verify-stix.example/kit/exploit.html']", 'url', 'url', 'http://verify-stix.example/kit/exploit.html', 'verify-stix.example/kit/exploit.html', 'cefProxy']
  ]
  for (const [name, pattern, kind, type, query, matched, style] of tests) {
    indicator(name, pattern, true, { description: 'Permanent test record for feedmatch verify.' })
    verifyEntry(feed, kind, type, query, matched, style)
  }
  indicator('verify-stix-or', "[domain-name:value = 'verify-stix-or.example'] OR [ipv4-addr:value = '203.0.113.201']", true,
    { description: 'Permanent test record for feedmatch verify (an OR pattern).' })
  verifyEntry(feed, 'domain', 'url', 'http://verify-stix-or.example/cmd', 'verify-stix-or.example', 'cefProxy')
  verifyEntry(feed, 'ip', 'ip', '203.0.113.201', '203.0.113.201', 'cefFirewall')
  for (let i = 0; i < 200; i++) {
    const x = r.next()
    let pattern
    if (x < 0.15) pattern = `[file:hashes.'SHA-256' = '${r.hex(64)}']`
    else if (x < 0.25) pattern = `[file:hashes.MD5 = '${r.hex(32)}']`
    else if (x < 0.3) pattern = `[file:hashes.'SHA-1' = '${r.hex(40)}']`
    else if (x < 0.5) pattern = `[ipv4-addr:value = '${r.ip()}']`
    else if (x < 0.55) pattern = `[ipv4-addr:value = '${r.ip().replace(/\.\d+$/, '.0')}/24']`
    else if (x < 0.6) pattern = `[ipv6-addr:value = '2001:db8:b${r.hex(3)}:${r.hex(4)}::${r.int(1, 255).toString(16)}']`
    else if (x < 0.75) pattern = `[domain-name:value = '${host(r)}']`
    else if (x < 0.92) pattern = `[url:value = 'http://${host(r)}/${urlPath(r)}']`
    else pattern = `[domain-name:value = '${host(r)}' OR domain-name:value = '${host(r)}']`
    const kill = r.next() < 0.3 ? { kill_chain_phases: [{ kill_chain_name: 'mitre-attack', phase_name: r.pick(['command-and-control', 'initial-access', 'execution']) }] } : {}
    indicator(`${r.pick(FAMILIES)} ${r.pick(['infrastructure', 'payload', 'phishing site', 'loader'])}`, pattern, false, kill)
  }
  return '{\n  "type": "bundle",\n  "id": "bundle--' + r.uuid() + '",\n  "objects": [\n' +
    objects.map((o) => '    ' + JSON.stringify(o)).join(',\n') + '\n  ]\n}\n'
}

// --- MISP feed folder ---------------------------------------------------------------------------
function mispFeed () {
  const r = prng('misp_feed')
  const feed = 'misp_feed'
  const h = hashes('misp_feed')
  const fh = hashes('misp_feed filename')
  const ts = (ms) => String(Math.floor(ms / 1000))
  const attr = (type, value, category, extra = {}) => ({
    uuid: r.uuid(), type, category, value, to_ids: true, comment: '', timestamp: ts(BASE - r.int(1, 300) * DAY),
    deleted: false, first_seen: null, last_seen: null, ...extra
  })
  const test = (type, value, category, kind, mtype, query, matched, style) => {
    verifyEntry(feed, kind, mtype, query, matched, style)
    return attr(type, value, category, { comment: 'permanent test record for feedmatch verify', timestamp: '1436572380' })
  }
  const bulk = (types, n) => Array.from({ length: n }, () => {
    const type = r.pick(types)
    const value = {
      md5: () => r.hex(32), sha1: () => r.hex(40), sha256: () => r.hex(64), 'ip-src': () => r.ip(), 'ip-dst': () => r.ip(),
      domain: () => host(r), hostname: () => `${r.label(3, 6)}.${host(r)}`, url: () => `http://${host(r)}/${urlPath(r)}`,
      'ip-src|port': () => `${r.ip()}|${r.int(1024, 65535)}`, 'ip-dst|port': () => `${r.ip()}|${r.pick([80, 443, 8080, 4444, 8443])}`,
      'domain|ip': () => `${host(r)}|${r.ip()}`, 'hostname|port': () => `${r.label(3, 6)}.${host(r)}|${r.pick([80, 443, 8080])}`,
      'filename|md5': () => `${r.label(4, 8)}.exe|${r.hex(32)}`, 'filename|sha1': () => `${r.label(4, 8)}.dll|${r.hex(40)}`,
      'filename|sha256': () => `${r.label(4, 8)}.bin|${r.hex(64)}`
    }[type]()
    const category = /md5|sha/.test(type) ? 'Payload delivery' : 'Network activity'
    return attr(type, value, category, r.next() < 0.15 ? { to_ids: false, Tag: [{ name: 'demo:low-confidence' }] } : {})
  })
  const tags = [{ name: 'tlp:clear' }, { name: 'feedmatch:demo' }]
  const org = { name: 'feedmatch demo org (made up)', uuid: r.uuid() }
  const e1 = r.uuid()
  const e2 = r.uuid()
  const event1 = {
    uuid: e1, info: 'Demo campaign: made-up phishing kit infrastructure', date: '2024-02-10', threat_level_id: '2', analysis: '2',
    timestamp: '1707523200', published: true, Orgc: org, Tag: tags,
    Attribute: [
      test('md5', h.md5, 'Payload delivery', 'md5', 'md5', h.md5, h.md5, 'cefAv'),
      test('sha1', h.sha1, 'Payload delivery', 'sha1', 'sha1', h.sha1, h.sha1, 'kvAv'),
      test('sha256', h.sha256, 'Payload delivery', 'sha256', 'sha256', h.sha256, h.sha256, 'cefAv'),
      test('ip-src', '192.0.2.150', 'Network activity', 'ip', 'ip', '192.0.2.150', '192.0.2.150', 'kvFirewall'),
      test('ip-dst', '192.0.2.151', 'Network activity', 'ip', 'ip', '192.0.2.151', '192.0.2.151', 'cefFirewall'),
      test('domain', 'verify-misp-domain.example', 'Network activity', 'domain', 'url', 'http://cdn.verify-misp-domain.example/lib/app.js', 'verify-misp-domain.example', 'squid'),
      test('hostname', 'verify-misp-host.example', 'Network activity', 'host', 'url', 'https://verify-misp-host.example/api/v1/beacon', 'verify-misp-host.example', 'cefProxy'),
      test('url', 'http://verify-misp.example/drop/agent.bin', 'Network activity', 'url', 'url', 'http://verify-misp.example/drop/agent.bin', 'verify-misp.example/drop/agent.bin', 'squid'),
      // Deleted and non-indicator attributes: the parser must pass over them.
      attr('ip-dst', '192.0.2.250', 'Network activity', { deleted: true, comment: 'deleted: must never match' }),
      attr('text', 'Made-up campaign notes', 'Other', { to_ids: false }),
      ...bulk(['md5', 'sha1', 'sha256', 'ip-src', 'ip-dst', 'domain', 'hostname', 'url'], 110)
    ],
    Object: []
  }
  const event2 = {
    uuid: e2, info: 'Demo campaign: made-up loader with C2 ports', date: '2024-02-20', threat_level_id: '1', analysis: '1',
    timestamp: '1708387200', published: true, Orgc: org, Tag: [...tags, { name: 'misp-galaxy:demo="Fakeloader"' }],
    Attribute: [
      test('ip-src|port', '192.0.2.152|4444', 'Network activity', 'ip', 'ip', '192.0.2.152', '192.0.2.152', 'cefFirewall'),
      test('ip-dst|port', '2001:db8:5711::1|8443', 'Network activity', 'ip', 'ip', '2001:db8:5711::1', '2001:db8:5711::1', 'kvFirewall'),
      test('domain|ip', 'verify-misp-domainip.example|192.0.2.153', 'Network activity', 'domain', 'url', 'http://verify-misp-domainip.example/index.html', 'verify-misp-domainip.example', 'cefProxy'),
      test('hostname|port', 'verify-misp-hostport.example|8080', 'Network activity', 'host', 'url', 'http://verify-misp-hostport.example:8080/c2/poll', 'verify-misp-hostport.example', 'squid'),
      ...bulk(['ip-src|port', 'ip-dst|port', 'domain|ip', 'hostname|port', 'filename|md5', 'filename|sha1', 'filename|sha256'], 100)
    ],
    Object: [{
      name: 'file', meta_category: 'file', uuid: r.uuid(), deleted: false,
      Attribute: [
        test('filename|md5', `invoice_verify.exe|${fh.md5}`, 'Payload delivery', 'md5', 'md5', fh.md5, fh.md5, 'kvAv'),
        test('filename|sha1', `invoice_verify.exe|${fh.sha1}`, 'Payload delivery', 'sha1', 'sha1', fh.sha1, fh.sha1, 'cefAv'),
        test('filename|sha256', `invoice_verify.exe|${fh.sha256}`, 'Payload delivery', 'sha256', 'sha256', fh.sha256, fh.sha256, 'kvAv')
      ]
    }]
  }
  // The IP half of domain|ip is a second indicator of the same record.
  verifyEntry(feed, 'ip', 'ip', '192.0.2.153', '192.0.2.153', 'kvFirewall')
  const entry = (ev) => ({ info: ev.info, date: ev.date, threat_level_id: ev.threat_level_id, analysis: ev.analysis, timestamp: ev.timestamp, Orgc: ev.Orgc, Tag: ev.Tag })
  return {
    'manifest.json': JSON.stringify({ [e1]: entry(event1), [e2]: entry(event2) }, null, 2) + '\n',
    [`${e1}.json`]: JSON.stringify({ Event: event1 }, null, 1) + '\n',
    [`${e2}.json`]: JSON.stringify({ Event: event2 }, null, 1) + '\n'
  }
}

// --- write --------------------------------------------------------------------------------------
const README = `# Demo feeds

Everything in this folder is made-up data, written by \`node scripts/make-demo-feeds.mjs\` (do not
edit by hand: run the script again, it rewrites these files byte for byte). Hashes are random hex or
digests of fixed labels, apart from the harmless EICAR test-file hashes; IP addresses come from the
documentation (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) and benchmarking
(198.18.0.0/15) ranges; hosts sit under \`.example\`, \`.test\` and example.com/net/org. None of it
describes real malware or real infrastructure. The first records of each feed are permanent test
records: \`feedmatch verify\` sends \`../verification/events.txt\` and expects the detections listed in
\`../verification/expected.json\`.
`

const files = {
  'feeds/kl_malicious_hash.json': jsonArray(klMaliciousHash()),
  'feeds/kl_ip_reputation.json': jsonArray(klIpReputation()),
  'feeds/kl_botnet_cnc_url.json': jsonArray(klBotnetCncUrl()),
  'feeds/kl_phishing_url.json': jsonArray(klPhishingUrl()),
  'feeds/kl_malicious_url.json': jsonArray(klMaliciousUrl()),
  'feeds/osint_ioc.csv': osintCsv(),
  'feeds/stix_indicators.json': stixBundle()
}
for (const [name, text] of Object.entries(mispFeed())) files[`feeds/misp_feed/${name}`] = text
files['feeds/README.md'] = README
files['verification/expected.json'] = JSON.stringify(expected, null, 2) + '\n'
files['verification/events.txt'] = events.join('\n') + '\n'

// Only what this script writes is removed: other files in fixtures/ belong to others.
rmSync(join(FEEDS, 'misp_feed'), { recursive: true, force: true })
for (const name of Object.keys(files)) rmSync(join(OUT, name), { force: true })
for (const [name, text] of Object.entries(files)) {
  mkdirSync(dirname(join(OUT, name)), { recursive: true })
  writeFileSync(join(OUT, name), text)
}
console.log(`wrote ${Object.keys(files).length} files to ${OUT} (${expected.length} verification entries)`)
