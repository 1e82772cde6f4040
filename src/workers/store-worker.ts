/**
 * The detection store's thread: it alone holds the SQLite database (better-sqlite3, WAL), so
 * writes and queries never run on the service thread and never in a match worker. Rows arrive in
 * batches (one transaction each); after each, the limits are kept: rows older than maxAge go,
 * then the oldest while the pages in use exceed maxBytes, both counted. A timer sweeps the age
 * limit when no detections come. Queries are bounded by their page size (store/types.ts).
 */
import { parentPort, workerData } from 'node:worker_threads'
import Database from 'better-sqlite3'
import type { DetectionQuery, DetectionRecord, IndicatorSummary, StoreReply, StoreRequest, StoredRow } from '../store/types.js'

interface Options { path: string, maxAge: number, maxBytes: number }

// A plain worker thread (not a pool's): its entry runs main() at load, which opens the database
// named by workerData and answers the service thread's messages.
const SCHEMA_VERSION = 1
/** Rows removed at once when over maxBytes: a twentieth of the rows, at least this. */
const EVICT_MIN = 100
const SWEEP_MS = 60_000

function open (o: Options): Database.Database {
  const db = new Database(o.path)
  // Before the first table: freed pages can be given back to the file system (incremental_vacuum).
  db.pragma('auto_vacuum = INCREMENTAL')
  db.pragma('journal_mode = WAL')
  // WAL with NORMAL: a commit survives a process crash; a power cut may lose the last ones.
  db.pragma('synchronous = NORMAL')
  const version = db.pragma('user_version', { simple: true }) as number
  const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number }
  if (version !== SCHEMA_VERSION && tables.n > 0) {
    throw new Error(`${o.path} is not a feedmatch detection store (schema ${version}, expected ${SCHEMA_VERSION})`)
  }
  db.exec(`
    CREATE TABLE IF NOT EXISTS detections (
      id INTEGER PRIMARY KEY, time INTEGER NOT NULL, feed TEXT NOT NULL, category TEXT NOT NULL,
      type TEXT NOT NULL, value TEXT NOT NULL, matched TEXT NOT NULL, sender TEXT NOT NULL,
      rule TEXT NOT NULL, context TEXT NOT NULL, event TEXT NOT NULL, fp TEXT);
    CREATE INDEX IF NOT EXISTS detections_time ON detections (time);
    CREATE INDEX IF NOT EXISTS detections_feed ON detections (feed, id);
    CREATE INDEX IF NOT EXISTS detections_value ON detections (value, id);
    CREATE INDEX IF NOT EXISTS detections_matched ON detections (matched, id);
    CREATE INDEX IF NOT EXISTS detections_sender ON detections (sender, id);
    CREATE TABLE IF NOT EXISTS indicators (
      value TEXT NOT NULL, feed TEXT NOT NULL, type TEXT NOT NULL, category TEXT NOT NULL,
      first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, hits INTEGER NOT NULL,
      PRIMARY KEY (value, feed)) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS indicators_last ON indicators (last_seen);
  `)
  db.pragma(`user_version = ${SCHEMA_VERSION}`)
  return db
}

class Store {
  private readonly insert: Database.Statement
  private readonly upsert: Database.Statement
  private readonly addBatch: (rows: StoredRow[]) => void
  expired = 0
  evicted = 0
  /** Kept by count: count(*) scans an index, too slow to run after every batch at millions of rows. */
  rows: number

  constructor (private readonly db: Database.Database, private readonly o: Options) {
    this.insert = db.prepare('INSERT INTO detections (time, feed, category, type, value, matched, sender, rule, context, event) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
    this.upsert = db.prepare(`INSERT INTO indicators (value, feed, type, category, first_seen, last_seen, hits) VALUES (?, ?, ?, ?, ?, ?, 1)
      ON CONFLICT (value, feed) DO UPDATE SET first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen), hits = hits + 1`)
    this.rows = (db.prepare('SELECT count(*) AS n FROM detections').get() as { n: number }).n
    this.addBatch = db.transaction((rows: StoredRow[]) => {
      for (const r of rows) {
        this.insert.run(r)
        this.upsert.run(r[4], r[1], r[3], r[2], r[0], r[0])
      }
    })
  }

  add (rows: StoredRow[]): void {
    this.addBatch(rows)
    this.rows += rows.length
    this.keepLimits()
  }

  /** Bytes of the pages in use (the file also holds free pages until they are given back). */
  get bytes (): number {
    const pages = this.db.pragma('page_count', { simple: true }) as number
    const free = this.db.pragma('freelist_count', { simple: true }) as number
    return (pages - free) * (this.db.pragma('page_size', { simple: true }) as number)
  }

  /** Oldest first: what is past maxAge, then whole slices until the pages in use fit maxBytes. */
  keepLimits (now = Date.now()): void {
    const cutoff = now - this.o.maxAge
    const aged = this.db.prepare('DELETE FROM detections WHERE time < ?').run(cutoff).changes
    this.expired += aged
    this.rows -= aged
    if (aged > 0) this.db.prepare('DELETE FROM indicators WHERE last_seen < ?').run(cutoff)
    let freed = aged > 0
    for (let round = 0; round < 100 && this.bytes > this.o.maxBytes; round++) {
      const n = Math.max(EVICT_MIN, Math.ceil(this.rows / 20))
      const gone = this.db.prepare('DELETE FROM detections WHERE id IN (SELECT id FROM detections ORDER BY id LIMIT ?)').run(n).changes
      // Summaries of indicators last seen before every detection still held go with them.
      const oldest = this.db.prepare('SELECT min(time) AS t FROM detections').get() as { t: number | null }
      const summaries = this.db.prepare('DELETE FROM indicators WHERE last_seen < ?').run(oldest.t ?? Number.MAX_SAFE_INTEGER).changes
      this.evicted += gone
      this.rows -= gone
      freed = true
      if (gone === 0 && summaries === 0) break
    }
    if (freed) this.db.pragma('incremental_vacuum')
  }

  detections (q: DetectionQuery): { detections: DetectionRecord[], next: string | null } {
    const where: string[] = []
    const args: unknown[] = []
    if (q.from !== undefined) { where.push('time >= ?'); args.push(q.from) }
    if (q.to !== undefined) { where.push('time < ?'); args.push(q.to) }
    if (q.feed !== undefined) { where.push('feed = ?'); args.push(q.feed) }
    if (q.indicator !== undefined) { where.push('(value = ? OR matched = ?)'); args.push(q.indicator, q.indicator) }
    if (q.sender !== undefined) { where.push('sender = ?'); args.push(q.sender) }
    if (q.type !== undefined) { where.push('type = ?'); args.push(q.type) }
    if (q.cursor !== undefined) { where.push('id < ?'); args.push(cursorId(q.cursor)) }
    const sql = `SELECT * FROM detections ${where.length > 0 ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT ?`
    const rows = this.db.prepare(sql).all(...args, q.limit + 1) as Row[]
    const more = rows.length > q.limit
    if (more) rows.pop()
    return { detections: rows.map(record), next: more ? String(rows[rows.length - 1].id) : null }
  }

  indicators (q: DetectionQuery): { indicators: IndicatorSummary[], next: string | null } {
    const where: string[] = []
    const args: unknown[] = []
    if (q.from !== undefined) { where.push('last_seen >= ?'); args.push(q.from) }
    if (q.to !== undefined) { where.push('first_seen < ?'); args.push(q.to) }
    if (q.feed !== undefined) { where.push('feed = ?'); args.push(q.feed) }
    if (q.indicator !== undefined) { where.push('value = ?'); args.push(q.indicator) }
    if (q.type !== undefined) { where.push('type = ?'); args.push(q.type) }
    if (q.cursor !== undefined) {
      const [last, value, feed] = indicatorCursor(q.cursor)
      where.push('(last_seen < ? OR (last_seen = ? AND (value, feed) > (?, ?)))')
      args.push(last, last, value, feed)
    }
    const sql = `SELECT * FROM indicators ${where.length > 0 ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY last_seen DESC, value, feed LIMIT ?`
    const rows = this.db.prepare(sql).all(...args, q.limit + 1) as IndicatorRow[]
    const more = rows.length > q.limit
    if (more) rows.pop()
    const tail = rows[rows.length - 1]
    return {
      indicators: rows.map((r) => ({ indicator: r.value, feed: r.feed, type: r.type, category: r.category, firstSeen: iso(r.first_seen), lastSeen: iso(r.last_seen), hits: r.hits })),
      next: more ? Buffer.from(JSON.stringify([tail.last_seen, tail.value, tail.feed])).toString('base64url') : null,
    }
  }

  get (id: number): DetectionRecord | undefined {
    const r = this.db.prepare('SELECT * FROM detections WHERE id = ?').get(id) as Row | undefined
    return r === undefined ? undefined : record(r)
  }

  mark (id: number, entry: string): boolean {
    return this.db.prepare('UPDATE detections SET fp = ? WHERE id = ?').run(entry, id).changes > 0
  }

  close (): void {
    this.db.close()
  }
}

interface Row { id: number, time: number, feed: string, category: string, type: string, value: string, matched: string, sender: string, rule: string, context: string, event: string, fp: string | null }
interface IndicatorRow { value: string, feed: string, type: string, category: string, first_seen: number, last_seen: number, hits: number }

function iso (ms: number): string {
  return new Date(ms).toISOString()
}

function record (r: Row): DetectionRecord {
  let context: Record<string, unknown>
  try { context = JSON.parse(r.context) as Record<string, unknown> } catch { context = {} }
  return { id: r.id, time: iso(r.time), feed: r.feed, category: r.category, type: r.type, indicator: r.value, matched: r.matched, sender: r.sender, rule: r.rule, context, event: r.event, falsePositive: r.fp }
}

/** A query the caller got wrong: answered as a 400, not a failure of the store. */
class BadQuery extends Error {}

function cursorId (cursor: string): number {
  const id = Number(cursor)
  if (!Number.isSafeInteger(id) || id < 0) throw new BadQuery(`cursor ${JSON.stringify(cursor)}: give the "next" of the previous page`)
  return id
}

function indicatorCursor (cursor: string): [number, string, string] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown
    if (Array.isArray(v) && v.length === 3 && Number.isSafeInteger(v[0]) && typeof v[1] === 'string' && typeof v[2] === 'string') return v as [number, string, string]
  } catch { /* below */ }
  throw new BadQuery(`cursor ${JSON.stringify(cursor)}: give the "next" of the previous page`)
}

function main (): void {
  const port = parentPort
  if (port === null) return
  const o = workerData as Options
  const post = (m: StoreReply): void => port.postMessage(m)
  let store: Store
  try {
    store = new Store(open(o), o)
    store.keepLimits()
  } catch (err) {
    post({ op: 'failed', message: (err as Error).message })
    return
  }
  post({ op: 'ready', rows: store.rows, bytes: store.bytes })
  const sweep = setInterval(() => {
    try { store.keepLimits() } catch { /* the next batch reports it */ }
  }, SWEEP_MS)
  port.on('message', (m: StoreRequest) => {
    if (m.op === 'add') {
      let error: string | undefined
      try { store.add(m.rows) } catch (err) { error = (err as Error).message }
      post({ op: 'added', n: m.rows.length, rows: store.rows, bytes: store.bytes, expired: store.expired, evicted: store.evicted, ...(error === undefined ? {} : { error }) })
      return
    }
    try {
      let result: unknown
      switch (m.op) {
        case 'detections': result = store.detections(m.q); break
        case 'indicators': result = store.indicators(m.q); break
        case 'get': result = store.get(m.detection) ?? null; break
        case 'mark': result = store.mark(m.detection, m.entry); break
        case 'close':
          clearInterval(sweep)
          store.close()
          post({ op: 'answer', id: m.id, result: true })
          port.close()
          return
      }
      post({ op: 'answer', id: m.id, result })
    } catch (err) {
      post({ op: 'answer', id: m.id, error: (err as Error).message, bad: err instanceof BadQuery })
    }
  })
}

main()
