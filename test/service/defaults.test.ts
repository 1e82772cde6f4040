/**
 * Defaults that run: `feedmatch serve` with no option and no config listens on 127.0.0.1:9999,
 * serves the demo feeds and writes `alienvault` detections to stdout, whatever the working folder.
 */
import { it } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { once } from 'node:events'
import {
  ServiceProcess, expectOnce, expectedVerificationKeys, sendTcp, tempDir, verificationEvents, waitFor
} from '../helpers/net.js'

const PORT = 9999

/** True when nothing listens on 127.0.0.1:9999 (so the service can take it). */
async function portFree (): Promise<boolean> {
  const server = net.createServer()
  server.on('error', () => {})
  server.listen({ port: PORT, host: '127.0.0.1', exclusive: true })
  const [what] = await Promise.race([once(server, 'listening').then(() => ['free']), once(server, 'error').then(() => ['taken'])])
  if (what === 'free') {
    server.close()
    await once(server, 'close')
  }
  return what === 'free'
}

it('`serve` alone: 127.0.0.1:9999 in, alienvault detections of the demo feeds on stdout', { timeout: 60_000 }, async (t) => {
  if (!await portFree()) {
    t.skip('port 9999 is taken on this machine: the defaults cannot be tested here')
    return
  }
  const cwd = await tempDir()
  const svc = await ServiceProcess.start([], { cwd: cwd.path })
  try {
    assert.deepEqual(svc.addresses, [{ protocol: 'tcp', host: '127.0.0.1', port: PORT }])
    await waitFor(() => svc.stdout.lines.some((l) => l.startsWith('alert=started')), 'alert=started on stdout')
    await sendTcp(PORT, verificationEvents())
    await expectOnce(() => svc.stdout.lines, 0, expectedVerificationKeys(), 'stdout')
    const { code } = await svc.stop()
    assert.equal(code, 0)
    assert.ok(svc.stdout.lines.some((l) => l.startsWith('alert=stopping')), 'alert=stopping on stdout')
    assert.equal(svc.logs.some((l) => (l.level ?? 0) >= 50), false, 'no error in the log')
  } finally {
    svc.kill()
    await cwd.remove()
  }
})
