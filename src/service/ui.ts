/**
 * The web UI's files (built by scripts/build-ui.mjs into dist/ui), served by the API at /ui. The
 * files are read once, by name: only what the build wrote can be asked for, so no path of a
 * request ever reaches the file system. The UI calls the same endpoints with the user's token;
 * the files themselves are public (they hold no data), under a strict Content-Security-Policy.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  map: 'application/json; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
}

/** Same origin only, nothing inline, no framing: a page that holds a token gets no foreign code. */
export const UI_HEADERS = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
}

export interface UiFile { body: Buffer, type: string }

/** The built files by URL path (`/ui/`, `/ui/app.js`...); empty when the UI was not built. */
export function loadUi (): Map<string, UiFile> {
  const here = import.meta.url
  // From dist/service/ui.js: dist/ui. Under tsx, from src/service/ui.ts: the same dist/ui.
  const dir = fileURLToPath(new URL(here.endsWith('.ts') ? '../../dist/ui/' : '../ui/', here))
  const files = new Map<string, UiFile>()
  let names: string[]
  try { names = readdirSync(dir) } catch { return files }
  for (const name of names) {
    const type = TYPES[name.slice(name.lastIndexOf('.') + 1)]
    if (type === undefined) continue
    const body = readFileSync(dir + name)
    files.set(`/ui/${name}`, { body, type })
    if (name === 'index.html') files.set('/ui/', { body, type })
  }
  return files
}
