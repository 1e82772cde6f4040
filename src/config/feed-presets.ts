/**
 * Named feed layouts (`preset: urlhaus-csv` in a feed entry, or `--feeds FILE:urlhaus-csv`): the
 * format and field mapping of a feed as its publisher documents it, so that a user writes one line.
 * Whatever the entry sets itself wins over the preset.
 */
import type { FeedConfig } from './types.js'

export type FeedPreset = Pick<FeedConfig, 'format' | 'indicators' | 'csv' | 'actionable'> & { description: string }

export const FEED_PRESETS: Readonly<Record<string, FeedPreset>> = {
  // abuse.ch CSV exports: a `#` banner, the column names in the last comment line, quoted values,
  // a numeric id column first.
  'urlhaus-csv': {
    description: 'abuse.ch URLhaus CSV (id,dateadded,url,url_status,...)',
    format: 'csv',
    indicators: [{ field: 'url', type: 'url' }],
    actionable: { threat: 'threat', tags: 'tags', urlhaus_link: 'reference' },
  },
  'threatfox-csv': {
    description: 'abuse.ch ThreatFox CSV (ioc_value of type ip:port, domain, url, md5_hash, sha256_hash)',
    format: 'csv',
    indicators: [{ field: 'ioc_value', type: 'auto' }],
    actionable: { threat_type: 'threat', malware_printable: 'malware' },
  },
  'feodo-csv': {
    description: 'abuse.ch Feodo Tracker IP blocklist CSV (dst_ip, dst_port, malware)',
    format: 'csv',
    indicators: [{ field: 'dst_ip', type: 'ip' }],
    actionable: { malware: 'malware' },
  },
  'firehol-netset': {
    description: 'FireHOL .netset / .ipset (one IP or CIDR a line, # comments)',
    format: 'list',
    indicators: [{ field: '', type: 'ip' }],
  },
  'spamhaus-drop': {
    description: 'Spamhaus DROP / EDROP text (CIDR ; SBL id, ; comments)',
    format: 'list',
    indicators: [{ field: '', type: 'ip' }],
  },
  maltrail: {
    description: 'maltrail trails (domains, IPs, ip:port, host/path; path-only trails are skipped)',
    format: 'list',
    indicators: [{ field: '', type: 'auto' }],
  },
}

export const FEED_PRESET_NAMES: readonly string[] = Object.keys(FEED_PRESETS)

/** The entry with its preset's settings under its own. */
export function applyFeedPreset<T extends Partial<FeedConfig>> (entry: T): T {
  const preset = entry.preset === undefined ? undefined : FEED_PRESETS[entry.preset]
  if (preset === undefined) return entry
  const { description: _, ...settings } = preset
  return { ...settings, ...entry, csv: entry.csv ?? settings.csv }
}
