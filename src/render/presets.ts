/**
 * The output presets (DESIGN.md section 5, REFERENCE.md): each declares its escaping, its event,
 * alert and finished formats, its context formats, the syslog severities of what it sends, and
 * the rule names its formats use. `ecs` renders JSON objects in code instead of from a template.
 */
import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { FeedmatchError } from '../errors.js'
import type { Detection, FinishedEvent, ServiceEvent } from '../match/detection.js'
import { SEVERITY, isoTime } from './syslog.js'
import { DEFAULT_ACTIONABLE_CONTEXT, DEFAULT_RECORD_CONTEXT, safeStringify, type TemplateFormat } from './template.js'

/** The preset names, as `output.preset` takes them. */
export const PRESET_NAMES = ['alienvault', 'fortisiem', 'arcsight', 'qradar', 'ecs', 'kv'] as const

export type PresetName = typeof PRESET_NAMES[number]

/** Renders in code what a preset does not express as a template (ECS JSON). */
export interface ProgrammaticRender {
  detection (d: Detection): string
  alert (e: ServiceEvent): string
  finished (e: FinishedEvent): string
}

/** One preset: templates (null where `render` does the work), escaping, severities. */
export interface Preset {
  name: PresetName
  format: TemplateFormat
  event: string | null
  alert: string | null
  finished: string | null
  recordContext: string
  actionableContext: string
  /** Rule names the templates use: they render `-` when no source defines them, not an error. */
  rules: readonly string[]
  /** Syslog severity of each kind of frame. */
  severity: { detection: number, alert: number, finished: number }
  render?: ProgrammaticRender
}

let version: string | undefined

/** feedmatch's version, for CEF and LEEF headers (package.json, read once, lazily). */
export function feedmatchVersion (): string {
  if (version === undefined) {
    try {
      // ../../package.json from both src/output/ (tsx) and dist/output/ (compiled).
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown }
      version = typeof pkg.version === 'string' ? pkg.version : '0.0.0'
    } catch {
      version = '0.0.0'
    }
  }
  return version
}

// Detections are matches of known-bad indicators: warning; service events notice; finished info.
const SEVERITIES = { detection: SEVERITY.warning, alert: SEVERITY.notice, finished: SEVERITY.info }

// The alienvault and kv context formats put a space before each field instead of after it, which
// leaves no blank at the end of the line (relays trim it, and the plugin's last regex group would
// differ from the raw log). AlienVault's is the guide's example, `context= first_seen=10.07.2015
// 23:53 id=999999999 ...` (REFERENCE.md); kv keeps `name:value`, so its own pairs stay apart.
const KV_RECORD_CONTEXT = ' %ParamName%:%ParamValue%'
const ALIENVAULT_RECORD_CONTEXT = ' %ParamName%=%ParamValue%'

function cefPreset (name: PresetName, v: string): Preset {
  const head = `CEF:0|feedmatch|feedmatch|${v}`
  return {
    name,
    format: 'cef',
    // The FortiSIEM guide's formats, with feedmatch's vendor and product in the header.
    event: `${head}|2|feedmatch Detection Event|8|reason=%Category% dst=%RE_IP% src=%SRC_IP% dvc=%DeviceIp% fileHash=%RE_HASH% request=%RE_URL% sourceServiceName=%Device% sproc=%Product% suser=%UserName% externalId=%Id% %ActionableFields% cs5Label=MatchedIndicator cs5=%MatchedIndicator% msg=%RecordContext%`,
    alert: `${head}|1|feedmatch Service Event|4|reason=%Alert% msg=%RecordContext%`,
    finished: `${head}|3|feedmatch Finished Event|1|src=%SourceIp% cnt=%Detections%`,
    recordContext: DEFAULT_RECORD_CONTEXT,
    actionableContext: DEFAULT_ACTIONABLE_CONTEXT,
    rules: ['RE_IP', 'SRC_IP', 'DeviceIp', 'RE_HASH', 'RE_URL', 'Device', 'Product', 'UserName', 'Id'],
    severity: SEVERITIES,
  }
}

function leefPreset (v: string): Preset {
  // Tab-delimited LEEF 2.0; the header names the delimiter as `x09` (a hex code is allowed there).
  const head = (id: string): string => `LEEF:2.0|feedmatch|feedmatch|${v}|${id}|x09|`
  const time = "devTime=%Date%\tdevTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSX\t"
  return {
    name: 'qradar',
    format: 'leef',
    event: `${head('detection')}${time}sev=8\tcat=%Category%\tindicator=%MatchedIndicator%\tindicatorType=%Type%\tvalue=%Value%\t` +
      'src=%SRC_IP%\tdst=%RE_IP%\turl=%RE_URL%\tfileHash=%RE_HASH%\tfeed=%Feed%\trule=%Rule%\t%ActionableFields%context=%RecordContext%',
    alert: `${head('service')}${time}sev=4\treason=%Alert%\tcontext=%RecordContext%`,
    finished: `${head('finished')}${time}sev=1\tsrc=%SourceIp%\tcnt=%Detections%`,
    recordContext: DEFAULT_RECORD_CONTEXT,
    actionableContext: '%ParamName%=%ParamValue%\t',
    rules: ['SRC_IP', 'RE_IP', 'RE_URL', 'RE_HASH'],
    severity: SEVERITIES,
  }
}

const ECS_INDICATOR_TYPE = { md5: 'file', sha1: 'file', sha256: 'file', url: 'url', domain: 'domain-name' } as const

/** `threat.indicator` for one detection, per the ECS threat fields. */
function ecsIndicator (d: Detection): Record<string, unknown> {
  const ind: Record<string, unknown> = {
    type: d.type === 'ip' ? (d.value.includes(':') ? 'ipv6-addr' : 'ipv4-addr') : ECS_INDICATOR_TYPE[d.type] ?? 'artifact',
    name: d.matched,
    provider: d.feed,
  }
  switch (d.type) {
    case 'md5': case 'sha1': case 'sha256':
      ind.file = { hash: { [d.type]: d.matched } }
      break
    case 'ip':
      // threat.indicator.ip is an `ip` field: a feed's CIDR (10.0.0.0/8) would fail indexing.
      if (isIP(d.matched) !== 0) ind.ip = d.matched
      break
    case 'url': {
      const host = d.matched.split(/[/?]/, 1)[0]
      ind.url = host.includes('*') ? { original: d.matched } : { original: d.matched, domain: host }
      break
    }
    case 'domain':
      ind.url = { domain: d.matched }
      break
  }
  return ind
}

/** One JSON line. JSON.stringify escapes every C0 control but leaves DEL raw; we promise none. */
function jsonLine (doc: Record<string, unknown>): string {
  const out = safeStringify(doc) ?? '{}'
  // DEL can only sit inside a JSON string here, where `\u007f` means the same.
  return out.includes('\x7f') ? out.replaceAll('\x7f', '\\u007f') : out
}

/**
 * ECS, one JSON object a line, built with JSON.stringify so it is safe by construction. Missing
 * values are left out rather than written `-`: in ECS they are typed fields (`source.ip` is an
 * IP), and an absent field is how JSON says "unknown".
 * `event.kind` is `alert`, not `enrichment`: ECS keeps `enrichment` for the indicator documents
 * of a threat feed, and names `alert` for detections made by a system outside the Elastic Stack,
 * which is what a match is. `threat.indicator` plus `threat.enrichments` let both the indicator
 * views and the indicator-match views of a SIEM read it.
 */
const ecsRender: ProgrammaticRender = {
  detection (d) {
    const at = isoTime(d.time)
    const indicator = ecsIndicator(d)
    const doc: Record<string, unknown> = {
      '@timestamp': at,
      event: { kind: 'alert', category: ['threat'], type: ['indicator'], module: 'feedmatch', dataset: 'feedmatch.detection', severity: 8 },
      threat: {
        indicator,
        feed: { name: d.feed },
        enrichments: [{ indicator, matched: { atomic: d.value, field: `feedmatch.rules.${d.rule}`, type: 'indicator_match_rule', occurred: at } }],
      },
    }
    // The sender is the syslog relay (a firewall, rsyslog), not the event's source: ECS has
    // log.source.address for it. source.ip and destination.ip are the event's, from its rules.
    const src = d.rules.SRC_IP
    const dst = d.rules.DST_IP
    if (src !== undefined && isIP(src) !== 0) doc.source = { ip: src }
    if (dst !== undefined && isIP(dst) !== 0) doc.destination = { ip: dst }
    if (d.actionable.length > 0) doc.labels = Object.fromEntries(d.actionable)
    if (d.obfuscation.length > 0) doc.tags = d.obfuscation.map((o) => `obfuscation:${o}`)
    const log: Record<string, unknown> = {}
    if (isIP(d.sourceIp) !== 0) log.source = { address: d.sourceIp }
    if (d.file !== undefined) log.file = { path: d.file }
    if (Object.keys(log).length > 0) doc.log = log
    doc.feedmatch = {
      feed: d.feed, category: d.category, type: d.type, matched: d.matched, value: d.value, rule: d.rule,
      rules: d.rules, context: d.context, file: d.file, line: d.line,
      ...(d.obfuscation.length > 0 ? { obfuscation: d.obfuscation } : {}),
    }
    return jsonLine(doc)
  },
  alert (e) {
    return jsonLine({
      '@timestamp': isoTime(e.time),
      event: { kind: 'event', module: 'feedmatch', dataset: 'feedmatch.service', action: e.alert },
      message: e.alert,
      feedmatch: { alert: e.alert, context: e.context },
    })
  },
  finished (e) {
    const doc: Record<string, unknown> = {
      '@timestamp': isoTime(e.time),
      event: { kind: 'event', module: 'feedmatch', dataset: 'feedmatch.finished', action: 'finished' },
    }
    if (isIP(e.sourceIp) !== 0) doc.log = { source: { address: e.sourceIp } }
    doc.feedmatch = { sourceIp: e.sourceIp, detections: e.detections, rules: e.rules }
    return jsonLine(doc)
  },
}

/** The preset named `name`, with `v` as the version in CEF and LEEF headers. */
export function getPreset (name: string, v = feedmatchVersion()): Preset {
  switch (name as PresetName) {
    case 'alienvault': return {
      name: 'alienvault',
      format: 'kv',
      // REFERENCE.md: the AlienVault guide's detection and alert formats; finished events are ours.
      event: 'category=%Category% detected=%MatchedIndicator% url=%RE_URL% src=%SRC_IP% ip=%RE_IP% hash=%RE_MD5% context=%RecordContext%',
      alert: 'alert=%Alert% context=%RecordContext%',
      finished: 'event=finished src=%SourceIp% detections=%Detections%',
      recordContext: ALIENVAULT_RECORD_CONTEXT,
      actionableContext: DEFAULT_ACTIONABLE_CONTEXT,
      rules: ['RE_URL', 'SRC_IP', 'RE_IP', 'RE_MD5'],
      severity: SEVERITIES,
    }
    case 'fortisiem': case 'arcsight': return cefPreset(name as PresetName, v)
    case 'qradar': return leefPreset(v)
    case 'kv': return {
      name: 'kv',
      format: 'kv',
      event: 'feed=%Feed% category=%Category% type=%Type% matched=%MatchedIndicator% value=%Value% rule=%Rule% src=%SourceIp% %ActionableFields%context=%RecordContext%',
      alert: 'alert=%Alert% context=%RecordContext%',
      finished: 'event=finished src=%SourceIp% detections=%Detections%',
      recordContext: KV_RECORD_CONTEXT,
      actionableContext: DEFAULT_ACTIONABLE_CONTEXT,
      rules: [],
      severity: SEVERITIES,
    }
    case 'ecs': return {
      name: 'ecs',
      // Custom templates with this preset are JSON text: values escaped as JSON string content.
      format: 'json',
      event: null,
      alert: null,
      finished: null,
      recordContext: DEFAULT_RECORD_CONTEXT,
      actionableContext: DEFAULT_ACTIONABLE_CONTEXT,
      rules: [],
      severity: SEVERITIES,
      render: ecsRender,
    }
    default:
      throw new FeedmatchError('FM_ERR_CONFIG', `output.preset: unknown preset "${name}"; expected one of ${PRESET_NAMES.join(', ')}`)
  }
}
