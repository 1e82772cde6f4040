/**
 * Real peers from Debian packages (rsyslog, rsyslog-relp, ...). A test that needs one skips with a
 * loud message naming the package when it is missing, so `npm test` passes on a fresh machine;
 * with FEEDMATCH_REQUIRE_PEERS=1 (set by .ci/run, which installs them) it fails instead.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'

const REQUIRED = process.env.FEEDMATCH_REQUIRE_PEERS === '1'

/** The absolute path of `cmd` on PATH or in the sbin folders, or null. */
export function findTool (cmd: string): string | null {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/bin']) {
    if (dir !== '' && existsSync(join(dir, cmd))) return join(dir, cmd)
  }
  return null
}

/**
 * The `skip` option of a test that needs `file` (a program or a module file) from Debian's `pkg`:
 * false when it is there; a message (and a line on stderr) when it is not; throws under
 * FEEDMATCH_REQUIRE_PEERS=1, so CI cannot pass without the peer.
 */
export function skipWithout (file: string, pkg: string): false | string {
  const found = file.startsWith('/') ? existsSync(file) : findTool(file) !== null
  if (found) return false
  const msg = `${file} is missing: install the Debian package ${pkg} (apt-get install -y ${pkg}) to run this test`
  if (REQUIRED) throw new Error(`FEEDMATCH_REQUIRE_PEERS=1: ${msg}`)
  process.stderr.write(`\n*** SKIPPED: ${msg}\n`)
  return msg
}
