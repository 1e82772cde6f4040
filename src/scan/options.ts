/**
 * The command-line choices of `scan` that need checking together: the output format, the output
 * preset and the extraction preset (`--preset` names either: their names never overlap), and
 * the source whose rules extract. Errors are FM_ERR_USAGE naming the flag.
 */
import { FeedmatchError } from '../errors.js'
import { PRESET_NAMES, getPreset } from '../render/presets.js'
import type { SourceSpec } from '../extract/types.js'
import type { RecordFormat } from './protocol.js'

/** What `--format` accepts. */
export const FORMATS = ['ndjson', 'csv', 'cef', 'kv', 'text'] as const
export type ScanFormat = typeof FORMATS[number]

/** Extraction presets `--preset` may name. */
const RULE_PRESETS = ['generic', 'cef', 'dns'] as const

/** The resolved output: what workers render, and with which output preset. */
export interface OutputChoice {
  record: RecordFormat
  /** The output preset (templates) for cef, kv and --to frames. */
  preset: string
}

/** Splits the `--preset` values into the extraction preset and the output preset. */
export function splitPresets (values: string[]): { rules?: 'generic' | 'cef' | 'dns', output?: string } {
  const out: { rules?: 'generic' | 'cef' | 'dns', output?: string } = {}
  for (const v of values) {
    if ((RULE_PRESETS as readonly string[]).includes(v)) {
      if (out.rules !== undefined && out.rules !== v) throw new FeedmatchError('FM_ERR_USAGE', `--preset: two extraction presets given (${out.rules}, ${v})`)
      out.rules = v as 'generic' | 'cef' | 'dns'
    } else if ((PRESET_NAMES as readonly string[]).includes(v)) {
      if (out.output !== undefined && out.output !== v) throw new FeedmatchError('FM_ERR_USAGE', `--preset: two output presets given (${out.output}, ${v})`)
      out.output = v
    } else {
      throw new FeedmatchError('FM_ERR_USAGE', `--preset: expected an extraction preset (${RULE_PRESETS.join(', ')}) or an output preset (${PRESET_NAMES.join(', ')}); found "${v}"`)
    }
  }
  return out
}

/**
 * The record format and output preset. Without --format: NDJSON, or with --to the output preset's
 * syslog frames. `cef` and `kv` take the --preset (or the config's) of that format, else
 * `arcsight` and `kv`; ndjson, csv and text name their own fields.
 */
export function chooseOutput (format: string | undefined, outputPreset: string | undefined, configPreset: string, to: boolean): OutputChoice {
  if (format === undefined) {
    return { record: to ? 'frame' : 'ndjson', preset: outputPreset ?? configPreset }
  }
  if (!(FORMATS as readonly string[]).includes(format)) {
    throw new FeedmatchError('FM_ERR_USAGE', `--format: expected one of ${FORMATS.join(', ')}; found "${format}"`)
  }
  if (format === 'cef' || format === 'kv') {
    const fits = (p: string): boolean => getPreset(p).format === format
    if (outputPreset !== undefined && !fits(outputPreset)) {
      throw new FeedmatchError('FM_ERR_USAGE', `--preset ${outputPreset} does not write ${format}; for --format ${format} use ${PRESET_NAMES.filter(fits).join(' or ')}`)
    }
    const preset = outputPreset ?? (fits(configPreset) ? configPreset : format === 'cef' ? 'arcsight' : 'kv')
    return { record: to ? 'frame' : 'message', preset }
  }
  if (outputPreset !== undefined) {
    throw new FeedmatchError('FM_ERR_USAGE', `--preset ${outputPreset} is an output preset: it applies to --format cef or kv (or to --to without --format), not to ${format}`)
  }
  return { record: format as RecordFormat, preset: configPreset }
}

/** The rules to extract with: a bare extraction preset, or a source of the config (`default` unless named). */
export function chooseSource (sources: SourceSpec[], rules: 'generic' | 'cef' | 'dns' | undefined, name: string | undefined): SourceSpec {
  if (rules !== undefined) {
    if (name !== undefined) throw new FeedmatchError('FM_ERR_USAGE', `--preset ${rules} and --source ${name}: give one of them (the source names its own rules)`)
    return { name: rules, preset: rules, normalize: [], rules: [] }
  }
  const want = name ?? 'default'
  const s = sources.find((x) => x.name === want) ?? (name === undefined ? sources[0] : undefined)
  if (s === undefined) {
    throw new FeedmatchError('FM_ERR_USAGE', `--source ${want}: no such source in input.sources (there are: ${sources.map((x) => x.name).join(', ')})`)
  }
  return s
}
