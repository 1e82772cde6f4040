// rsyslog as a serve peer: what a team that tags a syslog stream with an indicator list runs
// without feedmatch. TCP in (imtcp) -> re_extract() of a hash, two IPv4 addresses and a URL's
// host (RainerScript's regex extraction) -> lookup() in a string lookup table made from the same
// list -> TCP out (omfwd) of one line per event with a hit. Exact values only: no CIDR, no parent
// domains of a host, no URL masks, and re_extract takes one match per call. Fed the corpus by the
// same kind of sender as serve, read by a counting receiver. Needs Debian's rsyslog.
import net from 'node:net'
import { spawn } from 'node:child_process'
import { createReadStream, createWriteStream, statSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { watchPeakRss } from '../lib/proc.mjs'

const RSYSLOGD = ['/usr/sbin/rsyslogd', '/sbin/rsyslogd']

/** The rsyslogd binary, or null. */
export async function rsyslogd () {
  for (const p of RSYSLOGD) { try { statSync(p); return p } catch { /* next */ } }
  return null
}

/** The lookup table of `list` (one value a line), written as rsyslog's JSON table format. */
async function writeTable (list, file) {
  const values = (await readFile(list, 'utf8')).split('\n').filter((l) => l !== '')
  const out = createWriteStream(file)
  out.write('{"version":1,"nomatch":"","type":"string","table":[\n')
  for (let i = 0; i < values.length; i++) {
    if (!out.write(`${i === 0 ? '' : ',\n'}{"index":${JSON.stringify(values[i])},"value":"1"}`)) await once(out, 'drain')
  }
  out.end('\n]}\n')
  await once(out, 'finish')
  return values.length
}

function config ({ dir, table, inPort, outPort }) {
  const ip = '([0-9]{1,3}\\\\.[0-9]{1,3}\\\\.[0-9]{1,3}\\\\.[0-9]{1,3})'
  return `global(workDirectory="${dir}" maxMessageSize="64k")
module(load="imtcp")
lookup_table(name="ioc" file="${table}")
template(name="hit" type="string" string="hit %$!v%\\n")
input(type="imtcp" address="127.0.0.1" port="${inPort}" ruleset="match" supportOctetCountedFraming="off")
ruleset(name="match") {
  set $!v = "";
  set $!h = tolower(re_extract($msg, "\\\\b([0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64})\\\\b", 0, 1, ""));
  if $!h != "" and lookup("ioc", $!h) != "" then set $!v = $!h;
  set $!i0 = re_extract($msg, "${ip}", 0, 1, "");
  if $!v == "" and $!i0 != "" and lookup("ioc", $!i0) != "" then set $!v = $!i0;
  set $!i1 = re_extract($msg, "${ip}", 1, 1, "");
  if $!v == "" and $!i1 != "" and lookup("ioc", $!i1) != "" then set $!v = $!i1;
  set $!u = tolower(re_extract($msg, "[hH][tT][tT][pP][sS]?://(www\\\\.)?([^/:?# ]+)", 0, 2, ""));
  if $!v == "" and $!u != "" and lookup("ioc", $!u) != "" then set $!v = $!u;
  if $!v != "" then action(type="omfwd" target="127.0.0.1" port="${outPort}" protocol="tcp" template="hit")
  stop
}
`
}

const freePort = async () => { const s = net.createServer().listen(0, '127.0.0.1'); await once(s, 'listening'); const p = /** @type {import('node:net').AddressInfo} */ (s.address()).port; s.close(); return p }

/**
 * Runs rsyslog on `corpus` with the values of `list`; returns MB/s (first byte sent to the last
 * hit received, once the output is quiet for 2 s), setup (spawn to its TCP input accepting), peak
 * RSS and the lines with a hit.
 * @param {{ list: string, corpus: string, lines: number, timeoutMs?: number }} options
 */
export async function runRsyslogPeer ({ list, corpus, lines, timeoutMs = 300_000 }) {
  const bin = await rsyslogd()
  if (bin === null) throw new Error('rsyslogd is not installed')
  const dir = await mkdtemp(join(tmpdir(), 'feedmatch-bench-rsyslog-'))
  const receiver = net.createServer()
  try {
    let hits = 0
    let last = 0
    receiver.on('connection', (s) => {
      s.on('data', (d) => { for (const b of d) if (b === 0x0a) hits++; last = performance.now() })
      s.on('error', () => {})
    })
    receiver.listen(0, '127.0.0.1')
    await once(receiver, 'listening')
    const outPort = /** @type {import('node:net').AddressInfo} */ (receiver.address()).port
    const inPort = await freePort()
    const table = join(dir, 'ioc.json')
    await writeTable(list, table)
    await writeFile(join(dir, 'rsyslog.conf'), config({ dir, table, inPort, outPort }))
    const t0 = performance.now()
    const child = spawn(bin, ['-n', '-f', join(dir, 'rsyslog.conf'), '-i', join(dir, 'pid')], { stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    child.stderr.setEncoding('utf8').on('data', (s) => { if (err.length < 4000) err += s })
    const rss = watchPeakRss(child.pid, 100)
    const deadline = Date.now() + timeoutMs
    let sock
    for (;;) {
      if (child.exitCode !== null) throw new Error(`rsyslogd exited with ${child.exitCode}: ${err.slice(0, 500)}`)
      if (Date.now() > deadline) throw new Error('rsyslogd did not open its TCP input')
      try { sock = net.connect(inPort, '127.0.0.1'); await once(sock, 'connect'); break } catch { await new Promise((resolve) => setTimeout(resolve, 50)) }
    }
    const setupMs = performance.now() - t0
    const t1 = performance.now()
    for await (const chunk of createReadStream(corpus, { highWaterMark: 1 << 20 })) if (!sock.write(chunk)) await once(sock, 'drain')
    sock.end()
    let seen = -1
    while (seen !== hits && Date.now() < deadline) { seen = hits; await new Promise((resolve) => setTimeout(resolve, 2000)) }
    const scanSec = ((last || performance.now()) - t1) / 1000
    child.kill('SIGTERM')
    await once(child, 'exit')
    const bytes = statSync(corpus).size
    return { mbPerSec: bytes / 1e6 / scanSec, linesPerSec: lines / scanSec, detections: hits, peakRssMb: rss.stop(), setupMs, seconds: (performance.now() - t0) / 1000 }
  } finally {
    receiver.close()
    await rm(dir, { recursive: true, force: true })
  }
}
