/**
 * Validation at the entry point: the schema (through ajv, which also applies the defaults), then
 * the checks a schema cannot express and the conversions to the run-time shape (normalize.ts),
 * then a deep freeze. Every entry point (file, CLI flags, HTTP API) comes through `validateWith`.
 */
import { Ajv } from 'ajv'
import type { ErrorObject, ValidateFunction } from 'ajv'
import RE2 from 're2'
import { tryParseDuration } from './duration.js'
import { isAddressOrCidr, parseHttpUrl, parseListenUrl, parseOutputTarget } from './endpoint.js'
import { ajvProblem, configError, pickAjvError } from './messages.js'
import type { Seg, Where } from './messages.js'
import { normalizeConfig } from './normalize.js'
import type { RawConfig } from './normalize.js'
import { configSchema } from './schema.js'
import type { Config } from './types.js'

/** Where a config came from, plus the folder its relative paths resolve against at each place. */
export interface ValidateContext extends Where {
  baseFor: (segs: Seg[]) => string
}

function checkRe2 (_schema: boolean, data: string): boolean {
  try {
    // Compiling is the check; the extraction engine compiles its own copy.
    new RE2(data)
    return true
  } catch (err) {
    checkRe2.errors = [{ keyword: 're2', params: { reason: (err as Error).message } }]
    return false
  }
}
checkRe2.errors = [] as Array<Partial<ErrorObject>>

let compiled: ValidateFunction | undefined

// Compiled on first use: modules that only borrow a helper from src/config (the feed filters
// parse durations inside workers) should not pay for ajv's code generation.
function schemaValidator (): ValidateFunction {
  if (compiled !== undefined) return compiled
  const ajv = new Ajv({
    useDefaults: true,
    allErrors: false,
    // The messages quote the offending value and read the schema's `expected` annotation.
    verbose: true,
    allowUnionTypes: true,
    // Strict, except that `required` may name keys declared by the surrounding schema (the
    // anyOf branches of a normalize step do).
    strict: true,
    strictRequired: false,
  })
  ajv.addKeyword({ keyword: 'expected', schemaType: 'string' })
  ajv.addKeyword({ keyword: 're2', type: 'string', schemaType: 'boolean', errors: true, validate: checkRe2 })
  ajv.addFormat('duration', { type: 'string', validate: s => tryParseDuration(s) !== undefined })
  ajv.addFormat('listen-url', { type: 'string', validate: s => parseListenUrl(s) !== undefined })
  ajv.addFormat('output-target', { type: 'string', validate: s => parseOutputTarget(s) !== undefined })
  ajv.addFormat('http-url', { type: 'string', validate: s => parseHttpUrl(s) !== undefined })
  ajv.addFormat('address-or-cidr', { type: 'string', validate: isAddressOrCidr })
  compiled = ajv.compile(configSchema)
  return compiled
}

/** Freeze an object and everything it holds. */
export function deepFreeze<T> (value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}

/**
 * Validate a parsed config in place (ajv writes the defaults into it), convert it and freeze the
 * result. Throws FM_ERR_CONFIG naming the place, the expectation and what was found.
 */
export function validateWith (raw: unknown, ctx: ValidateContext): Config {
  const validate = schemaValidator()
  if (!validate(raw)) {
    throw configError(ctx, ajvProblem(pickAjvError(validate.errors ?? []), raw))
  }
  return deepFreeze(normalizeConfig(raw as RawConfig, ctx))
}
