/**
 * The URL prefilter (src/index/url-prefilter.ts) may answer "no match" from the bytes alone; it
 * must never do so for a URL the full lookup (normalizeUrl, then the trie and the IP index) would
 * match. Random feeds of domains, hosts and URL masks, random URLs near them and far from them,
 * in every spelling the normalizer treats specially.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { IndexBuilder } from '../../src/index/builder.js'
import { FeedIndex } from '../../src/index/feed-index.js'
import { Hits } from '../../src/index/types.js'
import { lookupValue } from '../../src/match/query.js'
import { feedMeta } from './helpers.js'

const LABELS = ['evil', 'cdn', 'www', 'example', 'com', 'ru', 'x1', 'a-b', 'mail', 'xn--80ak6aa92e', '1', '09', 'WWW', 'Evil']
const label = fc.constantFrom(...LABELS)
const host = fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.'))
/** Hosts of URLs: the feeds' labels, or labels no feed holds (where the filter has work to do). */
const urlHost = fc.array(fc.oneof(label, fc.constantFrom('nowhere', 'org', 'Test', 'zz9', 'q-q')), { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.'))
const path = fc.constantFrom('', '/', '/dl/x.zip', '/a%20b', '/A/B?q=1', '?x', '#f', '/./x', '//x', '\\x', '/ü')
/** Mostly plain spellings (the ones the filter reads), and every odd one now and then. */
const mostly = <T>(plain: T, odd: T[]): fc.Arbitrary<T> => fc.oneof({ weight: 3, arbitrary: fc.constant(plain) }, { weight: 1, arbitrary: fc.constantFrom(...odd) })
const scheme = mostly('http://', ['HTTPS://', 'ftp://', '', '//', 'http:\\\\', 'h:', 'http:///'])
const port = mostly('', [':8080', ':', ':x'])
const user = mostly('', ['user@', 'u:p@'])
const around = fc.oneof({ weight: 6, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom(' ', '.', '\t') })
const url = fc.tuple(around, scheme, user, urlHost, around, port, path, around).map((p) => p.join(''))

/** A feed item: a domain or host record, or a URL mask (with wildcards) on a host. */
const item = fc.oneof(
  fc.record({ t: fc.constantFrom('domain' as const, 'host' as const), host: host.map((h) => h.toLowerCase()) }),
  fc.record({ t: fc.constant('url' as const), mask: fc.tuple(host, fc.constantFrom('', '/dl/*', '/*', '*')).map(([h, r]) => h.toLowerCase() + r) })
)

test('the URL prefilter never answers "no match" for a URL the full lookup matches', () => {
  let rejected = 0
  let total = 0
  fc.assert(fc.property(fc.array(item, { minLength: 1, maxLength: 12 }), fc.array(url, { minLength: 1, maxLength: 30 }), (items, urls) => {
    const b = new IndexBuilder()
    b.addFeed(feedMeta('f'))
    items.forEach((it, tag) => {
      const ctx = b.addContext({ tag })
      try {
        if (it.t === 'url') b.addUrlMask(it.mask, 0, ctx)
        else b.addDomain(it.host, it.t, 0, ctx)
      } catch { /* a key the builder refuses is not in the feed */ }
    })
    const index = new FeedIndex(b.build(1))
    // The feed's own hosts, as URLs, so that matches are common too.
    const probes = [...urls, ...items.map((it) => `http://${it.t === 'url' ? it.mask.replaceAll('*', 'x') : it.host}/`)]
    for (const u of probes) {
      const bytes = Buffer.from(`<${u}>`)
      const may = index.urlMayMatch(bytes, 1, bytes.length - 1)
      total++
      if (may) continue
      rejected++
      const hits = new Hits()
      lookupValue(index, 'url', u, hits)
      assert.equal(hits.length, 0, `${JSON.stringify(u)} was ruled out but matches`)
    }
  }), { numRuns: 400 })
  // Not a vacuous pass: most random URLs lead nowhere, and the filter must say so.
  assert.ok(rejected > total / 20, `only ${rejected} of ${total} URLs ruled out`)
})

test('the URL prefilter rules out an unknown host and lets a listed one, its subdomains and a root mask through', () => {
  const b = new IndexBuilder()
  b.addFeed(feedMeta('f'))
  b.addDomain('evil.example', 'domain', 0, b.addContext({ tag: 1 }))
  const index = new FeedIndex(b.build(1))
  const may = (u: string): boolean => index.urlMayMatch(Buffer.from(u), 0, Buffer.byteLength(u))
  assert.equal(may('http://good.example/x'), false)
  assert.equal(may('http://nowhere.test/'), false)
  assert.equal(may('http://EVIL.example/x'), true)
  assert.equal(may('http://a.b.evil.example:8080/x?y#z'), true)
  assert.equal(may('http://10.0.0.1/'), true, 'an IP host goes the full way')
  assert.equal(may('http://user@good.example/'), true, 'userinfo goes the full way')
  const withRoot = new IndexBuilder()
  withRoot.addFeed(feedMeta('f'))
  withRoot.addUrlMask('*/dl/*.exe', 0, withRoot.addContext({ tag: 2 }))
  const rooted = new FeedIndex(withRoot.build(1))
  assert.equal(rooted.urlMayMatch(Buffer.from('http://good.example/dl/a.exe'), 0, 28), true, 'a mask at the root can match any host')
})
