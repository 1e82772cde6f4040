/**
 * Which expected detections the service's own rules can produce at all. The verification events
 * hold one indicator of every kind per feed; a service configured with narrower rules (the
 * FortiSIEM guide's take IPv4 `dst=` only) cannot extract some of them, and expecting those would
 * make a correct integration fail. So the events are matched here, in this process, with the
 * configuration's rules and feeds, as the service would match them from this host; an expected
 * detection none of them produces is skipped, and the report says so and why.
 */
import { compileExtractor } from '../extract/extractor.js'
import type { FeedIndex } from '../index/feed-index.js'
import { EventMatcher } from '../match/event-matcher.js'
import { SourceSelector, sourceSpecs } from '../service/sources.js'
import type { Config } from '../config/types.js'
import type { ExpectedDetection, VerifyEvent } from './inputs.js'

/** What the local match found: detections as (feed, category, matched), and the source it used. */
export interface LocalMatch {
  source: string
  preset: string
  detections: Array<{ feed: string, category: string, matched: string }>
}

/** Matches the events with the rules of the source that takes events from `senderIp`. */
export function matchLocally (config: Config, index: FeedIndex, events: readonly VerifyEvent[], senderIp: string): LocalMatch {
  const i = new SourceSelector(config.input.sources).select(senderIp)
  const spec = sourceSpecs(config.input.sources)[i]!
  const extractor = compileExtractor(spec)
  const matcher = new EventMatcher(index, config.output.maxDetectionsPerEvent)
  const detections: LocalMatch['detections'] = []
  for (const e of events) {
    const buf = Buffer.from(e.text)
    matcher.matchEvent(extractor, buf, 0, buf.length, senderIp, Date.now(), (d) => detections.push({ feed: d.feed, category: d.category, matched: d.matched }))
  }
  return { source: spec.name, preset: spec.preset, detections }
}

/**
 * True when `e` is in the events but the rules cannot produce it: its indicator (or the `query`
 * the expected file says the event carries) is written in some event, and the local match did not
 * detect it. An indicator in no event at all stays expected: that is a wrong pair of files, not a
 * rule that cannot see it.
 */
export function unextractable (e: ExpectedDetection, local: LocalMatch, events: readonly VerifyEvent[]): boolean {
  const needle = (e.query ?? e.matched).toLowerCase()
  if (!events.some((ev) => ev.text.toLowerCase().includes(needle))) return false
  return !producible(e, local)
}

/** True when the local match produced `e` (same matched indicator, same feed or category). */
function producible (e: ExpectedDetection, local: LocalMatch): boolean {
  const m = e.matched.toLowerCase()
  return local.detections.some((d) => d.matched.toLowerCase() === m &&
    (e.feed === undefined || e.feed === d.feed) && (e.category === undefined || e.category === d.category))
}
