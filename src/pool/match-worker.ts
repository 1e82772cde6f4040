import { Piscina, transferableSymbol, valueSymbol } from 'piscina'
import { FeedIndex } from '../index/feed-index.js'
import { compileExtractor, type Extractor } from '../extract/extractor.js'
import { createRenderer, type Renderer } from '../output/renderer.js'
import { BatchReader } from '../input/batch.js'
import { EventMatcher, bufferClean, spanChecked } from '../match/event-matcher.js'
import type { Detection } from '../match/detection.js'
import { encodeResult, type MatchReply, type MatchTask, type WorkerConfig } from './protocol.js'

// Worker entry: nothing runs at load time (CONVENTIONS.md rule 6). Workers hold no state but
// views of FeedIndex generations and what they compile from the config, both cached by id.

let gen: { id: number, index: FeedIndex, matcher: EventMatcher } | undefined
let compiled: { version: number, extractors: Extractor[], renderer: Renderer } | undefined

function compile (cfg: WorkerConfig): NonNullable<typeof compiled> {
  if (compiled?.version !== cfg.version) {
    compiled = { version: cfg.version, extractors: cfg.sources.map(compileExtractor), renderer: createRenderer(cfg.output) }
    gen = undefined // the matcher's per-event cap comes from the config too
  }
  return compiled
}

function matcherFor (task: MatchTask): EventMatcher {
  // Keeping only the newest generation lets an old one be collected once no task names it:
  // a task that still carries an old handle just opens a fresh view of it.
  if (gen?.id !== task.gen.id) {
    const index = new FeedIndex(task.gen)
    gen = { id: task.gen.id, index, matcher: new EventMatcher(index, task.cfg.maxDetectionsPerEvent) }
  }
  return gen.matcher
}

/**
 * Matches one batch; returns one transferred buffer of frames and counters, and moves the batch's
 * buffer back with it for reuse (nothing here reads it after this).
 */
export default function matchBatch (task: MatchTask): unknown {
  const { extractors, renderer } = compile(task.cfg)
  const matcher = matcherFor(task)
  const reader = new BatchReader(task.batch)
  const finished = task.finished === true || task.cfg.finishedEvents
  const frames: string[] = []
  const emit = (d: Detection): void => { frames.push(renderer.detectionFrame(d)) }
  const time = task.batch.receivedAt
  // One native pass over the batch's event bytes (no NUL, valid UTF-8) spares each event its own
  // checks, about a tenth of a short event's cost; a batch that fails has its events checked one by one.
  const data = reader.data
  const clean = reader.count > 0 && bufferClean(data.subarray(reader.start(0), reader.end(reader.count - 1)))
  for (let i = 0; i < reader.count; i++) {
    const peer = reader.peer(i)
    const extractor = extractors[peer.source] ?? extractors[0]
    const start = reader.start(i)
    const end = reader.end(i)
    const n = matcher.matchEvent(extractor, data, start, end, peer.ip, time, emit, spanChecked(clean, data, start, end))
    if (finished) frames.push(renderer.finishedFrame({ time, sourceIp: peer.ip, detections: n, rules: matcher.lastRuleValues(extractor) }))
  }
  const reply: MatchReply = { result: encodeResult(frames.join(''), matcher.takeCounters()), batch: task.batch.buffer }
  return Piscina.move({ [transferableSymbol]: [reply.result, reply.batch], [valueSymbol]: reply })
}
