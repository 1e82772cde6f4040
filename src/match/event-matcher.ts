import { isUtf8 } from 'node:buffer'
import type { FeedIndex } from '../index/feed-index.js'
import { Hits, type FeedMeta, type MatchType } from '../index/types.js'
import { Candidates, type RuleType } from '../extract/types.js'
import type { Extractor } from '../extract/extractor.js'
import { parseIpv4 } from '../extract/scanner.js'
import { getField } from '../util/field-path.js'
import { isAllowlisted, lookupHost, lookupValue } from './query.js'
import { OverlayScopes } from './overlay.js'
import { normalizeUrl } from './normalize/url.js'
import { normalizeDomain } from './normalize/host.js'
import { obfuscationOf } from './normalize/obfuscation.js'
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
  /** Detections whose value used each obfuscation technique (match/normalize/obfuscation.ts). */
  perObfuscation: Record<string, number>
}

/** A fresh set of zeroed counters. */
export function newMatchCounters (): MatchCounters {
  return { events: 0, bytes: 0, detections: 0, eventsWithDetections: 0, ignored: 0, binary: 0, invalidUtf8: 0, cut: 0, allowlisted: 0, perFeed: [], perRule: {}, perObfuscation: {} }
}

/** Options of an EventMatcher. */
export interface MatcherOptions {
  /**
   * Fill `Detection.rules` with every rule's value (CONTEXT rules run through RE2 for that), as
   * templates that name rules need. Without, `rules` holds only the detecting rule's value: for
   * outputs that never read it (scan's ndjson, csv, text). Default true.
   */
  needRuleValues?: boolean
}

// What the matcher does with a candidate, by its rule's type: looked up once per extractor so the
// per-candidate loop switches on a small integer. Hash length 0: any of the three.
const K_SKIP = 0
const K_HASH = 1
const K_IP = 2
const K_URL = 3
const K_DOMAIN = 4
const KIND: Record<RuleType, number> = { CONTEXT: K_SKIP, HASH: K_HASH, MD5: K_HASH, SHA1: K_HASH, SHA256: K_HASH, IP: K_IP, URL: K_URL, DOMAIN: K_DOMAIN }
const HEX_LEN: Partial<Record<RuleType, number>> = { HASH: 0, MD5: 32, SHA1: 40, SHA256: 64 }

/** An extractor's rules as kinds (low byte) and required hex length (above it). */
function ruleKinds (extractor: Extractor): Uint16Array {
  return Uint16Array.from(extractor.rules, (r) => KIND[r.type] | ((HEX_LEN[r.type] ?? 0) << 8))
}

/** Up to this many detections in an event, duplicates are found by a linear scan, then by a Set. */
const LINEAR_DEDUPE = 16

interface Pending { rec: number, matched: string, type: MatchType, value: string, rule: number, cand: number, kind: number }

/**
 * True when buf[start, end) holds no NUL and is valid UTF-8, as `matchEvent(..., checked)` wants,
 * given `clean`: that the whole of a larger buffer holding it is (one native pass for many events).
 * A span of valid UTF-8 is valid when it starts and ends on character boundaries.
 */
export function spanChecked (clean: boolean, buf: Uint8Array, start: number, end: number): boolean {
  return clean && (start >= buf.length || (buf[start] & 0xc0) !== 0x80) && (end >= buf.length || (buf[end] & 0xc0) !== 0x80)
}

/** True when buf holds no NUL and is valid UTF-8: see spanChecked. */
export function bufferClean (buf: Buffer): boolean {
  return buf.indexOf(0) === -1 && isUtf8(buf)
}

/**
 * Matches events against one generation: extract candidates, look them up, apply the allowlist,
 * the one-detection-per-(record, value) rule and the per-event cap, and hand each Detection to the
 * caller. One engine for `serve` and `scan`. Hot path: hashes and IPv4 addresses are looked up
 * straight from the event bytes; strings are only built for URLs, domains and IPv6, and for the
 * values of an event that produced a detection. Measured by bench/index.bench.mjs (lookups) and
 * bench/scan.bench.mjs (end to end).
 */
export class EventMatcher {
  /** Counters since the last `takeCounters()`. */
  counters = newMatchCounters()
  private readonly cands = new Candidates()
  private readonly hits = new Hits()
  /** The IP of the current candidate's URL host, when it is one (set by lookup()). */
  private hostIp: string | null = null
  private readonly needRuleValues: boolean
  /** Detections of the current event; `seen` mirrors pending[0, seenUpTo) once there are many. */
  private readonly pending: Pending[] = []
  private readonly seen = new Set<string>()
  private seenUpTo = 0
  /** ruleKinds of the extractor used last, and of every extractor seen (serve has one per source). */
  private kindsOf: Extractor | null = null
  private kinds: Uint16Array = new Uint16Array(0)
  private readonly kindsBy = new WeakMap<Extractor, Uint16Array>()

  /** The live lists' overlay (src/match/overlay.ts), when any entry exists. */
  private overlay: OverlayScopes | null = null
  private readonly overlayHitList = new Hits()

  constructor (private readonly index: FeedIndex, private readonly maxPerEvent: number, opts: MatcherOptions = {}) {
    this.needRuleValues = opts.needRuleValues !== false
  }

  /** The overlay the next events are matched with too (null: none); kept while its index is the same. */
  setOverlay (index: FeedIndex | null): void {
    if (index === null) this.overlay = null
    else if (this.overlay?.index !== index) this.overlay = new OverlayScopes(index)
  }

  /**
   * Candidate i against the overlay: 'all' when an allowlist entry without feed scope applies to
   * this sender; else the feed sets of the allowlist entries that apply (or null), after queuing
   * a detection for each blocklist entry that applies.
   */
  private overlayHits (extractor: Extractor, kind: number, i: number, sourceIp: string, ruleIdx: number): 'all' | Array<Set<string>> | null {
    const ov = this.overlay as OverlayScopes
    const oh = this.overlayHitList
    oh.clear()
    this.hostIp = null
    const value = this.lookup(ov.index, extractor, kind, i, oh)
    if (value === null || oh.length === 0) return null
    let feeds: Array<Set<string>> | null = null
    const blocks: number[] = []
    for (let h = 0; h < oh.length; h++) {
      const rec = oh.recs[h]
      if (!ov.appliesTo(rec, sourceIp)) continue
      if (ov.index.feed(rec).role !== 'allow') { blocks.push(h); continue }
      const f = ov.of(rec).feeds
      if (f === null) return 'all'
      ;(feeds ??= []).push(f)
    }
    for (const h of blocks) {
      const rec = -oh.recs[h] - 1
      const v = this.hostIp !== null && oh.types[h] === 'ip' ? this.hostIp : value
      if (!this.duplicate(rec, v)) this.pending.push({ rec, matched: oh.matched[h], type: oh.types[h], value: v, rule: ruleIdx, cand: i, kind })
    }
    return feeds
  }

  /** Returns the counters so far and starts new ones (one set per batch). */
  takeCounters (): MatchCounters {
    const c = this.counters
    this.counters = newMatchCounters()
    return c
  }

  /**
   * Matches one event `buf[start, end)` with the given extractor; calls `emit` for each detection.
   * Returns the number of detections. `checked`: the caller has already found the bytes free of
   * NUL and valid UTF-8 (one native pass over a whole chunk of lines, as `scan` does; see
   * spanChecked), so the per-event checks, about a tenth of the cost of a short event, are skipped.
   * Hot path: runs once per event.
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
    if (cands.n === 0) return 0
    const kinds = this.kindsOf === extractor ? this.kinds : this.kindsFor(extractor)
    const hits = this.hits
    const pending = this.pending
    if (pending.length !== 0) pending.length = 0
    if (this.seenUpTo !== 0) { this.seen.clear(); this.seenUpTo = 0 }
    for (let i = 0; i < cands.n; i++) {
      const ruleIdx = cands.rule[i]
      const kind = kinds[ruleIdx]
      if (kind === K_SKIP) continue
      hits.clear()
      this.hostIp = null
      const value = this.lookup(this.index, extractor, kind, i, hits)
      const found = value !== null && hits.length > 0
      if (found && isAllowlisted(this.index, hits)) { c.allowlisted++; continue }
      // The live lists (an overlay index, usually absent): an allowlist entry that applies to this
      // sender suppresses the value (or its detections of the entry's feeds); a blocklist entry
      // adds detections of its own.
      let allowFeeds: Array<Set<string>> | null = null
      if (this.overlay !== null) {
        const mainHostIp = this.hostIp
        const o = this.overlayHits(extractor, kind, i, sourceIp, ruleIdx)
        this.hostIp = mainHostIp
        if (o === 'all') { c.allowlisted++; continue }
        allowFeeds = o
      }
      if (!found) continue
      for (let h = 0; h < hits.length; h++) {
        const rec = hits.recs[h]
        if (allowFeeds !== null && allowFeeds.some((f) => f.has(this.index.feed(rec).name))) { c.allowlisted++; continue }
        // An IP record matched through a URL's host reports the IP (as RE_IP would): one
        // detection for `http://[2001:db8::1]/x` and `2001:db8::1` in one event, no brackets.
        const v = this.hostIp !== null && hits.types[h] === 'ip' ? this.hostIp : value
        if (this.duplicate(rec, v)) continue // one detection per (event, record, normalized value)
        pending.push({ rec, matched: hits.matched[h], type: hits.types[h], value: v, rule: ruleIdx, cand: i, kind })
      }
    }
    if (pending.length === 0) return 0
    return this.detections(extractor, sourceIp, time, emit)
  }

  /** Rule values of the last event matched, for its finished event. */
  lastRuleValues (extractor: Extractor): Record<string, string> {
    return extractor.ruleValues(this.cands)
  }

  /** Builds and emits the detections of the current event (an event with any is rare: not hot). */
  private detections (extractor: Extractor, sourceIp: string, time: number, emit: (d: Detection) => void): number {
    const c = this.counters
    const pending = this.pending
    const rules = extractor.rules
    if (pending.length > this.maxPerEvent) { c.cut += pending.length - this.maxPerEvent; pending.length = this.maxPerEvent }
    c.eventsWithDetections++
    const ruleValues = this.needRuleValues ? extractor.ruleValues(this.cands) : null
    for (const p of pending) {
      // Overlay records (live blocklist) are kept as -(rec + 1): two indexes, one number space.
      const live = p.rec < 0
      const index = live ? (this.overlay as OverlayScopes).index : this.index
      const rec = live ? -p.rec - 1 : p.rec
      const feed = index.feed(rec)
      const ruleName = rules[p.rule].name
      const context = index.context(rec)
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
        rules: { ...ruleValues, [ruleName]: p.value },
        // What normalization undid in the value as written (URLs and hosts only).
        obfuscation: p.kind === K_URL || p.kind === K_DOMAIN ? obfuscationOf(extractor.value(this.cands, p.cand)) : []
      }
      for (const o of d.obfuscation) c.perObfuscation[o] = (c.perObfuscation[o] ?? 0) + 1
      c.detections++
      // Per-feed counts are by the generation's feed ids: the overlay's feeds are not among them.
      if (!live) c.perFeed[feed.id] = (c.perFeed[feed.id] ?? 0) + 1
      c.perRule[ruleName] = (c.perRule[ruleName] ?? 0) + 1
      emit(d)
    }
    return pending.length
  }

  private kindsFor (extractor: Extractor): Uint16Array {
    let k = this.kindsBy.get(extractor)
    if (k === undefined) this.kindsBy.set(extractor, k = ruleKinds(extractor))
    this.kindsOf = extractor
    this.kinds = k
    return k
  }

  /**
   * True when (rec, value) is already pending in this event. Most events with a detection have
   * one or two, so a linear scan (numbers compared first) beats building string keys; an event
   * with many switches to a Set of keys, so the worst case stays linear.
   */
  private duplicate (rec: number, value: string): boolean {
    const pending = this.pending
    const n = pending.length
    if (n < LINEAR_DEDUPE) {
      for (let k = 0; k < n; k++) if (pending[k].rec === rec && pending[k].value === value) return true
      return false
    }
    const seen = this.seen
    for (; this.seenUpTo < n; this.seenUpTo++) seen.add(dedupeKey(pending[this.seenUpTo].rec, pending[this.seenUpTo].value))
    return seen.has(dedupeKey(rec, value))
  }

  /**
   * Hot path. Looks candidate i up; returns its normalized value (for hashes and IPv4 built only
   * on a hit), or null when the value is not valid for its type.
   */
  private lookup (index: FeedIndex, extractor: Extractor, kind: number, i: number, hits: Hits): string | null {
    const cands = this.cands
    const src = cands.src
    const s = cands.start[i]
    const e = cands.end[i]
    if ((kind & 0xff) === K_HASH) {
      const len = e - s
      const want = kind >>> 8
      // Other lengths are ignored (DESIGN.md section 3); the index checks the hex digits.
      if (want !== 0 ? len !== want : (len !== 32 && len !== 40 && len !== 64)) return null
      index.lookupHashHex(src, s, e, hits)
      return hits.length > 0 ? src.toString('latin1', s, e).toLowerCase() : null
    }
    if (kind === K_IP) {
      const known = cands.ipv4[i]
      const v4 = known >= 0 ? known : parseIpv4(src, s, e)
      if (v4 >= 0) {
        index.lookupIpv4(v4, hits)
        return hits.length > 0 ? `${v4 >>> 24}.${(v4 >>> 16) & 255}.${(v4 >>> 8) & 255}.${v4 & 255}` : null
      }
      const r = lookupValue(index, 'ip', extractor.value(cands, i), hits)
      return r === null ? null : r.value
    }
    if (kind === K_URL) {
      // Most URLs lead to hosts no feed lists: the bytes tell, before any string is built.
      if (!index.urlMayMatch(src, s, e)) return null
      // lookupValue's url case, without its result object.
      const u = normalizeUrl(extractor.value(cands, i))
      if (u === null) return null
      this.hostIp = lookupHost(index, u.host, u.rest, u.rest === '' ? 'domain' : 'url', hits)
      return u.value
    }
    // Bare domains (the dns preset) are as many as the dotted words of a log: the bytes rule most
    // out before any string is built, as for URLs (a bare host is a URL without scheme or path).
    if (!index.urlMayMatch(src, s, e)) return null
    const d = normalizeDomain(extractor.value(cands, i))
    if (d === null) return null
    this.hostIp = lookupHost(index, d, '', 'domain', hits)
    return d
  }
}

function dedupeKey (rec: number, value: string): string {
  return `${rec}\u0000${value}`
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
