import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { parseList } from '../../src/feeds/formats/list.js'
import { formatFixture } from './helpers.js'

const { file, parse, dir } = await formatFixture(parseList, 'list', '.txt')

test('one indicator a line: comments, trailing comments, blank lines, CRLF and a BOM', async () => {
  const path = await file('\ufeff# Blocklist, updated hourly\r\n192.0.2.1\r\n\r\n   \r\nevil.example   # seen in phishing\r\nhttp://bad.example/page#top\r\n\t# indented comment\r\n44d88612fea8a8f36de82e1278abb02f\r\n')
  assert.deepEqual(await parse(path), [
    { indicators: [{ value: '192.0.2.1', kind: 'auto' }], context: {}, line: 2 },
    { indicators: [{ value: 'evil.example', kind: 'auto' }], context: { comment: 'seen in phishing' }, line: 5 },
    { indicators: [{ value: 'http://bad.example/page#top', kind: 'auto' }], context: {}, line: 6 },
    { indicators: [{ value: '44d88612fea8a8f36de82e1278abb02f', kind: 'auto' }], context: {}, line: 8 }
  ])
})

test('the mapped kind applies to every line; a line with two values is skipped with its line', async () => {
  const path = await file('10.0.0.0/8\n0.0.0.0 tracker.example\n198.51.100.7')
  const items = await parse(path, { indicators: [{ field: '0', kind: 'ip' }] })
  assert.deepEqual(items.map((i) => i.line), [1, 2, 3])
  assert.deepEqual(items[0], { indicators: [{ value: '10.0.0.0/8', kind: 'ip' }], context: {}, line: 1 })
  assert.equal(items[1].line, 2)
  assert.ok('skipped' in items[1] && /more than one value/.test(items[1].reason))
})

test('a missing file is FM_ERR_FEED_NOT_FOUND', async () => {
  await assert.rejects(parse(join(dir, 'missing.txt')), { code: 'FM_ERR_FEED_NOT_FOUND' })
})
