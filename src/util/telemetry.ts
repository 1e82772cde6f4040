/**
 * One counter vocabulary for every component, as Vector's internal events: each reports what it
 * received, what it sent on, what it dropped (how many, why, and whether on purpose) and its
 * errors (what kind, at which stage). A component maps its own counters into this shape in one
 * place, its `report()`, with the names written out: /metrics (service/metrics.ts), the
 * statistics and the `events_dropped` service event read the reports, so renaming a field of a
 * component can no longer rename a metric.
 */

export type ComponentKind = 'source' | 'transform' | 'sink'
export type Stage = 'receiving' | 'processing' | 'sending'
export type Unit = 'events' | 'bytes' | 'connections' | 'detections'

export interface DropCount {
  /** snake_case, stable: it is a label value of feedmatch_component_dropped_total. */
  reason: string
  /** true when the configuration asked for it (a size limit, a rule that ignores); false when data was lost. */
  intentional: boolean
  unit: Unit
  count: number
}

export interface ErrorCount {
  /** snake_case, stable. */
  type: string
  stage: Stage
  count: number
}

export interface ComponentReport {
  /** What it is, named after its protocol or its job: syslog_tcp, syslog_udp, matcher, output_tcp. */
  component: string
  kind: ComponentKind
  received: { events: number, bytes: number }
  sent: { events: number, bytes: number }
  dropped: DropCount[]
  errors: ErrorCount[]
}

/** A component that reports in the vocabulary. */
export interface Reporting {
  report: () => ComponentReport
}

/** The reports of several instances of one component (two TCP listeners) as one. */
export function mergeReports (reports: ComponentReport[]): ComponentReport[] {
  const by = new Map<string, ComponentReport>()
  for (const r of reports) {
    const m = by.get(r.component)
    if (m === undefined) { by.set(r.component, structuredClone(r)); continue }
    m.received.events += r.received.events
    m.received.bytes += r.received.bytes
    m.sent.events += r.sent.events
    m.sent.bytes += r.sent.bytes
    for (const d of r.dropped) {
      const same = m.dropped.find((x) => x.reason === d.reason && x.unit === d.unit)
      if (same === undefined) m.dropped.push({ ...d })
      else same.count += d.count
    }
    for (const e of r.errors) {
      const same = m.errors.find((x) => x.type === e.type && x.stage === e.stage)
      if (same === undefined) m.errors.push({ ...e })
      else same.count += e.count
    }
  }
  return [...by.values()]
}

/** What was lost, not dropped on purpose, by `component_reason`: the body of `events_dropped`. */
export function unintendedDrops (reports: ComponentReport[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const r of reports) {
    for (const d of r.dropped) {
      if (d.intentional || d.count === 0) continue
      out[`${r.component}_${d.reason}_${d.unit}`] = d.count
    }
  }
  return out
}
