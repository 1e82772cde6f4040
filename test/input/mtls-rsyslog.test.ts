/**
 * Mutual TLS on a tls:// input, with rsyslog (omfwd over the gtls driver, Debian rsyslog-gnutls)
 * as the sending relay: a relay with a client certificate signed by `input.tls.ca` gets its events
 * matched; one without a certificate, or with one from another CA, is refused in the handshake.
 */
import assert from 'node:assert/strict'
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, it } from 'node:test'
import { DEMO_FEEDS, EICAR_MD5, event, freePort, sendTcp, startWithConfig, waitFor, type ConfiguredService } from '../helpers/net.js'
import { findTool, skipWithout } from '../helpers/peers.js'

function gtlsModule (): string {
  for (const base of ['/usr/lib', '/usr/lib64']) {
    if (!existsSync(base)) continue
    for (const d of readdirSync(base)) if (existsSync(join(base, d, 'rsyslog', 'lmnsd_gtls.so'))) return join(base, d, 'rsyslog', 'lmnsd_gtls.so')
  }
  return '/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so'
}

const skip = skipWithout('rsyslogd', 'rsyslog') || skipWithout(gtlsModule(), 'rsyslog-gnutls') || skipWithout('openssl', 'openssl')

const openssl = (args: string[]): void => { execFileSync('openssl', args, { stdio: 'ignore' }) }

/** A CA, a certificate it signs for `cn`, in dir: NAME.key, NAME.pem. */
function makeCa (dir: string, name: string): void {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.pem`), '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
}
function makeCert (dir: string, name: string, ca: string, ext: string): void {
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.csr`), '-subj', `/CN=${name === 'server' ? '127.0.0.1' : name}`])
  writeFileSync(join(dir, `${name}.ext`), ext)
  openssl(['x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', join(dir, `${ca}.pem`), '-CAkey', join(dir, `${ca}.key`), '-CAcreateserial',
    '-out', join(dir, `${name}.pem`), '-days', '2', '-extfile', join(dir, `${name}.ext`)])
}

/** rsyslogd relaying what its imtcp port gets to feedmatch over gtls, with `client` as its certificate (or none). */
async function relay (dir: string, name: string, inPort: number, tlsPort: number, client: string | null): Promise<ChildProcess> {
  const work = join(dir, name)
  execFileSync('mkdir', ['-p', work])
  const certs = client === null ? '' : ` DefaultNetstreamDriverCertFile="${join(dir, `${client}.pem`)}" DefaultNetstreamDriverKeyFile="${join(dir, `${client}.key`)}"`
  const conf = join(dir, `${name}.conf`)
  writeFileSync(conf, `global(workDirectory="${work}" DefaultNetstreamDriverCAFile="${join(dir, 'ca.pem')}"${certs})
module(load="imtcp")
input(type="imtcp" port="${inPort}" address="127.0.0.1" ruleset="fwd")
ruleset(name="fwd") {
  action(type="omfwd" target="127.0.0.1" port="${tlsPort}" protocol="tcp" StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/certvalid"
         action.resumeRetryCount="-1" action.resumeInterval="1")
}
`)
  const p = spawn(findTool('rsyslogd')!, ['-n', '-f', conf, '-i', join(dir, `${name}.pid`)], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  p.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  p.stderr?.on('data', (d: Buffer) => { out += d.toString() })
  // Listening on its input port is when it is ready.
  await waitFor(() => {
    if (p.exitCode !== null) throw new Error(`rsyslogd ${name} exited: ${out}`)
    try { execFileSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${inPort}`], { stdio: 'ignore' }); return true } catch { return false }
  }, `rsyslogd ${name} to listen`, 20_000, 100)
  return p
}

describe('mutual TLS input with rsyslog gtls as the relay', { skip, timeout: 120_000 }, () => {
  it('a relay with a certificate of input.tls.ca is served; one without, or from another CA, is refused', async () => {
    let setup: ConfiguredService | null = null
    const peers: ChildProcess[] = []
    try {
      setup = await startWithConfig((siemPort, dir) => {
        makeCa(dir, 'ca')
        makeCa(dir, 'other')
        makeCert(dir, 'server', 'ca', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n')
        makeCert(dir, 'client', 'ca', 'extendedKeyUsage=clientAuth\n')
        makeCert(dir, 'stranger', 'other', 'extendedKeyUsage=clientAuth\n')
        return {
          input: { listen: ['tls://127.0.0.1:0'], tls: { cert: join(dir, 'server.pem'), key: join(dir, 'server.key'), ca: join(dir, 'ca.pem') } },
          output: { target: `tcp://127.0.0.1:${siemPort}` },
          feeds: { sources: [DEMO_FEEDS], watch: false },
          workers: 1,
        }
      })
      const { siem, svc, dir } = setup
      const tlsPort = svc.port('tls')
      const seen = (i: number): boolean => siem.detections().some((f) => f.includes(` src=10.0.0.${i} `))
      // Refused: no certificate, then a certificate from another CA.
      for (const [i, name, client] of [[1, 'anonymous', null], [2, 'stranger', 'stranger']] as const) {
        const port = await freePort()
        const p = await relay(dir.path, name, port, tlsPort, client)
        peers.push(p)
        await sendTcp(port, [event(i, EICAR_MD5)])
        await sleep(3000)
        assert.equal(seen(i), false, `${name}: its events were matched without a valid client certificate`)
        p.kill('SIGKILL')
      }
      // Served: a certificate signed by the CA.
      const port = await freePort()
      peers.push(await relay(dir.path, 'trusted', port, tlsPort, 'client'))
      await sendTcp(port, [event(3, EICAR_MD5)])
      await waitFor(() => seen(3), 'the trusted relay\'s detection', 30_000)
      const { stats } = await svc.stop()
      assert.ok((stats.input as Record<string, number>).errors >= 2, `refused handshakes are counted: ${JSON.stringify(stats.input)}`)
    } finally {
      for (const p of peers) p.kill('SIGKILL')
      await setup?.stop()
    }
  })
})
