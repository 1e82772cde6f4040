/** syslog over TLS (RFC 5425): a TCP link with a TLS session on top, verified against the given CA. */
import { isIP } from 'node:net'
import tls from 'node:tls'
import type { Link } from './link.js'
import { socketLink } from './tcp.js'

/** PEM contents (not paths) for the TLS client: the CA to trust, and a client certificate for mutual TLS. */
export interface TlsPem {
  ca?: Buffer
  cert?: Buffer
  key?: Buffer
  rejectUnauthorized: boolean
}

/** Opens a TLS connection; rejects when it fails (including certificate checks), after `timeout` ms, or when `signal` aborts. */
export function openTls (host: string, port: number, pem: TlsPem, timeout: number, signal: AbortSignal): Promise<Link> {
  const socket = tls.connect({
    host,
    port,
    // SNI takes host names only; an IP target is checked against the certificate's IP SANs.
    servername: isIP(host) === 0 ? host : undefined,
    ca: pem.ca,
    cert: pem.cert,
    key: pem.key,
    rejectUnauthorized: pem.rejectUnauthorized,
  })
  return socketLink(socket, 'secureConnect', `tls://${host}:${port}`, timeout, signal)
}
