/**
 * `feedmatch connector SIEM -o DIR`: the integration files of each SIEM, generated from the same
 * preset definitions that `serve` renders with, and written to a folder.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { FeedmatchError } from '../errors.js'
import { alienvault } from './alienvault.js'
import { arcsight, fortisiem } from './cef.js'
import { CONNECTOR_NAMES, type Connector, type ConnectorFile, type ConnectorName, type ConnectorOptions } from './common.js'
import { elastic } from './elastic.js'
import { qradar } from './qradar.js'
import { splunk } from './splunk.js'

export { CONNECTOR_NAMES, PLACEHOLDER, type ConnectorFile, type ConnectorName, type ConnectorOptions } from './common.js'

const CONNECTORS: Record<ConnectorName, Connector> = { alienvault, fortisiem, arcsight, qradar, splunk, elastic }

/** True for a SIEM name `connector` knows. */
export function isConnectorName (name: string): name is ConnectorName {
  return (CONNECTOR_NAMES as readonly string[]).includes(name)
}

/** The one-line summary of a connector, for `--help`. */
export function connectorSummary (name: ConnectorName): string {
  return CONNECTORS[name].summary
}

/** The files of a connector, in memory. */
export function connectorFiles (name: ConnectorName, o: ConnectorOptions): ConnectorFile[] {
  return CONNECTORS[name].files(o)
}

/** Writes a connector's files into `dir` (created when missing; files of the same name replaced). */
export async function writeConnector (name: ConnectorName, dir: string, o: ConnectorOptions): Promise<string[]> {
  const files = connectorFiles(name, o)
  try {
    await mkdir(dir, { recursive: true })
    for (const f of files) await writeFile(join(dir, f.name), f.content, 'utf8')
  } catch (err) {
    throw new FeedmatchError('FM_ERR_WRITE', `-o ${dir}: cannot write the connector files: ${(err as Error).message}`, { cause: err })
  }
  return files.map((f) => join(dir, f.name))
}
