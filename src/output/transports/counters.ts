/** The emitter's counters, Vector-style: totals since construction, drops by reason. */

/** Why bytes were dropped: above the memory bound, too big or malformed for a datagram, UDP not ready or failing, refused by a RELP server, or refused or left at close(). */
export type DropReason = 'overflow' | 'oversize' | 'malformed' | 'unavailable' | 'send' | 'refused' | 'close'

/** Counts of one emitter, totals since construction. */
export interface EmitterCounters {
  /** Frames sent; UDP only, the one transport that cuts frames apart. */
  framesSent: number
  /** Bytes the destination took (a socket's kernel, a file), resends included. */
  bytesSent: number
  /** Bytes sent again after a connection dropped that the SIEM may already have had: the TCP resend window, or RELP messages sent and not answered. The most that can arrive twice. */
  bytesResent: number
  /** Bytes accepted by write(). */
  bytesQueued: number
  /** Bytes appended to the spool. */
  bytesSpooled: number
  bytesDropped: number
  dropped: Record<DropReason, number>
  /** Connections regained after a loss. */
  reconnects: number
  /** Failed connection attempts, dropped links, failed sends, spool failures. */
  errors: number
}

/** Counters at zero. */
export function newCounters (): EmitterCounters {
  return {
    framesSent: 0,
    bytesSent: 0,
    bytesResent: 0,
    bytesQueued: 0,
    bytesSpooled: 0,
    bytesDropped: 0,
    dropped: { overflow: 0, oversize: 0, malformed: 0, unavailable: 0, send: 0, refused: 0, close: 0 },
    reconnects: 0,
    errors: 0,
  }
}
