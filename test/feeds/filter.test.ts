import { test } from 'node:test'
import assert from 'node:assert/strict'
import { compileFilter, parseDate, recordPolicy } from '../../src/feeds/filter.js'
import { parseDuration } from '../../src/config/duration.js'
import { FeedmatchError } from '../../src/errors.js'
import type { FeedRecord } from '../../src/feeds/record.js'

const NOW = Date.UTC(2024, 2, 1, 12, 0, 0)
const DAY = 86_400_000

/** Evaluates `expr` on each context; returns the results in order. */
function run (expr: string, ...ctxs: Array<Record<string, unknown>>): boolean[] {
  const f = compileFilter(expr, { now: () => NOW })
  return ctxs.map((c) => f(c))
}

function syntaxError (expr: string, pattern: RegExp): void {
  assert.throws(() => compileFilter(expr), (err: unknown) => {
    assert.ok(err instanceof FeedmatchError)
    assert.equal(err.code, 'FM_ERR_CONFIG')
    assert.match(err.message, pattern)
    assert.ok(err.message.startsWith(`filter ${JSON.stringify(expr)}: `), err.message)
    return true
  })
}

test('comparison operators on numbers, and numeric strings compare as numbers', () => {
  const ctxs = [{ s: 50 }, { s: '75' }, { s: 100 }]
  assert.deepEqual(run('s = 75', ...ctxs), [false, true, false])
  assert.deepEqual(run('s == 75', ...ctxs), [false, true, false])
  assert.deepEqual(run('s != 75', ...ctxs), [true, false, true])
  assert.deepEqual(run('s < 75', ...ctxs), [true, false, false])
  assert.deepEqual(run('s <= 75', ...ctxs), [true, true, false])
  assert.deepEqual(run('s > 75', ...ctxs), [false, false, true])
  assert.deepEqual(run('s >= 75', ...ctxs), [false, true, true])
  // '100' > '75' is false as strings: this proves the comparison is numeric.
  assert.deepEqual(run("s > '75'", { s: '100' }), [true])
  assert.deepEqual(run('s >= -1.5e1', { s: -10 }), [true])
})

test('strings: = is case-sensitive, both quote styles, escapes; contains ignores case', () => {
  const ctx = { geo: 'us', threat: 'HEUR:Trojan.Win32.Demo', name: "it's" }
  assert.deepEqual(run("geo = 'us'", ctx), [true])
  assert.deepEqual(run('geo = "us"', ctx), [true])
  assert.deepEqual(run("geo = 'US'", ctx), [false])
  assert.deepEqual(run("geo < 'zz' and geo > 'aa'", ctx), [true])
  assert.deepEqual(run("name = 'it\\'s'", ctx), [true])
  assert.deepEqual(run("threat contains 'trojan'", ctx), [true])
  assert.deepEqual(run("threat contains 'worm'", ctx), [false])
  assert.deepEqual(run("threat not contains 'worm'", ctx), [true])
})

test('in, not in, booleans and null', () => {
  const ctxs = [{ c: 'malware', ok: true }, { c: 'spam', ok: 'false' }, { other: 1 }]
  assert.deepEqual(run("c in ('malware', 'phishing')", ...ctxs), [true, false, false])
  assert.deepEqual(run("c not in ('malware', 'phishing')", ...ctxs), [false, true, false])
  assert.deepEqual(run("not c in ('malware')", ...ctxs), [false, true, true])
  assert.deepEqual(run('ok = true', ...ctxs), [true, false, false])
  assert.deepEqual(run('ok = false', ...ctxs), [false, true, false])
  assert.deepEqual(run('c = null', ...ctxs, { c: null }), [false, false, true, true])
  assert.deepEqual(run('c != null', ...ctxs, { c: null }), [true, true, false, false])
  assert.deepEqual(run("c in (null, 'spam')", ...ctxs), [false, true, true])
  assert.deepEqual(run('n in (1, 2.5)', { n: '2.5' }, { n: 3 }), [true, false])
})

test('exists, and a missing field makes every comparison false (!= and not in too)', () => {
  const missing = { other: 1 }
  for (const expr of ['x = 1', 'x != 1', 'x < 1', 'x > 1', "x contains 'a'", "x not in ('a')", "x in ('a')", 'x > now-1d']) {
    assert.deepEqual(run(expr, missing), [false], expr)
  }
  assert.deepEqual(run('exists x', missing, { x: 0 }, { x: '' }, { x: null }, { x: [] }), [false, true, true, false, false])
  assert.deepEqual(run('not exists x', missing), [true])
  assert.deepEqual(run('not (x != 1)', missing), [true])
})

test('precedence: not binds tightest, then and, then or; parentheses override', () => {
  const f = compileFilter('not a = 1 or b = 1 and c = 1')
  const g = compileFilter('not (a = 1 or b = 1) and c = 1')
  const rows: Array<[number, number, number, boolean, boolean]> = [
    // a, b, c: (not a) or (b and c); not (a or b) and c
    [1, 1, 1, true, false],
    [1, 1, 0, false, false],
    [1, 0, 1, false, false],
    [0, 0, 0, true, false],
    [0, 0, 1, true, true],
    [0, 1, 1, true, false]
  ]
  for (const [a, b, c, want, want2] of rows) {
    assert.equal(f({ a, b, c }), want, `a=${a} b=${b} c=${c}`)
    assert.equal(g({ a, b, c }), want2, `(2) a=${a} b=${b} c=${c}`)
  }
  assert.equal(compileFilter('A = 1 AND NOT B = 1')({ A: 1, B: 2 }), true)
  assert.equal(compileFilter('not not a = 1')({ a: 1 }), true)
})

test('dates: now-90d against ISO, epoch and Kaspersky dates', () => {
  const recent = NOW - 10 * DAY
  const old = NOW - 100 * DAY
  const kl = (ms: number): string => {
    const d = new Date(ms)
    const p = (n: number): string => String(n).padStart(2, '0')
    return `${p(d.getUTCDate())}.${p(d.getUTCMonth() + 1)}.${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}`
  }
  const ctxs = [
    { d: new Date(recent).toISOString() }, { d: new Date(old).toISOString() },
    { d: kl(recent) }, { d: kl(old) },
    { d: Math.floor(recent / 1000) }, { d: old }, { d: String(recent) },
    { d: 'not a date' }, { d: '31.02.2024 10:00' }
  ]
  assert.deepEqual(run('d > now-90d', ...ctxs), [true, false, true, false, true, false, true, false, false])
  assert.deepEqual(run('d <= now - 90d', ...ctxs), [false, true, false, true, false, true, false, false, false])
  assert.deepEqual(run('d < now', ...ctxs).slice(0, 2), [true, true])
  assert.deepEqual(run('d > now+1d', { d: new Date(NOW + 2 * DAY).toISOString() }), [true])
  assert.deepEqual(run('d > now-12h', { d: new Date(NOW - 11 * 3_600_000).toISOString() }), [true])
  assert.deepEqual(run('d > now-30m', { d: new Date(NOW - 31 * 60_000).toISOString() }), [false])
  // `now` moves: the clock is read per evaluation, not at compile time.
  let clock = NOW
  const f = compileFilter('d > now-1d', { now: () => clock })
  assert.equal(f({ d: NOW - 2 * 3_600_000 }), true)
  clock += 2 * DAY
  assert.equal(f({ d: NOW - 2 * 3_600_000 }), false)
})

test('arrays match when any element matches; nested a/b paths walk objects and arrays', () => {
  const ctx = { tags: ['apt', 'tlp:white'], files: [{ MD5: 'aa', size: 10 }, { MD5: 'bb', size: 99 }], whois: { asn: 64500 } }
  assert.deepEqual(run("tags = 'apt'", ctx), [true])
  assert.deepEqual(run("tags = 'tlp'", ctx), [false])
  assert.deepEqual(run("tags contains 'TLP'", ctx), [true])
  assert.deepEqual(run("tags != 'apt'", ctx), [true])
  assert.deepEqual(run("files/MD5 = 'bb'", ctx), [true])
  assert.deepEqual(run('files/size > 50', ctx), [true])
  assert.deepEqual(run('files/size > 100', ctx), [false])
  assert.deepEqual(run('whois/asn = 64500', ctx), [true])
  assert.deepEqual(run('exists whois/missing', ctx), [false])
  assert.deepEqual(run('"field name" = 1 and "a/b" = 2', { 'field name': 1, 'a/b': 2 }), [true])
  // Inherited properties are not fields.
  assert.deepEqual(run('exists constructor or exists __proto__', {}), [false])
})

test('syntax errors quote the expression and give the column with a caret line', () => {
  assert.throws(() => compileFilter('threat_score >> 5'), (err: Error) => {
    assert.ok(err instanceof FeedmatchError)
    assert.equal(err.code, 'FM_ERR_CONFIG')
    const [first, expr, caret] = err.message.split('\n')
    assert.match(first, /^filter "threat_score >> 5": unexpected ">" at column 15/)
    assert.equal(expr, '  threat_score >> 5')
    assert.equal(caret, '  ' + ' '.repeat(14) + '^')
    return true
  })
  syntaxError('', /unexpected end at column 1/)
  syntaxError('a = ', /unexpected end at column 5/)
  syntaxError('(a = 1', /unexpected end at column 7, expected "\)"/)
  syntaxError('a = 1)', /unexpected "\)" at column 6/)
  syntaxError('a', /unexpected end at column 2, expected an operator/)
  syntaxError('not a or b', /unexpected "or" at column 7, expected an operator .* after "a"/)
  syntaxError("a = 'open", /unterminated string at column 5/)
  syntaxError('a = 1 b = 2', /unexpected "b" at column 7/)
  syntaxError('a = now-90x', /unexpected "now-90x" at column 5, expected a value/)
  syntaxError('a in 1', /unexpected "1" at column 6, expected "\("/)
  syntaxError('a < null', /null compares only with = or !=/)
  syntaxError('a ! 1', /unexpected "!" at column 3/)
  syntaxError('and = 1', /unexpected "and" at column 1, expected a field name/)
})

test('parseDate reads ISO 8601 with zones, epochs and Kaspersky dates as UTC', () => {
  assert.equal(parseDate('10.07.2015 23:53'), Date.UTC(2015, 6, 10, 23, 53))
  assert.equal(parseDate('10.07.2015'), Date.UTC(2015, 6, 10))
  assert.equal(parseDate('2015-07-10T23:53:00Z'), Date.UTC(2015, 6, 10, 23, 53))
  assert.equal(parseDate('2015-07-10T23:53:00'), Date.UTC(2015, 6, 10, 23, 53))
  assert.equal(parseDate('2015-07-10 23:53:00.250+02:00'), Date.UTC(2015, 6, 10, 21, 53, 0, 250))
  assert.equal(parseDate('2015-07-10T23:53:00-0130'), Date.UTC(2015, 6, 11, 1, 23))
  assert.equal(parseDate('2015-07-10'), Date.UTC(2015, 6, 10))
  assert.equal(parseDate(1436572380), Date.UTC(2015, 6, 10, 23, 53))
  assert.equal(parseDate(1436572380000), Date.UTC(2015, 6, 10, 23, 53))
  assert.equal(parseDate('1436572380'), Date.UTC(2015, 6, 10, 23, 53))
  assert.equal(parseDate(new Date(5000)), 5000)
  for (const bad of ['', 'yesterday', '2015-13-01', '30.02.2015 10:00', '10.07.2015 25:00', null, undefined, {}, NaN, true]) {
    assert.equal(parseDate(bad), undefined, String(bad))
  }
})

test('parseDuration: s, m, h, d, w; bad input is a config error', () => {
  assert.equal(parseDuration('45s'), 45_000)
  assert.equal(parseDuration('30m'), 1_800_000)
  assert.equal(parseDuration('12h'), 43_200_000)
  assert.equal(parseDuration('90d'), 90 * DAY)
  assert.equal(parseDuration('1w'), 7 * DAY)
  for (const bad of ['', 'd', '90 days', '-1d', '1y']) {
    assert.throws(() => parseDuration(bad), (err: unknown) => err instanceof FeedmatchError && err.code === 'FM_ERR_CONFIG', bad)
  }
})

function rec (context: Record<string, unknown>, expires?: number): FeedRecord {
  return { indicators: [{ value: '192.0.2.1', kind: 'ip' }], context, expires }
}

test('recordPolicy: filter, required fields, expires, maxAge and absolute expiry fields', () => {
  const iso = (ms: number): string => new Date(ms).toISOString()
  const nowSec = NOW / 1000
  const all = recordPolicy({ filter: 'score >= 50', required: ['threat', 'geo/country'], now: NOW })
  assert.equal(all(rec({ score: 80, threat: 't', geo: { country: 'us' } })), null)
  assert.equal(all(rec({ score: 10, threat: 't', geo: { country: 'us' } })), 'filter')
  assert.equal(all(rec({ score: 80, threat: '  ', geo: { country: 'us' } })), 'required')
  assert.equal(all(rec({ score: 80, threat: 't', geo: {} })), 'required')
  assert.equal(all(rec({ score: 80, threat: [], geo: { country: 'us' } })), 'required')
  assert.equal(all(rec({ score: 80, threat: 't', geo: { country: 'us' } }, nowSec - 1)), 'expired')
  assert.equal(all(rec({ score: 80, threat: 't', geo: { country: 'us' } }, nowSec + 60)), null)

  const maxAge = recordPolicy({ expiry: { field: 'last_seen', maxAge: '90d' }, now: NOW })
  assert.equal(maxAge(rec({ last_seen: '10.07.2015 23:53' })), 'expired')
  assert.equal(maxAge(rec({ last_seen: iso(NOW - 89 * DAY) })), null)
  assert.equal(maxAge(rec({ last_seen: [iso(NOW - 200 * DAY), iso(NOW - DAY)] })), null, 'the latest date counts')
  assert.equal(maxAge(rec({})), null, 'no date: kept')
  assert.equal(recordPolicy({ expiry: { field: 'last_seen', maxAge: 90 * DAY }, now: NOW })(rec({ last_seen: iso(NOW - 91 * DAY) })), 'expired')

  const absolute = recordPolicy({ expiry: { field: 'valid_until' }, now: NOW })
  assert.equal(absolute(rec({ valid_until: iso(NOW - 1000) })), 'expired')
  assert.equal(absolute(rec({ valid_until: iso(NOW + DAY) })), null)

  // `now` in the filter is the policy's instant.
  const dated = recordPolicy({ filter: 'first_seen > now-1d', now: NOW })
  assert.equal(dated(rec({ first_seen: iso(NOW - 3_600_000) })), null)
  assert.equal(dated(rec({ first_seen: iso(NOW - 2 * DAY) })), 'filter')

  assert.equal(recordPolicy({})(rec({})), null)
  assert.throws(() => recordPolicy({ expiry: { maxAge: '90d' } }), /expiry.maxAge needs expiry.field/)
  assert.throws(() => recordPolicy({ filter: 'a >> 1' }), /unexpected ">"/)
})
