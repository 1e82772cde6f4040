/**
 * What one reply of a reply-back connection is: a detection (with its feed or category and the
 * matched indicator), a finished event, a service event, or something unrecognised. Replies come
 * in the service's output format, so this reads every preset's: key=value (alienvault, kv), CEF
 * (fortisiem, arcsight), LEEF (qradar) and ECS JSON; custom templates are read too when they keep
 * the presets' keys.
 *
 * Why parse instead of asking the service for one fixed reply format: reply-back is CyberTrace's
 * protocol, whose clients expect detections in the configured EventFormat, and `verify` is meant
 * to check exactly what the SIEM would receive.
 */
import { parseCef, parseLeef, parsePairs, type Fields } from './fields.js'
import { unwrapSyslog } from './frames.js'

/** One reply, classified. */
export type Reply =
  | { kind: 'detection', matched: string, category?: string, feed?: string }
  | { kind: 'finished' }
  | { kind: 'service' }
  | { kind: 'unknown', text: string }

const FINISHED: Reply = { kind: 'finished' }
const SERVICE: Reply = { kind: 'service' }

/** A template renders a missing value as `-`: that is no value. */
function present (v: string | undefined): string | undefined {
  return v === undefined || v === '' || v === '-' ? undefined : v
}

/** The value of the field whose label field (`cs5Label`, ...) names `label`, as CEF custom strings are paired. */
function labelled (fields: Fields, label: string): string | undefined {
  for (const [key, value] of fields) {
    if (key.endsWith('Label') && value === label) return fields.get(key.slice(0, -'Label'.length))
  }
  return undefined
}

/**
 * Classifies flat fields by the presets' keys: `event=finished` (finished events of kv presets),
 * `alert` (service events), and for detections the indicator as `matched` (kv), `detected`
 * (alienvault), `indicator` (qradar) or the CEF custom string labelled `MatchedIndicator`
 * (fortisiem), with the category as `category`, `cat` or `reason` and the feed as `feed`.
 */
function fromFields (fields: Fields, text: string): Reply {
  const get = (k: string): string | undefined => present(fields.get(k))
  if (get('event') === 'finished') return FINISHED
  if (get('alert') !== undefined) return SERVICE
  const matched = get('matched') ?? get('detected') ?? get('indicator') ?? present(labelled(fields, 'MatchedIndicator'))
  const category = get('category') ?? get('cat') ?? get('reason')
  const feed = get('feed')
  if (matched === undefined || (category === undefined && feed === undefined)) return { kind: 'unknown', text }
  return { kind: 'detection', matched, category, feed }
}

function fromCef (message: string): Reply {
  const cef = parseCef(message)
  if (cef === undefined) return { kind: 'unknown', text: message }
  const reply = fromFields(cef.extension, message)
  if (reply.kind !== 'unknown') return reply
  // Signature ids of the CEF presets: 1 service event, 2 detection, 3 finished event.
  const [,,,, id, name] = cef.header
  if (id === '3' || /finished/i.test(name)) return FINISHED
  if (id === '1' || /service/i.test(name)) return SERVICE
  return reply
}

function fromLeef (message: string): Reply {
  const leef = parseLeef(message)
  if (leef === undefined) return { kind: 'unknown', text: message }
  const reply = fromFields(leef.attributes, message)
  if (reply.kind !== 'unknown') return reply
  if (leef.eventId === 'finished') return FINISHED
  if (leef.eventId === 'service') return SERVICE
  return reply
}

const str = (v: unknown): string | undefined => typeof v === 'string' ? present(v) : undefined
const obj = (v: unknown): Record<string, unknown> => typeof v === 'object' && v !== null ? v as Record<string, unknown> : {}

/** ECS as the `ecs` preset writes it (`event.dataset`, `feedmatch.*`), else a flat JSON object with the presets' keys. */
function fromJson (message: string): Reply {
  let doc: Record<string, unknown>
  try {
    doc = obj(JSON.parse(message))
  } catch {
    return { kind: 'unknown', text: message }
  }
  const dataset = str(obj(doc.event).dataset)
  if (dataset === 'feedmatch.finished') return FINISHED
  if (dataset === 'feedmatch.service') return SERVICE
  const fm = obj(doc.feedmatch)
  const threat = obj(doc.threat)
  const matched = str(fm.matched) ?? str(obj(threat.indicator).name)
  const feed = str(fm.feed) ?? str(obj(threat.feed).name)
  if (matched !== undefined && (dataset === 'feedmatch.detection' || feed !== undefined)) {
    return { kind: 'detection', matched, category: str(fm.category), feed }
  }
  const flat: Fields = new Map()
  for (const [k, v] of Object.entries(doc)) if (typeof v === 'string') flat.set(k, v)
  return fromFields(flat, message)
}

/** Classifies one reply frame (syslog header included, framing removed). */
export function readReply (frame: string): Reply {
  const { message, msgId } = unwrapSyslog(frame)
  // An RFC 5424 header names what the frame is, whatever template rendered the message.
  if (msgId === 'finished') return FINISHED
  if (msgId === 'service') return SERVICE
  const text = message.trimStart()
  if (text.startsWith('{')) return fromJson(text)
  // At the start only: a kv context may well hold the text `CEF:0|` further on.
  if (text.startsWith('CEF:')) return fromCef(text)
  if (text.startsWith('LEEF:')) return fromLeef(text)
  return fromFields(parsePairs(text), text)
}
