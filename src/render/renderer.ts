/**
 * Turns detections, service events and finished events into complete frames: the preset's (or the
 * configured) template renders the message, syslog.ts puts the header and framing around it.
 * Built once per worker from the `output` configuration; every render call is on the hot path.
 */
import type { Detection, FinishedEvent, ServiceEvent } from '../match/detection.js'
import { FeedmatchError } from '../errors.js'
import { getPreset, type Preset, type ProgrammaticRender } from './presets.js'
import { createFramer, type SyslogOptions } from './syslog.js'
import {
  TEMPLATE_FORMATS, checkContextFormats, compileAlertTemplate, compileDetectionTemplate, compileFinishedTemplate,
  type NamedText, type TemplateFormat, type TemplateOptions,
} from './template.js'

/** Template overrides (`output.templates`); `format` changes the escaping of the custom ones only. */
export interface RendererTemplates {
  event?: string
  alert?: string
  finished?: string
  recordContext?: string
  actionableContext?: string
  /** Escaping of custom templates; the preset's by default. */
  format?: TemplateFormat
}

/** What createRenderer needs: the `output` section's preset, templates and syslog settings. */
export interface RendererOptions {
  preset: string
  templates?: RendererTemplates
  /** Every rule name of every source (a template may name any of them). */
  ruleNames: readonly string[]
  syslog: SyslogOptions
  /** Version in CEF and LEEF headers; feedmatch's own by default (tests pin it). */
  version?: string
}

/** Renders messages and complete frames. */
export interface Renderer {
  readonly preset: Preset
  /** The detection message (no syslog header, no framing). */
  renderDetection (d: Detection): string
  /** The service event message. */
  renderAlert (e: ServiceEvent): string
  /** The finished event message. */
  renderFinished (e: FinishedEvent): string
  /** Header and framing around a message. */
  frame (message: string, severity: number, time: number, msgId?: string): string
  /** A complete detection frame, ready to write. */
  detectionFrame (d: Detection): string
  /** A complete service event frame. */
  alertFrame (e: ServiceEvent): string
  /** A complete finished event frame. */
  finishedFrame (e: FinishedEvent): string
}

const MSGID = { detection: 'detection', alert: 'service', finished: 'finished' } as const

/**
 * Builds a renderer; throws FM_ERR_CONFIG naming the template and the placeholder for a bad
 * template, or `output.preset` for an unknown preset. Custom templates override the preset's and
 * keep its escaping unless `templates.format` says otherwise.
 */
export function createRenderer (opts: RendererOptions): Renderer {
  const preset = getPreset(opts.preset, opts.version)
  const t = opts.templates ?? {}
  if (t.format !== undefined && !TEMPLATE_FORMATS.includes(t.format)) {
    throw new FeedmatchError('FM_ERR_CONFIG', `output.templates.format: expected one of ${TEMPLATE_FORMATS.join(', ')}, found "${String(t.format)}"`)
  }
  const ctx = {
    recordContext: t.recordContext !== undefined
      ? { text: t.recordContext, name: 'output.templates.recordContext' }
      : { text: preset.recordContext, name: `preset ${preset.name} recordContext` },
    actionableContext: t.actionableContext !== undefined
      ? { text: t.actionableContext, name: 'output.templates.actionableContext' }
      : { text: preset.actionableContext, name: `preset ${preset.name} actionableContext` },
  }
  // A custom template must name rules that exist; the preset's own may name rules a source lacks
  // (AlienVault's RE_MD5 with the generic rules): those render `-`.
  const custom: TemplateOptions = { format: t.format ?? preset.format, ruleNames: opts.ruleNames, ...ctx }
  const builtIn: TemplateOptions = { format: preset.format, ruleNames: [...opts.ruleNames, ...preset.rules], ...ctx }
  checkContextFormats(custom)

  const pick = (kind: 'event' | 'alert' | 'finished'): [NamedText, TemplateOptions] | null => {
    const own = t[kind]
    if (own !== undefined) return [{ text: own, name: `output.templates.${kind}` }, custom]
    const text = preset[kind]
    return text === null ? null : [{ text, name: `preset ${preset.name} ${kind}` }, builtIn]
  }
  const ev = pick('event')
  const al = pick('alert')
  const fi = pick('finished')
  // A kind without a template is rendered by the preset's code (ECS).
  const code = <K extends keyof ProgrammaticRender>(kind: K): ProgrammaticRender[K] => {
    if (preset.render === undefined) throw new FeedmatchError('FM_ERR_INTERNAL', `preset ${preset.name} has no ${kind} format`)
    return preset.render[kind]
  }
  const renderDetection = ev !== null ? compileDetectionTemplate(...ev).render : code('detection')
  const renderAlert = al !== null ? compileAlertTemplate(...al).render : code('alert')
  const renderFinished = fi !== null ? compileFinishedTemplate(...fi).render : code('finished')

  const framer = createFramer(opts.syslog)
  const sev = preset.severity
  return {
    preset,
    renderDetection,
    renderAlert,
    renderFinished,
    frame: (message, severity, time, msgId) => framer.frame(message, severity, time, msgId),
    detectionFrame: (d) => framer.frame(renderDetection(d), sev.detection, d.time, MSGID.detection),
    alertFrame: (e) => framer.frame(renderAlert(e), sev.alert, e.time, MSGID.alert),
    finishedFrame: (e) => framer.frame(renderFinished(e), sev.finished, e.time, MSGID.finished),
  }
}
