import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MAX_JSON_RECORD_BYTES, streamJsonArray, type JsonArrayItem } from '../../src/feeds/json-stream.js'

async function collect (path: string, at = '', chunk = 1 << 20): Promise<JsonArrayItem[]> {
  const out: JsonArrayItem[] = []
  for await (const x of streamJsonArray(path, at, chunk)) out.push(x)
  return out
}

test('property: any chunk size yields exactly the elements JSON.parse sees, escapes included', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fm-jsonstream-'))
  // Strings full of quotes, backslashes and brackets are the cases the quote-jumping scanner must get right.
  const tricky = fc.string({ unit: fc.constantFrom('"', '\\', '[', ']', '{', '}', ',', 'a', 'é', ' ', '\n') })
  const value = fc.letrec((tie) => ({
    v: fc.oneof({ depthSize: 'small' }, tricky, fc.integer(), fc.boolean(), fc.constant(null),
      fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(tricky, tie('v'), { maxKeys: 3 }))
  })).v
  let n = 0
  await fc.assert(fc.asyncProperty(fc.array(value, { maxLength: 8 }), fc.integer({ min: 1, max: 40 }), fc.boolean(), async (arr, chunk, pretty) => {
    const file = join(dir, `a${n++}.json`)
    const text = JSON.stringify(arr, null, pretty ? 2 : undefined)
    await writeFile(file, text)
    const got = await collect(file, '', chunk)
    assert.deepEqual(got.map((x) => 'value' in x ? x.value : x), JSON.parse(text))
  }), { numRuns: 300 })
})

test('a named array inside the top-level object (STIX objects), line numbers, broken elements', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fm-jsonstream-'))
  const file = join(dir, 'b.json')
  await writeFile(file, '{"type":"bundle","x":{"objects":[0]},\n"objects":[\n{"a":"\\\\"},\n{bad},\n3]}')
  const got = await collect(file, 'objects', 7)
  assert.deepEqual(got, [
    { value: { a: '\\' }, line: 3 },
    { error: got[1] && 'error' in got[1] ? got[1].error : 'x', line: 4, record: true },
    { value: 3, line: 5 }
  ])
})

test('a file cut short and a file without the array are reported', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fm-jsonstream-'))
  await writeFile(join(dir, 'cut.json'), '[{"a":1},{"b":')
  const cut = await collect(join(dir, 'cut.json'))
  assert.deepEqual(cut[0], { value: { a: 1 }, line: 1 })
  assert.match((cut[1] as { error: string }).error, /not closed/)
  await writeFile(join(dir, 'obj.json'), '{"a":1}')
  assert.match((await collect(join(dir, 'obj.json'), 'objects'))[0] && ((await collect(join(dir, 'obj.json'), 'objects'))[0] as { error: string }).error, /no array "objects"/)
})

test('a record over 16 MiB or nested over 100 levels is skipped with its line; the records around it stay', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fm-jsonstream-'))
  const file = join(dir, 'big.json')
  const deep = '['.repeat(100_000) + ']'.repeat(100_000)
  await writeFile(file, `[{"a":1},\n{"huge":"${'x'.repeat(MAX_JSON_RECORD_BYTES + 10)}"},\n${deep},\n{"b":2}]`)
  const got = await collect(file)
  assert.deepEqual(got.map((x) => 'value' in x ? x.value : { line: x.line, record: x.record, error: x.error.replace(/ (larger|nested).*/, ' $1') }), [
    { a: 1 },
    { line: 2, record: true, error: 'a record larger' },
    { line: 3, record: true, error: 'a record nested' },
    { b: 2 },
  ])
})
