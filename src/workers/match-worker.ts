import { Piscina, transferableSymbol, valueSymbol } from 'piscina'
import { FeedIndex } from '../index/feed-index.js'
import { compileExtractor, type Extractor } from '../extract/extractor.js'
import { createRenderer, type Renderer } from '../render/renderer.js'
import { BatchReader } from '../pipeline/batch.js'
import { EventMatcher, bufferClean, spanChecked } from '../match/event-matcher.js'
import type { Detection } from '../match/detection.js'
import { encodeResult, type MatchReply, type WireTask, type WorkerConfig } from '../pipeline/protocol.js'
import type { StoredRow } from '../store/types.js'

// Worker entry: nothing runs at load time (CONVENTIONS.md rule 6). Workers hold no state but
// views of FeedIndex generations and what they compile from the config, both cached by id.

let gen: { id: number, index: FeedIndex, matcher: EventMatcher } | undefined
let overlay: { id: number, index: FeedIndex } | undefined
let compiled: { version: number, extractors: Extractor[], renderer: Renderer, finishedEvents: boolean, maxPerEvent: number, store: { eventBytes: number } | null } | undefined

function compile (cfg: WorkerConfig): NonNullable<typeof compiled> {
  if (compiled?.version !== cfg.version) {
    compiled = { version: cfg.version, extractors: cfg.sources.map(compileExtractor), renderer: createRenderer(cfg.output), finishedEvents: cfg.finishedEvents, maxPerEvent: cfg.maxDetectionsPerEvent, store: cfg.store }
    gen = undefined // the matcher's per-event cap comes from the config too
  }
  return compiled
}

/**
 * The compiled config and matcher the task names, from what it carries or what this worker kept;
 * undefined when it names ones this worker does not hold (the pool then sends them along).
 * Only the newest generation is kept, so an old one can be collected once no task names it.
 */
function stateFor (task: WireTask): { c: NonNullable<typeof compiled>, matcher: EventMatcher } | undefined {
  if (task.cfg !== undefined) compile(task.cfg)
  if (compiled === undefined || compiled.version !== task.cfgVersion) return undefined
  if (task.gen !== undefined && gen?.id !== task.gen.id) {
    const index = new FeedIndex(task.gen)
    gen = { id: task.gen.id, index, matcher: new EventMatcher(index, compiled.maxPerEvent) }
  }
  if (gen === undefined || gen.id !== task.genId) return undefined
  if (task.overlay !== undefined && overlay?.id !== task.overlay.id) overlay = { id: task.overlay.id, index: new FeedIndex(task.overlay) }
  if (task.overlayId !== 0 && overlay?.id !== task.overlayId) return undefined
  gen.matcher.setOverlay(task.overlayId === 0 ? null : (overlay as { index: FeedIndex }).index)
  return { c: compiled, matcher: gen.matcher }
}

/**
 * Matches one batch; returns one transferred buffer of frames and counters, and moves the batch's
 * buffer back with it for reuse (nothing here reads it after this).
 */
export default function matchBatch (task: WireTask): unknown {
  const state = stateFor(task)
  if (state === undefined) return Piscina.move({ [transferableSymbol]: [task.batch.buffer], [valueSymbol]: { missing: true, batch: task.batch.buffer } satisfies MatchReply })
  const { extractors, renderer } = state.c
  const matcher = state.matcher
  const reader = new BatchReader(task.batch)
  const finished = task.finished || state.c.finishedEvents
  const frames: string[] = []
  const time = task.batch.receivedAt
  const data = reader.data
  // The detection store's rows (store/types.ts), with the event they came from, cut at its limit.
  const storeBytes = state.c.store?.eventBytes ?? 0
  const stored: StoredRow[] | null = state.c.store === null ? null : []
  let evStart = 0
  let evEnd = 0
  const emit = stored === null
    ? (d: Detection): void => { frames.push(renderer.detectionFrame(d)) }
    : (d: Detection): void => {
        frames.push(renderer.detectionFrame(d))
        const event = data.toString('utf8', evStart, Math.min(evEnd, evStart + storeBytes))
        stored.push([d.time, d.feed, d.category, d.type, d.value, d.matched, d.sourceIp, d.rule, JSON.stringify(d.context), event])
      }
  // One native pass over the batch's event bytes (no NUL, valid UTF-8) spares each event its own
  // checks, about a tenth of a short event's cost; a batch that fails has its events checked one by one.
  const clean = reader.count > 0 && bufferClean(data.subarray(reader.start(0), reader.end(reader.count - 1)))
  // Each peer's address and extractor, looked up once a batch: the peers arrive as cloned objects,
  // slow to read once per event.
  const ips = task.batch.peers.map((p) => p.ip)
  const peerExtractors = task.batch.peers.map((p) => extractors[p.source] ?? extractors[0])
  const { starts, ends, peerIdx } = reader
  for (let i = 0; i < reader.count; i++) {
    const p = peerIdx[i]
    const extractor = peerExtractors[p]
    const start = starts[i]
    const end = ends[i]
    evStart = start
    evEnd = end
    const n = matcher.matchEvent(extractor, data, start, end, ips[p], time, emit, spanChecked(clean, data, start, end))
    if (finished) frames.push(renderer.finishedFrame({ time, sourceIp: ips[p], detections: n, rules: matcher.lastRuleValues(extractor) }))
  }
  const reply = { result: encodeResult(frames.join(''), matcher.takeCounters(), stored), batch: task.batch.buffer }
  return Piscina.move({ [transferableSymbol]: [reply.result, reply.batch], [valueSymbol]: reply })
}
