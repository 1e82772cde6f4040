/**
 * Test helpers for the emitter tests: a loopback syslog receiver that can be paused, killed and
 * restarted on the same port, condition waits with deadlines, and numbered frames.
 */
import { once } from 'node:events'
import net from 'node:net'
import tls from 'node:tls'
import { setTimeout as sleep } from 'node:timers/promises'
import type { TestContext } from 'node:test'
import type { Emitter } from '../../src/output/emitter.js'

/** Closes emitters and kills receivers when the test ends, passed or failed, so no handle keeps the process alive. */
export function cleanup (t: TestContext, ...things: Array<{ close (): Promise<void> } | { kill (): Promise<void> }>): void {
  t.after(async () => {
    for (const x of things) await ('close' in x ? x.close() : x.kill())
  })
}

/** Waits until `cond()` holds, polling; fails with `what` after `timeout` ms (tests never hang). */
export async function waitFor (cond: () => boolean, what: string, timeout = 15_000): Promise<void> {
  const deadline = Date.now() + timeout
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

/** A free loopback port (nothing listens on it once this resolves). */
export async function freePort (): Promise<number> {
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as net.AddressInfo).port
  server.close()
  await once(server, 'close')
  return port
}

/** The text of frame number `i` (LF framing). */
export function line (i: number): string {
  return `<134>1 2024-05-01T12:00:00.000Z host feedmatch - - - detection ${i} value=${'x'.repeat(i % 17)}`
}

/** One Buffer holding frames from..to-1, LF-framed. */
export function frames (from: number, to: number): Buffer {
  let s = ''
  for (let i = from; i < to; i++) s += line(i) + '\n'
  return Buffer.from(s)
}

/** Writes `bufs` in order, waiting for 'drain' whenever write() says so (bounded by a timeout). */
export async function writeAll (em: Emitter, bufs: Buffer[]): Promise<void> {
  for (const b of bufs) {
    if (!em.write(b)) await once(em, 'drain', { signal: AbortSignal.timeout(15_000) })
  }
}

/** The frame numbers in received lines (-1 for a line that is not one of ours). */
export function numbers (lines: string[]): number[] {
  return lines.map((l) => {
    const m = / detection (\d+) /.exec(l)
    return m === null ? -1 : Number(m[1])
  })
}

/** A TCP (or TLS) receiver on 127.0.0.1 that collects LF-framed lines. */
export class Receiver {
  readonly lines: string[] = []
  readonly server: net.Server
  readonly #sockets = new Set<net.Socket>()
  #paused = false
  /** Called for every complete line, after it was recorded. */
  onLine: ((r: Receiver) => void) | null = null

  private constructor (server: net.Server) {
    this.server = server
    server.on(server instanceof tls.Server ? 'secureConnection' : 'connection', (socket: net.Socket) => this.#accept(socket))
  }

  /** Listens on `port` (0: any free port); with `tlsOptions`, speaks TLS. */
  static async listen (port = 0, tlsOptions?: tls.TlsOptions): Promise<Receiver> {
    const server = tlsOptions === undefined ? net.createServer() : tls.createServer(tlsOptions)
    const r = new Receiver(server)
    server.listen(port, '127.0.0.1')
    await once(server, 'listening')
    return r
  }

  get port (): number {
    return (this.server.address() as net.AddressInfo).port
  }

  get connections (): number {
    return this.#sockets.size
  }

  /** Stops reading (a slow SIEM): TCP flow control then fills the sender's buffers. */
  pause (): void {
    this.#paused = true
    for (const s of this.#sockets) s.pause()
  }

  resume (): void {
    this.#paused = false
    for (const s of this.#sockets) s.resume()
  }

  /** Dies at once: connections reset, nothing more read, the port closed. */
  async kill (): Promise<void> {
    for (const s of this.#sockets) s.destroy()
    this.#sockets.clear()
    if (this.server.listening) {
      this.server.close()
      await once(this.server, 'close')
    }
  }

  #accept (socket: net.Socket): void {
    this.#sockets.add(socket)
    if (this.#paused) socket.pause()
    let rest = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      if (!this.#sockets.has(socket)) return
      const parts = (rest + chunk).split('\n')
      rest = parts.pop()!
      for (const p of parts) {
        this.lines.push(p)
        this.onLine?.(this)
        if (!this.#sockets.has(socket)) return
      }
    })
    socket.on('error', () => {})
    socket.on('close', () => this.#sockets.delete(socket))
  }
}
