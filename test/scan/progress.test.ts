/**
 * The progress bar of `scan` on a TTY (util-linux `script` gives the CLI one): on a .gz it follows
 * the compressed bytes behind what was matched, so a file that inflates 100x does not show 100%
 * while most of it is still being inflated and matched.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { CLI, FEEDS } from './helpers.js'
import { skipWithout } from '../helpers/peers.js'

test('a highly compressed .gz: the bar goes up with the matching, not with the reading', { skip: skipWithout('script', 'bsdutils'), timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fm-progress-'))
  const line = 'Mar  1 10:00:00 fw01 app[42]: act=allow src=10.0.0.1 dst=198.51.100.7 file=report.pdf user=alice\n'
  // About 300 MB of text in a .gz of about 1 MB: read in one chunk, inflated and matched for seconds.
  const gz = join(dir, 'big.log.gz')
  await writeFile(gz, gzipSync(Buffer.from(line.repeat(3_000_000)), { level: 9 }))
  const typescript = join(dir, 'tty.txt')
  const r = spawnSync('script', ['-qc', `stty cols 200; ${process.execPath} ${CLI} scan --feeds ${FEEDS} ${gz} > /dev/null`, typescript], { encoding: 'utf8', timeout: 100_000 })
  assert.equal(r.status, 0, r.stderr)
  const frames = (await readFile(typescript, 'latin1')).split('\r').map((f) => /\]\s+(\d+)% /.exec(f)?.[1]).filter((p): p is string => p !== undefined).map(Number)
  assert.ok(frames.length >= 3, `the bar was drawn a few times: ${frames.join(' ')}`)
  // Before the fix the first frame already said 100%: the whole file had been read.
  assert.ok(frames[0]! < 60, `the first frames follow the matching: ${frames.join(' ')}`)
  for (let i = 1; i < frames.length; i++) assert.ok(frames[i]! >= frames[i - 1]!, `the bar never goes back: ${frames.join(' ')}`)
})
