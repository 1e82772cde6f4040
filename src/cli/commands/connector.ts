import type { Command } from 'commander'
import { FeedmatchError } from '../../errors.js'

/** `feedmatch connector`: being built (see the issues); registered so the command line is complete. */
export function registerConnector (program: Command, run: (fn: () => Promise<number>) => void): void {
  program.command('connector').description('(not built yet)').allowUnknownOption().action(() => run(async () => {
    throw new FeedmatchError('FM_ERR_USAGE', 'connector is not built yet')
  }))
}
