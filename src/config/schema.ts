/**
 * The one schema of the configuration file, with its defaults. Besides JSON Schema it uses:
 * - formats `duration`, `listen-url`, `output-target`, `http-url`, `address-or-cidr` and the
 *   keyword `re2` (the pattern compiles), registered in validate.ts;
 * - the annotation `expected`: how an error message states what the value should be, where the
 *   schema alone would make a poor sentence (`a duration like 30s` rather than "a string or integer").
 * Durations and URLs stay strings here; validate.ts turns them into milliseconds and objects.
 */
import { FEED_FORMATS, INDICATOR_KINDS, RULE_TYPES } from './types.js'
import { FEED_PRESET_NAMES } from './feed-presets.js'

function oneOf (values: readonly string[], def?: string): Record<string, unknown> {
  return { type: 'string', enum: values, ...(def === undefined ? {} : { default: def }) }
}

function duration (def?: string): Record<string, unknown> {
  return {
    type: ['string', 'number'],
    format: 'duration',
    minimum: 0,
    expected: 'a duration like 30s',
    ...(def === undefined ? {} : { default: def }),
  }
}

function int (minimum: number, maximum: number, def: number): Record<string, unknown> {
  return { type: 'integer', minimum, maximum, default: def }
}

const path = { type: 'string', minLength: 1, expected: 'a path' }
const pathOrNull = { type: ['string', 'null'], minLength: 1, default: null, expected: 'a path or null' }
const text = { type: 'string', minLength: 1 }
const pattern = { type: 'string', minLength: 1, re2: true }

const MB = 1024 * 1024

const rule = {
  type: 'object',
  required: ['name', 'type', 'pattern'],
  additionalProperties: false,
  properties: {
    name: {
      type: 'string',
      pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
      expected: 'a name of letters, digits and _ that does not start with a digit',
    },
    type: oneOf(RULE_TYPES),
    extract: oneOf(['first', 'all'], 'first'),
    pattern,
  },
}

// Either key alone is easy to mistype into the other shape, so the whole item gets one message.
const normalizeStep = {
  type: 'object',
  additionalProperties: false,
  properties: { replace: pattern, with: { type: 'string' }, ignore: pattern },
  anyOf: [
    { required: ['replace', 'with'], not: { required: ['ignore'] } },
    { required: ['ignore'], not: { anyOf: [{ required: ['replace'] }, { required: ['with'] }] } },
  ],
  expected: '{ replace: PATTERN, with: TEXT } or { ignore: PATTERN }',
}

const source = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z0-9_.-]+$', expected: 'a name of letters, digits, _, . and -' },
    match: {
      type: 'array',
      items: { type: 'string', format: 'address-or-cidr', expected: 'an IP address or a CIDR' },
      default: [],
    },
    preset: oneOf(['generic', 'cef', 'dns', 'none'], 'generic'),
    normalize: { type: 'array', items: normalizeStep, default: [] },
    refang: { type: 'boolean', default: false },
    rules: { type: 'array', items: rule, default: [] },
  },
}

// A credential or header value: written out, or read from an environment variable or a file at
// each request (so a rotated key needs no restart, and the value never sits in the config).
const secret = {
  anyOf: [
    { type: 'string' },
    { type: 'object', required: ['env'], additionalProperties: false, properties: { env: text } },
    { type: 'object', required: ['file'], additionalProperties: false, properties: { file: path } },
  ],
  expected: 'a value, { env: NAME } or { file: PATH }',
}

const httpsUrl = { type: 'string', pattern: '^https?://[^\\s]+$', expected: 'an http:// or https:// URL' }

/** One API token as stored: its name, the SHA-256 of the secret (`feedmatch token new` prints both), scopes, a rate. */
export const apiToken = {
  type: 'object',
  required: ['name', 'hash', 'scopes'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', pattern: '^[\\w.@-]{1,64}$', expected: 'a name of letters, digits, _ . @ -' },
    hash: { type: 'string', pattern: '^sha256:[0-9a-f]{64}$', expected: 'sha256:HEX, as `feedmatch token new` prints it (never the token itself)' },
    scopes: { type: 'array', minItems: 1, uniqueItems: true, items: oneOf(['read', 'lookup', 'write', 'admin']) },
    rate: { type: 'number', minimum: 0.1, maximum: 100_000, expected: 'requests a second (default 20)' },
  },
}

const feedObject = {
  type: 'object',
  anyOf: [{ required: ['path'] }, { required: ['url'] }, { required: ['taxii'] }],
  additionalProperties: false,
  expected: 'a path or a feed { path | url | taxii, format, ... }',
  properties: {
    path,
    url: httpsUrl,
    taxii: {
      type: 'object',
      required: ['collection'],
      additionalProperties: false,
      properties: {
        discovery: httpsUrl,
        apiRoot: httpsUrl,
        collection: text,
        username: secret,
        password: secret,
        token: secret,
      },
    },
    every: duration(),
    headers: { type: 'object', additionalProperties: secret },
    ca: path,
    proxy: httpsUrl,
    timeout: duration(),
    retries: { type: 'integer', minimum: 0, maximum: 20, expected: 'a number of retries, 0 to 20' },
    maxBytes: { type: 'integer', minimum: 1024, expected: 'a size in bytes, at least 1024' },
    maxAge: duration(),
    name: text,
    format: oneOf(FEED_FORMATS),
    preset: oneOf(FEED_PRESET_NAMES),
    category: text,
    records: text,
    indicators: {
      type: 'array',
      items: {
        type: 'object',
        required: ['field'],
        additionalProperties: false,
        properties: {
          // A CSV column may be given by number; validate.ts turns it into a string.
          field: { type: ['string', 'integer'], minLength: 1, minimum: 0, expected: 'a field name (a/b) or a column number' },
          type: oneOf(INDICATOR_KINDS, 'auto'),
        },
      },
    },
    actionable: { type: 'object', additionalProperties: text },
    filter: text,
    required: { type: 'array', items: text },
    expiry: {
      type: 'object',
      additionalProperties: false,
      properties: { field: text, maxAge: duration() },
    },
    csv: {
      type: 'object',
      additionalProperties: false,
      properties: {
        delimiter: text,
        header: { type: 'boolean' },
        comment: text,
        columns: { type: 'array', items: text },
      },
    },
    misp: {
      type: 'object',
      additionalProperties: false,
      properties: { allAttributes: { type: 'boolean', expected: 'true to index attributes marked to_ids: false too' } },
    },
    enabled: { type: 'boolean', default: true },
    minRecords: { type: 'integer', minimum: 0, expected: 'a number of records, 0 or more' },
    maxShrink: { type: 'number', minimum: 0, maximum: 1, expected: 'a share from 0 to 1 (0.5: at most half fewer records than the version in service)' },
  },
}

// A bare string is shorthand for `{ path }`. if/else rather than anyOf: ajv applies the defaults
// of `else` (enabled: true) but never those inside anyOf.
const feedEntry = {
  if: { type: 'string' },
  then: { type: 'string', minLength: 1, expected: 'a path' },
  else: feedObject,
}

const feedList = { type: 'array', items: feedEntry, default: [] }

/** The JSON schema of feedmatch.yaml (validated with ajv, `useDefaults`). */
export const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    input: {
      type: 'object',
      default: {},
      additionalProperties: false,
      properties: {
        listen: {
          type: 'array',
          items: { type: 'string', format: 'listen-url', expected: 'tcp://HOST:PORT, udp://HOST:PORT or tls://HOST:PORT' },
          default: ['tcp://127.0.0.1:9999'],
        },
        tls: {
          type: 'object',
          required: ['cert', 'key'],
          additionalProperties: false,
          properties: { cert: path, key: path, ca: path, requireClientCert: { type: 'boolean' } },
        },
        framing: oneOf(['auto', 'lf', 'octet', 'delimiter'], 'auto'),
        delimiter: { type: ['string', 'null'], minLength: 1, re2: true, default: null },
        maxEventSize: int(256, 16 * MB, 65536),
        maxConnections: int(1, 1_000_000, 1024),
        maxConnectionsPerSource: int(1, 1_000_000, 64),
        idleTimeout: duration('300s'),
        firstByteTimeout: duration('10s'),
        udpReceiveBuffer: int(4096, 1024 * MB, 8 * MB),
        sources: {
          type: 'array',
          items: source,
          default: [{ name: 'default' }],
        },
      },
    },
    output: {
      type: 'object',
      default: {},
      additionalProperties: false,
      properties: {
        target: {
          type: 'string',
          format: 'output-target',
          default: 'stdout',
          expected: 'tcp://HOST:PORT, udp://HOST:PORT, tls://HOST:PORT, relp://HOST:PORT, file:PATH or stdout',
        },
        tls: {
          type: 'object',
          default: {},
          additionalProperties: false,
          properties: { ca: path, cert: path, key: path, rejectUnauthorized: { type: 'boolean', default: true } },
        },
        header: oneOf(['rfc5424', 'rfc3164', 'none'], 'none'),
        framing: oneOf(['lf', 'octet'], 'lf'),
        bom: { type: 'boolean', default: false },
        preset: oneOf(['alienvault', 'fortisiem', 'arcsight', 'qradar', 'ecs', 'kv'], 'alienvault'),
        templates: {
          type: 'object',
          default: {},
          additionalProperties: false,
          properties: {
            event: { type: 'string' },
            alert: { type: 'string' },
            finished: { type: 'string' },
            recordContext: { type: 'string' },
            actionableContext: { type: 'string' },
          },
        },
        finishedEvents: { type: 'boolean', default: false },
        // Syslog header fields are printable ASCII without spaces (RFC 5424 section 6).
        hostname: { type: ['string', 'null'], pattern: '^[!-~]{1,255}$', default: null, expected: 'a host name (printable ASCII, no spaces) or null' },
        appName: { type: 'string', pattern: '^[!-~]{1,48}$', default: 'feedmatch', expected: 'up to 48 printable ASCII characters without spaces' },
        facility: int(0, 23, 16),
        batch: {
          type: 'object',
          default: {},
          additionalProperties: false,
          properties: { maxBytes: int(1024, 64 * MB, 262144), maxDelay: duration('20ms') },
        },
        queue: {
          type: 'object',
          default: {},
          additionalProperties: false,
          properties: {
            maxBytes: int(64 * 1024, 2 ** 40, 64 * MB),
            // null: what the kernels between us and the SIEM can hold (output/transports/options.ts).
            resendBytes: { type: ['integer', 'null'], minimum: 0, maximum: 1024 * MB, default: null, expected: 'a byte count up to 1 GiB, or null for the kernel buffers' },
          },
        },
        // A bare path is the overflow spool of earlier versions: `{ dir: PATH }`.
        spool: {
          default: null,
          if: { type: 'object' },
          then: {
            type: 'object',
            required: ['dir'],
            additionalProperties: false,
            properties: {
              dir: path,
              mode: oneOf(['overflow', 'always'], 'overflow'),
              maxBytes: int(64 * 1024, 2 ** 50, 1024 * MB),
              fsync: oneOf(['off', 'interval', 'always'], 'off'),
              fsyncInterval: duration('1s'),
            },
          },
          else: { type: ['string', 'null'], minLength: 1, expected: 'a path, { dir, mode, maxBytes, fsync, fsyncInterval } or null' },
        },
        relp: {
          type: 'object',
          default: {},
          additionalProperties: false,
          properties: { window: int(1, 100_000, 128) },
        },
        reconnect: {
          type: 'object',
          default: {},
          additionalProperties: false,
          properties: { initialDelay: duration('500ms'), maxDelay: duration('30s') },
        },
        maxDetectionsPerEvent: int(1, 100_000, 100),
      },
    },
    feeds: {
      type: 'object',
      default: {},
      additionalProperties: false,
      properties: {
        sources: feedList,
        allowlist: feedList,
        blocklist: feedList,
        snapshot: pathOrNull,
        watch: { type: 'boolean', default: true },
        reloadDebounce: duration('2s'),
        cache: { type: 'string', minLength: 1, default: 'feedmatch-cache', expected: 'a folder for downloaded feeds' },
        lists: { type: 'string', minLength: 1, default: 'feedmatch-lists', expected: 'a folder for the live lists (lists.json)' },
      },
    },
    workers: {
      default: 'auto',
      anyOf: [{ type: 'string', const: 'auto' }, { type: 'integer', minimum: 1, maximum: 256 }],
      expected: 'auto or an integer from 1 to 256',
    },
    api: {
      type: 'object',
      default: {},
      additionalProperties: false,
      properties: {
        listen: { type: ['string', 'null'], format: 'http-url', default: null, expected: 'http://HOST:PORT, https://HOST:PORT or null' },
        tls: {
          type: 'object',
          required: ['cert', 'key'],
          additionalProperties: false,
          properties: { cert: path, key: path },
        },
        tokens: { type: 'array', items: apiToken, default: [] },
        tokenFile: path,
      },
    },
    // The detection store (store/detection-store.ts): off without a path.
    store: {
      type: 'object',
      default: {},
      additionalProperties: false,
      properties: {
        path: { ...pathOrNull, expected: 'a file for the detection store (SQLite), or null for none' },
        maxAge: duration('30d'),
        maxBytes: int(1024 * 1024, 2 ** 50, 1024 * MB),
        eventBytes: int(0, 64 * 1024, 2048),
      },
    },
    log: {
      type: 'object',
      default: {},
      additionalProperties: false,
      properties: {
        level: oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], 'info'),
        statsInterval: duration('60s'),
      },
    },
  },
} as const
