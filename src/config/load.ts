/**
 * The configuration's entry points: a YAML or JSON file plus CLI flags (`loadConfig`), or an object
 * from elsewhere (`validateConfig`). Both validate once against the one schema and return a
 * deep-frozen Config.
 */
import { readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { LineCounter, isMap, isScalar, parseDocument } from 'yaml'
import { FeedmatchError } from '../errors.js'
import type { Seg } from './messages.js'
import type { Config, ConfigOverrides } from './types.js'
import { FEED_FORMATS } from './types.js'
import { FEED_PRESET_NAMES } from './feed-presets.js'
import { validateWith } from './validate.js'

/** What a config file holds, and how to find the line of a value in it. */
interface ConfigFile {
  data: unknown
  locate: (segs: Seg[], atKey?: boolean) => string
}

/** Read and parse a YAML or JSON file (JSON is YAML); throws FM_ERR_CONFIG_READ with the line. */
async function readConfigFile (path: string): Promise<ConfigFile> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new FeedmatchError('FM_ERR_CONFIG_READ', `${path}: cannot read the configuration file: ${(err as Error).message}`, { cause: err })
  }
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: true })
  const bad = doc.errors[0]
  if (bad !== undefined) {
    const pos = bad.linePos?.[0] ?? lineCounter.linePos(bad.pos[0])
    // yaml's message is "REASON at line L, column C:\n\nSNIPPET"; we state the place first.
    const [reason = bad.message, ...snippet] = bad.message.split('\n')
    throw new FeedmatchError(
      'FM_ERR_CONFIG_READ',
      `${path}: not valid YAML or JSON at line ${pos.line}, column ${pos.col}: ` +
        `${reason.replace(/ at line \d+, column \d+:?$/, '')}\n${snippet.join('\n').trimEnd()}`,
      { cause: bad }
    )
  }
  let data: unknown
  try {
    data = doc.toJS()
  } catch (err) {
    // toJS throws for alias bombs and other documents that parse but do not resolve.
    throw new FeedmatchError('FM_ERR_CONFIG_READ', `${path}: not valid YAML or JSON: ${(err as Error).message}`, { cause: err })
  }
  const at = (node: unknown): string | undefined => {
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range
    if (range === undefined) return undefined
    const { line, col } = lineCounter.linePos(range[0])
    return ` at line ${line}, column ${col}`
  }
  const locate = (segs: Seg[], atKey = false): string => {
    if (atKey && segs.length > 0) {
      const parent = doc.getIn(segs.slice(0, -1), true)
      const pair = isMap(parent) ? parent.items.find(p => isScalar(p.key) && p.key.value === segs[segs.length - 1]) : undefined
      const found = at(pair?.key)
      if (found !== undefined) return found
    }
    for (let n = segs.length; n >= 0; n--) {
      const found = at(n === 0 ? doc.contents : doc.getIn(segs.slice(0, n), true))
      if (found !== undefined) return found
    }
    return ''
  }
  // An empty file is a config with every default.
  return { data: data ?? {}, locate }
}

function isPlainObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** The object at `obj[key]`, created when missing; undefined when something else is there. */
function section (obj: Record<string, unknown>, key: string): Record<string, unknown> | undefined {
  if (obj[key] === undefined) obj[key] = {}
  const v = obj[key]
  return isPlainObject(v) ? v : undefined
}

/**
 * One `--feeds` value: `PATH`, or `PATH:FORMAT` / `PATH:PRESET` (`--feeds urlhaus.csv:urlhaus-csv`)
 * when what follows the last `:` names a feed format or preset.
 */
function feedFlag (v: string): string | { path: string, format?: string, preset?: string } {
  const colon = v.lastIndexOf(':')
  if (colon <= 0) return v
  const [path, tail] = [v.slice(0, colon), v.slice(colon + 1)]
  if ((FEED_FORMATS as readonly string[]).includes(tail)) return { path, format: tail }
  if (FEED_PRESET_NAMES.includes(tail)) return { path, preset: tail }
  return v
}

/**
 * Write the flags into the file's data before validation, so they pass the same schema, and
 * return which flag set which place. Where the file has something other than an object at a
 * section, the flag is left out and the schema reports the file's error.
 */
function applyOverrides (data: unknown, o: ConfigOverrides): (segs: Seg[]) => string | undefined {
  if (!isPlainObject(data)) return () => undefined
  let firstFlagFeed = Infinity
  if (o.feeds !== undefined && o.feeds.length > 0) {
    const feeds = section(data, 'feeds')
    if (feeds !== undefined) {
      feeds.sources ??= []
      if (Array.isArray(feeds.sources)) {
        firstFlagFeed = feeds.sources.length
        feeds.sources.push(...o.feeds.map(feedFlag))
      }
    }
  }
  if (o.feedCache !== undefined) {
    const feeds = section(data, 'feeds')
    if (feeds !== undefined) feeds.cache = o.feedCache
  }
  if (o.listen !== undefined) {
    const input = section(data, 'input')
    if (input !== undefined) input.listen = [...o.listen]
  }
  if (o.output !== undefined || o.preset !== undefined) {
    const output = section(data, 'output')
    if (output !== undefined && o.output !== undefined) output.target = o.output
    if (output !== undefined && o.preset !== undefined) output.preset = o.preset
  }
  if (o.workers !== undefined) data.workers = o.workers
  return (segs) => {
    const [a, b, c] = segs
    if (a === 'feeds' && b === 'sources' && typeof c === 'number' && c >= firstFlagFeed) return '--feeds'
    if (a === 'input' && b === 'listen' && o.listen !== undefined) return '--listen'
    if (a === 'feeds' && b === 'cache' && o.feedCache !== undefined) return '--output'
    if (a === 'output' && b === 'target' && o.output !== undefined) return '--output'
    if (a === 'output' && b === 'preset' && o.preset !== undefined) return '--preset'
    if (a === 'workers' && o.workers !== undefined) return '--workers'
    return undefined
  }
}

/**
 * Load the configuration: the file at `path` (YAML or JSON; none means every default), then the
 * CLI flags on top. Relative paths in the file resolve against its folder, those in flags against
 * the working directory. Throws FM_ERR_CONFIG_READ or FM_ERR_CONFIG.
 */
export async function loadConfig (path?: string, overrides: ConfigOverrides = {}): Promise<Config> {
  const file = path === undefined ? undefined : await readConfigFile(path)
  const data = file?.data ?? {}
  const flagFor = applyOverrides(data, overrides)
  const cwd = process.cwd()
  const fileDir = path === undefined ? cwd : dirname(resolve(path))
  return validateWith(data, {
    source: path ?? '(no configuration file)',
    flagFor,
    ...(file === undefined ? {} : { locate: file.locate }),
    baseFor: segs => flagFor(segs) === undefined ? fileDir : cwd,
  })
}

/**
 * Validate a configuration object from another entry point (the HTTP API); `source` names it in
 * messages. The object is not modified. Relative paths resolve against `baseDir` (default: cwd).
 */
export function validateConfig (obj: unknown, source: string, options: { baseDir?: string } = {}): Config {
  let copy: unknown
  try {
    // ajv writes the defaults into what it validates; the caller's object stays as it was.
    copy = structuredClone(obj)
  } catch (err) {
    throw new FeedmatchError('FM_ERR_CONFIG', `${source}: expected plain data (objects, lists, strings, numbers, booleans); found ${(err as Error).message}`, { cause: err })
  }
  const base = resolve(options.baseDir ?? process.cwd())
  return validateWith(copy ?? {}, { source, baseFor: () => base })
}
