/**
 * `a/b/c` paths into parsed records (feed records when they are read, contexts when a detection
 * copies actionable fields): one walk for the feed parsers and the matcher.
 */

// Paths are split once: the same few mapping paths are read for every record of a feed.
const splitCache = new Map<string, string[]>()

function segments (path: string): string[] {
  let segs = splitCache.get(path)
  if (segs === undefined) {
    segs = path.split('/').filter((s) => s !== '')
    if (splitCache.size < 1024) splitCache.set(path, segs)
  }
  return segs
}

/**
 * The value at `a/b/c` in a parsed record; a path through an array collects that path in every
 * element, flattened into one array. `undefined` when nothing is there.
 */
export function getField (obj: unknown, path: string): unknown {
  if (path.indexOf('/') < 0) {
    // The common case (a top-level field) without the walk.
    if (path === '') return obj
    return isObject(obj) ? obj[path] : Array.isArray(obj) ? walk(obj, [path], 0) : undefined
  }
  return walk(obj, segments(path), 0)
}

function walk (value: unknown, segs: string[], i: number): unknown {
  let cur = value
  for (; i < segs.length; i++) {
    if (Array.isArray(cur)) {
      const out: unknown[] = []
      for (const el of cur) {
        const v = walk(el, segs, i)
        if (Array.isArray(v)) out.push(...v.flat(Infinity))
        else if (v !== undefined) out.push(v)
      }
      return out
    }
    if (!isObject(cur)) return undefined
    cur = cur[segs[i]]
  }
  return cur
}

function isObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
