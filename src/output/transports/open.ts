/** Turns the emitter's target settings into an Opener: the function the reconnect loop calls for each attempt. */
import { readFile } from 'node:fs/promises'
import { FeedmatchError } from '../../errors.js'
import type { Opener } from './connection.js'
import { openFile } from './file.js'
import type { Settings } from './options.js'
import { openStdout } from './stdout.js'
import { openRelp } from './relp.js'
import { openTcp } from './tcp.js'
import { openTls } from './tls.js'

async function pem (file: string | undefined): Promise<Buffer | undefined> {
  if (file === undefined) return undefined
  try {
    return await readFile(file)
  } catch (err) {
    throw new FeedmatchError('FM_ERR_OUTPUT', `output.tls: cannot read ${file}: ${(err as Error).message}`, { cause: err })
  }
}

/** The Opener of a stream target (tcp, tls, relp, file, stdout); reads the TLS files now, so a missing one fails start(). */
export async function createOpener (o: Settings): Promise<Opener> {
  const t = o.target
  switch (t.protocol) {
    case 'tcp':
      return (signal) => openTcp(t.host, t.port, o.connectTimeout, signal)
    case 'tls': {
      // Read once: a missing certificate is a setup error to report at start, not a reason to
      // retry for ever.
      const files = { ca: await pem(o.tls.ca), cert: await pem(o.tls.cert), key: await pem(o.tls.key), rejectUnauthorized: o.tls.rejectUnauthorized }
      return (signal) => openTls(t.host, t.port, files, o.connectTimeout, signal)
    }
    case 'relp':
      return (signal) => openRelp({ host: t.host, port: t.port, framing: o.framing, window: o.relpWindow, timeout: o.connectTimeout }, signal)
    case 'file':
      return () => openFile(t.path)
    case 'stdout':
      return () => openStdout()
    default:
      throw new FeedmatchError('FM_ERR_INTERNAL', `${t.protocol} has no stream link`)
  }
}
