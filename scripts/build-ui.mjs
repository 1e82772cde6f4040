// Builds the web UI (src/ui) into dist/ui: one bundle by esbuild (Preact, Chart.js), the page and
// its stylesheet copied beside it. The API serves that folder at /ui (src/service/ui.ts).
import { build } from 'esbuild'
import { copyFileSync, mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../', import.meta.url))
const out = `${root}dist/ui`
mkdirSync(out, { recursive: true })
await build({
  entryPoints: [`${root}src/ui/main.tsx`],
  outfile: `${out}/app.js`,
  bundle: true,
  format: 'esm',
  minify: true,
  sourcemap: true,
  target: 'es2022',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'linked',
  logLevel: 'warning',
})
for (const f of ['index.html', 'app.css']) copyFileSync(`${root}src/ui/${f}`, `${out}/${f}`)
