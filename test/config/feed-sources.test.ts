import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig, validateConfig } from '../../src/config/load.js'
import { expandFeedSources } from '../../src/config/feed-sources.js'

let dir: string

async function touch (...parts: string[]): Promise<void> {
  const path = join(dir, ...parts)
  await mkdir(join(path, '..'), { recursive: true })
  await writeFile(path, '[]\n')
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'feedmatch-feeds-'))
  await touch('feeds', 'Botnet_CnC_URL.json')
  await touch('feeds', 'ips.csv')
  await touch('feeds', 'hashes.txt.gz')
  await touch('feeds', 'README.md')
  await touch('feeds', 'readme.txt')
  await touch('feeds', 'notes.md')
  await touch('feeds', '.hidden.json')
  await touch('feeds', 'circl', 'manifest.json')
  await touch('feeds', 'circl', '5f2b.json')
  await touch('feeds', 'archive', 'old.json')
  await touch('misp-osint', 'manifest.json')
  await touch('single.json')
  await touch('allow.txt')
})
after(async () => { await rm(dir, { recursive: true, force: true }) })

describe('expandFeedSources', () => {
  test('a folder gives one feed per file, named after it; a MISP subfolder is one feed', async () => {
    const config = validateConfig({ feeds: { sources: ['feeds'] } }, 'test', { baseDir: dir })
    const feeds = await expandFeedSources(config)
    assert.deepEqual(feeds.map(f => [f.name, f.path, f.category, f.format, f.role]), [
      ['Botnet_CnC_URL', join(dir, 'feeds/Botnet_CnC_URL.json'), 'Botnet_CnC_URL', undefined, 'feed'],
      ['circl', join(dir, 'feeds/circl'), 'circl', 'misp', 'feed'],
      ['hashes', join(dir, 'feeds/hashes.txt.gz'), 'hashes', undefined, 'feed'],
      ['ips', join(dir, 'feeds/ips.csv'), 'ips', undefined, 'feed'],
    ])
    assert.ok(feeds.every(f => f.enabled && f.origin === 'test: feeds.sources[0]'))
  })

  test('entry settings carry over to every file of a folder', async () => {
    const config = validateConfig({ feeds: { sources: [{ path: 'feeds', format: 'json', category: 'Intel', actionable: { score: 'cs3' } }] } }, 'test', { baseDir: dir })
    const feeds = await expandFeedSources(config)
    // With a format other than misp configured, a MISP subfolder is not one of this entry's feeds.
    assert.deepEqual(feeds.map(f => f.name), ['Botnet_CnC_URL', 'hashes', 'ips'])
    assert.ok(feeds.every(f => f.format === 'json' && f.category === 'Intel' && f.actionable?.score === 'cs3'))
  })

  test('a folder with manifest.json is one MISP feed; files take the configured name', async () => {
    const config = validateConfig({
      feeds: {
        sources: ['misp-osint', { path: 'single.json', name: 'Mine', format: 'kaspersky' }],
        allowlist: ['allow.txt'],
        blocklist: [{ path: 'single.json', name: 'Custom' }, { path: 'gone.txt', enabled: false }],
      },
    }, 'test', { baseDir: dir })
    const feeds = await expandFeedSources(config)
    assert.deepEqual(feeds.map(f => [f.role, f.name, f.category, f.format]), [
      ['feed', 'misp-osint', 'misp-osint', 'misp'],
      ['feed', 'Mine', 'Mine', 'kaspersky'],
      ['allow', 'allow', 'Allowlist', undefined],
      ['block', 'Custom', 'Blocklist', undefined],
    ])
    assert.ok(Object.isFrozen(feeds[0]))
  })

  test('a missing path is FM_ERR_FEED_NOT_FOUND naming where it was given', async () => {
    const path = join(dir, 'missing.yaml')
    await writeFile(path, 'feeds:\n  sources:\n    - single.json\n    - { path: nowhere.json }\n')
    const fromFile = await loadConfig(path)
    await assert.rejects(expandFeedSources(fromFile), {
      code: 'FM_ERR_FEED_NOT_FOUND',
      message: `${path}: feeds.sources[1].path: ${join(dir, 'nowhere.json')} does not exist`,
    })
    const fromFlag = await loadConfig(undefined, { feeds: [join(dir, 'not-here')] })
    await assert.rejects(expandFeedSources(fromFlag), {
      code: 'FM_ERR_FEED_NOT_FOUND',
      message: `--feeds: ${join(dir, 'not-here')} does not exist`,
    })
  })

  test('the same file twice loads once; two files with one name are an error', async () => {
    const twice = validateConfig({ feeds: { sources: ['feeds', 'feeds/ips.csv'] } }, 'test', { baseDir: dir })
    assert.equal((await expandFeedSources(twice)).filter(f => f.name === 'ips').length, 1)
    const clash = validateConfig({ feeds: { sources: ['single.json', { path: 'allow.txt', name: 'single' }] } }, 'test', { baseDir: dir })
    await assert.rejects(expandFeedSources(clash), {
      code: 'FM_ERR_CONFIG',
      message: /^test: feeds\.sources\[1\]\.path: expected a feed name used once; found "single" for .*allow\.txt, already the name of .*single\.json/,
    })
  })
})
