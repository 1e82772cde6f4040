/**
 * Syslog headers (RFC 5424, RFC 3164, or none) and stream framing (LF, or RFC 6587 octet
 * counting) around a rendered message. Runs per frame in workers, so every part of a header that
 * does not change is built once, and timestamps are formatted once per millisecond (5424) or
 * second (3164).
 */
import type { OutputConfig } from '../config/types.js'

/** Syslog severities (RFC 5424 section 6.2.1). */
export const SEVERITY = {
  emergency: 0,
  alert: 1,
  critical: 2,
  error: 3,
  warning: 4,
  notice: 5,
  info: 6,
  debug: 7,
} as const

/** Syslog header and framing settings (the `output` section's header, framing, hostname, appName, facility). */
export interface SyslogOptions {
  header: 'rfc5424' | 'rfc3164' | 'none'
  framing: 'lf' | 'octet'
  hostname: string
  appName: string
  /** 0-23; 16 (local0) by default in the configuration. */
  facility: number
  /** PROCID / TAG pid; the process id unless given (tests pin it). */
  procId?: number | string
  /** RFC 5424 only: a UTF-8 BOM before MSG (section 6.4, MSG-UTF8); off by default, see createFramer. */
  bom?: boolean
}

/** The syslog settings of an `output` section. */
export function syslogOptionsOf (out: Pick<OutputConfig, 'header' | 'framing' | 'hostname' | 'appName' | 'facility' | 'bom'>): SyslogOptions {
  return { header: out.header, framing: out.framing, hostname: out.hostname, appName: out.appName, facility: out.facility, bom: out.bom }
}

/** Puts a header and framing around a message. */
export interface Framer {
  /** The complete frame for `message`: header, message, and LF or a length prefix. */
  frame (message: string, severity: number, time: number, msgId?: string): string
}

// toISOString throws on NaN and beyond +-8.64e15; a bad time must not cost a frame.
function safeTime (ms: number): number {
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? ms : Date.now()
}

let isoMs = NaN
let isoText = ''

/** ISO 8601 UTC with milliseconds (`2024-05-01T12:00:00.000Z`); cached for the last millisecond seen. */
export function isoTime (ms: number): string {
  if (ms !== isoMs) {
    isoMs = ms
    isoText = new Date(safeTime(ms)).toISOString()
  }
  return isoText
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const pad2 = (n: number): string => n < 10 ? '0' + n : String(n)

let bsdSecond = NaN
let bsdText = ''

/**
 * RFC 3164 timestamp `Mmm dd hh:mm:ss`, day padded with a space (`Jan  5`), in local time as the
 * RFC says (it carries no zone; receivers read it as their local time). Cached per second.
 */
export function rfc3164Time (ms: number): string {
  const second = Math.floor(safeTime(ms) / 1000)
  if (second !== bsdSecond) {
    bsdSecond = second
    const d = new Date(second * 1000)
    const day = d.getDate()
    bsdText = `${MONTHS[d.getMonth()]} ${day < 10 ? ' ' + day : day} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`
  }
  return bsdText
}

// RFC 5424 header fields are printable US-ASCII without spaces, `-` when empty. The configuration
// already checks hostname and appName; this keeps a frame valid whatever a caller passes.
function headerField (s: string, max: number): string {
  const clean = s.replace(/[^!-~]/g, '_').slice(0, max)
  return clean === '' ? '-' : clean
}

/** A framer for one output: the constant parts of its header are built here, once. */
export function createFramer (opts: SyslogOptions): Framer {
  const facility = Math.min(23, Math.max(0, Math.trunc(opts.facility)))
  const hostname = headerField(opts.hostname, 255)
  const appName = headerField(opts.appName, 48)
  const procId = headerField(String(opts.procId ?? process.pid), 128)
  // `<PRI>` per severity, so a frame only concatenates.
  const pri = Array.from({ length: 8 }, (_, sev) => `<${facility * 8 + sev}>`)
  const clampSeverity = (s: number): number => (s >= 0 && s <= 7 ? s | 0 : SEVERITY.notice)

  let head: (severity: number, time: number, msgId: string | undefined) => string
  switch (opts.header) {
    case 'rfc5424': {
      const mid = ` ${hostname} ${appName} ${procId} `
      // MSGIDs are a few constants (detection, service, finished): clean each once.
      const msgIds = new Map<string, string>()
      const msgIdField = (id: string | undefined): string => {
        if (id === undefined) return '-'
        let f = msgIds.get(id)
        if (f === undefined) { f = headerField(id, 32); if (msgIds.size < 64) msgIds.set(id, f) }
        return f
      }
      // No BOM before MSG by default: a message without one is MSG-ANY, which RFC 5424 allows,
      // and a BOM in front of `CEF:0|` or a JSON object breaks the SIEM parsers that look for
      // the message at its first byte. `output.bom: true` marks MSG as UTF-8 (MSG-UTF8).
      const bom = opts.bom === true ? '\ufeff' : ''
      head = (sev, time, msgId) => `${pri[clampSeverity(sev)]}1 ${isoTime(time)}${mid}${msgIdField(msgId)} - ${bom}`
      break
    }
    case 'rfc3164': {
      const tail = ` ${hostname} ${appName}[${procId}]: `
      head = (sev, time) => `${pri[clampSeverity(sev)]}${rfc3164Time(time)}${tail}`
      break
    }
    case 'none':
      head = () => ''
      break
  }

  if (opts.framing === 'octet') {
    return {
      frame (message, severity, time, msgId) {
        const text = head(severity, time, msgId) + message
        return `${Buffer.byteLength(text, 'utf8')} ${text}`
      },
    }
  }
  return {
    frame (message, severity, time, msgId) {
      // Escaping guarantees rendered messages hold no line break; this guards other callers of
      // frame() so that LF framing can never be split (indexOf is a native scan, cheap here).
      const safe = message.indexOf('\n') === -1 && message.indexOf('\r') === -1 ? message : message.replace(/[\r\n]/g, ' ')
      return head(severity, time, msgId) + safe + '\n'
    },
  }
}
