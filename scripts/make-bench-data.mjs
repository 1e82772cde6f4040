#!/usr/bin/env node
// Deterministic (seeded) indicator sets for the benchmarks, written as Kaspersky-format feeds and
// as a plain list for tools that take `-f`. Output goes under bench/corpus/ (git-ignored).
// Usage: node scripts/make-bench-data.mjs [--count 1000000] [--out bench/corpus] [--seed 42]
import { createWriteStream, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { once } from 'node:events'
import { options, seeded } from './lib/seeded.mjs'

const args = process.argv.slice(2)
const opt = options(args)
const count = Number(opt('count', '1000000'))
const out = opt('out', 'bench/corpus')
const { rand, int, hex, pick } = seeded(Number(opt('seed', '42')))
const word = () => { let s = ''; const n = 4 + int(8); for (let i = 0; i < n; i++) s += 'abcdefghijklmnopqrstuvwxyz0123456789'[int(36)]; return s }
const TLDS = ['com', 'net', 'org', 'ru', 'info', 'biz', 'xyz', 'top', 'io', 'de', 'cn', 'online']
const THREATS = ['Trojan.Win32.Generic', 'HEUR:Trojan.Script.Miner', 'Backdoor.Linux.Mirai.b', 'Trojan-Ransom.Win32.Crypren', 'Exploit.MSOffice.CVE-2017-11882']
const date = () => `${String(1 + int(28)).padStart(2, '0')}.${String(1 + int(12)).padStart(2, '0')}.20${18 + int(8)} ${String(int(24)).padStart(2, '0')}:${String(int(60)).padStart(2, '0')}`
const ipv4 = () => `${1 + int(223)}.${int(256)}.${int(256)}.${1 + int(254)}`
const domain = () => `${word()}.${pick(TLDS)}`

class JsonArrayWriter {
  constructor (path) { this.s = createWriteStream(path); this.first = true; this.s.write('[\n') }
  async add (obj) {
    const ok = this.s.write((this.first ? '' : ',\n') + JSON.stringify(obj))
    this.first = false
    if (!ok) await once(this.s, 'drain')
  }
  async end () { this.s.end('\n]\n'); await once(this.s, 'finish') }
}

const dir = join(out, `indicators-${count}`)
mkdirSync(dir, { recursive: true })
const hashes = new JsonArrayWriter(join(dir, 'kl_malicious_hash.json'))
const ips = new JsonArrayWriter(join(dir, 'kl_ip_reputation.json'))
const urls = new JsonArrayWriter(join(dir, 'kl_malicious_url.json'))
const list = createWriteStream(join(dir, 'list.txt'))
const listWrite = async (s) => { if (!list.write(s + '\n')) await once(list, 'drain') }

// The mix: hash records carry MD5, SHA1 and SHA256 as Kaspersky's do; IP reputation is mostly
// single addresses with a few networks; URL feeds hold domains, exact hosts and masks.
for (let i = 0; i < count; i++) {
  const r = rand()
  const common = { id: 100000000 + i, first_seen: date(), last_seen: date(), popularity: 1 + int(5) }
  if (r < 0.35) {
    const rec = { MD5: hex(32), SHA1: hex(40), SHA256: hex(64), threat: pick(THREATS), file_size: 1000 + int(5000000), ...common }
    await hashes.add(rec)
    await listWrite(rec.MD5)
  } else if (r < 0.65) {
    const net = r < 0.64 ? ipv4() : `${1 + int(223)}.${int(256)}.${int(256)}.0/24`
    await ips.add({ ip: net, threat_score: 50 + int(50), category: pick(['botnet', 'scanner', 'spam', 'tor']), ip_geo: pick(['us', 'ru', 'cn', 'de', 'nl']), ...common })
    await listWrite(net.replace('/24', ''))
  } else if (r < 0.85) {
    const d = domain()
    await urls.add({ mask: d, type: 1, category: 'malware', ...common })
    await listWrite(d)
  } else if (r < 0.9) {
    const h = `${word()}.${domain()}`
    await urls.add({ mask: h, type: 2, category: 'phishing', ...common })
    await listWrite(h)
  } else {
    const m = rand() < 0.5 ? `${domain()}/${word()}/${word()}.php` : `${domain()}/${word()}/*`
    await urls.add({ mask: m, category: 'malware', ...common })
    await listWrite(m.replace('/*', '/'))
  }
}
await Promise.all([hashes.end(), ips.end(), urls.end()])
list.end(); await once(list, 'finish')
console.log(dir)
