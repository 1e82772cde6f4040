/**
 * The error table (src/errors.ts), as fastify tests its own: every FM_ERR code is raised somewhere
 * in src/, has a hint that says what to do, and no code is raised that the table does not hold.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ERROR_CODES } from '../src/errors.js'

const SRC = fileURLToPath(new URL('../src/', import.meta.url))

function sources (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [])
}

const texts = sources(SRC).filter((f) => !f.endsWith('errors.ts')).map((f) => readFileSync(f, 'utf8'))

test('every FM_ERR code is raised somewhere and tells the user what to do', () => {
  for (const [code, hint] of Object.entries(ERROR_CODES)) {
    assert.ok(texts.some((t) => t.includes(`'${code}'`)), `${code} is raised somewhere in src/`)
    assert.ok(hint.length >= 20 && /[.!]$/.test(hint), `${code} has a hint that says what to do: ${hint}`)
  }
})

test('no code is raised that the table does not hold', () => {
  const used = new Set(texts.flatMap((t) => [...t.matchAll(/'(FM_ERR_[A-Z_]+)'/g)].map((m) => m[1]!)))
  for (const code of used) assert.ok(Object.hasOwn(ERROR_CODES, code), `${code} is in ERROR_CODES`)
})

test('the README points at the table and tells users to match on the code', () => {
  const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8')
  assert.match(readme, /src\/errors\.ts/)
  assert.match(readme, /match on the code/)
})
