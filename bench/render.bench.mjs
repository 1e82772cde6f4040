// Rendering benchmark: complete detection frames per second for every output preset, as a worker
// renders them (RFC 5424 header, LF framing), with plain feed data and with values that need
// escaping. Prints a table, writes bench/results/render.json, never asserts a time.
// `npm run build` first: it measures the compiled dist/ code, as the service runs it.
import { mkdir, writeFile } from 'node:fs/promises'
import { pathToFileURL } from 'node:url'
import { Bench } from 'tinybench'

const dist = (p) => new URL(`../dist/render/${p}`, import.meta.url).href

const PRESETS = ['alienvault', 'fortisiem', 'arcsight', 'qradar', 'ecs', 'kv']
const RULES = ['RE_URL', 'SRC_IP', 'RE_IP', 'RE_HASH', 'RE_MD5', 'DeviceIp', 'Device', 'Product', 'UserName', 'Id']
/** Frames per tinybench iteration: one call per frame would measure the harness, not the renderer. */
const BATCH = 256

/** A batch of detections shaped like Kaspersky feed matches; `hostile` fills the values with what needs escaping. */
function detections (hostile) {
  const t0 = Date.UTC(2024, 0, 5, 3, 4, 5, 0)
  const out = []
  for (let i = 0; i < BATCH; i++) {
    const md5 = (i * 2654435761 >>> 0).toString(16).padStart(8, '0').repeat(4)
    const note = hostile ? `line1\nline2 | key=value \\ "quoted"\ttab é ${i}` : `Trojan.Win32.Agent.${i}`
    out.push({
      // A few detections share each millisecond, as in a busy batch (the timestamp cache's case).
      time: t0 + (i >> 2),
      feed: 'kl_malicious_hash',
      category: 'KL_Malicious_Hash_MD5',
      type: 'md5',
      matched: md5,
      value: md5,
      rule: 'RE_HASH',
      context: { MD5: md5, first_seen: '10.07.2015 23:53', last_seen: '04.10.2019 06:25', popularity: 5, threat: note, file_size: 123456 },
      actionable: [['cs3', String(i % 100)]],
      sourceIp: '10.0.0.7',
      rules: { RE_HASH: md5, SRC_IP: '10.1.1.1', RE_IP: '10.2.2.2', DeviceIp: '10.3.3.3', Device: 'FortiGate', Product: 'FortiOS', UserName: hostile ? 'DOMAIN\\alice=admin' : 'alice', Id: String(i) },
      obfuscation: []
    })
  }
  return out
}

/** Runs the benchmark; returns frames/s and bytes/s per preset (and writes bench/results/render.json). */
export async function runRenderBench ({ quick = false } = {}) {
  const { createRenderer } = await import(dist('renderer.js'))
  const sets = { plain: detections(false), escaped: detections(true) }
  const bench = new Bench({ time: quick ? 200 : 1000, warmupTime: quick ? 50 : 200 })
  const bytes = {}
  let sink = 0
  for (const preset of PRESETS) {
    const r = createRenderer({
      preset,
      ruleNames: RULES,
      syslog: { header: 'rfc5424', framing: 'lf', hostname: 'feedmatch-bench', appName: 'feedmatch', facility: 16 }
    })
    for (const [kind, list] of Object.entries(sets)) {
      const name = `${preset} (${kind})`
      bytes[name] = list.reduce((n, d) => n + Buffer.byteLength(r.detectionFrame(d)), 0) / BATCH
      bench.add(name, () => {
        for (let i = 0; i < list.length; i++) sink += r.detectionFrame(list[i]).length
      })
    }
  }
  await bench.run()

  const results = {}
  for (const task of bench.tasks) {
    const res = task.result
    const perSec = res.state === 'completed' ? res.throughput.mean * BATCH : NaN
    results[task.name] = { framesPerSec: Math.round(perSec), bytesPerFrame: Math.round(bytes[task.name]), mbPerSec: Number((perSec * bytes[task.name] / 1e6).toFixed(1)) }
  }
  console.log(`\nRendering: complete detection frames (RFC 5424, LF), ${BATCH} a batch`)
  console.table(Object.fromEntries(Object.entries(results).map(([k, v]) => [k, {
    'frames/s': v.framesPerSec.toLocaleString(), 'bytes/frame': v.bytesPerFrame, 'MB/s': v.mbPerSec
  }])))
  const dir = new URL('./results/', import.meta.url)
  await mkdir(dir, { recursive: true })
  await writeFile(new URL('render.json', dir), JSON.stringify({ date: new Date().toISOString(), node: process.version, quick, batch: BATCH, results, checksum: sink }, null, 2))
  return results
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runRenderBench({ quick: process.argv.includes('--quick') })
}
