import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { parseCsv } from '../../src/feeds/formats/csv.js'
import { formatFixture, records, skips, values } from './helpers.js'

const { file, parse, dir } = await formatFixture(parseCsv, 'csv', '.csv')


test('a header, quotes, comments and blank lines; the indicator column guessed by name', async () => {
  const path = await file([
    '# Export of 2024-05-01',
    'first_seen,url,threat,"score, 0-100"',
    '2024-05-01,http://evil.example/a?x=1#frag,"Trojan, generic",90',
    '',
    '# a comment between rows',
    '2024-05-02,http://bad.example/b,"multi',
    'line ""quoted"" note",40',
    '2024-05-03,  http://third.example/c , plain ,10'
  ].join('\n'))
  const items = await parse(path)
  assert.equal(skips(items).length, 0)
  const recs = records(items)
  assert.deepEqual(recs.map((r) => [r.line, values(r)[0]]), [
    [3, 'url:http://evil.example/a?x=1#frag'],
    [6, 'url:http://bad.example/b'],
    [8, 'url:http://third.example/c']
  ])
  assert.deepEqual(recs[0].context, { first_seen: '2024-05-01', url: 'http://evil.example/a?x=1#frag', threat: 'Trojan, generic', 'score, 0-100': '90' })
  assert.equal(recs[1].context.threat, 'multi\nline "quoted" note')
})

test('a semicolon delimiter is detected; the mapping names columns', async () => {
  const path = await file('ip;category;comment\r\n192.0.2.1;botnet;x\r\n198.51.100.0/24;scanner;"a;b"\r\n')
  const items = await parse(path, { indicators: [{ field: 'ip', kind: 'ip' }] })
  assert.deepEqual(records(items).map((r) => [r.line, values(r)[0], r.context.comment]), [[2, 'ip:192.0.2.1', 'x'], [3, 'ip:198.51.100.0/24', 'a;b']])
})

test('no header: column 0 is the indicator, columns are col0..colN, or named by csv.columns; column numbers map', async () => {
  const text = '\ufeff44d88612fea8a8f36de82e1278abb02f|Trojan|5\n0123456789abcdef0123456789abcdef|Worm|3\n'
  const plain = records(await parse(await file(text)))
  assert.deepEqual(plain.map(values), [['auto:44d88612fea8a8f36de82e1278abb02f'], ['auto:0123456789abcdef0123456789abcdef']])
  assert.deepEqual(plain[0].context, { col0: '44d88612fea8a8f36de82e1278abb02f', col1: 'Trojan', col2: '5' })
  assert.deepEqual(plain.map((r) => r.line), [1, 2])

  const named = records(await parse(await file(text), { csv: { columns: ['md5', 'threat'] }, indicators: [{ field: '0', kind: 'md5' }] }))
  assert.deepEqual(named[1].context, { md5: '0123456789abcdef0123456789abcdef', threat: 'Worm', col2: '3' })
  assert.deepEqual(values(named[1]), ['md5:0123456789abcdef0123456789abcdef'])

  // A forced header and delimiter.
  const tsv = await file('a\tb\n1\tevil.example\n', '.tsv')
  const forced = records(await parse(tsv, { csv: { header: true, delimiter: '\t' }, indicators: [{ field: '1', kind: 'domain' }] }))
  assert.deepEqual(forced.map(values), [['domain:evil.example']])
})

test('rows of the wrong width or with bad quotes are skipped with their line, the rows after them kept', async () => {
  const path = await file([
    'indicator,type,score', // 1
    'a.example,domain,1', // 2
    'b.example,domain', // 3: too few columns
    'c.example,"dom"ain,3', // 4: text after a closing quote
    'd.example,domain,4', // 5
    'e.example,do"main,5', // 6: quote in an unquoted field
    'f.example,domain,6,extra', // 7: too many
    '"g.example,domain,7', // 8: quote never closed before the next one...
    'h.example,"domain",8', // 9
    'i.example,domain,9' // 10
  ].join('\n') + '\n')
  const items = await parse(path)
  const recs = records(items)
  assert.deepEqual(recs.map((r) => [r.line, values(r)[0]]), [[2, 'auto:a.example'], [5, 'auto:d.example'], [9, 'auto:h.example'], [10, 'auto:i.example']])
  const bad = skips(items)
  assert.deepEqual(bad.map((s) => s.line), [3, 4, 6, 7, 8])
  assert.equal(bad[0].reason, 'expected 3 columns, found 2')
  assert.match(bad[1].reason, /^bad quote/)
  assert.match(bad[2].reason, /^bad quote/)
  assert.equal(bad[3].reason, 'expected 3 columns, found 4')
  assert.match(bad[4].reason, /^bad quote/)
  // Skips come in file order with the records.
  assert.deepEqual(items.map((i) => i.line), [2, 3, 4, 5, 6, 7, 8, 9, 10])
})

test('a quote left open at the end of the file skips that row only', async () => {
  const items = await parse(await file('ip\n192.0.2.1\n# note\n"192.0.2.2\n192.0.2.3\n'))
  assert.deepEqual(records(items).map((r) => [r.line, values(r)[0]]), [[2, 'ip:192.0.2.1'], [5, 'ip:192.0.2.3']])
  assert.deepEqual(skips(items).map((s) => [s.line, s.reason]), [[4, 'bad quote: a quote is not closed']])
})

test('empty indicator cells skip the row; a mapping to a missing column fails the feed; a missing file says so', async () => {
  const path = await file('md5,sha256,name\n,,nothing\n44d88612fea8a8f36de82e1278abb02f,,eicar\n')
  const items = await parse(path)
  assert.deepEqual(skips(items), [{ skipped: true, reason: 'no indicator (empty md5, sha256)', line: 2 }])
  assert.deepEqual(values(records(items)[0]), ['md5:44d88612fea8a8f36de82e1278abb02f'])
  await assert.rejects(parse(path, { indicators: [{ field: 'url', kind: 'url' }] }), { code: 'FM_ERR_FEED_FORMAT' })
  await assert.rejects(parse(path, { indicators: [{ field: '7', kind: 'url' }] }), { code: 'FM_ERR_FEED_FORMAT' })
  await assert.rejects(parse(join(dir, 'missing.csv')), { code: 'FM_ERR_FEED_NOT_FOUND' })
  assert.deepEqual(await parse(await file('# only a comment\n')), [])
})
