/**
 * The contract of a FeedIndex generation. All index memory lives in SharedArrayBuffers, so a
 * generation handle posted to a worker shares the tables instead of copying them.
 */

/** What a feed is for: matching, suppressing matches (allowlist), or custom indicators (blocklist). */
export type FeedRole = 'feed' | 'allow' | 'block'

/** The type of a matched value, as detections report it. */
export type MatchType = 'md5' | 'sha1' | 'sha256' | 'ip' | 'url' | 'domain'

/** Per-feed facts carried with a generation (plain data: it crosses threads by structured clone). */
export interface FeedMeta {
  id: number
  name: string
  category: string
  role: FeedRole
  /** Record field (a/b path) to output field name, copied into every detection. */
  actionable: Record<string, string>
  /** Source path, for messages. */
  path: string
  format: string
  /** Records kept, and keys indexed by type (a record with MD5+SHA1 counts 2 keys). */
  records: number
  keys: Partial<Record<'md5' | 'sha1' | 'sha256' | 'ipv4' | 'ipv6' | 'cidr' | 'domain' | 'host' | 'url', number>>
  /** Records skipped, by reason; and the first few with their line. */
  skipped: number
  skippedByReason: Record<string, number>
  skippedSamples: Array<{ line?: number, reason: string }>
  /** Records dropped by the feed's filter, required fields or expiry (not errors). */
  filtered: number
  /** Keys given twice for this feed (the first record is kept); set by IndexBuilder.build(). */
  duplicates?: number
  /**
   * Set when the feed failed to load and its records are the previous version, carried over from
   * the generation that was in service: where that version was loaded, and why this load failed.
   */
  carriedOver?: CarriedOver
}

/** Why a feed's records are its previous version (FeedMeta.carriedOver). */
export interface CarriedOver {
  /** Id and build time of the generation that loaded this version. */
  generation: number
  builtAt: number
  /** The failure that kept it: error code and message. */
  code: string
  reason: string
}

/** Everything needed to open a generation in any thread. */
export interface GenerationHandle {
  id: number
  /** Named SharedArrayBuffers (layout in src/index/layout.ts). */
  buffers: Record<string, SharedArrayBuffer>
  /** Table geometry (capacities, counts) needed to read the buffers. */
  geometry: Record<string, number>
  feeds: FeedMeta[]
  builtAt: number
  /** Supplier intersections: [feed id a, feed id b, keys both hold], a < b (builder.ts). */
  overlaps?: Array<[number, number, number]>
}

/**
 * Lookup results, reused by the caller across lookups (no allocation on a miss).
 * `recs[i]` is a record reference; `matched[i]` is the feed's indicator that matched it
 * (hash hex, IP, `net/len`, domain, or URL mask) and `types[i]` the type of the value looked up.
 * Entries at or past `length` are stale: clearing only resets the count, because truncating the
 * arrays would free their storage and every later hit would grow them again.
 */
export class Hits {
  recs: number[] = []
  matched: string[] = []
  types: MatchType[] = []
  private n = 0
  get length (): number { return this.n }
  clear (): void { this.n = 0 }
  push (rec: number, matched: string, type: MatchType): void {
    this.recs[this.n] = rec; this.matched[this.n] = matched; this.types[this.n] = type
    this.n++
  }
}
