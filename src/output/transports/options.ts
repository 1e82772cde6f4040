import { readFileSync } from 'node:fs'
/**
 * The emitter's options, and the checks and defaults that turn them into settings. The config
 * schema validates user input first; these checks catch programming errors (FM_ERR_USAGE).
 */
import { FeedmatchError } from '../../errors.js'
import type { Backoff } from './connection.js'
import type { OutputFraming } from './frames.js'
import type { SpoolFsync } from '../spool.js'
import type { SpoolConfig } from '../../config/types.js'

/** How the spool is used: for overflow only, or as a journal of every frame. */
export type SpoolMode = 'overflow' | 'always'

/** Where the emitter sends frames. */
export type EmitterTarget =
  | { protocol: 'tcp' | 'udp' | 'tls' | 'relp', host: string, port: number }
  | { protocol: 'file', path: string }
  | { protocol: 'stdout' }

/** Emitter options; sizes in bytes, durations in milliseconds. */
export interface EmitterOptions {
  target: EmitterTarget
  /** How the frames given to write() are framed; UDP needs it to cut them into datagrams. Default 'lf'. */
  framing?: OutputFraming
  /** File paths of PEM files, for TLS. */
  tls?: { ca?: string, cert?: string, key?: string, rejectUnauthorized?: boolean }
  /** A batch leaves when maxBytes are queued or the oldest queued byte waited maxDelay. */
  batch: { maxBytes: number, maxDelay: number }
  /** Bound of the bytes held in memory: queued, waiting for the spool, written but not confirmed. */
  queue: { maxBytes: number }
  /** write() returns false from here on; default half of queue.maxBytes. */
  highWaterMark?: number
  /** Folder of the disk spool, or null (default): without one a full queue blocks. Not for UDP. */
  spool?: string | null
  /** `overflow` (default): the spool takes what memory cannot hold. `always`: a write-ahead journal, every frame on disk before write() returns. */
  spoolMode?: SpoolMode
  /** When spool appends are forced to disk; default `off` (survives kill -9, not a power loss). */
  spoolFsync?: SpoolFsync
  /** Milliseconds between syncs for spoolFsync `interval`; default 1000. */
  spoolFsyncInterval?: number
  /** Bound of the spool folder; default 1 GiB. */
  spoolMaxBytes?: number
  /** Size of one spool segment file; default spoolMaxBytes / 16, within 64 KiB..64 MiB. */
  spoolSegmentBytes?: number
  reconnect: Backoff
  /** Default 10 s: a SYN to a host that vanished is otherwise retried for minutes. */
  connectTimeout?: number
  /** How long close() and reopen() wait for the link to take what is queued; default 5 s. */
  closeTimeout?: number
  /** At most this many bytes already sent are sent again after a TCP or TLS connection drops; held beside the queue (memory is at most queue.maxBytes plus this). Default: what the kernels can hold between us and the SIEM (kernelBuffersMax); 0 for none. */
  resendBytes?: number
  /** UDP: larger messages are dropped and counted; default 65507, the most an IPv4 datagram carries. */
  udpMaxDatagram?: number
  /** RELP: messages sent and not yet answered, at most; default 128 (librelp's), which also bounds the duplicates of a drop. */
  relpWindow?: number
}

/** The options with every default filled in. */
export interface Settings {
  target: EmitterTarget
  framing: OutputFraming
  tls: { ca?: string, cert?: string, key?: string, rejectUnauthorized: boolean }
  batchMaxBytes: number
  batchMaxDelay: number
  queueMaxBytes: number
  highWaterMark: number
  spool: string | null
  spoolMode: SpoolMode
  spoolFsync: SpoolFsync
  spoolFsyncInterval: number
  spoolMaxBytes: number
  spoolSegmentBytes: number
  reconnect: Backoff
  connectTimeout: number
  closeTimeout: number
  resendBytes: number
  udpMaxDatagram: number
  relpWindow: number
}

const KiB = 1024
const MiB = 1024 * KiB

function int (name: string, value: number | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = value ?? fallback
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new FeedmatchError('FM_ERR_USAGE', `emitter option ${name}: expected an integer from ${min} to ${max}, got ${String(value)}`)
  }
  return v
}

/** Checks `opts` and fills in the defaults; throws FM_ERR_USAGE naming the option at fault. */
export function normalize (opts: EmitterOptions): Settings {
  const t = opts.target
  if (t.protocol === 'tcp' || t.protocol === 'udp' || t.protocol === 'tls' || t.protocol === 'relp') {
    if (typeof t.host !== 'string' || t.host === '') throw new FeedmatchError('FM_ERR_USAGE', 'emitter option target.host: expected a host name or address')
    int('target.port', t.port, 0, 1, 65535)
  } else if (t.protocol === 'file') {
    if (typeof t.path !== 'string' || t.path === '') throw new FeedmatchError('FM_ERR_USAGE', 'emitter option target.path: expected a file path')
  } else if (t.protocol !== 'stdout') {
    throw new FeedmatchError('FM_ERR_USAGE', `emitter option target.protocol: expected tcp, udp, tls, relp, file or stdout, got ${String((t as { protocol: unknown }).protocol)}`)
  }
  const framing = opts.framing ?? 'lf'
  if (framing !== 'lf' && framing !== 'octet') throw new FeedmatchError('FM_ERR_USAGE', `emitter option framing: expected lf or octet, got ${String(framing)}`)
  const spool = opts.spool ?? null
  if (spool !== null && t.protocol === 'udp') {
    throw new FeedmatchError('FM_ERR_USAGE', 'emitter option spool: UDP cannot tell when the SIEM is away, so it cannot spool; remove the spool or use tcp or tls')
  }
  const queueMaxBytes = int('queue.maxBytes', opts.queue.maxBytes, 0, 1)
  const spoolMaxBytes = int('spoolMaxBytes', opts.spoolMaxBytes, 1024 * MiB, 64 * KiB)
  const initialDelay = int('reconnect.initialDelay', opts.reconnect.initialDelay, 0, 1)
  const highWaterMark = int('highWaterMark', opts.highWaterMark, Math.max(1, Math.floor(queueMaxBytes / 2)), 1, queueMaxBytes)
  return {
    target: t,
    framing,
    tls: { ...opts.tls, rejectUnauthorized: opts.tls?.rejectUnauthorized ?? true },
    batchMaxBytes: int('batch.maxBytes', opts.batch.maxBytes, 0, 1),
    batchMaxDelay: int('batch.maxDelay', opts.batch.maxDelay, 0, 0),
    queueMaxBytes,
    highWaterMark,
    spool,
    spoolMode: opts.spoolMode ?? 'overflow',
    spoolFsync: opts.spoolFsync ?? 'off',
    spoolFsyncInterval: int('spoolFsyncInterval', opts.spoolFsyncInterval, 1000, 1),
    spoolMaxBytes,
    spoolSegmentBytes: int('spoolSegmentBytes', opts.spoolSegmentBytes,
      Math.min(64 * MiB, Math.max(64 * KiB, Math.floor(spoolMaxBytes / 16))), 64, 1024 * MiB),
    reconnect: { initialDelay, maxDelay: int('reconnect.maxDelay', opts.reconnect.maxDelay, 0, initialDelay) },
    connectTimeout: int('connectTimeout', opts.connectTimeout, 10_000, 1),
    closeTimeout: int('closeTimeout', opts.closeTimeout, 5_000, 0),
    resendBytes: int('resendBytes', opts.resendBytes, kernelBuffersMax(), 0, 1024 * MiB),
    udpMaxDatagram: int('udpMaxDatagram', opts.udpMaxDatagram, 65_507, 1, 65_535),
    relpWindow: int('relpWindow', opts.relpWindow, 128, 1, 1_000_000),
  }
}

/**
 * The most the kernels can hold between write() and the SIEM's read(): our socket's send buffer
 * (Linux `tcp_wmem`, third field) plus the receive buffer of a peer whose kernel is like ours
 * (`tcp_rmem`, third field; autotuning grows it that far under a reader that keeps up). When the
 * SIEM dies, what sat there unread is gone, so the resend window must cover both; it is held
 * beside the queue, not in it (see Session). 4 MiB for each field that cannot be read; at most
 * 256 MiB. A SIEM with larger buffers than ours (or a proxy between) can swallow more: set
 * `output.queue.resendBytes`, or use RELP, which confirms each message.
 */
export function kernelBuffersMax (): number {
  return Math.min(256 * MiB, sysctlMax('/proc/sys/net/ipv4/tcp_wmem') + sysctlMax('/proc/sys/net/ipv4/tcp_rmem'))
}

function sysctlMax (file: string): number {
  try {
    const max = Number(readFileSync(file, 'utf8').trim().split(/\s+/)[2])
    if (Number.isInteger(max) && max > 0) return Math.min(max, 256 * MiB)
  } catch { /* not Linux, or /proc not mounted */ }
  return 4 * MiB
}

/** The emitter options of a configured spool (`output.spool`). */
export function spoolOptions (spool: SpoolConfig | null): Pick<EmitterOptions, 'spool' | 'spoolMode' | 'spoolFsync' | 'spoolFsyncInterval' | 'spoolMaxBytes'> {
  if (spool === null) return { spool: null }
  return { spool: spool.dir, spoolMode: spool.mode, spoolFsync: spool.fsync, spoolFsyncInterval: spool.fsyncInterval, spoolMaxBytes: spool.maxBytes }
}
