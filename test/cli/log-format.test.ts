/**
 * The service's own log: JSON lines when stderr is not a terminal (collectors, these tests), short
 * pretty lines with --log-format pretty (the default on a terminal), both from the compiled CLI.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CLI = join(ROOT, 'dist/cli/main.js')

/** serve until it says it is serving (or 30 s), then SIGTERM; its stderr. */
async function serveLog (args: string[], env: Record<string, string> = {}): Promise<string> {
  const childEnv: Record<string, string | undefined> = { ...process.env, ...env }
  delete childEnv.NODE_TEST_CONTEXT // the child is a program under test, not a test file
  const child = spawn(process.execPath, [CLI, 'serve', '--listen', 'tcp://127.0.0.1:0', '--output', 'stdout', '--workers', '1', ...args],
    { cwd: ROOT, env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  child.stderr.setEncoding('utf8')
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 30_000)
    child.stderr.on('data', (s: string) => { err += s; if (err.includes('feedmatch is serving')) { clearTimeout(timer); resolve() } })
  })
  child.kill('SIGTERM')
  // 'close', not 'exit': stderr is read to its end only then.
  await new Promise((resolve) => child.once('close', resolve))
  assert.equal(child.exitCode, 0, `serve stopped cleanly: ${err}`)
  return err
}

test('JSON lines by default when stderr is a pipe; pretty lines with --log-format pretty or FEEDMATCH_LOG_FORMAT', async () => {
  const json = await serveLog([])
  const first = json.split('\n').find((l) => l.includes('feedmatch is serving'))!
  assert.equal((JSON.parse(first) as { msg: string }).msg, 'feedmatch is serving')
  for (const [args, env] of [[['--log-format', 'pretty'], {}], [[], { FEEDMATCH_LOG_FORMAT: 'pretty' }]] as const) {
    const text = await serveLog([...args], env)
    const line = text.split('\n').find((l) => l.includes('feedmatch is serving'))!
    assert.match(line, /^\[\d\d:\d\d:\d\d\] INFO: feedmatch is serving/, line)
    // The final statistics are one short line, not the whole snapshot.
    const stats = text.split('\n').find((l) => l.includes('final statistics')) ?? `none in: ${text}`
    assert.ok(stats.length < 300, `a short statistics line: ${stats}`)
    assert.match(stats, /"events":\d+/)
  }
})
