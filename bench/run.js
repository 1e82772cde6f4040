// `npm run bench [-- --quick]`: every benchmark in one run; tables on stdout, JSON under bench/results/.
import { mkdir, writeFile } from 'node:fs/promises'
import { cpus, totalmem } from 'node:os'
import { runFeedsBench } from './feeds.bench.mjs'
import { runIndexBench } from './index.bench.mjs'

const quick = process.argv.includes('--quick')
const machine = { cpus: cpus().length, model: cpus()[0]?.model, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version }
console.log(`feedmatch bench (${quick ? 'quick' : 'full'}) on ${machine.cpus} cores, ${machine.memGiB} GiB, Node ${machine.node}, ${new Date().toISOString().slice(0, 10)}`)

const results = { date: new Date().toISOString(), machine, quick }
results.index = await runIndexBench({ quick })
results.feeds = await runFeedsBench({ quick })

await mkdir(new URL('./results/', import.meta.url), { recursive: true })
const file = new URL(`./results/bench-${quick ? 'quick' : 'full'}.json`, import.meta.url)
await writeFile(file, JSON.stringify(results, null, 2))
console.log(`\nraw results: ${file.pathname}`)
