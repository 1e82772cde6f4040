/**
 * The network side of `verify`: CyberTrace's reply-back protocol on a service's TCP input.
 * `ping` checks that the port answers `X-KF-ReplyBackPING` with PONG; `exchange` sends events on
 * an `X-KF-SendFinishedEventX-KF-ReplyBack` connection and collects what comes back. Finished
 * events (one per input event, in order) say when each event is done, so the exchange knows the
 * service has answered everything without access to the SIEM and without guessing a delay.
 */
import net from 'node:net'
import { FeedmatchError } from '../errors.js'
import { ReplyFramer } from './frames.js'
import { readReply } from './reply.js'
import type { VerifyEvent } from './inputs.js'

/** Where the service's input listens. */
export interface Target {
  host: string
  port: number
  /** As users write it, for messages: `127.0.0.1:9999`, `[::1]:9999`. */
  text: string
}

/** `HOST:PORT`, `[IPv6]:PORT` or `tcp://` before either; undefined when malformed. */
export function parseTarget (value: string): Target | undefined {
  const m = /^(?:tcp:\/\/)?(?:\[([0-9a-fA-F:.]+)\]|([^\s:/[\]]+)):(\d{1,5})$/.exec(value)
  if (m === null) return undefined
  const port = Number(m[3])
  if (port < 1 || port > 65535) return undefined
  const host = m[1] ?? m[2]
  if (m[1] !== undefined && net.isIPv6(host) === false) return undefined
  return { host, port, text: m[1] !== undefined ? `[${host}]:${port}` : `${host}:${port}` }
}

/** CyberTrace's handshakes: a liveness probe, and reply-back with a finished event per input event. */
const PING = 'X-KF-ReplyBackPING\n'
const REPLY_BACK = 'X-KF-SendFinishedEventX-KF-ReplyBack\n'
/** Longest answer to PING we read before deciding it is not PONG. */
const MAX_PONG = 256
/** Events are written in slices of about this size, each waiting for the socket to drain. */
const WRITE_SLICE = 64 * 1024

function connectError (target: Target, reason: string, cause?: unknown): FeedmatchError {
  return new FeedmatchError('FM_ERR_VERIFY_CONNECT',
    `cannot connect to ${target.text} (${reason}): is \`feedmatch serve\` running and listening there?`, { cause })
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'timed out',
  ECONNRESET: 'connection reset',
}

const reasonOf = (err: Error & { code?: string }): string =>
  err.code === undefined ? err.message : `${REASONS[err.code] ?? err.message}, ${err.code}`

/** Resolves once `target` answers PONG to `X-KF-ReplyBackPING` on a connection of its own. */
export async function ping (target: Target, timeoutMs: number): Promise<void> {
  const socket = net.connect({ host: target.host, port: target.port })
  let connected = false
  let answer = ''
  try {
    await new Promise<void>((resolve, reject) => {
      const pingError = (what: string): FeedmatchError => new FeedmatchError('FM_ERR_VERIFY_PING',
        `${target.text} accepted the connection but ${what}, where feedmatch answers PONG to X-KF-ReplyBackPING: is it the TCP input of \`feedmatch serve\`?`)
      const timer = setTimeout(() => {
        reject(connected ? pingError(`sent ${answer === '' ? 'nothing' : JSON.stringify(answer.slice(0, 60))} for ${timeoutMs} ms`) : connectError(target, `no answer within ${timeoutMs} ms`))
      }, timeoutMs)
      const done = (err?: Error): void => { clearTimeout(timer); if (err === undefined) resolve(); else reject(err) }
      socket.on('connect', () => { connected = true; socket.write(PING) })
      socket.on('data', (chunk: Buffer) => {
        answer += chunk.toString('latin1')
        if (answer.startsWith('PONG')) return done()
        if (answer.includes('\n') || answer.length > MAX_PONG || !'PONG'.startsWith(answer)) {
          done(pingError(`answered ${JSON.stringify(answer.trim().slice(0, 60))}`))
        }
      })
      socket.on('error', (err) => done(connected ? pingError(`failed (${reasonOf(err)})`) : connectError(target, reasonOf(err), err)))
      socket.on('close', () => done(pingError('closed the connection')))
    })
  } finally {
    socket.destroy()
  }
}

/** A detection that came back, with the index of the event it answered (finished events seen before it). */
export interface ReturnedDetection {
  matched: string
  category?: string
  feed?: string
  event: number
}

/** What one exchange sent and got back. */
export interface Exchange {
  sent: number
  /** Finished events received: events the service has fully processed. */
  finished: number
  detections: ReturnedDetection[]
  /** Replies read as neither detections, finished events nor service events. */
  unknown: number
  unknownSample?: string
  /** Replies received in all. */
  replies: number
  /** `complete`: every event finished; `timeout`: the service went quiet; `closed`: it hung up. */
  ended: 'complete' | 'timeout' | 'closed'
}

/**
 * Sends `events` in reply-back mode and collects the replies until every event is finished, the
 * service is silent for `idleMs` (the timeout counts from the last reply, so a long events file
 * is not cut short), or it closes the connection.
 */
export async function exchange (target: Target, events: readonly VerifyEvent[], idleMs: number): Promise<Exchange> {
  const socket = net.connect({ host: target.host, port: target.port })
  const framer = new ReplyFramer(target.text)
  const result: Exchange = { sent: 0, finished: 0, detections: [], unknown: 0, replies: 0, ended: 'complete' }
  let connected = false
  let sending = true
  let settled = false

  return await new Promise<Exchange>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined
    const settle = (ended: Exchange['ended'] | Error): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (ended instanceof Error) { socket.destroy(); reject(ended); return }
      // A complete exchange ends politely; the service closes its side once it has read ours.
      if (ended === 'complete') socket.end(); else socket.destroy()
      resolve({ ...result, ended })
    }
    const arm = (): void => {
      clearTimeout(timer)
      timer = setTimeout(() => settle(connected ? 'timeout' : connectError(target, `no answer within ${idleMs} ms`)), idleMs)
    }
    const check = (): void => { if (!sending && result.finished >= result.sent) settle('complete') }

    arm()
    socket.on('connect', () => {
      connected = true
      arm()
      send(socket, events, result, () => settled).then(() => { sending = false; check() }, (err: Error) => settle(err))
    })
    socket.on('data', (chunk: Buffer) => {
      if (settled) return
      arm()
      let frames: string[]
      try {
        frames = framer.push(chunk)
      } catch (err) {
        settle(err as Error)
        return
      }
      for (const frame of frames) take(result, frame)
      check()
    })
    socket.on('error', (err) => settle(connected ? 'closed' : connectError(target, reasonOf(err), err)))
    socket.on('close', () => settle(connected ? 'closed' : connectError(target, 'connection closed')))
  })
}

function take (result: Exchange, frame: string): void {
  result.replies++
  const reply = readReply(frame)
  switch (reply.kind) {
    case 'detection':
      result.detections.push({ matched: reply.matched, category: reply.category, feed: reply.feed, event: result.finished })
      break
    case 'finished':
      result.finished++
      break
    case 'service':
      break
    case 'unknown':
      result.unknown++
      result.unknownSample ??= reply.text.slice(0, 200)
      break
  }
}

/** Writes the handshake and the events, waiting for 'drain' when the socket pushes back. */
async function send (socket: net.Socket, events: readonly VerifyEvent[], result: Exchange, stopped: () => boolean): Promise<void> {
  let slice = REPLY_BACK
  let pending = 0
  for (const e of events) {
    slice += e.text + '\n'
    pending++
    if (slice.length >= WRITE_SLICE) {
      if (!await write(socket, slice) || stopped()) return
      result.sent += pending
      slice = ''
      pending = 0
    }
  }
  if (slice !== '' && await write(socket, slice)) result.sent += pending
}

/** One write; resolves true once the socket can take more, false when it closed meanwhile. */
async function write (socket: net.Socket, text: string): Promise<boolean> {
  if (socket.destroyed) return false
  if (socket.write(text)) return true
  return await new Promise<boolean>((resolve) => {
    const onDrain = (): void => { socket.off('close', onClose); resolve(true) }
    const onClose = (): void => { socket.off('drain', onDrain); resolve(false) }
    socket.once('drain', onDrain)
    socket.once('close', onClose)
  })
}
