/**
 * The validated configuration, as `loadConfig` and `validateConfig` return it: defaults applied,
 * durations in milliseconds, URLs parsed, paths absolute, and the whole object deep-frozen.
 * The fields are not marked `readonly` because they feed contracts typed with plain arrays
 * (ParserOptions and friends); the freeze enforces it at run time instead.
 */
import type { FeedRole } from '../index/types.js'
import type { RuleType } from '../extract/types.js'

/** A socket address parsed from `tcp://HOST:PORT` and the like (IPv6 host without brackets). */
export interface Endpoint {
  /** relp: output only (rsyslog's reliable protocol). */
  protocol: 'tcp' | 'udp' | 'tls' | 'relp'
  host: string
  port: number
  /** The URL as written, for messages and logs. */
  url: string
}

/** One `input.listen` entry. Port 0 asks the system for a free port (tests use it). */
export type ListenerConfig = Omit<Endpoint, 'protocol'> & { protocol: 'tcp' | 'udp' | 'tls' }

/** Where detections go: a socket, a file, or stdout. */
export type OutputTarget =
  | Endpoint
  | { protocol: 'file', path: string, url: string }
  | { protocol: 'stdout', url: 'stdout' }

/** How the input cuts a byte stream into events. */
export type InputFraming = 'auto' | 'lf' | 'octet' | 'delimiter'

/** Server certificate of the tls:// listeners. */
export interface InputTlsConfig {
  cert: string
  key: string
  /** Clients are asked for a certificate signed by this CA (mutual TLS). */
  ca?: string
  /** With `ca`: refuse clients without such a certificate (default true); false accepts them too. */
  requireClientCert?: boolean
}

/** The type of an extraction rule's value (CyberTrace's names). */
export type { RuleType }

export const RULE_TYPES: readonly RuleType[] = ['HASH', 'MD5', 'SHA1', 'SHA256', 'IP', 'URL', 'DOMAIN', 'CONTEXT']

/** A named RE2 extraction rule; its first group is the value, available to templates as `%name%`. */
export interface RuleConfig {
  name: string
  type: RuleType
  extract: 'first' | 'all'
  pattern: string
}

/** A rewrite that runs before extraction: replace every match, or drop events that match. */
export type NormalizeConfig = { replace: string, with: string } | { ignore: string }

/** The built-in rule sets a source starts from. */
export type SourcePreset = 'generic' | 'cef' | 'dns' | 'none'

/** A group of senders (by address) and the rules their events go through. */
export interface SourceConfig {
  name: string
  /** Addresses or CIDRs; ignored for the source named `default`, which takes every other sender. */
  match: string[]
  preset: SourcePreset
  normalize: NormalizeConfig[]
  /** Undo defanging (`hxxp://`, `[.]`) in this source's events before extraction (takes it onto RE2). */
  refang: boolean
  rules: RuleConfig[]
}

/** The `input` section. The source list always holds one named `default`. */
export interface InputConfig {
  listen: ListenerConfig[]
  tls?: InputTlsConfig
  framing: InputFraming
  /** RE2 pattern that separates events, with framing `delimiter`. */
  delimiter: string | null
  maxEventSize: number
  maxConnections: number
  /** Open connections from one sender address, at most. */
  maxConnectionsPerSource: number
  /** Milliseconds a new connection may stay without sending a byte. */
  firstByteTimeout: number
  /** Bytes of kernel receive buffer asked for each UDP listener (the kernel caps it at net.core.rmem_max). */
  udpReceiveBuffer: number
  /** Milliseconds; 0 means never. */
  idleTimeout: number
  sources: SourceConfig[]
}

/** Output formats that ship with feedmatch. */
export type OutputPreset = 'alienvault' | 'fortisiem' | 'arcsight' | 'qradar' | 'ecs' | 'kv'

/** Template overrides; anything unset comes from the preset. */
export interface TemplatesConfig {
  event?: string
  alert?: string
  finished?: string
  recordContext?: string
  actionableContext?: string
}

/** The `output` section. Durations in milliseconds. */
export interface OutputConfig {
  target: OutputTarget
  tls: { ca?: string, cert?: string, key?: string, rejectUnauthorized: boolean }
  header: 'rfc5424' | 'rfc3164' | 'none'
  framing: 'lf' | 'octet'
  /** RFC 5424: a UTF-8 BOM before MSG (MSG-UTF8). */
  bom: boolean
  preset: OutputPreset
  templates: TemplatesConfig
  finishedEvents: boolean
  /** For syslog headers: the configured name, else `os.hostname()`. */
  hostname: string
  appName: string
  facility: number
  batch: { maxBytes: number, maxDelay: number }
  /** resendBytes: sent bytes kept to send again after a TCP/TLS drop; null for the kernels' buffers. */
  queue: { maxBytes: number, resendBytes: number | null }
  /** The disk spool, or null for none. */
  spool: SpoolConfig | null
  /** RELP targets: messages sent and not yet answered, at most. */
  relp: { window: number }
  reconnect: { initialDelay: number, maxDelay: number }
  maxDetectionsPerEvent: number
}

/** `output.spool`: where, how much, and whether it takes every frame (`always`) or the overflow. */
export interface SpoolConfig {
  dir: string
  mode: 'overflow' | 'always'
  maxBytes: number
  fsync: 'off' | 'interval' | 'always'
  /** Milliseconds. */
  fsyncInterval: number
}

/** The kind of an indicator as a feed states it (src/feeds/record.ts says what each means). */
export type IndicatorKind = 'md5' | 'sha1' | 'sha256' | 'hash' | 'ip' | 'domain' | 'host' | 'url' | 'auto'

export const INDICATOR_KINDS: readonly IndicatorKind[] = ['md5', 'sha1', 'sha256', 'hash', 'ip', 'domain', 'host', 'url', 'auto']

/** Feed file formats. */
export type FeedFormat = 'kaspersky' | 'json' | 'xml' | 'csv' | 'stix2' | 'misp' | 'list'

export const FEED_FORMATS: readonly FeedFormat[] = ['kaspersky', 'json', 'xml', 'csv', 'stix2', 'misp', 'list']

/** A field of a feed record that holds indicators, and their kind. */
export interface FeedIndicatorConfig {
  /** `a/b` for nested fields; for CSV also a 0-based column number (as a string). */
  field: string
  type: IndicatorKind
}

/** A credential or header value as configured: literal, or read from an env variable or a file when used. */
export type Secret = string | { env: string } | { file: string }

/** Where a remote feed comes from and how it is fetched (src/feeds/remote/). */
export interface RemoteSource {
  kind: 'http' | 'taxii' | 'misp'
  /** The download (http), the MISP feed's base URL (misp), or the TAXII collection's objects URL once known. */
  url: string
  taxii?: { discovery?: string, apiRoot?: string, collection: string, username?: Secret, password?: Secret, token?: Secret }
  /** Milliseconds between fetches. */
  every: number
  headers: Record<string, Secret>
  ca?: string
  proxy?: string
  /** Milliseconds for one request (headers and body). */
  timeout: number
  retries: number
  maxBytes: number
  /** The folder of this feed in the cache (state.json and the validated copy). */
  dir: string
}

/** One entry of `feeds.sources`, `feeds.allowlist` or `feeds.blocklist` (a bare path becomes `{ path }`). */
export interface FeedConfig {
  /** Absolute: a file, or a folder whose files are each a feed; for a remote feed, its copy in the cache. */
  path: string
  /** Set for `url:` and `taxii:` feeds: fetched into `path` on a schedule. */
  remote?: RemoteSource
  /** Milliseconds: older than this (since the last successful fetch, or the file's mtime) is stale. */
  maxAge?: number
  name?: string
  /** Undefined when not configured: the feed loader detects it. */
  format?: FeedFormat
  /** A named layout (src/config/feed-presets.ts), already applied: its format and mapping are set here. */
  preset?: string
  category?: string
  records?: string
  indicators?: FeedIndicatorConfig[]
  /** Record field (a/b path) to output field name, copied into every detection. */
  actionable?: Record<string, string>
  filter?: string
  required?: string[]
  expiry?: { field?: string, maxAge?: number }
  csv?: { delimiter?: string, header?: boolean, comment?: string, columns?: string[] }
  /** MISP feeds: `allAttributes: true` also indexes attributes marked `to_ids: false`. */
  misp?: { allAttributes?: boolean }
  enabled: boolean
  /** Fewer records fail the load (the previous version stays); default 1, 0 for allow- and blocklists. */
  minRecords?: number
  /** Share of the records in service the new version may lose before it fails; default 0.5, 1 for lists. */
  maxShrink?: number
  /** Where the path was given, for messages: `feedmatch.yaml: feeds.sources[1].path` or `--feeds`. */
  origin: string
}

/** The `feeds` section. */
export interface FeedsConfig {
  sources: FeedConfig[]
  allowlist: FeedConfig[]
  blocklist: FeedConfig[]
  /** A snapshot to load instead of parsing the feeds, or null. */
  snapshot: string | null
  watch: boolean
  /** Milliseconds. */
  reloadDebounce: number
  /** Absolute: where remote feeds are downloaded, validated and kept (served from there offline). */
  cache: string
  /** Absolute: where the live lists of the API are kept (lists.json). */
  lists: string
}

/** The HTTP API: where it listens, or null when it is off. */
export interface ApiConfig {
  listen: { protocol: 'http' | 'https', host: string, port: number, url: string } | null
  /** Required for https://: absolute paths. */
  tls?: { cert: string, key: string }
  /** Tokens of the config; `tokenFile` adds its own when the API starts (and on SIGHUP). */
  tokens: ApiToken[]
  tokenFile?: string
}

/** What a token may do: read health details, statistics and metrics; look up; change lists; administer. */
export type ApiScope = 'read' | 'lookup' | 'write' | 'admin'

/** A token as stored: never the secret, only its SHA-256 (hex). */
export interface ApiToken {
  name: string
  /** 64 hex characters: SHA-256 of the secret. */
  sha256: string
  scopes: ApiScope[]
  /** Requests a second (a bucket of twice that absorbs bursts). */
  rate: number
}

/** Log levels of pino, plus `silent`. */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent'

/** The `log` section. */
export interface LogConfig {
  level: LogLevel
  /** Milliseconds between statistics events; 0 means never. */
  statsInterval: number
}

/** The `store` section: the detection store (store/detection-store.ts). */
export interface StoreConfig {
  /** Absolute; null: no store. */
  path: string | null
  /** ms: older detections are removed. */
  maxAge: number
  /** Pages in use at most; the oldest detections go first. */
  maxBytes: number
  /** Each detection keeps its event up to this many bytes (0: none). */
  eventBytes: number
}

/** The whole validated configuration. */
export interface Config {
  input: InputConfig
  output: OutputConfig
  feeds: FeedsConfig
  /** Worker threads: `auto` resolved to the number of cores (at most 256). */
  workers: number
  api: ApiConfig
  store: StoreConfig
  log: LogConfig
}

/** A feed entry expanded to one file (or one MISP folder), ready for the loader. */
export interface ResolvedFeed extends FeedConfig {
  role: FeedRole
  name: string
  category: string
  /** A downloaded copy being validated: the path of the version in service it is measured against (maxShrink). */
  inServiceAs?: string
}

/** CLI flags that change the configuration file's values. */
export interface ConfigOverrides {
  /** `--feeds PATH` (repeatable): appended to `feeds.sources`. */
  feeds?: string[]
  /** `feeds fetch -o DIR`: replaces `feeds.cache`. */
  feedCache?: string
  /** `--listen URL` (repeatable): replaces `input.listen`. */
  listen?: string[]
  /** `--output TARGET`: replaces `output.target`. */
  output?: string
  /** `--preset NAME`: replaces `output.preset`. */
  preset?: string
  /** `--workers N`: replaces `workers`. */
  workers?: number
}
