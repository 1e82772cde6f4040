/**
 * A batch of events as it crosses to a worker: ONE ArrayBuffer, transferred (not copied), holding
 * the events' bytes back to back, then the offsets array, then each event's peer index
 * (DESIGN.md section 1, rule 2). Peers (sender address and source) are a small side table.
 *
 * Layout of `buffer` (all offsets in bytes):
 *   [0, dataEnd)                       event bytes
 *   [offsetsAt, offsetsAt + 4(n+1))    u32 offsets: event i is [off[i], off[i+1])
 *   [peersAt, peersAt + 2n)            u16 peer index of each event
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
  offsetsAt: number
  peersAt: number
  peers: Peer[]
  /** When the first event of the batch was received (epoch ms). */
  receivedAt: number
}

const ALIGN = 4

/** Reads a sealed batch in a worker without copying. */
export class BatchReader {
  readonly data: Buffer
  readonly offsets: Uint32Array
  readonly peerIdx: Uint16Array
  readonly count: number

  constructor (readonly batch: SealedBatch) {
    this.count = batch.count
    this.data = Buffer.from(batch.buffer, 0, batch.offsetsAt)
    this.offsets = new Uint32Array(batch.buffer, batch.offsetsAt, batch.count + 1)
    this.peerIdx = new Uint16Array(batch.buffer, batch.peersAt, batch.count)
  }

  start (i: number): number { return this.offsets[i] }
  end (i: number): number { return this.offsets[i + 1] }
  peer (i: number): Peer { return this.batch.peers[this.peerIdx[i]] }
}

/** Bytes of the ArrayBuffer of a batch of at most `maxBytes` bytes and `maxEvents` events. */
export function batchBufferSize (maxBytes: number, maxEvents: number): number {
  return align(maxBytes) + 4 * (maxEvents + 1) + align(2 * maxEvents)
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
 * Accumulates events into a batch on the main thread. Event bytes are copied once, straight into
 * the ArrayBuffer that will be transferred; only the small offsets array is copied at sealing.
 * Each buffer is sized for a full batch plus its tables, so sealing never reallocates.
 */
export class BatchBuilder {
  private buffer!: ArrayBuffer
  private data!: Buffer
  private readonly offsets: Uint32Array
  private readonly peerIdx: Uint16Array
  private peers: Peer[] = []
  // Keyed by the Peer object: callers hand the same object for every event of a sender, so the
  // hot path does one identity lookup per event instead of building a string key.
  private peerKeys = new Map<Peer, number>()
  private n = 0
  private used = 0
  private receivedAt = 0

  private readonly buffers: BatchBuffers

  /** `buffers`: where sealed batches' buffers come from (shared by the builders of one dispatcher). */
  constructor (readonly maxBytes: number, readonly maxEvents: number, buffers?: BatchBuffers) {
    this.buffers = buffers ?? new BatchBuffers(batchBufferSize(maxBytes, maxEvents), 0)
    if (this.buffers.size < batchBufferSize(maxBytes, maxEvents)) throw new RangeError('batch buffers too small for the batch geometry')
    this.offsets = new Uint32Array(maxEvents + 1)
    this.peerIdx = new Uint16Array(maxEvents)
    this.fresh()
  }

  get count (): number { return this.n }
  get bytes (): number { return this.used }

  /** True when an event of `len` bytes fits. */
  fits (len: number): boolean {
    return this.n < this.maxEvents && this.used + len <= this.maxBytes && this.peers.length < 0xffff
  }

  /** Adds one event; the caller checks `fits` first (events are at most maxBytes long). */
  add (buf: Buffer, start: number, end: number, peer: Peer): void {
    if (this.n === 0) this.receivedAt = Date.now()
    let p = this.peerKeys.get(peer)
    if (p === undefined) { p = this.peers.length; this.peers.push(peer); this.peerKeys.set(peer, p) }
    buf.copy(this.data, this.used, start, end)
    this.offsets[this.n] = this.used
    this.peerIdx[this.n] = p
    this.used += end - start
    this.n++
  }

  /** Seals the batch into its transferable ArrayBuffer and starts a new one. */
  seal (): SealedBatch {
    const count = this.n
    const offsetsAt = align(this.used)
    const peersAt = offsetsAt + 4 * (count + 1)
    const off = new Uint32Array(this.buffer, offsetsAt, count + 1)
    off.set(this.offsets.subarray(0, count))
    off[count] = this.used
    new Uint16Array(this.buffer, peersAt, count).set(this.peerIdx.subarray(0, count))
    const sealed: SealedBatch = { buffer: this.buffer, count, offsetsAt, peersAt, peers: this.peers, receivedAt: this.receivedAt }
    this.fresh()
    return sealed
  }

  private fresh (): void {
    this.buffer = this.buffers.take()
    this.data = Buffer.from(this.buffer)
    this.n = 0
    this.used = 0
    this.peers = []
    this.peerKeys.clear()
  }
}

function align (n: number): number {
  return (n + ALIGN - 1) & ~(ALIGN - 1)
}
