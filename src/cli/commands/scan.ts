import type { Command } from 'commander'
import { FeedmatchError } from '../../errors.js'

/** `feedmatch scan`: being built (see the issues); registered so the command line is complete. */
export function registerScan (program: Command, run: (fn: () => Promise<number>) => void): void {
  program.command('scan').description('(not built yet)').allowUnknownOption().action(() => run(async () => {
    throw new FeedmatchError('FM_ERR_USAGE', 'scan is not built yet')
  }))
}
