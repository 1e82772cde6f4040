/**
 * A source's extractor (DESIGN.md section 4): normalize rules, then the preset's and the source's
 * own rules, on the bytes of one event. Lookup rules fill a reusable Candidates list of byte spans;
 * CONTEXT rules run only on request (`ruleValues`, `contextValues`), for events that produced a
 * detection, so that the common event (no detection) costs no regex at all on the scanner path.
 *
 * Two engines give the same spans: RE2 for any rule set, and a byte scanner for a built-in preset
 * used as shipped (scanner.ts for `generic`; scan-cef.ts for `cef`, with RE2 for its URL rule only
 * in events that hold `://`), several times faster (bench/extract.bench.mjs).
 */
import RE2 from 're2'
import { FeedmatchError } from '../errors.js'
import { PRESETS } from './presets.js'
import { compilePattern, forEachMatch } from './re2-rule.js'
import { scanGeneric, type ScanRules } from './scanner.js'
import { scanDomains } from './scan-domain.js'
import { requiredLiteral } from './literal.js'
import { haystack } from './ip-scan.js'
import { asciiUrlPattern, NO_URL, scanCef, URL_ASCII, type CefScanRules } from './scan-cef.js'
import type { Candidates, RuleSpec, SourceSpec } from './types.js'

/** What extracts candidate values from the events of one source. */
export interface Extractor {
  /** Preset rules then the source's own (a source rule with a preset rule's name replaces it). */
  readonly rules: RuleSpec[]
  /** Which engine `run` uses: the byte scanner (a built-in preset as shipped) or RE2 alone. */
  readonly engine: 'scanner' | 're2'
  /**
   * Finds candidate values in event bytes buf[start,end) into `out` (cleared first): lookup rules
   * only, ordered by rule then position; empty values are skipped. Returns false when a normalize
   * `ignore` rule drops the event. Spans are in `out.src` (the batch buffer itself, or a scratch
   * buffer when `replace` rules rewrote the event). Never throws, whatever the bytes.
   */
  run (buf: Buffer, start: number, end: number, out: Candidates): boolean
  /** The string value of span i (only called when needed, e.g. for URLs). */
  value (out: Candidates, i: number): string
  /**
   * Every rule's value in the event `out` was filled from, by rule name, for output templates:
   * the first span of each lookup rule, and the CONTEXT rules, run now on the event's text (after
   * `replace` rules). One value a rule, since a SIEM field holds one. Rules that found nothing are
   * absent. Meant for events that produced a detection, so it may allocate.
   */
  ruleValues (out: Candidates): Record<string, string>
  /** The CONTEXT rules' first values in event bytes buf[start,end) (after `replace` rules), by name. */
  contextValues (buf: Buffer, start: number, end: number): Record<string, string>
  /** Index in `rules` of the rule with this name, or -1. */
  indexOf (name: string): number
}

interface Compiled { index: number, name: string, re: RE2, first: boolean }
type Normalizer = { ignore: RE2 } | { replace: RE2, with: string }

/** Preset rules with the source's same-named rules in their place, then the source's other rules. */
function mergeRules (spec: SourceSpec): RuleSpec[] {
  const seen = new Set<string>()
  for (const r of spec.rules) {
    if (seen.has(r.name)) throw new FeedmatchError('FM_ERR_CONFIG', `source ${spec.name}: rule ${r.name} is defined twice`)
    seen.add(r.name)
  }
  const preset = PRESETS[spec.preset]
  const rules = preset.map((p) => spec.rules.find((r) => r.name === p.name) ?? p)
  for (const r of spec.rules) if (!preset.some((p) => p.name === r.name)) rules.push(r)
  return rules
}

/** How `run` goes when a built-in preset is used as shipped: which pass, and its rule indices. */
type FastPath = { kind: 'generic', rules: ScanRules, domain: number } | { kind: 'cef', rules: CefScanRules, url: number }

/**
 * The byte-scanner path when the preset's lookup rules are all there untouched (the very preset
 * objects) and no normalize rule rewrites the event; otherwise null. The source's own lookup
 * rules come after the preset's in rule order (mergeRules), so they run on RE2 after the scanner
 * (`extra` in CompiledExtractor): one custom DOMAIN rule once took a source off the scanner
 * altogether, 18x slower. CONTEXT rules do not matter.
 */
function fastPath (spec: SourceSpec, rules: RuleSpec[]): FastPath | null {
  if (spec.preset === 'none' || spec.normalize.length > 0) return null
  const preset = PRESETS[spec.preset]
  // A source rule that replaces a preset rule (same name, other pattern) changes what the scanner would find.
  if (preset.some((p) => p.type !== 'CONTEXT' && !rules.includes(p))) return null
  const at = (name: string): number => rules.findIndex((r) => r.name === name && preset.includes(r))
  if (spec.preset === 'generic' || spec.preset === 'dns') {
    const s = { url: at('RE_URL'), ip: at('RE_IP'), md5: at('RE_MD5'), sha1: at('RE_SHA1'), sha256: at('RE_SHA256') }
    const domain = spec.preset === 'dns' ? at('RE_DOMAIN') : -1
    // RE_DOMAIN's spans are appended after the generic pass's: it must come last in rule order.
    if (spec.preset === 'dns' && !Object.values(s).every((i) => i < domain)) return null
    return Object.values(s).every((i) => i >= 0) ? { kind: 'generic', rules: s, domain } : null
  }
  const c = { hash: at('RE_HASH'), dst: at('RE_IP'), src: at('SRC_IP') }
  const url = at('RE_URL')
  // RE_URL's spans are appended after the pass's, so it must come after them in rule order.
  return Object.values(c).every((i) => i >= 0 && i < url) ? { kind: 'cef', rules: c, url } : null
}

function compileRules (spec: SourceSpec, rules: RuleSpec[], context: boolean): Compiled[] {
  const out: Compiled[] = []
  rules.forEach((r, index) => {
    if ((r.type === 'CONTEXT') !== context) return
    const re = compilePattern(r.pattern, 'gd', `source ${spec.name}, rule ${r.name}`)
    out.push({ index, name: r.name, re, first: r.extract === 'first' })
  })
  return out
}

function compileNormalizers (spec: SourceSpec): Normalizer[] {
  return spec.normalize.map((n, i) => {
    const what = `source ${spec.name}, normalize rule ${i + 1}`
    return 'ignore' in n
      ? { ignore: compilePattern(n.ignore, '', what) }
      : { replace: compilePattern(n.replace, 'g', what), with: n.with }
  })
}

/** A map by rule name with no prototype, so that no rule name can clash with `constructor` and the like. */
function record (): Record<string, string> {
  return Object.create(null) as Record<string, string>
}

/** An RE2.Set of the patterns, or null if the Set refuses one that RE2 took (then no prefilter). */
function buildSet (patterns: string[]): InstanceType<typeof RE2.Set> | null {
  try {
    return new RE2.Set(patterns)
  } catch {
    return null
  }
}

/**
 * Compiles a source's rules, on a byte scanner when they are a built-in preset as shipped.
 * An invalid pattern throws FM_ERR_CONFIG naming the source, the rule and RE2's message.
 */
export function compileExtractor (spec: SourceSpec): Extractor {
  return new CompiledExtractor(spec, true)
}

/** Compiles a source's rules on RE2 even where the scanner applies (tests and benchmarks compare the two). */
export function compileRe2Extractor (spec: SourceSpec): Extractor {
  return new CompiledExtractor(spec, false)
}

class CompiledExtractor implements Extractor {
  readonly rules: RuleSpec[]
  readonly engine: 'scanner' | 're2'
  private readonly lookup: Compiled[]
  private readonly context: Compiled[]
  private readonly normalizers: Normalizer[]
  private readonly fast: FastPath | null
  /**
   * One RE2.Set pass says which lookup rules match at all: most events match none, and one native
   * call is cheaper than one exec per rule.
   */
  private readonly prefilter: InstanceType<typeof RE2.Set> | null
  /** The cef preset's RE_URL, and its twin for all-ASCII events (scan-cef.ts). */
  private readonly cefUrl: Compiled | null = null
  private readonly cefUrlAscii: Compiled | null = null
  private readonly names: Map<string, number>
  /** With the scanner: the source's own lookup rules, on RE2, each behind a literal it needs. */
  private readonly extra: Array<{ c: Compiled, literal: Buffer | null, buf: Buffer | null, from: number, at: number }> = []

  constructor (spec: SourceSpec, allowScanner: boolean) {
    this.rules = mergeRules(spec)
    this.lookup = compileRules(spec, this.rules, false)
    this.context = compileRules(spec, this.rules, true)
    this.normalizers = compileNormalizers(spec)
    this.fast = allowScanner ? fastPath(spec, this.rules) : null
    this.engine = this.fast === null ? 're2' : 'scanner'
    this.prefilter = this.fast === null && this.lookup.length > 1 ? buildSet(this.lookup.map((c) => this.rules[c.index].pattern)) : null
    this.names = new Map(this.rules.map((r, i) => [r.name, i]))
    const fast = this.fast
    if (fast !== null) {
      const preset = PRESETS[spec.preset]
      for (const c of this.lookup) {
        const r = this.rules[c.index]!
        if (!preset.includes(r)) this.extra.push({ c, literal: requiredLiteral(r.pattern), buf: null, from: 0, at: -1 })
      }
    }
    if (fast?.kind === 'cef') {
      const url = this.lookup.find((c) => c.index === fast.url) as Compiled
      this.cefUrl = url
      const ascii = asciiUrlPattern(this.rules[url.index].pattern)
      this.cefUrlAscii = { ...url, re: compilePattern(ascii, 'gd', `source ${spec.name}, rule ${url.name}`) }
    }
  }

  run (buf: Buffer, start: number, end: number, out: Candidates): boolean {
    const fast = this.fast
    if (fast === null) return this.runRe2(buf, start, end, out)
    out.clear(buf, start, end)
    if (fast.kind === 'generic') {
      scanGeneric(buf, start, end, fast.rules, out)
      if (fast.domain >= 0) {
        const hay = haystack(buf, start, end)
        scanDomains(buf, hay, hay === buf ? 0 : start, start, end, fast.domain, out)
      }
      this.runExtra(buf, start, end, out)
      return true
    }
    const url = scanCef(buf, start, end, fast.rules, out)
    if (url !== NO_URL) {
      const c = (url === URL_ASCII ? this.cefUrlAscii : this.cefUrl) as Compiled
      forEachMatch(c.re, buf.subarray(start, end), c.first, (s, e) => e > s && out.push(c.index, start + s, start + e))
    }
    this.runExtra(buf, start, end, out)
    return true
  }

  // The source's own lookup rules beside the scanner. Hot path for such sources: most events
  // lack the literal a rule needs (`query=`, `host=`). Events of a batch come in order, so the
  // next place the literal occurs is searched once for many events (one native search per hit,
  // not per event: a search or a view per event cost a quarter of the scan); it is searched again
  // when an event starts before the last one ended (a new batch, or a reused buffer).
  private runExtra (buf: Buffer, start: number, end: number, out: Candidates): void {
    if (this.extra.length === 0) return
    let text: Buffer | null = null
    for (const x of this.extra) {
      const lit = x.literal
      if (lit !== null) {
        // Events of a batch do not overlap: one that starts before the last one ended is of a new
        // batch (batches are laid out from the buffer's start), and the buffer may hold new bytes.
        if (x.buf !== buf || start < x.from || (x.at >= 0 && x.at < start)) {
          x.buf = buf
          x.at = buf.indexOf(lit, start)
        }
        x.from = Math.max(end, start + 1)
        if (x.at < 0 || x.at + lit.length > end) continue
      }
      text ??= buf.subarray(start, end)
      const c = x.c
      forEachMatch(c.re, text, c.first, (s, e) => e > s && out.push(c.index, start + s, start + e))
    }
  }

  value (out: Candidates, i: number): string {
    return out.src.toString('utf8', out.start[i], out.end[i])
  }

  ruleValues (out: Candidates): Record<string, string> {
    const values = record()
    // Spans come ordered by rule then position: the first one seen is the rule's first value.
    for (let i = 0; i < out.n; i++) {
      const name = this.rules[out.rule[i]].name
      if (values[name] === undefined) values[name] = this.value(out, i)
    }
    this.contextInto(out.src.subarray(out.eventStart, out.eventEnd), values)
    return values
  }

  contextValues (buf: Buffer, start: number, end: number): Record<string, string> {
    const values = record()
    if (this.context.length > 0) this.contextInto(this.normalize(buf.subarray(start, end), false) as Buffer, values)
    return values
  }

  indexOf (name: string): number {
    return this.names.get(name) ?? -1
  }

  private runRe2 (buf: Buffer, start: number, end: number, out: Candidates): boolean {
    let src = buf
    let text = buf.subarray(start, end)
    let base = start
    if (this.normalizers.length > 0) {
      const t = this.normalize(text, true)
      if (t === null) { out.clear(text); return false }
      src = text = t
      base = 0
    }
    out.clear(src, base, base + text.length)
    const only = this.prefilter === null ? null : this.prefilter.match(text)
    if (only !== null && only.length === 0) return true
    for (let k = 0; k < this.lookup.length; k++) {
      if (only !== null && !only.includes(k)) continue
      const c = this.lookup[k]
      forEachMatch(c.re, text, c.first, (s, e) => e > s && out.push(c.index, base + s, base + e))
    }
    return true
  }

  /** Applies the normalize rules; null when an `ignore` rule drops the event. */
  private normalize (text: Buffer, withIgnore: boolean): Buffer | null {
    for (const n of this.normalizers) {
      if ('ignore' in n) {
        if (withIgnore && n.ignore.test(text)) return null
      } else {
        n.replace.lastIndex = 0
        text = n.replace.replace(text, n.with)
      }
    }
    return text
  }

  private contextInto (text: Buffer, values: Record<string, string>): void {
    for (const c of this.context) {
      forEachMatch(c.re, text, true, (s, e) => { values[c.name] = text.toString('utf8', s, e); return true })
    }
  }
}
