/**
 * Domains outside URLs, end to end through the compiled CLI: a Zeek dns.log, a BIND query log, a
 * squid CONNECT and an sshd rhost, scanned with a source on the `dns` preset, detect the listed
 * domains (and their subdomains); the `generic` preset, which only takes URLs with a scheme, does not.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cli, ndjson } from './helpers.js'

test('the dns preset finds bare domains in DNS, proxy and ssh logs; the generic preset does not', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fm-dns-'))
  const feed = join(dir, 'domains.txt')
  await writeFile(feed, 'evil.example\nbad-c2.net\nphish.test\n')
  const log = join(dir, 'mixed.log')
  await writeFile(log, [
    '1700000000.123456\tCk3Jd1\t10.0.0.5\t53124\t10.0.0.1\t53\tudp\t4711\t-\tcdn.EVIL.example\t1\tC_INTERNET\t1\tA',
    '07-Dec-2026 10:00:01.000 queries: info: client @0x7f 10.0.0.6#40000 (bad-c2.net): query: bad-c2.net IN A +E(0)K (10.0.0.1)',
    '1700000001.000 200 10.0.0.7 TCP_TUNNEL/200 0 CONNECT phish.test:443 - HIER_DIRECT/203.0.113.9 -',
    'sshd[812]: pam_unix(sshd:auth): authentication failure; logname= uid=0 rhost=evil.example user=root',
    'opened report.pdf with reader v1.2.3 from notevil.example.org',
  ].join('\n') + '\n')
  const config = join(dir, 'feedmatch.yaml')
  await writeFile(config, `input:\n  sources:\n    - { name: default, preset: dns }\nfeeds:\n  sources:\n    - { path: ${feed}, format: list }\n`)
  const r = await cli(['scan', '-c', config, log])
  assert.equal(r.code, 1, r.stderr)
  const got = ndjson(r.stdout).map((d) => `${d.line} ${d.rule} ${d.type} ${d.value} ${d.matched}`)
  assert.deepEqual(got, [
    '1 RE_DOMAIN domain cdn.evil.example evil.example',
    // BIND names the query twice on the line, in brackets and after `query:`: one detection a value.
    '2 RE_DOMAIN domain bad-c2.net bad-c2.net',
    '3 RE_DOMAIN domain phish.test phish.test',
    '4 RE_DOMAIN domain evil.example evil.example',
  ])
  const generic = join(dir, 'generic.yaml')
  await writeFile(generic, `feeds:\n  sources:\n    - { path: ${feed}, format: list }\n`)
  const g = await cli(['scan', '-c', generic, log])
  assert.equal(g.code, 0, `the generic preset takes URLs with a scheme only: ${g.stdout}`)
})
