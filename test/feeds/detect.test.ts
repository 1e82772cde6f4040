import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { detectFormat, sniffJson } from '../../src/feeds/detect.js'

const dir = await mkdtemp(join(tmpdir(), 'feedmatch-detect-'))

async function file (name: string, text: string | Buffer): Promise<string> {
  const path = join(dir, name)
  await writeFile(path, text)
  return path
}

const MD5 = '44d88612fea8a8f36de82e1278abb02f'

test('JSON files: STIX bundles, Kaspersky arrays (and the older keyed layout), other JSON', async () => {
  assert.equal(await detectFormat(await file('bundle.json', '{\n  "type": "bundle",\n  "id": "bundle--1",\n  "objects": []\n}')), 'stix2')
  assert.equal(await detectFormat(await file('hashes.json', JSON.stringify([{ id: 1, MD5, threat: 'x' }]))), 'kaspersky')
  assert.equal(await detectFormat(await file('urls.json', '[\n' + JSON.stringify({ id: 1, mask: 'a.example/b', type: 3 }) + '\n]')), 'kaspersky')
  assert.equal(await detectFormat(await file('old.json', JSON.stringify({ version: 2, records: [{ ip: '192.0.2.1' }] }))), 'kaspersky')
  assert.equal(await detectFormat(await file('generic.json', JSON.stringify([{ indicator: MD5, type: 'md5' }]))), 'json')
  assert.equal(await detectFormat(await file('empty.json', '[]')), 'json')
  // A first record longer than the head still shows its keys.
  const long = '[{"MD5": "' + MD5 + '", "note": "' + 'x'.repeat(70_000) + '"}]'
  assert.equal(await detectFormat(await file('long.json', long)), 'kaspersky')
})

test('by extension: NDJSON, XML, CSV, TSV', async () => {
  assert.equal(await detectFormat(await file('a.ndjson', '{"ip": "192.0.2.1"}\n')), 'json')
  assert.equal(await detectFormat(await file('a.JSONL', '{"ip": "192.0.2.1"}\n')), 'json')
  assert.equal(await detectFormat(await file('a.xml', '<feed/>')), 'xml')
  assert.equal(await detectFormat(await file('a.csv', 'ip\n192.0.2.1\n')), 'csv')
  assert.equal(await detectFormat(await file('a.tsv', 'ip\tscore\n192.0.2.1\t5\n')), 'csv')
})

test('text files and files without extension are lists unless the content is JSON, XML or CSV with a header', async () => {
  assert.equal(await detectFormat(await file('ips.txt', '# bad IPs\n192.0.2.1\n198.51.100.0/24\n')), 'list')
  assert.equal(await detectFormat(await file('domains', 'evil.example\nbad.example\n')), 'list')
  assert.equal(await detectFormat(await file('urls.lst', 'http://a.example/x,y\nhttp://b.example/z\n')), 'list')
  assert.equal(await detectFormat(await file('feed.txt', '[{"MD5": "' + MD5 + '"}]')), 'kaspersky')
  assert.equal(await detectFormat(await file('feed', '<?xml version="1.0"?><feed/>')), 'xml')
  assert.equal(await detectFormat(await file('table.txt', '# export\nindicator;type;score\nevil.example;domain;5\n')), 'csv')
  assert.equal(await detectFormat(await file('data.dat', '{"type": "bundle", "objects": []}')), 'stix2')
})

test('MISP folders; unknown formats name the file and suggest format:', async () => {
  const misp = join(dir, 'misp')
  await mkdir(misp)
  await writeFile(join(misp, 'manifest.json'), '{}')
  assert.equal(await detectFormat(misp), 'misp')
  const plain = join(dir, 'plain-folder')
  await mkdir(plain)
  await assert.rejects(detectFormat(plain), (err: Error & { code?: string }) =>
    err.code === 'FM_ERR_FEED_FORMAT' && err.message.includes(plain) && err.message.includes('format:'))
  const bin = await file('feed.bin', 'evil.example\n')
  await assert.rejects(detectFormat(bin), (err: Error & { code?: string }) =>
    err.code === 'FM_ERR_FEED_FORMAT' && err.message.includes(bin) && err.message.includes('format:'))
  await assert.rejects(detectFormat(await file('feed.gz.txt', Buffer.from([0x1f, 0x8b, 0, 0]))), { code: 'FM_ERR_FEED_FORMAT' })
  await assert.rejects(detectFormat(join(dir, 'missing.json')), { code: 'FM_ERR_FEED_NOT_FOUND' })
})

test('sniffJson reads the layout from a head that may end anywhere', () => {
  assert.deepEqual(sniffJson('[{"a": 1}, {"a": 2'), { top: 'array', ndjson: false, first: { a: 1 }, firstText: '{"a": 1}' })
  assert.deepEqual(sniffJson('{"meta": {"x": [1]}, "items": [{"b": "]"}'), { top: 'object', arrayKey: 'items', ndjson: false, first: { b: ']' }, firstText: '{"b": "]"}' })
  assert.equal(sniffJson('{"a": 1}\n{"a": 2}\n').ndjson, true)
  assert.equal(sniffJson('{"a": "cut').arrayKey, undefined)
  assert.equal(sniffJson('not json').top, 'none')
})
