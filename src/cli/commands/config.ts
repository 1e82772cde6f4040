import type { Command } from 'commander'
import { FeedmatchError } from '../../errors.js'

/** `feedmatch config`: being built (see the issues); registered so the command line is complete. */
export function registerConfig (program: Command, run: (fn: () => Promise<number>) => void): void {
  program.command('config').description('(not built yet)').allowUnknownOption().action(() => run(async () => {
    throw new FeedmatchError('FM_ERR_USAGE', 'config is not built yet')
  }))
}
