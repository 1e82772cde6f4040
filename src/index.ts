/**
 * feedmatch as a library (package.json `main`): the pieces the command line is made of, for
 * programs that embed matching (a lookup in their own service, a scan of their own data). The
 * command line (`feedmatch`) and the service are the supported interfaces; this surface follows
 * them.
 */
export { FeedmatchError } from './errors.js'
export type { ErrorCode } from './errors.js'
export { loadConfig, validateConfig } from './config/load.js'
export type { Config } from './config/types.js'
export { expandFeedSources } from './config/feed-sources.js'
export { buildGeneration } from './feeds/build.js'
export { FeedIndex } from './index/feed-index.js'
export { readSnapshot } from './index/snapshot.js'
export { lookupEntries, matchQuery, matchValue } from './match/query.js'
export type { LookupEntry, ValueResult } from './match/query.js'
export { Service } from './service/service.js'
