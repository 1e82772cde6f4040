/**
 * The URL of a worker entry file beside `base` (pass `import.meta.url`). The compiled CLI runs
 * `dist/.../x.js`. Tests run the sources through tsx, but Node 20 does not carry `--import tsx`
 * into worker threads, so from `src/.../y.ts` this points at the compiled twin in `dist/`
 * (`npm test` builds first): the data crossing threads is plain, so both sides agree.
 */
export function workerUrl (name: string, base: string): URL {
  if (!base.endsWith('.ts')) return new URL(`./${name}.js`, base)
  const dist = base.replace(/\/src\/((?:[^/]+\/)*)[^/]+\.ts$/, '/dist/$1')
  return new URL(`./${name}.js`, dist)
}
