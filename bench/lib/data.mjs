// The bench's generated data, made on first use and reused after: indicator sets (by
// scripts/make-bench-data.mjs, through feeds.bench.mjs) and log corpora (by scripts/make-corpus.mjs).
// Everything lives under bench/corpus/, which git ignores.
import { execFileSync } from 'node:child_process'
import { closeSync, createReadStream, createWriteStream, existsSync, fstatSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync } from 'node:fs'
import { mkdir, open } from 'node:fs/promises'
import { cpus } from 'node:os'
import { basename, join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { fileURLToPath } from 'node:url'
import { createGzip } from 'node:zlib'

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

/** Parts of the gzip archive set, and the gzip level (gzip's default, what logrotate writes). */
const GZ_PARTS = 4
export const GZ_LEVEL = 6

/** Offsets that cut `file` (of `size` bytes) into `parts` pieces of about equal size, each after a LF. */
async function lineCuts (file, size, parts) {
  const fh = await open(file, 'r')
  const cuts = [0]
  try {
    const buf = Buffer.alloc(64 * 1024)
    for (let i = 1; i < parts; i++) {
      let pos = Math.max(Math.floor(size * i / parts), cuts[cuts.length - 1])
      let cut = size
      while (pos < size) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos)
        if (bytesRead === 0) break
        const lf = buf.subarray(0, bytesRead).indexOf(0x0a)
        if (lf >= 0) { cut = pos + lf + 1; break }
        pos += bytesRead
      }
      cuts.push(cut)
    }
  } finally {
    await fh.close()
  }
  cuts.push(size)
  return cuts
}

/**
 * The archive set in `dir` as `{ files, bytes, rawBytes }` (bytes on disk, bytes they inflate to),
 * or null when it is not all there. rawBytes comes from each member's gzip trailer (ISIZE, the size
 * mod 2^32: exact for parts under 4 GiB, which a 4-way cut of the bench corpus always is).
 */
export function gzSetOf (dir) {
  const files = Array.from({ length: GZ_PARTS }, (_, i) => join(dir, `part-${i}.log.gz`))
  if (!files.every((f) => existsSync(f))) return null
  let bytes = 0
  let rawBytes = 0
  const trailer = Buffer.alloc(4)
  for (const f of files) {
    const fd = openSync(f, 'r')
    try {
      const size = fstatSync(fd).size
      bytes += size
      if (size >= 18 && readSync(fd, trailer, 0, 4, size - 4) === 4) rawBytes += trailer.readUInt32LE(0)
    } finally {
      closeSync(fd)
    }
  }
  return { files, bytes, rawBytes }
}

/**
 * The corpus as a `.gz` archive set (issue 4's scan of rotated logs): `bench/corpus/<name>-gz/`
 * holding it cut at line boundaries into 4 parts, each gzip level 6. Made once and reused; made
 * again when the corpus is newer than a part or the parts do not inflate to its size. Written in a
 * scratch folder renamed into place, so a run cut short never leaves a partial set. The parts are
 * compressed with node's zlib (on the libuv pool), as many at a time as there are cores (at most
 * 4): the 500 MB set (100 MB of gzip) took 5 s here on 2 cores.
 * Returns { dir, files, bytes (compressed), rawBytes, generatedMs }.
 */
export async function ensureGzSet (corpusFile) {
  const name = basename(corpusFile).replace(/\.log$/, '')
  const dir = join(CORPUS, `${name}-gz`)
  const corpus = statSync(corpusFile)
  const have = gzSetOf(dir)
  if (have !== null && have.rawBytes === corpus.size && have.files.every((f) => statSync(f).mtimeMs > corpus.mtimeMs)) {
    return { dir, ...have, generatedMs: 0 }
  }
  const t0 = performance.now()
  const scratch = join(CORPUS, `.making-${name}-gz`)
  rmSync(scratch, { recursive: true, force: true })
  await mkdir(scratch, { recursive: true })
  const cuts = await lineCuts(corpusFile, corpus.size, GZ_PARTS)
  const jobs = cuts.slice(0, -1).map((start, i) => () => pipeline(
    // createReadStream's end is inclusive; an empty part (a corpus of fewer lines than parts) reads nothing.
    cuts[i + 1] > start ? createReadStream(corpusFile, { start, end: cuts[i + 1] - 1, highWaterMark: 1 << 20 }) : [],
    createGzip({ level: GZ_LEVEL }),
    createWriteStream(join(scratch, `part-${i}.log.gz`))
  ))
  const lanes = Math.max(1, Math.min(GZ_PARTS, cpus().length))
  const next = async () => { for (let job = jobs.shift(); job !== undefined; job = jobs.shift()) await job() }
  await Promise.all(Array.from({ length: lanes }, next))
  rmSync(dir, { recursive: true, force: true })
  renameSync(scratch, dir)
  const made = gzSetOf(dir)
  if (made === null || made.rawBytes !== corpus.size) throw new Error(`ensureGzSet: the parts in ${dir} do not inflate to the corpus size`)
  return { dir, ...made, generatedMs: performance.now() - t0 }
}
