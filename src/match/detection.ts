import type { MatchType } from '../index/types.js'

/**
 * One detection, as output templates see it (DESIGN.md section 5). Built in a worker for each
 * (event, matched record, normalized value) and rendered there into a frame.
 */
export interface Detection {
  /** When the event was received (epoch ms). */
  time: number
  feed: string
  category: string
  /** The type of the value seen: md5, sha1, sha256, ip, url, domain. */
  type: MatchType
  /** The feed's indicator or mask that matched (%MatchedIndicator%). */
  matched: string
  /** The normalized value seen in the event. */
  value: string
  /** Name of the extraction rule that found the value. */
  rule: string
  /** The feed record's fields (%RecordContext%). */
  context: Record<string, unknown>
  /** Actionable fields: output name and value, in feed configuration order (%ActionableFields%). */
  actionable: Array<[string, string]>
  /** The sender's address (%SourceIp%). */
  sourceIp: string
  /**
   * Values of every rule of the source for this event (%RULE_NAME%): the rule that found this
   * detection renders the detected raw value, the others their first value; absent renders `-`.
   */
  rules: Record<string, string>
  /** Obfuscation techniques the value used as written, undone by normalization (%Obfuscation%); empty for none. */
  obfuscation: string[]
  /** `scan` only: file and 1-based line. */
  file?: string
  line?: number
}

/** A service event (%Alert% and its context), rendered through AlertFormat. */
export interface ServiceEvent {
  time: number
  /** A short stable name: started, stopping, feeds_updated, feed_failed, feed_stale, feed_fresh, list_changed, output_lost, output_regained, events_dropped. */
  alert: string
  /** Details rendered as %RecordContext% (counts, feed names, reasons). */
  context: Record<string, unknown>
}

/** A processed event (FinishedEventFormat): rule values and how many detections it produced. */
export interface FinishedEvent {
  time: number
  sourceIp: string
  detections: number
  rules: Record<string, string>
}
