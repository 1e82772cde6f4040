import { isIP } from 'node:net'
import type { Command } from 'commander'
import { loadConfig } from '../../config/load.js'
import { expandFeedSources } from '../../config/feed-sources.js'
import type { Config } from '../../config/types.js'
import { CONNECTOR_NAMES, PLACEHOLDER, connectorSummary, isConnectorName, writeConnector, type ConnectorOptions } from '../../connectors/index.js'
import { FeedmatchError } from '../../errors.js'
import { feedmatchVersion } from '../../render/presets.js'
import { DEMO_FEEDS } from '../open-feeds.js'

interface ConnectorCliOptions {
  config?: string
  feeds?: string[]
  output: string
  serviceIp?: string
  servicePort?: string
  siemHost?: string
  siemPort?: string
  deviceIp?: string[]
  logFile: string
  pluginId: string
  framing: string
}

/** The default ossim-agent plugin id: in the range AlienVault keeps for custom plugins (9000-9999). */
const DEFAULT_PLUGIN_ID = '9700'

const collect = (v: string, prev: string[] = []): string[] => [...prev, v]

/** `feedmatch connector SIEM -o DIR`: the integration files of a SIEM. */
export function registerConnector (program: Command, run: (fn: () => Promise<number>) => void): void {
  program
    .command('connector')
    .description('write the integration files of a SIEM into a folder, with a README of the steps\n' +
      CONNECTOR_NAMES.map((n) => `  ${n}: ${connectorSummary(n)}`).join('\n'))
    .argument('<siem>', CONNECTOR_NAMES.join(' | '))
    .requiredOption('-o, --output <dir>', 'folder to write the files into (created when missing)')
    .option('--service-ip <ip>', `address of the feedmatch host as the SIEM sees it (default: the placeholder ${PLACEHOLDER.service})`)
    .option('--service-port <port>', 'port feedmatch listens on for events (default: input.listen of the config, else 9999)')
    .option('--siem-host <host>', `host that receives detections (default: output.target of the config, else ${PLACEHOLDER.siem})`)
    .option('--siem-port <port>', 'port that receives detections (default: output.target of the config, else 514; splunk and elastic use their own input ports)')
    .option('--device-ip <ip>', `alienvault: a device whose events rsyslog forwards to feedmatch (repeatable; default ${PLACEHOLDER.device})`, collect)
    .option('--log-file <path>', 'alienvault: the log file rsyslog writes detections to and the plugin reads', '/var/log/feedmatch.log')
    .option('--plugin-id <id>', 'alienvault: the ossim-agent plugin id', DEFAULT_PLUGIN_ID)
    .option('--framing <framing>', 'alienvault: framing of rsyslog\'s forwarding, lf or octet (RFC 6587 octet counting)', 'lf')
    .action((siem: string, opts: ConnectorCliOptions, cmd: Command) => run(async () => await connector(siem, { ...cmd.optsWithGlobals(), ...opts })))
}

function port (value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback
  if (!/^\d{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65535) {
    throw new FeedmatchError('FM_ERR_USAGE', `${flag}: expected a port from 1 to 65535, found "${value}"`)
  }
  return Number(value)
}

function address (value: string, flag: string): string {
  // rsyslog compares $fromhost-ip with the text of an address, so a host name would never match.
  if (isIP(value) === 0 && !Object.values(PLACEHOLDER).includes(value as never)) {
    throw new FeedmatchError('FM_ERR_USAGE', `${flag}: expected an IP address, found "${value}"`)
  }
  return value
}

/** The config as `serve` would load it: the demo feeds when it names none. */
async function loadForConnector (opts: ConnectorCliOptions): Promise<Config> {
  const config = await loadConfig(opts.config, { feeds: opts.feeds })
  if (config.feeds.sources.length > 0 || config.feeds.blocklist.length > 0) return config
  return await loadConfig(opts.config, { feeds: [DEMO_FEEDS] })
}

async function connector (siem: string, opts: ConnectorCliOptions): Promise<number> {
  if (!isConnectorName(siem)) throw new FeedmatchError('FM_ERR_USAGE', `connector: unknown SIEM "${siem}"; expected one of ${CONNECTOR_NAMES.join(', ')}`)
  if (opts.framing !== 'lf' && opts.framing !== 'octet') throw new FeedmatchError('FM_ERR_USAGE', `--framing: expected lf or octet, found "${opts.framing}"`)
  if (!/^\d{1,9}$/.test(opts.pluginId)) throw new FeedmatchError('FM_ERR_USAGE', `--plugin-id: expected a number, found "${opts.pluginId}"`)
  const config = await loadForConnector(opts)
  // Categories name the event types of the SIEM: feeds and blocklists, not the allowlist.
  const categories = [...new Set((await expandFeedSources(config)).filter((f) => f.role !== 'allow').map((f) => f.category))]
  const listen = config.input.listen.find((l) => l.protocol !== 'udp' && l.port !== 0)
  const target = config.output.target
  const socket = 'host' in target ? target : undefined
  const o: ConnectorOptions = {
    config,
    categories,
    serviceHost: address(opts.serviceIp ?? PLACEHOLDER.service, '--service-ip'),
    servicePort: port(opts.servicePort, '--service-port', listen?.port ?? 9999),
    siemHost: opts.siemHost ?? socket?.host ?? PLACEHOLDER.siem,
    siemPort: port(opts.siemPort, '--siem-port', socket?.port ?? 514),
    deviceIps: (opts.deviceIp ?? [PLACEHOLDER.device]).map((ip) => address(ip, '--device-ip')),
    logFile: opts.logFile,
    pluginId: Number(opts.pluginId),
    framing: opts.framing,
    version: feedmatchVersion(),
  }
  const written = await writeConnector(siem, opts.output, o)
  process.stdout.write(`${siem}: wrote ${written.length} files\n${written.map((f) => `  ${f}\n`).join('')}Next: follow ${written.find((f) => f.endsWith('README.md')) ?? 'the README'}\n`)
  return 0
}
