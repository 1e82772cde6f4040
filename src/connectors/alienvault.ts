/**
 * AlienVault USM / OSSIM (REFERENCE.md): an ossim-agent plugin whose regexps are derived from the
 * alienvault preset's templates, its SQL event types (one per feed category, a generic detection
 * event and a service event), rsyslog rules for both directions, a logrotate file, and the
 * feedmatch settings of the guide.
 */
import { FeedmatchError } from '../errors.js'
import { alienvaultReadme } from './alienvault-readme.js'
import { effectiveTemplates, hashComment, tcpUrl, whereHeader, yamlQuote, type Connector, type ConnectorFile, type ConnectorOptions } from './common.js'
import { kvTemplateRegex } from './kv-regex.js'

/** plugin_sid of service events. */
export const SERVICE_SID = 1
/** plugin_sid of detections whose category has no event type of its own. */
export const GENERIC_SID = 2

// The guide's row shape: (plugin id, sid, category 15, class 71, no subcategory, name, priority 5,
// reliability 8).
const SQL_CATEGORY = 15
const SQL_CLASS = 71
const PRIORITY = 5
const RELIABILITY = 8

/** One event type of the plugin. */
export interface EventType { sid: number, name: string, category?: string }

/**
 * Why a category cannot be a key of the plugin's translation section, or undefined when it can.
 * ossim-agent reads the plugin with Python's ConfigParser: `=` and `:` end a key, keys are
 * trimmed and compared lowercased, and the value it looks up is the kv-escaped text of the log.
 */
export function untranslatable (category: string): string | undefined {
  if (category.trim() !== category || category === '') return 'leading or trailing spaces'
  if (/[=:\\]/.test(category)) return 'a "=", ":" or "\\", which a translation key cannot hold'
  if (/[\x00-\x1f\x7f]/.test(category)) return 'a control character'
  if (/^[[#;]/.test(category)) return 'a leading "[", "#" or ";"'
  return undefined
}

/** FNV-1a, 32 bits: a stable number from a name. */
function fnv1a (s: string): number {
  let h = 0x811c9dc5
  for (const b of Buffer.from(s, 'utf8')) h = Math.imul(h ^ b, 0x01000193) >>> 0
  return h
}

/**
 * The event types: service, generic detection, then one per category with an id derived from its
 * lowercased name (1000-9999), so regenerating after adding a feed keeps the ids of the others.
 */
export function eventTypes (categories: readonly string[]): { types: EventType[], skipped: Array<{ category: string, reason: string }> } {
  const types: EventType[] = [
    { sid: SERVICE_SID, name: 'feedmatch: Service event' },
    { sid: GENERIC_SID, name: 'feedmatch: Detection event' },
  ]
  const skipped: Array<{ category: string, reason: string }> = []
  const used = new Set<number>()
  const keys = new Set<string>()
  for (const category of categories) {
    const reason = untranslatable(category) ?? (keys.has(category.toLowerCase()) ? 'the same name as another category, but for letter case' : undefined)
    if (reason !== undefined) { skipped.push({ category, reason }); continue }
    keys.add(category.toLowerCase())
    let sid = 1000 + fnv1a(category.toLowerCase()) % 9000
    while (used.has(sid)) sid = sid === 9999 ? 1000 : sid + 1
    used.add(sid)
    types.push({ sid, name: `feedmatch: ${category}`, category })
  }
  return { types, skipped }
}

function sqlString (s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`
}

function pluginCfg (o: ConnectorOptions): string {
  const t = effectiveTemplates(o.config, 'alienvault', o.version)
  const alert = kvTemplateRegex(t.alert, 'python')
  const event = kvTemplateRegex(t.event, 'python')
  for (const [what, re, needed] of [['alert', alert, ['alert', 'context']], ['event', event, ['category', 'detected', 'context']]] as const) {
    const missing = needed.filter((g) => !re.groups.includes(g))
    if (missing.length > 0) {
      throw new FeedmatchError('FM_ERR_CONFIG', `output.templates.${what}: the AlienVault plugin needs the keys ${needed.join(', ')} (as key=%Placeholder%); missing ${missing.join(', ')}`)
    }
  }
  const { types, skipped } = eventTypes(o.categories)
  const extra = event.groups.filter((g) => !['category', 'detected', 'context'].includes(g))
  return hashComment(whereHeader('feedmatch plugin for the ossim-agent of AlienVault USM / OSSIM.',
    `/etc/ossim/agent/plugins/feedmatch.cfg on the AlienVault sensor (plugin id ${o.pluginId}).`, [
      'Rules are tried in the order of their section names; the first that matches makes the event.',
      'Values keep feedmatch\'s key=value escapes: `\\=` is "=", `\\\\` is "\\", `\\n` a line break.',
    ])) + `
[DEFAULT]
plugin_id=${o.pluginId}

[config]
type=detector
enable=yes
source=log
location=${o.logFile}
create_file=true
process=
start=no
stop=no
startup=
shutdown=

# Feed category -> event type (plugin_sid); every other category is the generic detection event.
[translation]
${types.filter((e) => e.category !== undefined).map((e) => `${e.category}=${e.sid}`).join('\n')}
${skipped.map((s) => `# not translated (${s.reason}): ${s.category.replace(/[\r\n]/g, ' ')}`).join('\n')}${skipped.length > 0 ? '\n' : ''}_DEFAULT_=${GENERIC_SID}

# Service events: ${t.alert}
[0001 - feedmatch service event]
event_type=event
regexp=${alert.source}
plugin_sid=${SERVICE_SID}
userdata1={$alert}
userdata2={$context}

# Detections: ${t.event}
[0002 - feedmatch detection event]
event_type=event
regexp=${event.source}
plugin_sid={translate($category)}
userdata1={$category}
userdata2={$detected}
userdata3={$context}
${extra.slice(0, 6).map((g, i) => `userdata${i + 4}={$${g}}`).join('\n')}
`
}

function pluginSql (o: ConnectorOptions): string {
  const { types } = eventTypes(o.categories)
  const rows = types.map((e) => `  (${o.pluginId}, ${e.sid}, ${SQL_CATEGORY}, ${SQL_CLASS}, NULL, ${sqlString(e.name)}, ${PRIORITY}, ${RELIABILITY})`)
  return hashComment(whereHeader('Event types of the feedmatch plugin for AlienVault USM / OSSIM.',
    '/usr/share/doc/ossim-mysql/contrib/plugins/feedmatch.sql; load it with `cat feedmatch.sql | ossim-db`.', [
      'Loading it again replaces the plugin\'s event types, so regenerate and reload it when feeds change.',
    ])).replace(/^#/gm, '--') + `
DELETE FROM plugin WHERE id = ${o.pluginId};
DELETE FROM plugin_sid WHERE plugin_id = ${o.pluginId};

INSERT IGNORE INTO plugin (id, type, name, description) VALUES (${o.pluginId}, 1, 'feedmatch', 'feedmatch: threat intelligence feed detections');

INSERT IGNORE INTO plugin_sid (plugin_id, sid, category_id, class_id, subcategory_id, name, priority, reliability) VALUES
${rows.join(',\n')};
`
}

function rsyslogForward (o: ConnectorOptions): string {
  const cond = o.deviceIps.map((ip) => `$fromhost-ip == '${ip}'`).join(' or ')
  const framing = o.framing === 'octet' ? ' TCP_Framing="octet-counted"' : ''
  return hashComment(whereHeader('rsyslog on the AlienVault host: forward the events of the devices to feedmatch over TCP.',
    '/etc/rsyslog.conf on the AlienVault host, before OSSIM\'s catch-all rules for unknown hosts; then restart rsyslog.', [
      'One condition per device whose events feedmatch checks (the guide: one rule per device).',
      'The queue keeps events on disk while feedmatch restarts; it needs rsyslog\'s work directory.',
    ])) + `
if (${cond}) then {
  action(type="omfwd" Target="${o.serviceHost}" Port="${o.servicePort}" Protocol="tcp"${framing}
         queue.type="LinkedList" queue.filename="feedmatch_forward" queue.maxDiskSpace="1g"
         queue.saveOnShutdown="on" action.resumeRetryCount="-1" action.resumeInterval="5")
  # To check what is forwarded, keep a copy (optional):
  # action(type="omfile" file="/var/log/feedmatch-forwarded.log")
}
`
}

function rsyslogReceive (o: ConnectorOptions): string {
  return hashComment(whereHeader('rsyslog on the AlienVault host: write feedmatch\'s detections to the log file the plugin reads.',
    '/etc/rsyslog.conf on the AlienVault host, before OSSIM\'s catch-all rules for unknown hosts; then restart rsyslog.', [
      'rsyslog must listen on TCP 514; if nothing loads imtcp yet, add (once, near the top):',
      '  module(load="imtcp")',
      '  input(type="imtcp" port="514")',
      'and raise the message size before any input, so long feed contexts are not cut:',
      '  global(maxMessageSize="64k")',
    ])) + `
if ($fromhost-ip == '${o.serviceHost}') then {
  action(type="omfile" file="${o.logFile}" template="RSYSLOG_TraditionalFileFormat")
  # feedmatch's events are only for the plugin: not for the catch-all rules below.
  stop
}
`
}

function logrotate (o: ConnectorOptions): string {
  return hashComment(whereHeader('logrotate for the detections log that the feedmatch plugin reads.', '/etc/logrotate.d/feedmatch on the AlienVault host.')) + `
${o.logFile}
{
  rotate 3
  monthly
  missingok
  notifempty
  compress
  delaycompress
  sharedscripts
  postrotate
    invoke-rc.d rsyslog rotate > /dev/null
  endscript
}
`
}

function serviceConfig (o: ConnectorOptions): string {
  return hashComment(whereHeader('feedmatch settings for AlienVault (the guide\'s service settings).',
    '/etc/feedmatch/feedmatch.yaml on the feedmatch host (merge with your own: keep your feeds section).', [
      'Check it with `feedmatch config check /etc/feedmatch/feedmatch.yaml`.',
    ])) + `
input:
  # rsyslog on the AlienVault host forwards the devices' events here over TCP.
  listen: [ ${yamlQuote(tcpUrl('0.0.0.0', o.servicePort))} ]
output:
  # Detections and service events go to the AlienVault host, port 514.
  target: ${yamlQuote(tcpUrl(o.siemHost, o.siemPort))}
  header: rfc3164
  preset: alienvault
  # The guide disables finished events.
  finishedEvents: false
`
}

/** The AlienVault USM / OSSIM connector. */
export const alienvault: Connector = {
  summary: 'AlienVault USM / OSSIM: ossim-agent plugin and SQL, rsyslog rules, logrotate',
  files (o): ConnectorFile[] {
    return [
      { name: 'feedmatch.cfg', content: pluginCfg(o) },
      { name: 'feedmatch.sql', content: pluginSql(o) },
      { name: 'rsyslog-forward.conf', content: rsyslogForward(o) },
      { name: 'rsyslog-receive.conf', content: rsyslogReceive(o) },
      { name: 'logrotate-feedmatch', content: logrotate(o) },
      { name: 'feedmatch.yaml', content: serviceConfig(o) },
      { name: 'README.md', content: alienvaultReadme(o, eventTypes(o.categories).types) },
    ]
  },
}
