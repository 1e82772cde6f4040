/**
 * Compares what came back with what was expected, and renders the result as a text table or JSON.
 * An expected detection counts as back when some returned detection has the same matched
 * indicator (case-insensitively: hashes may be written either way) from the same feed: compared
 * on `feed` and on `category` where both sides name them, else on whichever each side names (a
 * feed's category defaults to its name, and the alienvault and CEF presets carry only the category).
 */
import { table } from '../util/text.js'
import type { Exchange, ReturnedDetection, Target } from './client.js'
import type { ExpectedDetection, VerifyEvent } from './inputs.js'

/** One expected detection and whether it came back (with the events-file line that produced it). */
export interface Outcome {
  expected: ExpectedDetection
  found: boolean
  line?: number
  /** Not expected after all: why (the service's rules cannot extract it from its event). */
  skipped?: string
}

/** A returned detection that no expected entry asked for. */
export interface OtherDetection {
  feed?: string
  category?: string
  matched: string
  line?: number
}

/** The whole verification, as the command prints it. */
export interface VerifyReport {
  target: string
  exchange: Exchange
  timeoutMs: number
  outcomes: Outcome[]
  others: OtherDetection[]
}

function sameFeed (e: ExpectedDetection, d: ReturnedDetection): boolean {
  const compared: boolean[] = []
  if (e.feed !== undefined && d.feed !== undefined) compared.push(e.feed === d.feed)
  if (e.category !== undefined && d.category !== undefined) compared.push(e.category === d.category)
  if (compared.length > 0) return compared.every(Boolean)
  // One side names only the feed, the other only the category: equal under the default category.
  const names = [d.feed, d.category]
  return [e.feed, e.category].some((n) => n !== undefined && names.includes(n))
}

/** Pairs expected detections with returned ones. */
export function compare (target: Target, events: readonly VerifyEvent[], expected: readonly ExpectedDetection[], ex: Exchange, timeoutMs: number,
  skip: (e: ExpectedDetection) => string | undefined = () => undefined): VerifyReport {
  // Without finished events every detection looks like an answer to the first event: no lines then.
  const lineOf = (d: ReturnedDetection): number | undefined => ex.finished > 0 ? events[d.event]?.line : undefined
  const byMatched = new Map<string, ReturnedDetection[]>()
  for (const d of ex.detections) {
    const key = d.matched.toLowerCase()
    byMatched.set(key, [...(byMatched.get(key) ?? []), d])
  }
  const used = new Set<ReturnedDetection>()
  const outcomes = expected.map((e): Outcome => {
    const hits = (byMatched.get(e.matched.toLowerCase()) ?? []).filter((d) => sameFeed(e, d))
    for (const d of hits) used.add(d)
    if (hits.length > 0) return { expected: e, found: true, line: lineOf(hits[0]) }
    const why = skip(e)
    return why === undefined ? { expected: e, found: false } : { expected: e, found: false, skipped: why }
  })
  const others = ex.detections.filter((d) => !used.has(d))
    .map((d): OtherDetection => ({ feed: d.feed, category: d.category, matched: d.matched, line: lineOf(d) }))
  return { target: target.text, exchange: ex, timeoutMs, outcomes, others }
}

/** 0 when every expected detection came back (or was skipped), 1 when some did not. */
export function exitCode (r: VerifyReport): number {
  return missing(r) === 0 ? 0 : 1
}

const missing = (r: VerifyReport): number => r.outcomes.filter((o) => !o.found && o.skipped === undefined).length
const skippedOf = (r: VerifyReport): Outcome[] => r.outcomes.filter((o) => o.skipped !== undefined)

function feedLabel (e: { feed?: string, category?: string }): string {
  if (e.feed !== undefined && e.category !== undefined && e.feed !== e.category) return `${e.feed} (${e.category})`
  return e.feed ?? e.category ?? '-'
}

function typeLabel (e: ExpectedDetection): string {
  if (e.type === undefined) return e.kind ?? '-'
  return e.kind !== undefined && e.kind !== e.type ? `${e.type}/${e.kind}` : e.type
}

/** Why the exchange stopped before every event was finished, or undefined when it did not. */
function incomplete (r: VerifyReport): string | undefined {
  const ex = r.exchange
  if (ex.ended === 'complete') return undefined
  const why = ex.ended === 'timeout' ? `the service sent nothing for ${r.timeoutMs} ms` : 'the service closed the connection'
  return `incomplete: ${ex.finished} of ${ex.sent} events finished before ${why}`
}

/** Feeds (or categories) none of whose expected detections came back: likely not loaded at all. */
function silentFeeds (r: VerifyReport): string[] {
  const back = new Map<string, boolean>()
  for (const o of r.outcomes) {
    if (o.skipped !== undefined) continue
    const name = feedLabel(o.expected)
    back.set(name, (back.get(name) ?? false) || o.found)
  }
  return [...back].filter(([, found]) => !found).map(([name]) => name)
}

/** The report as a table, missing detections first, then a summary. */
export function renderText (r: VerifyReport): string {
  const ex = r.exchange
  const ordered = [...r.outcomes.filter((o) => !o.found && o.skipped === undefined), ...r.outcomes.filter((o) => o.found), ...skippedOf(r)]
  const rows = ordered.map((o) => [
    o.found ? 'ok' : o.skipped !== undefined ? 'skipped' : 'MISSING',
    feedLabel(o.expected),
    typeLabel(o.expected),
    o.expected.matched,
    o.line === undefined ? '-' : String(o.line),
    o.found ? '' : o.expected.query ?? '',
  ])
  const out = [
    `verify ${r.target}: ${ex.sent} events sent, ${ex.finished} finished, ${ex.detections.length} detections back\n\n`,
    table(['STATUS', 'FEED', 'TYPE', 'MATCHED', 'LINE', 'SENT'], rows),
    '\n',
  ]
  const lost = missing(r)
  const skipped = skippedOf(r)
  const asked = r.outcomes.length - skipped.length
  out.push(lost === 0
    ? `all ${asked} expected detections came back\n`
    : `${lost} of ${asked} expected detections did not come back\n`)
  if (skipped.length > 0) out.push(`${skipped.length} skipped: ${skipped[0]!.skipped ?? ''}\n`)
  const silent = silentFeeds(r)
  if (silent.length > 0) out.push(`nothing came back for ${silent.join(', ')}: are these feeds loaded in the service?\n`)
  if (r.others.length > 0) out.push(`${r.others.length} other detections came back (not in the expected list)\n`)
  const note = incomplete(r)
  if (note !== undefined) out.push(`${note}\n`)
  if (ex.unknown > 0) {
    out.push(`${ex.unknown} replies were not read as detections or finished events (custom templates must keep the presets' keys); first: ${ex.unknownSample ?? ''}\n`)
  }
  return out.join('')
}

/** The report as one JSON document. */
export function renderJson (r: VerifyReport): string {
  const ex = r.exchange
  return JSON.stringify({
    target: r.target,
    ok: exitCode(r) === 0,
    complete: ex.ended === 'complete',
    ended: ex.ended,
    events: { sent: ex.sent, finished: ex.finished },
    replies: { total: ex.replies, detections: ex.detections.length, unrecognized: ex.unknown, ...(ex.unknownSample === undefined ? {} : { sample: ex.unknownSample }) },
    expected: r.outcomes.length,
    found: r.outcomes.length - missing(r),
    missing: missing(r),
    skipped: skippedOf(r).length,
    results: r.outcomes.map((o) => ({ ...o.expected, found: o.found, ...(o.line === undefined ? {} : { line: o.line }), ...(o.skipped === undefined ? {} : { skipped: o.skipped }) })),
    others: r.others,
  }, null, 2) + '\n'
}
