/**
 * Parsing of the addresses a configuration names: listener and target URLs, the API URL, and the
 * CIDRs that select a source. Each parser returns undefined for anything malformed, so the same
 * function serves as a schema format (a yes/no answer) and as the converter after validation.
 */
import { isIP } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { Endpoint, ListenerConfig } from './types.js'

// IPv6 goes in brackets (`tcp://[::1]:9999`), so the last colon always separates the port.
const SOCKET_URL = /^([a-z]+):\/\/(?:\[([^\]]+)\]|([^\s:/[\]@]+)):(\d{1,5})$/
const HOSTNAME = /^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/

function parseHostPort<P extends string> (
  url: string, protocols: readonly P[], minPort: number
): { protocol: P, host: string, port: number, url: string } | undefined {
  const m = SOCKET_URL.exec(url)
  if (m === null || !protocols.includes(m[1] as P)) return undefined
  const host = m[2] ?? m[3]!
  if (m[2] !== undefined ? isIP(host) !== 6 : !HOSTNAME.test(host)) return undefined
  const port = Number(m[4])
  if (port < minPort || port > 65535) return undefined
  return { protocol: m[1] as P, host, port, url }
}

const SOCKET_PROTOCOLS = ['tcp', 'udp', 'tls'] as const

/** `tcp://HOST:PORT`, `udp://...` or `tls://...` as a listener (port 0: any free port). */
export function parseListenUrl (url: string): ListenerConfig | undefined {
  return parseHostPort(url, SOCKET_PROTOCOLS, 0)
}

/** The output target before path resolution: a socket, `file:PATH`, or `stdout`. */
export type RawTarget =
  | Endpoint
  | { protocol: 'file', path: string, url: string }
  | { protocol: 'stdout', url: 'stdout' }

/** `tcp://HOST:PORT`, `udp://HOST:PORT`, `tls://HOST:PORT`, `relp://HOST:PORT`, `file:PATH` or `stdout`. */
export function parseOutputTarget (url: string): RawTarget | undefined {
  if (url === 'stdout') return { protocol: 'stdout', url: 'stdout' }
  if (url.startsWith('file:')) {
    let path = url.slice('file:'.length)
    // `file:///var/log/x` is a URL; `file:x.log` and `file:/var/log/x` are plain paths.
    if (path.startsWith('//')) {
      try { path = fileURLToPath(url) } catch { return undefined }
    }
    return path === '' ? undefined : { protocol: 'file', path, url }
  }
  return parseHostPort(url, [...SOCKET_PROTOCOLS, 'relp'] as const, 1)
}

/** `http://HOST:PORT` for the HTTP API. */
export function parseHttpUrl (url: string): { protocol: 'http' | 'https', host: string, port: number, url: string } | undefined {
  return parseHostPort(url, ['http', 'https'] as const, 0)
}

/** True for an IPv4/IPv6 address or a CIDR such as `10.0.0.0/8` or `2001:db8::/32`. */
export function isAddressOrCidr (value: string): boolean {
  const slash = value.indexOf('/')
  if (slash < 0) return isIP(value) !== 0
  const family = isIP(value.slice(0, slash))
  const bits = value.slice(slash + 1)
  if (family === 0 || !/^\d{1,3}$/.test(bits)) return false
  return Number(bits) <= (family === 4 ? 32 : 128)
}
