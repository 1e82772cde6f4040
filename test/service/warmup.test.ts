/**
 * Start-up warm-up (service/warmup.ts): the workers match synthetic events, with the demo feeds'
 * own indicators planted in them, before the service listens. None of it may reach the output or
 * the statistics; and a pool whose workers cannot start fails the start with FM_ERR_WORKER
 * instead of leaving every batch waiting.
 */
import { it } from 'node:test'
import assert from 'node:assert/strict'
import { cp, rm, symlink } from 'node:fs/promises'
import { join } from 'node:path'
import {
  DEMO_FEEDS, ROOT, ServiceProcess, expectOnce, expectedVerificationKeys, isAlert, sendTcp, tempDir, verificationEvents, waitFor
} from '../helpers/net.js'

it('the warm-up runs before listening, and nothing of it is output or counted', { timeout: 60_000 }, async () => {
  const svc = await ServiceProcess.start(['--feeds', DEMO_FEEDS, '--listen', 'tcp://127.0.0.1:0', '--output', 'stdout', '--preset', 'alienvault'])
  try {
    const warmed = svc.logged('match pipeline warmed up')
    assert.equal(warmed.length, 1, 'the warm-up is logged once')
    assert.ok(svc.logs.indexOf(warmed[0]) < svc.logs.indexOf(svc.logged('feedmatch is serving')[0]), 'before the service listens')
    await waitFor(() => svc.stdout.lines.some((l) => l.startsWith('alert=started')), 'alert=started on stdout')
    // The warm-up matched demo-feed indicators: had its frames leaked, they would be here by now.
    assert.deepEqual(svc.stdout.lines, svc.stdout.lines.filter(isAlert), 'only service events before any input')
    const events = verificationEvents()
    await sendTcp(svc.port(), events)
    await expectOnce(() => svc.stdout.lines, 0, expectedVerificationKeys(), 'stdout')
    const { code, stats } = await svc.stop()
    assert.equal(code, 0)
    assert.equal(stats.events, events.length, 'the statistics count the events sent, not the warm-up')
    assert.equal(stats.detections, svc.stdout.lines.filter((l) => !isAlert(l)).length)
  } finally {
    svc.kill()
  }
})

it('match workers that cannot start: FM_ERR_WORKER and exit 2, at once, instead of a hang', { timeout: 60_000 }, async () => {
  // An incomplete installation: the compiled tree without the match worker's entry file.
  const dir = await tempDir()
  try {
    await cp(join(ROOT, 'dist'), join(dir.path, 'dist'), { recursive: true })
    await rm(join(dir.path, 'dist/workers/match-worker.js'))
    await symlink(join(ROOT, 'node_modules'), join(dir.path, 'node_modules'))
    const svc = await ServiceProcess.start(['--feeds', DEMO_FEEDS, '--listen', 'tcp://127.0.0.1:0', '--output', 'stdout'], { script: join(dir.path, 'dist/cli/main.js'), noWait: true })
    const timer = setTimeout(() => svc.kill(), 45_000)
    const { code } = await svc.exited
    clearTimeout(timer)
    const stderr = svc.stderrText.join('\n')
    assert.equal(code, 2, `exit status\n${svc.describe()}`)
    assert.match(stderr, /FM_ERR_WORKER: a match worker failed: .*match-worker\.js/)
    assert.match(stderr, /check that the installation is complete/)
    assert.equal(svc.logged('feedmatch is serving').length, 0, 'it never listened')
  } finally {
    await dir.remove()
  }
})
