import { isUtf8 } from 'node:buffer'
import type { FeedIndex } from '../index/feed-index.js'
import { Hits, type FeedMeta, type MatchType } from '../index/types.js'
import { Candidates, type RuleType } from '../extract/types.js'
import type { Extractor } from '../extract/extractor.js'
import { parseIpv4 } from '../extract/scanner.js'
import { getField } from '../feeds/fields.js'
import { lookupValue, type ValueType } from './query.js'
import type { Detection } from './detection.js'

/** Counters of one matcher (one worker); summed on the main thread into the service statistics. */
export interface MatchCounters {
  events: number
  bytes: number
  detections: number
  /** Events with at least one detection. */
  eventsWithDetections: number
  /** Events dropped by a normalize `ignore` rule. */
  ignored: number
  /** Events holding NUL bytes: binary data, not log text; dropped. */
  binary: number
  /** Events that are not valid UTF-8: processed as bytes, counted. */
  invalidUtf8: number
  /** Detections cut by the per-event cap. */
  cut: number
  /** Values suppressed by the allowlist. */
  allowlisted: number
  /** Detections per feed id. */
  perFeed: number[]
  /** Detections per rule name. */
  perRule: Record<string, number>
}

/** A fresh set of zeroed counters. */
export function newMatchCounters (): MatchCounters {
  return { events: 0, bytes: 0, detections: 0, eventsWithDetections: 0, ignored: 0, binary: 0, invalidUtf8: 0, cut: 0, allowlisted: 0, perFeed: [], perRule: {} }
}

const HASH_TYPES: Partial<Record<RuleType, ValueType>> = { HASH: 'hash', MD5: 'md5', SHA1: 'sha1', SHA256: 'sha256' }
const HEX_LEN: Partial<Record<RuleType, number>> = { MD5: 32, SHA1: 40, SHA256: 64 }

/**
 * Matches events against one generation: extract candidates, look them up, apply the allowlist,
 * the one-detection-per-(record, value) rule and the per-event cap, and hand each Detection to the
 * caller. One engine for `serve` and `scan`. Hot path: hashes and IPv4 addresses are looked up
 * straight from the event bytes; strings are only built for URLs, domains and IPv6, and for the
 * values of an event that produced a detection.
 */
export class EventMatcher {
  /** Counters since the last `takeCounters()`. */
  counters = newMatchCounters()
  private readonly cands = new Candidates()
  private readonly hits = new Hits()
  private readonly seen = new Set<string>()
  private readonly pending: Array<{ rec: number, matched: string, type: MatchType, value: string, rule: number }> = []

  constructor (private readonly index: FeedIndex, private readonly maxPerEvent: number) {}

  /** Returns the counters so far and starts new ones (one set per batch). */
  takeCounters (): MatchCounters {
    const c = this.counters
    this.counters = newMatchCounters()
    return c
  }

  /**
   * Matches one event `buf[start, end)` with the given extractor; calls `emit` for each detection.
   * Returns the number of detections. `checked`: the caller has already found the bytes free of
   * NUL and valid UTF-8 (one native pass over a whole chunk of lines, as `scan` does), so the
   * per-event checks, about a tenth of the cost of a short event, are skipped.
   */
  matchEvent (extractor: Extractor, buf: Buffer, start: number, end: number, sourceIp: string, time: number, emit: (d: Detection) => void, checked = false): number {
    const c = this.counters
    c.events++
    c.bytes += end - start
    // Cleared up front so a dropped event's finished event reports no stale rule values.
    this.cands.clear(buf, start, end)
    if (!checked) {
      const event = buf.subarray(start, end)
      if (event.indexOf(0) !== -1) { c.binary++; return 0 }
      if (!isUtf8(event)) c.invalidUtf8++
    }
    const cands = this.cands
    if (!extractor.run(buf, start, end, cands)) { c.ignored++; return 0 }
    const rules = extractor.rules
    const hits = this.hits
    const pending = this.pending
    pending.length = 0
    this.seen.clear()
    for (let i = 0; i < cands.n; i++) {
      const ruleIdx = cands.rule[i]
      const type = rules[ruleIdx].type
      if (type === 'CONTEXT') continue
      hits.clear()
      const value = this.lookup(extractor, type, i, hits)
      if (value === null || hits.length === 0) continue
      if (this.allowlisted(hits)) { c.allowlisted++; continue }
      for (let h = 0; h < hits.length; h++) {
        const key = `${hits.recs[h]}\u0000${value}`
        if (this.seen.has(key)) continue // one detection per (event, record, normalized value)
        this.seen.add(key)
        pending.push({ rec: hits.recs[h], matched: hits.matched[h], type: hits.types[h], value, rule: ruleIdx })
      }
    }
    if (pending.length === 0) return 0
    if (pending.length > this.maxPerEvent) { c.cut += pending.length - this.maxPerEvent; pending.length = this.maxPerEvent }
    c.eventsWithDetections++
    const ruleValues = extractor.ruleValues(cands)
    for (const p of pending) {
      const feed = this.index.feed(p.rec)
      const ruleName = rules[p.rule].name
      const context = this.index.context(p.rec)
      const d: Detection = {
        time,
        feed: feed.name,
        category: feed.category,
        type: p.type,
        matched: p.matched,
        value: p.value,
        rule: ruleName,
        context,
        actionable: actionableFields(feed, context),
        sourceIp,
        rules: { ...ruleValues, [ruleName]: p.value }
      }
      c.detections++
      c.perFeed[feed.id] = (c.perFeed[feed.id] ?? 0) + 1
      c.perRule[ruleName] = (c.perRule[ruleName] ?? 0) + 1
      emit(d)
    }
    return pending.length
  }

  /** Rule values of the last event matched, for its finished event. */
  lastRuleValues (extractor: Extractor): Record<string, string> {
    return extractor.ruleValues(this.cands)
  }

  /** Looks one candidate up; returns its normalized value (for hashes and IPv4 only on a hit). */
  private lookup (extractor: Extractor, type: RuleType, i: number, hits: Hits): string | null {
    const cands = this.cands
    const src = cands.src
    const s = cands.start[i]
    const e = cands.end[i]
    const hashType = HASH_TYPES[type]
    if (hashType !== undefined) {
      const len = e - s
      const want = HEX_LEN[type]
      // Other lengths are ignored (DESIGN.md section 3); the index checks the hex digits.
      if (want !== undefined ? len !== want : (len !== 32 && len !== 40 && len !== 64)) return null
      this.index.lookupHashHex(src, s, e, hits)
      return hits.length > 0 ? src.toString('latin1', s, e).toLowerCase() : null
    }
    if (type === 'IP') {
      const v4 = parseIpv4(src, s, e)
      if (v4 >= 0) {
        this.index.lookupIpv4(v4, hits)
        return hits.length > 0 ? `${v4 >>> 24}.${(v4 >>> 16) & 255}.${(v4 >>> 8) & 255}.${v4 & 255}` : null
      }
    }
    const r = lookupValue(this.index, type === 'IP' ? 'ip' : type === 'URL' ? 'url' : 'domain', extractor.value(cands, i), hits)
    return r === null ? null : r.value
  }

  /** Allowlist entries use the feeds' semantics; one hit on one silences the value. */
  private allowlisted (hits: Hits): boolean {
    for (let h = 0; h < hits.length; h++) if (this.index.feed(hits.recs[h]).role === 'allow') return true
    return false
  }
}

/** The feed's actionable fields of one record, under their output names, in configuration order. */
export function actionableFields (feed: FeedMeta, context: Record<string, unknown>): Array<[string, string]> {
  const out: Array<[string, string]> = []
  for (const field in feed.actionable) {
    const v = getField(context, field)
    if (v === undefined || v === null) continue
    out.push([feed.actionable[field], typeof v === 'string' ? v : JSON.stringify(v)])
  }
  return out
}
