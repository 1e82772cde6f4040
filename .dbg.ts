import { writeFileSync } from 'node:fs'
import { parseXml } from './src/feeds/formats/xml.js'
const p = '/tmp/fmx/x.xml'
writeFileSync(p, process.argv[2].replace(/\\n/g, '\n'))
try { for await (const i of parseXml({ path: p, indicators: [{ field: 'ip', kind: 'ip' }], records: 'rec' })) console.log(JSON.stringify(i)) } catch (e) { console.log('THROW', (e as Error).message) }
