/**
 * Who may call the API: bearer tokens with scopes, stored as SHA-256 digests (a token is 32
 * random bytes, so a plain digest cannot be guessed back; `feedmatch token new` prints the token
 * and the line for the config), compared in constant time, and rate limited per token with a
 * token bucket. Tokens come from the config and from `api.tokenFile` (YAML or JSON, the same
 * entries), read when the API starts and again on SIGHUP.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Ajv } from 'ajv'
import { parse as parseYaml } from 'yaml'
import { FeedmatchError, type ErrorCode } from '../errors.js'
import type { ApiConfig, ApiScope, ApiToken } from '../config/types.js'
import { apiToken } from '../config/schema.js'
import { apiTokenOf, type RawToken } from '../config/normalize.js'

/** Why a request was refused, as the API answers it. */
export class AuthError extends FeedmatchError {
  constructor (readonly status: number, code: ErrorCode, message: string, readonly retryAfter?: number) {
    super(code, message)
  }
}

/** A new token: the secret to hand out, and its entry for `api.tokens`. */
export function newToken (name: string, scopes: ApiScope[]): { token: string, entry: { name: string, hash: string, scopes: ApiScope[] } } {
  const token = `fmk_${randomBytes(32).toString('base64url')}`
  return { token, entry: { name, hash: `sha256:${digest(token).toString('hex')}`, scopes } }
}

function digest (token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest()
}

/** The tokens of `api.tokenFile`: `tokens:` (or a bare list) of the entries of `api.tokens`. */
export function readTokenFile (path: string): ApiToken[] {
  let doc: unknown
  try {
    doc = parseYaml(readFileSync(path, 'utf8'))
  } catch (err) {
    throw new FeedmatchError('FM_ERR_CONFIG', `api.tokenFile ${path}: cannot be read: ${(err as Error).message}`, { cause: err })
  }
  const list = Array.isArray(doc) ? doc : (doc as { tokens?: unknown } | null)?.tokens
  const validate = new Ajv({ allErrors: false, strict: false }).compile({ type: 'array', items: apiToken })
  if (!validate(list)) {
    const e = validate.errors?.[0]
    throw new FeedmatchError('FM_ERR_CONFIG', `api.tokenFile ${path}: tokens${e?.instancePath ?? ''}: ${e?.message ?? 'expected a list of { name, hash, scopes }'}`)
  }
  return (list as RawToken[]).map(apiTokenOf)
}

interface Bucket { tokens: number, at: number }

export class TokenAuth {
  private readonly byDigest: Array<{ token: ApiToken, digest: Buffer }>
  private readonly buckets = new Map<string, Bucket>()

  constructor (tokens: ApiToken[]) {
    this.byDigest = tokens.map((t) => ({ token: t, digest: Buffer.from(t.sha256, 'hex') }))
  }

  /** From the API's config: its tokens and those of its token file. */
  static of (api: Pick<ApiConfig, 'tokens' | 'tokenFile'>): TokenAuth {
    return new TokenAuth([...api.tokens, ...(api.tokenFile === undefined ? [] : readTokenFile(api.tokenFile))])
  }

  /** True when no token is configured: the API is open (only allowed on loopback, by the config check). */
  get open (): boolean {
    return this.byDigest.length === 0
  }

  /**
   * The token of a request that needs `scope`, or an AuthError: 401 without a token or with one
   * that is not ours, 403 with one that lacks the scope, 429 past its rate.
   */
  check (authorization: string | undefined, scope: ApiScope): ApiToken | null {
    if (this.open) return null
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')
    if (m === null) throw new AuthError(401, 'FM_ERR_API_AUTH', 'this endpoint needs a bearer token (Authorization: Bearer TOKEN)')
    const d = digest(m[1])
    // Every entry is compared, in constant time each: how long it takes says nothing of which.
    let found: ApiToken | null = null
    for (const t of this.byDigest) if (timingSafeEqual(t.digest, d) && found === null) found = t.token
    if (found === null) throw new AuthError(401, 'FM_ERR_API_AUTH', 'the bearer token is not one of this service\'s tokens')
    if (!found.scopes.includes(scope) && !found.scopes.includes('admin')) {
      throw new AuthError(403, 'FM_ERR_API_AUTH', `token "${found.name}" lacks the scope "${scope}" this endpoint needs (it has: ${found.scopes.join(', ')})`)
    }
    this.take(found)
    return found
  }

  /** One request from the token's bucket (rate a second, at most 2x rate saved up). */
  private take (t: ApiToken): void {
    const now = Date.now()
    const cap = Math.max(1, t.rate * 2)
    const b = this.buckets.get(t.name) ?? { tokens: cap, at: now }
    b.tokens = Math.min(cap, b.tokens + (now - b.at) / 1000 * t.rate)
    b.at = now
    this.buckets.set(t.name, b)
    if (b.tokens < 1) {
      const wait = Math.ceil((1 - b.tokens) / t.rate)
      throw new AuthError(429, 'FM_ERR_API_RATE', `token "${t.name}" is over its rate of ${t.rate} requests a second`, wait)
    }
    b.tokens -= 1
  }
}
