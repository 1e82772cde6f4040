/**
 * A batch of events as it crosses to a worker: ONE ArrayBuffer, transferred (not copied), holding
 * the events' bytes, then where each event starts and ends, then each event's peer index
 * (DESIGN.md section 1, rule 2). Peers (sender address and source) are a small side table.
 *
 * Layout of `buffer` (all offsets in bytes; the tables sit at fixed places for the geometry):
 *   [0, maxBytes)                       event bytes (events that followed each other in one chunk
 *                                       keep the few bytes between them, the LF and a CR)
 *   [startsAt, startsAt + 4 * maxEvents) u32 start of event i
 *   [endsAt, endsAt + 4 * maxEvents)     u32 end of event i: event i is [start[i], end[i])
 *   [peersAt, peersAt + 2 * maxEvents)   u16 peer index of each event
 */

/** Who sent an event: the address (for %SourceIp% and source selection) and the source index. */
export interface Peer {
  ip: string
  source: number
}

/** What a worker receives (plain data plus the transferred buffer). */
export interface SealedBatch {
  buffer: ArrayBuffer
  count: number
  /** Bytes of event data used, from 0. */
  dataEnd: number
  startsAt: number
  endsAt: number
  peersAt: number
  peers: Peer[]
  /** When the first event of the batch was received (epoch ms). */
  receivedAt: number
}

const ALIGN = 4
/**
 * Two events of one chunk at most this far apart are copied as one run, the bytes between them
 * (LF, CR, trailing blanks) included; farther apart (the discarded tail of an oversized event)
 * they start a new run.
 */
const MAX_GAP = 16

/** Where the tables of a batch of at most `maxBytes` bytes and `maxEvents` events sit. */
function geometry (maxBytes: number, maxEvents: number): { startsAt: number, endsAt: number, peersAt: number, size: number } {
  const startsAt = align(maxBytes)
  const endsAt = startsAt + 4 * maxEvents
  const peersAt = endsAt + 4 * maxEvents
  return { startsAt, endsAt, peersAt, size: peersAt + align(2 * maxEvents) }
}

/** Bytes of the ArrayBuffer of a batch of at most `maxBytes` bytes and `maxEvents` events. */
export function batchBufferSize (maxBytes: number, maxEvents: number): number {
  return geometry(maxBytes, maxEvents).size
}

/** Reads a sealed batch in a worker without copying. */
export class BatchReader {
  readonly data: Buffer
  readonly starts: Uint32Array
  readonly ends: Uint32Array
  readonly peerIdx: Uint16Array
  readonly count: number

  constructor (readonly batch: SealedBatch) {
    this.count = batch.count
    this.data = Buffer.from(batch.buffer, 0, batch.dataEnd)
    this.starts = new Uint32Array(batch.buffer, batch.startsAt, batch.count)
    this.ends = new Uint32Array(batch.buffer, batch.endsAt, batch.count)
    this.peerIdx = new Uint16Array(batch.buffer, batch.peersAt, batch.count)
  }

  start (i: number): number { return this.starts[i] }
  end (i: number): number { return this.ends[i] }
}

/**
 * Spent batch buffers, handed back by the workers with their results, for the next batches: a
 * steady stream then allocates no new 256 KiB buffer per batch, whose external memory drove the
 * main isolate into a major GC every few dozen batches. Keeps at most `keep`; others are dropped.
 */
export class BatchBuffers {
  private readonly free: ArrayBuffer[] = []

  constructor (readonly size: number, readonly keep: number) {}

  take (): ArrayBuffer {
    return this.free.pop() ?? new ArrayBuffer(this.size)
  }

  /** Takes back a buffer once nothing reads it (a detached or foreign-sized one is ignored). */
  give (ab: ArrayBuffer): void {
    if (ab.byteLength === this.size && this.free.length < this.keep) this.free.push(ab)
  }
}

/**
 * Accumulates events into a batch on the main thread, straight into the ArrayBuffer that will be
 * transferred. Events that follow each other in one input chunk are copied as one run when the
 * run ends (another chunk, a gap, sealing): one copy per chunk rather than one per event, whose
 * per-call view allocation (Node 20's Buffer#copy) made most of the main thread's garbage. This
 * relies on what the framer promises (OnEvent): the bytes it hands over never change afterwards.
 */
export class BatchBuilder {
  private buffer!: ArrayBuffer
  private data!: Buffer
  private starts!: Uint32Array
  private ends!: Uint32Array
  private peerIdx!: Uint16Array
  private readonly geo: ReturnType<typeof geometry>
  private peers: Peer[] = []
  // Keyed by the Peer object: callers hand the same object for every event of a sender, so the
  // hot path does one identity lookup per event instead of building a string key.
  private peerKeys = new Map<Peer, number>()
  private n = 0
  private used = 0
  private receivedAt = 0
  /** The run not yet copied: its source, where it starts there, where it goes, where it ends. */
  private runSrc: Buffer | null = null
  private runSrcStart = 0
  private runDst = 0
  private runSrcEnd = 0
  private readonly buffers: BatchBuffers

  /** `buffers`: where sealed batches' buffers come from (shared by the builders of one dispatcher). */
  constructor (readonly maxBytes: number, readonly maxEvents: number, buffers?: BatchBuffers) {
    this.geo = geometry(maxBytes, maxEvents)
    this.buffers = buffers ?? new BatchBuffers(this.geo.size, 0)
    if (this.buffers.size !== this.geo.size) throw new RangeError('batch buffers of another size than the batch geometry')
    this.fresh()
  }

  get count (): number { return this.n }
  get bytes (): number { return this.used }

  /** True when an event of `len` bytes fits (with room for the bytes between it and the last one). */
  fits (len: number): boolean {
    return this.n < this.maxEvents && this.used + len + (this.n > 0 ? MAX_GAP : 0) <= this.maxBytes && this.peers.length < 0xffff
  }

  /** Adds one event; the caller checks `fits` first (events are at most maxBytes long). */
  add (buf: Buffer, start: number, end: number, peer: Peer): void {
    const n = this.n
    if (n === 0) this.receivedAt = Date.now()
    let p = this.peerKeys.get(peer)
    if (p === undefined) { p = this.peers.length; this.peers.push(peer); this.peerKeys.set(peer, p) }
    if (buf !== this.runSrc || start < this.runSrcEnd || start - this.runSrcEnd > MAX_GAP) {
      this.flushRun()
      this.runSrc = buf
      this.runSrcStart = start
      this.runDst = this.used
    }
    const at = this.runDst + start - this.runSrcStart
    this.starts[n] = at
    this.ends[n] = at + end - start
    this.peerIdx[n] = p
    this.runSrcEnd = end
    this.used = at + end - start
    this.n = n + 1
  }

  /** Seals the batch into its transferable ArrayBuffer and starts a new one. */
  seal (): SealedBatch {
    this.flushRun()
    const g = this.geo
    const sealed: SealedBatch = {
      buffer: this.buffer, count: this.n, dataEnd: this.used, startsAt: g.startsAt, endsAt: g.endsAt, peersAt: g.peersAt, peers: this.peers, receivedAt: this.receivedAt
    }
    this.fresh()
    return sealed
  }

  private flushRun (): void {
    if (this.runSrc === null) return
    this.runSrc.copy(this.data, this.runDst, this.runSrcStart, this.runSrcEnd)
    this.runSrc = null
  }

  private fresh (): void {
    const g = this.geo
    this.buffer = this.buffers.take()
    this.data = Buffer.from(this.buffer, 0, this.maxBytes)
    this.starts = new Uint32Array(this.buffer, g.startsAt, this.maxEvents)
    this.ends = new Uint32Array(this.buffer, g.endsAt, this.maxEvents)
    this.peerIdx = new Uint16Array(this.buffer, g.peersAt, this.maxEvents)
    this.n = 0
    this.used = 0
    this.peers = []
    this.peerKeys.clear()
  }
}

function align (n: number): number {
  return (n + ALIGN - 1) & ~(ALIGN - 1)
}
