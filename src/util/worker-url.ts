/**
 * The URL of a worker entry file beside `base` (pass `import.meta.url`). The compiled CLI runs
 * `dist/.../x.js`; tests run the sources through tsx, where the sibling is `x.ts`.
 */
export function workerUrl (name: string, base: string): URL {
  const ext = base.endsWith('.ts') ? '.ts' : '.js'
  return new URL(`./${name}${ext}`, base)
}
