/**
 * syslog over RELP, rsyslog's Reliable Event Logging Protocol (what `omrelp` speaks to `imrelp`).
 * Every message goes as one transaction `TXNR syslog LEN MSG\n` and the server answers each with
 * `TXNR rsp LEN 200 OK\n` once it took the message. So, unlike plain TCP, a RELP link knows what
 * arrived: a batch's write callback fires only when every message in it was acknowledged, and
 * when the link fails, `confirmedPrefix` says how much of the batch in progress was acknowledged,
 * so the emitter resends exactly the rest: no loss. Duplicates come only from messages the server
 * stored but whose answers never left it (rsyslog killed or stopped mid-stream: librelp answers
 * a whole read buffer at a time); they are at most the window of a drop, and counted as resent.
 *
 * Session: `1 open LEN relp_version=0\nrelp_software=...\ncommands=syslog`, answered by `200 OK`;
 * then syslog transactions, at most `window` unanswered at a time; `close` at the end. A
 * `serverclose` from the server fails the link (it is going away), like a reset.
 */
import net from 'node:net'
import { Writable } from 'node:stream'
import { forEachMessage, type OutputFraming } from './frames.js'
import { streamLink, type Link } from './link.js'

const LF = 0x0a
const SP = 0x20
// librelp numbers transactions 1..999,999,999 and then starts again at 1.
const MAX_TXNR = 999_999_999
// A server answer is a status line and a few offers: anything longer is not RELP.
const MAX_ANSWER = 64 * 1024
const SOFTWARE = 'feedmatch,0.1.0,https://github.com/feedmatch/feedmatch'
const OFFERS = `relp_version=0\nrelp_software=${SOFTWARE}\ncommands=syslog`
const KEEPALIVE_MS = 30_000

/** One frame read from the server. */
interface Answer { txnr: number, command: string, data: string }

/** Reads server frames (`TXNR SP COMMAND SP DATALEN [SP DATA] LF`) from a byte stream. */
class AnswerParser {
  #buf: Buffer = Buffer.alloc(0)

  /** Appends bytes; returns the complete frames, or throws on bytes that are not RELP. */
  push (chunk: Buffer): Answer[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk])
    const out: Answer[] = []
    for (;;) {
      const a = this.#next()
      if (a === null) break
      out.push(a)
    }
    if (this.#buf.length > MAX_ANSWER) throw new Error('relp: the server sent a frame larger than 64 KiB')
    return out
  }

  #next (): Answer | null {
    const b = this.#buf
    const sp1 = b.indexOf(SP)
    if (sp1 === -1) return this.#check(b.length, null)
    const sp2 = b.indexOf(SP, sp1 + 1)
    if (sp2 === -1) return this.#check(b.length, null)
    // DATALEN ends at a space (data follows) or at the trailer (no data).
    let end = sp2 + 1
    while (end < b.length && b[end]! >= 0x30 && b[end]! <= 0x39) end++
    if (end === b.length) return this.#check(end, null)
    const txnr = Number(b.toString('latin1', 0, sp1))
    const command = b.toString('latin1', sp1 + 1, sp2)
    const len = Number(b.toString('latin1', sp2 + 1, end))
    if (!Number.isSafeInteger(txnr) || end === sp2 + 1 || !/^[a-z]{1,32}$/.test(command)) {
      throw new Error(`relp: not a RELP frame from the server: ${JSON.stringify(b.toString('latin1', 0, Math.min(b.length, 40)))}`)
    }
    const dataStart = len === 0 ? end : end + 1
    if (len > 0 && b[end] !== SP) throw new Error('relp: a frame from the server has no space before its data')
    if (b.length < dataStart + len + 1) return null
    if (b[dataStart + len] !== LF) throw new Error('relp: a frame from the server does not end with LF')
    const data = b.toString('utf8', dataStart, dataStart + len)
    this.#buf = b.subarray(dataStart + len + 1)
    return { txnr, command, data }
  }

  #check (scanned: number, result: null): null {
    if (scanned > 64) throw new Error('relp: the server sent bytes that are not RELP')
    return result
  }
}

function frame (txnr: number, command: string, data: Buffer | null): Buffer[] {
  const len = data === null ? 0 : data.length
  const head = Buffer.from(len === 0 ? `${txnr} ${command} 0` : `${txnr} ${command} ${len} `, 'latin1')
  return data === null || len === 0 ? [head, Buffer.from([LF])] : [head, data, Buffer.from([LF])]
}

/** One message of the batch in progress: its transaction number and where its frame ends in the batch. */
interface InFlight { txnr: number, end: number, acked: boolean }

/**
 * The Writable the emitter writes batches to. A batch's callback waits for the last answer, so
 * Node's stream queues the next batch meanwhile, and writableNeedDrain tells the emitter to wait.
 * Emits 'refused' (bytes, reason) for messages the server answered with an error: sending them
 * again would be refused again, so they are dropped and counted rather than retried for ever.
 */
class RelpStream extends Writable {
  readonly #socket: net.Socket
  readonly #framing: OutputFraming
  readonly #window: number
  #txnr: number
  #batch: Buffer | null = null
  #msgs: Array<{ msg: Buffer, end: number }> = []
  #next = 0
  #inFlight = new Map<number, InFlight>()
  #order: InFlight[] = []
  #acked = 0
  #done: ((err?: Error | null) => void) | null = null
  #closeTxnr = 0
  #closed: (() => void) | null = null

  constructor (socket: net.Socket, framing: OutputFraming, window: number, firstTxnr: number) {
    super({ decodeStrings: true })
    this.#socket = socket
    this.#framing = framing
    this.#window = window
    this.#txnr = firstTxnr
  }

  /** Bytes at the start of `batch` whose messages the server acknowledged (0 unless it is the batch in progress). */
  ackedPrefix (batch: Buffer): number {
    return batch === this.#batch ? this.#acked : 0
  }

  /** Bytes at the start of `batch` whose messages were sent, answered or not. */
  sentPrefix (batch: Buffer): number {
    if (batch !== this.#batch || this.#next === 0) return 0
    return this.#msgs[this.#next - 1]!.end
  }

  /** Handles one frame from the server; throws on what breaks the protocol. */
  answer (a: Answer): void {
    if (a.command === 'serverclose') throw new Error('relp: the server closed the session (serverclose)')
    if (a.command !== 'rsp') throw new Error(`relp: unexpected command "${a.command}" from the server`)
    if (a.txnr === this.#closeTxnr && this.#closed !== null) { this.#closed(); return }
    const t = this.#inFlight.get(a.txnr)
    if (t === undefined) throw new Error(`relp: an answer to transaction ${a.txnr}, which is not open`)
    this.#inFlight.delete(a.txnr)
    t.acked = true
    if (!a.data.startsWith('200')) this.emit('refused', this.#sizeOf(t), a.data.slice(0, 200))
    // Answers come in order from librelp, but count only a contiguous acknowledged prefix, so an
    // out-of-order answer can never make us skip a message that was not taken.
    while (this.#order.length > 0 && this.#order[0]!.acked) this.#acked = this.#order.shift()!.end
    this.#pump()
  }

  override _write (chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.#batch = chunk
    this.#acked = 0
    this.#next = 0
    this.#msgs = []
    const lf = this.#framing === 'lf' ? 1 : 0
    forEachMessage(chunk, this.#framing, (msg) => {
      this.#msgs.push({ msg, end: msg.byteOffset - chunk.byteOffset + msg.length + lf })
    })
    this.#done = done
    this.#pump()
  }

  override _final (done: (err?: Error | null) => void): void {
    this.#closeTxnr = this.#nextTxnr()
    const timer = setTimeout(() => { this.#closed = null; this.#socket.end(); done() }, 2000)
    this.#closed = () => {
      clearTimeout(timer)
      this.#closed = null
      this.#socket.end()
      done()
    }
    this.#socket.write(Buffer.concat(frame(this.#closeTxnr, 'close', null)))
  }

  override _destroy (err: Error | null, done: (err?: Error | null) => void): void {
    this.#socket.destroy()
    done(err)
  }

  #sizeOf (t: InFlight): number {
    const i = this.#msgs.findIndex((m) => m.end === t.end)
    return i === -1 ? 0 : this.#msgs[i]!.msg.length
  }

  // Sends what the window allows, in one socket write; finishes the batch when all is answered.
  #pump (): void {
    const parts: Buffer[] = []
    while (this.#next < this.#msgs.length && this.#inFlight.size < this.#window) {
      const m = this.#msgs[this.#next++]!
      const t: InFlight = { txnr: this.#nextTxnr(), end: m.end, acked: false }
      this.#inFlight.set(t.txnr, t)
      this.#order.push(t)
      parts.push(...frame(t.txnr, 'syslog', m.msg))
    }
    if (parts.length > 0) this.#socket.write(Buffer.concat(parts))
    if (this.#done !== null && this.#next === this.#msgs.length && this.#inFlight.size === 0) {
      const done = this.#done
      this.#done = null
      this.#acked = this.#batch?.length ?? 0
      done()
    }
  }

  #nextTxnr (): number {
    const t = this.#txnr
    this.#txnr = t >= MAX_TXNR ? 1 : t + 1
    return t
  }
}

/** RELP settings of a link. */
export interface RelpOptions {
  host: string
  port: number
  framing: OutputFraming
  /** Messages sent and not yet answered, at most. */
  window: number
  timeout: number
}

/** Connects and opens a RELP session; rejects when the connection or the server's `open` answer fails, after `timeout` ms, or on `signal`. */
export function openRelp (o: RelpOptions, signal: AbortSignal): Promise<Link> {
  const name = `relp://${o.host}:${o.port}`
  const socket = net.connect({ host: o.host, port: o.port })
  const parser = new AnswerParser()
  return new Promise((resolve, reject) => {
    let opened = false
    const fail = (err: Error): void => {
      if (opened) return
      cleanup()
      socket.on('error', () => {})
      socket.destroy()
      reject(err)
    }
    const onAbort = (): void => fail(new Error(`${name}: connection attempt aborted`))
    const timer = setTimeout(() => fail(new Error(`${name}: no RELP session after ${o.timeout} ms`)), o.timeout)
    const cleanup = (): void => {
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
      socket.off('data', onOpenAnswer)
      socket.off('error', fail)
      socket.off('close', onClose)
    }
    const onClose = (): void => fail(new Error(`${name}: the server closed the connection before the session opened`))
    const onOpenAnswer = (chunk: Buffer): void => {
      let answers: Answer[]
      try { answers = parser.push(chunk) } catch (err) { fail(err as Error); return }
      const a = answers[0]
      if (a === undefined) return
      if (a.txnr !== 1 || a.command !== 'rsp' || !a.data.startsWith('200')) {
        fail(new Error(`${name}: the server refused the RELP session: ${a.command} ${a.data.slice(0, 200)}`))
        return
      }
      if (!/(^|\n)commands=([^\n]*,)?syslog(,|\n|$)/.test(a.data)) {
        fail(new Error(`${name}: the server does not offer the syslog command`))
        return
      }
      opened = true
      cleanup()
      resolve(relpLink(socket, parser, answers.slice(1), o, name))
    }
    socket.on('error', fail)
    socket.on('close', onClose)
    socket.once('connect', () => {
      socket.setNoDelay(true)
      socket.setKeepAlive(true, KEEPALIVE_MS)
      socket.on('data', onOpenAnswer)
      socket.write(Buffer.concat(frame(1, 'open', Buffer.from(OFFERS))))
    })
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
  })
}

function relpLink (socket: net.Socket, parser: AnswerParser, early: Answer[], o: RelpOptions, name: string): Link {
  const stream = new RelpStream(socket, o.framing, o.window, 2)
  const onData = (chunk: Buffer): void => {
    try {
      for (const a of parser.push(chunk)) stream.answer(a)
    } catch (err) {
      stream.destroy(err as Error)
    }
  }
  for (const a of early) {
    try { stream.answer(a) } catch (err) { stream.destroy(err as Error) }
  }
  socket.on('data', onData)
  socket.on('error', (err) => stream.destroy(err))
  socket.on('close', () => { if (!stream.destroyed) stream.destroy(new Error(`${name}: the connection closed`)) })
  return {
    ...streamLink(stream, { lossy: false, own: true, name }),
    confirmedPrefix: (batch) => stream.ackedPrefix(batch),
    sentPrefix: (batch) => stream.sentPrefix(batch),
  }
}
