/**
 * Helpers of the `scan` tests: the compiled CLI as a child process, and a folder of logs and
 * archives with the verification events planted at known files and lines. The expected output is
 * derived from a scan of fixtures/verification/events.txt (checked against expected.json first).
 */
import { execFile, execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const CLI = join(ROOT, 'dist/cli/main.js')
export const FEEDS = join(ROOT, 'fixtures/feeds')
export const EVENTS = join(ROOT, 'fixtures/verification/events.txt')
export const EXPECTED = join(ROOT, 'fixtures/verification/expected.json')
/** The range size the tests force, so that a small file is cut in many places. */
export const RANGE = 4096

export interface Run { code: number, stdout: string, stderr: string }

/** Runs `feedmatch ARGS` (compiled) in `cwd`, with `input` on stdin; `nodeArgs` go to node itself. */
export function cli (args: string[], opts: { cwd?: string, input?: string | Buffer, nodeArgs?: string[] } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [...(opts.nodeArgs ?? []), CLI, ...args], { cwd: opts.cwd ?? ROOT, maxBuffer: 256 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? -1, stdout, stderr })
    })
    child.stdin?.end(opts.input)
  })
}

/** An NDJSON detection as scan writes it. */
export interface Det { feed: string, category: string, type: string, matched: string, value: string, rule: string, context: unknown, file: string, line: number }

/** Parses NDJSON output. */
export function ndjson (text: string): Det[] {
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Det)
}

const filler = (i: number): string =>
  `<134>Mar  1 10:${String(i % 60).padStart(2, '0')}:00 app-${i % 7} svc[${100 + i}]: request id=${i} took ${i % 97}ms status=ok from 10.99.${i % 200}.${(i * 7) % 250 + 1}`

/** Where one verification event (0-based index into events.txt) was planted. */
export interface Plant { label: string, line: number, event: number }

/** Lines with events planted every `every` lines; records the plants under `label`. */
function plantEvery (events: string[], which: number[], every: number, label: string, plants: Plant[]): string {
  const lines: string[] = []
  let k = 0
  for (let i = 0; k < which.length; i++) {
    if (i % every === every - 1) {
      lines.push(events[which[k]])
      plants.push({ label, line: lines.length, event: which[k] })
      k++
    } else {
      lines.push(filler(i))
    }
  }
  lines.push(filler(9999))
  return lines.join('\n') + '\n'
}

/**
 * A big file for range cuts of RANGE bytes: events planted across a cut, starting exactly at one,
 * ending exactly at one (LF on the last byte before it), and inside a line longer than a range.
 */
function rangeFile (events: string[], which: number[], label: string, plants: Plant[]): string {
  let text = ''
  let line = 0
  const add = (s: string): void => { text += s + '\n'; line++ }
  which.forEach((ev, k) => {
    const body = k === which.length - 1 ? `${'x'.repeat(3 * RANGE)} ${events[ev]}` : events[ev]
    const cut = Math.ceil((text.length + 600 + body.length) / RANGE) * RANGE
    const mode = k % 3
    const start = mode === 0 ? cut - Math.floor(body.length / 2) : mode === 1 ? cut : cut - body.length - 1
    while (start - text.length > 250) add(filler(line))
    add('pad ' + 'z'.repeat(start - text.length - 5))
    add(body)
    plants.push({ label, line, event: ev })
  })
  for (let i = 0; i < 40; i++) add(filler(line))
  return text
}

/** One ustar header block; `type` '0' for a file, 'x' for a pax extended header. */
function ustarHeader (name: string, size: number, type: string): Buffer {
  const h = Buffer.alloc(512)
  h.write(name.slice(0, 100), 0)
  h.write('0000644\0', 100); h.write('0000000\0', 108); h.write('0000000\0', 116)
  h.write(size.toString(8).padStart(11, '0') + '\0', 124)
  h.write('00000000000\0', 136)
  h.write(type, 156)
  h.write('ustar\0', 257); h.write('00', 263)
  h.fill(0x20, 148, 156)
  let sum = 0
  for (const b of h) sum += b
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148)
  return h
}

/** A tar of `members` (paths under `dir`), with a pax header for names over 100 bytes. */
async function ustarWrite (dir: string, members: string[]): Promise<Buffer> {
  const blocks: Buffer[] = []
  const padded = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)])
  for (const m of members) {
    const data = await readFile(join(dir, m))
    if (Buffer.byteLength(m) > 100) {
      // A pax record is "LEN path=VALUE\n", LEN counting its own digits too.
      const body = ` path=${m}\n`
      let len = Buffer.byteLength(body) + String(Buffer.byteLength(body)).length
      if (String(len).length > String(Buffer.byteLength(body)).length) len++
      const rec = `${len}${body}`
      blocks.push(ustarHeader('PaxHeader', Buffer.byteLength(rec), 'x'), padded(Buffer.from(rec)))
    }
    blocks.push(ustarHeader(m, data.length, '0'), padded(data))
  }
  blocks.push(Buffer.alloc(1024))
  return Buffer.concat(blocks)
}

/** A tar made by the system's tar when there is one (real-world GNU headers), else by ustarWrite. */
async function makeTar (dir: string, out: string, members: string[], gzip: boolean, system: boolean): Promise<void> {
  if (system) {
    try {
      execFileSync('tar', [gzip ? '-czf' : '-cf', out, '-C', dir, ...members], { stdio: 'ignore' })
      return
    } catch { /* no tar here: write one ourselves */ }
  }
  const tar = await ustarWrite(dir, members)
  await writeFile(out, gzip ? gzipSync(tar) : tar)
}

/** The folder of the mixed-input tests, the plants, and the labels in output order. */
export interface Fixture { dir: string, plants: Plant[], order: string[], events: string[] }

/**
 * Builds the folder: plain, .gz, .tar.gz (with a long member name and a binary member), a
 * subfolder, .tar, a big file, a binary file. Tars come from the system's tar (GNU long names)
 * unless `systemTar` is false (then ustarWrite: pax headers).
 */
export async function makeFixture (opts: { systemTar?: boolean } = {}): Promise<Fixture> {
  const events = (await readFile(EVENTS, 'utf8')).split('\n').filter((l) => l !== '')
  const dir = await mkdtemp(join(tmpdir(), 'fm-scan-'))
  const src = await mkdtemp(join(tmpdir(), 'fm-scan-src-'))
  const plants: Plant[] = []
  const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i)
  const longName = `logs/${'a-rather-long-member-name-'.repeat(6)}.log`

  await writeFile(join(dir, 'a.log'), plantEvery(events, range(0, 10), 3, 'a.log', plants))
  await writeFile(join(dir, 'b.log.gz'), gzipSync(plantEvery(events, range(10, 20), 4, 'b.log.gz', plants)))
  await mkdir(join(src, 'logs'), { recursive: true })
  await mkdir(join(src, 'bin'))
  await writeFile(join(src, 'logs/x.log'), plantEvery(events, range(20, 28), 2, 'c.tar.gz:logs/x.log', plants))
  await writeFile(join(src, longName), plantEvery(events, range(28, 31), 5, `c.tar.gz:${longName}`, plants))
  await writeFile(join(src, 'bin/blob.bin'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 1, 2, 0, 0]))
  await makeTar(src, join(dir, 'c.tar.gz'), ['logs/x.log', longName, 'bin/blob.bin'], true, opts.systemTar ?? true)
  await mkdir(join(dir, 'd/e'), { recursive: true })
  await writeFile(join(dir, 'd/e/deep.log'), plantEvery(events, range(31, 34), 2, 'd/e/deep.log', plants))
  await mkdir(join(src, 'x'))
  await writeFile(join(src, 'x/y.log'), plantEvery(events, range(34, 36), 3, 'f.tar:x/y.log', plants))
  await makeTar(src, join(dir, 'f.tar'), ['x/y.log'], false, opts.systemTar ?? true)
  await writeFile(join(dir, 'huge.log'), rangeFile(events, range(36, 46), 'huge.log', plants))
  await writeFile(join(dir, 'skip.bin'), Buffer.concat([Buffer.from('MZ'), Buffer.alloc(64), Buffer.from(events[0])]))
  const order = ['a.log', 'b.log.gz', 'c.tar.gz:logs/x.log', `c.tar.gz:${longName}`, 'd/e/deep.log', 'f.tar:x/y.log', 'huge.log']
  return { dir, plants, order, events }
}

/** The detections of each line of events.txt (1-based), from a scan of it. */
export async function detectionsByEvent (): Promise<Map<number, Det[]>> {
  const r = await cli(['scan', '--feeds', FEEDS, '--no-progress', EVENTS])
  if (r.code !== 1) throw new Error(`scanning events.txt: exit ${r.code}: ${r.stderr}`)
  const by = new Map<number, Det[]>()
  for (const d of ndjson(r.stdout)) by.set(d.line, [...(by.get(d.line) ?? []), d])
  return by
}

/** What scanning the fixture must print, in order: each plant's event detections, renamed. */
export function expectedOutput (f: Fixture, by: Map<number, Det[]>): Det[] {
  const sorted = [...f.plants].sort((a, b) => f.order.indexOf(a.label) - f.order.indexOf(b.label) || a.line - b.line)
  return sorted.flatMap((p) => (by.get(p.event + 1) ?? []).map((d) => ({ ...d, file: p.label, line: p.line })))
}
