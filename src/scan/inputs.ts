/**
 * The PATH arguments of `scan` expanded to files: files as given, folders walked recursively
 * (entries in name order, so output order does not depend on the file system), globs (`*`, `?`,
 * `[...]`, `{a,b}`, `**`) matched by a small walker (Node 20 has no fs.glob), `-` for stdin.
 * A path that is missing or unreadable is reported and skipped: the scan goes on.
 */
import { lstat, readdir, stat } from 'node:fs/promises'
import { join, sep } from 'node:path'
import { globBase, globToRegExp, hasMagic } from './path-glob.js'

/** One file to scan: where to open it, how output names it, its size on disk. */
export interface InputFile {
  path: string
  label: string
  size: number
}

/** The expansion: files in order, and whether stdin (`-`) is among the inputs (scanned first). */
export interface Inputs {
  files: InputFile[]
  stdin: boolean
}

/** Reports a path that could not be used (it counts as an error of the scan). */
export type Problem = (label: string, message: string) => void

function reason (err: unknown): string {
  const e = err as NodeJS.ErrnoException
  if (e.code === 'ENOENT') return 'no such file or folder'
  if (e.code === 'EACCES' || e.code === 'EPERM') return 'permission denied'
  return e.message
}

/** Walks a folder; files in name order, then nothing else (devices, sockets are not logs). */
async function walk (dir: string, label: string, depth: number, out: InputFile[], problem: Problem, filter?: (rel: string) => boolean, rel = ''): Promise<void> {
  let entries
  try {
    entries = await readdir(dir, { withFileTypes: true })
  } catch (err) {
    problem(label, `cannot read the folder: ${reason(err)}`)
    return
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  for (const e of entries) {
    const path = join(dir, e.name)
    const l = join(label, e.name)
    const r = rel === '' ? e.name : `${rel}/${e.name}`
    // Symbolic links to files are followed; links to folders are not, so a loop cannot trap the walk.
    if (e.isDirectory()) {
      if (depth > 0) await walk(path, l, depth - 1, out, problem, filter, r)
      continue
    }
    if (!e.isFile() && !e.isSymbolicLink()) continue
    if (filter !== undefined && !filter(r)) continue
    try {
      const s = await stat(path)
      if (s.isFile()) out.push({ path, label: l, size: s.size })
    } catch (err) {
      problem(l, reason(err))
    }
  }
}

/** Expands the PATH arguments; problems are reported through `problem` and skipped. */
export async function expandInputs (args: string[], problem: Problem): Promise<Inputs> {
  const files: InputFile[] = []
  let stdin = false
  for (const arg of args) {
    if (arg === '-') { stdin = true; continue }
    let s
    try {
      s = await stat(arg)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && hasMagic(arg)) {
        const before = files.length
        await expandGlob(arg, files, problem)
        if (files.length === before) problem(arg, 'no file matches this pattern')
        continue
      }
      // A dangling link, or a folder on the way that cannot be entered.
      problem(arg, reason(err))
      continue
    }
    if (s.isDirectory()) await walk(arg, arg, Infinity, files, problem)
    else if (s.isFile()) files.push({ path: arg, label: arg, size: s.size })
    else problem(arg, 'not a regular file or a folder')
  }
  return { files: dedupe(files), stdin }
}

async function expandGlob (pattern: string, out: InputFile[], problem: Problem): Promise<void> {
  const { base, rest } = globBase(pattern)
  const re = globToRegExp(rest)
  // Without `**` a pattern of n segments never needs to look deeper than n folders down.
  const depth = rest.includes('**') ? Infinity : rest.split('/').length - 1
  try {
    if (!(await lstat(base === '' ? '.' : base)).isDirectory()) return
  } catch {
    return
  }
  await walk(base === '' ? '.' : base, base, depth, out, problem, (rel) => re.test(rel))
}

/** The same file named twice (a folder and a file inside it) is scanned once, where first named. */
function dedupe (files: InputFile[]): InputFile[] {
  const seen = new Set<string>()
  return files.filter((f) => {
    const key = join(f.path).split(sep).join('/')
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}
