/**
 * syslog over TCP: one plain socket to the SIEM. The socket write callback only says the bytes
 * reached the kernel, so TCP links are `lossy` and the emitter keeps a resend window for them.
 */
import net from 'node:net'
import { streamLink, type Link } from './link.js'

// Keepalive probes start after this much silence. The SIEM never sends to us, so without them a
// peer that vanished (power cut, firewall state dropped) is only noticed once the send buffer fills.
const KEEPALIVE_MS = 30_000

/** Opens a TCP connection; rejects when it fails, after `timeout` ms, or when `signal` aborts. */
export function openTcp (host: string, port: number, timeout: number, signal: AbortSignal): Promise<Link> {
  return socketLink(net.connect({ host, port }), 'connect', `tcp://${host}:${port}`, timeout, signal)
}

/** Waits for `ready` on a socket being opened, then wraps it as a Link (shared by TCP and TLS). */
export function socketLink (
  socket: net.Socket, ready: 'connect' | 'secureConnect', name: string, timeout: number, signal: AbortSignal
): Promise<Link> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer)
      socket.off('error', fail)
      socket.off(ready, onReady)
      signal.removeEventListener('abort', onAbort)
    }
    function fail (err: Error): void {
      cleanup()
      // A late error from a socket we dropped must not become an uncaught exception.
      socket.on('error', () => {})
      socket.destroy()
      reject(err)
    }
    function onAbort (): void {
      fail(new Error(`${name}: connection attempt aborted`))
    }
    function onReady (): void {
      cleanup()
      // We coalesce frames into batches ourselves; Nagle's delay would only add latency on top.
      socket.setNoDelay(true)
      socket.setKeepAlive(true, KEEPALIVE_MS)
      // Read and discard whatever the SIEM sends: a paused socket would never see its FIN, and
      // unread bytes would make our eventual close a reset that can drop what we sent last.
      socket.resume()
      resolve(streamLink(socket, { lossy: true, own: true, name }))
    }
    const timer = setTimeout(() => fail(new Error(`${name}: no connection after ${timeout} ms`)), timeout)
    socket.on('error', fail)
    socket.once(ready, onReady)
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
  })
}
