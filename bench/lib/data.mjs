// The bench's generated data, made on first use and reused after: indicator sets (by
// scripts/make-bench-data.mjs, through feeds.bench.mjs) and log corpora (by scripts/make-corpus.mjs).
// Everything lives under bench/corpus/, which git ignores.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CORPUS = join(ROOT, 'bench/corpus')
const MAKE_CORPUS = join(ROOT, 'scripts/make-corpus.mjs')

/**
 * The folder of the seeded indicator set of `count` (made if missing) and how long making it took.
 * It is made in a scratch folder and renamed into place, so a run cut short (10M takes a minute)
 * never leaves a partial set that a later run would take for a whole one.
 */
export function ensureIndicators (count) {
  const dir = join(CORPUS, `indicators-${count}`)
  if (existsSync(join(dir, 'list.txt'))) return { dir, generatedMs: 0 }
  const scratch = join(CORPUS, `.making-${count}`)
  rmSync(scratch, { recursive: true, force: true })
  const t0 = performance.now()
  execFileSync(process.execPath, [join(ROOT, 'scripts/make-bench-data.mjs'), '--count', String(count), '--out', scratch], { stdio: ['ignore', 'ignore', 'inherit'] })
  rmSync(dir, { recursive: true, force: true })
  renameSync(join(scratch, `indicators-${count}`), dir)
  rmSync(scratch, { recursive: true, force: true })
  return { dir, generatedMs: performance.now() - t0 }
}

/** Corpus size in MB: the issue's ~500 MB for the full run, ~20 MB for --quick. */
export const corpusMb = (quick) => quick ? 20 : 500

/**
 * The corpus for the indicator set in `indicators` (made if missing, or older than its generator or
 * its list, so a changed generator never benchmarks a stale file); returns its path and sidecar.
 */
export function ensureCorpus (indicators, quick) {
  const mb = corpusMb(quick)
  const name = `corpus-${mb}mb-${indicators.split('/').filter(Boolean).pop()}`
  const file = join(CORPUS, `${name}.log`)
  const side = join(CORPUS, `${name}.json`)
  const fresh = existsSync(file) && existsSync(side) &&
    statSync(side).mtimeMs > statSync(MAKE_CORPUS).mtimeMs &&
    statSync(side).mtimeMs > statSync(join(indicators, 'list.txt')).mtimeMs
  let generatedMs = 0
  if (!fresh) {
    const t0 = performance.now()
    execFileSync(process.execPath, [MAKE_CORPUS, '--indicators', indicators, '--size', `${mb}MB`, '--out', CORPUS], { stdio: ['ignore', 'ignore', 'inherit'] })
    generatedMs = performance.now() - t0
  }
  return { file, meta: JSON.parse(readFileSync(side, 'utf8')), generatedMs }
}

/** Whether the indicator set of `count` is on disk already (using it then costs no generation). */
export const haveIndicators = (count) => existsSync(join(CORPUS, `indicators-${count}`, 'list.txt'))

/** The Kaspersky-format feed files of an indicator set, as make-bench-data.mjs names them. */
export const FEED_FILES = ['kl_malicious_hash.json', 'kl_ip_reputation.json', 'kl_malicious_url.json']
