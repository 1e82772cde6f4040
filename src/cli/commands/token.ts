import type { Command } from 'commander'
import { FeedmatchError } from '../../errors.js'
import { newToken } from '../../service/api-auth.js'
import type { ApiScope } from '../../config/types.js'

const SCOPES: readonly ApiScope[] = ['read', 'lookup', 'write', 'admin']

/** `feedmatch token new --name NAME --scopes read,lookup`: a token for the HTTP API. */
export function registerToken (program: Command, run: (fn: () => Promise<number>) => void): void {
  const token = program.command('token').description('tokens for the HTTP API')
  token.command('new')
    .description('make a token: prints the secret once (give it to the client) and the entry for api.tokens (only its SHA-256)')
    .requiredOption('--name <name>', 'who or what uses it (soc-dashboard, grafana)')
    .option('--scopes <list>', 'comma-separated: read, lookup, write, admin', 'read,lookup')
    .action((opts: { name: string, scopes: string }) => run(async () => {
      const scopes = opts.scopes.split(',').map((x) => x.trim()).filter((x) => x !== '')
      const bad = scopes.filter((x) => !(SCOPES as readonly string[]).includes(x))
      if (bad.length > 0 || scopes.length === 0) throw new FeedmatchError('FM_ERR_USAGE', `--scopes: expected some of ${SCOPES.join(', ')}; found ${JSON.stringify(opts.scopes)}`)
      if (!/^[\w.@-]{1,64}$/.test(opts.name)) throw new FeedmatchError('FM_ERR_USAGE', `--name: expected letters, digits, _ . @ - (at most 64); found ${JSON.stringify(opts.name)}`)
      const t = newToken(opts.name, scopes as ApiScope[])
      process.stdout.write(`token: ${t.token}\n# for api.tokens (the token itself is not stored anywhere):\n- { name: ${t.entry.name}, hash: "${t.entry.hash}", scopes: [${t.entry.scopes.join(', ')}] }\n`)
      return 0
    }))
}
