import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import dgram from 'node:dgram'
import { once } from 'node:events'
import { mkdtemp, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Emitter, type EmitterOptions } from '../../src/output/emitter.js'
import { Receiver, cleanup, frames, line, waitFor } from './emitter-helpers.js'

const T = { timeout: 30_000 }
const ROOT = fileURLToPath(new URL('../../', import.meta.url))

const base = {
  batch: { maxBytes: 16 * 1024, maxDelay: 5 },
  queue: { maxBytes: 1024 * 1024 },
  reconnect: { initialDelay: 20, maxDelay: 200 },
}

async function udpReceiver (t: { after (fn: () => void): void }): Promise<{ port: number, got: Buffer[] }> {
  const socket = dgram.createSocket('udp4')
  const got: Buffer[] = []
  socket.on('message', (msg) => got.push(msg))
  socket.bind(0, '127.0.0.1')
  await once(socket, 'listening')
  t.after(() => socket.close())
  return { port: socket.address().port, got }
}

test('UDP: one datagram per LF frame, framing removed', T, async (t) => {
  const rx = await udpReceiver(t)
  const em = new Emitter({ ...base, target: { protocol: 'udp', host: '127.0.0.1', port: rx.port }, framing: 'lf' })
  cleanup(t, em)
  await em.start()
  assert.equal(em.write(frames(0, 20)), true)
  assert.equal(em.write(Buffer.from('last one\n')), true)
  await waitFor(() => rx.got.length >= 21, '21 datagrams')
  await em.close()
  assert.deepEqual(rx.got.map(String), [...Array.from({ length: 20 }, (_, i) => line(i)), 'last one'])
  assert.equal(em.counters.framesSent, 21)
  assert.equal(em.needsDrain, false)
})

test('UDP: octet-counted frames are cut by their counts; oversize and malformed ones are dropped and counted', T, async (t) => {
  const rx = await udpReceiver(t)
  const em = new Emitter({ ...base, target: { protocol: 'udp', host: '127.0.0.1', port: rx.port }, framing: 'octet', udpMaxDatagram: 32 })
  cleanup(t, em)
  await em.start()
  const big = 'y'.repeat(40)
  // A count frames a message that holds a LF and spaces; one is too big for a datagram; the
  // last has a count longer than what is left.
  em.write(Buffer.from(`5 a\nb c11 hello world${big.length} ${big}3 end`))
  em.write(Buffer.from('9 <13>1 one2 ok99 short'))
  await waitFor(() => rx.got.length >= 5, '5 datagrams')
  await em.close()
  assert.deepEqual(rx.got.map(String), ['a\nb c', 'hello world', 'end', '<13>1 one', 'ok'])
  assert.equal(em.counters.dropped.oversize, 40)
  assert.equal(em.counters.dropped.malformed, '99 short'.length)
  assert.equal(em.counters.framesSent, 5)
})

test('file: appends to what is there; reopen() after rotation starts the new file', T, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'feedmatch-out-'))
  const file = path.join(dir, 'detections.log')
  await writeFile(file, 'old line\n')
  const em = new Emitter({ ...base, target: { protocol: 'file', path: file } })
  cleanup(t, em)
  await em.start()
  const first = frames(0, 100)
  em.write(first)
  await waitFor(() => em.counters.bytesSent === first.length, 'the first frames in the file')
  // What logrotate does: rename, then signal the writer.
  await rename(file, file + '.1')
  await em.reopen()
  const second = frames(100, 200)
  em.write(second)
  await em.close()
  assert.equal(await readFile(file + '.1', 'utf8'), 'old line\n' + first.toString())
  assert.equal(await readFile(file, 'utf8'), second.toString())
  assert.equal((await stat(file)).size, second.length)
})

test('stdout: a child process writes frames to its stdout, every one arrives in order', T, async () => {
  const script = `
    import { Emitter } from ${JSON.stringify(path.join(ROOT, 'src/output/emitter.ts'))}
    const em = new Emitter({ target: { protocol: 'stdout' }, batch: { maxBytes: 4096, maxDelay: 1 },
      queue: { maxBytes: 65536 }, reconnect: { initialDelay: 10, maxDelay: 100 } })
    await em.start()
    for (let i = 0; i < 5000; i++) {
      if (!em.write(Buffer.from('frame ' + i + '\\n'))) await new Promise((r) => em.once('drain', r))
    }
    await em.close()
  `
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT })
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8').on('data', (s: string) => { out += s })
  child.stderr.setEncoding('utf8').on('data', (s: string) => { err += s })
  const [code] = await once(child, 'close')
  assert.equal(code, 0, err)
  assert.equal(out, Array.from({ length: 5000 }, (_, i) => `frame ${i}\n`).join(''))
})

test('TLS: frames arrive over a verified session; an untrusted certificate is refused and reported lost', T, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'feedmatch-tls-'))
  const key = path.join(dir, 'key.pem')
  const cert = path.join(dir, 'cert.pem')
  try {
    await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
      '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'])
  } catch {
    t.skip('openssl is not available to make a test certificate')
    return
  }
  const r = await Receiver.listen(0, { key: await readFile(key), cert: await readFile(cert) })
  const opts: EmitterOptions = { ...base, target: { protocol: 'tls', host: '127.0.0.1', port: r.port } }

  const untrusted = new Emitter(opts)
  cleanup(t, untrusted)
  const lost = once(untrusted, 'lost')
  await untrusted.start()
  const [err] = await lost
  assert.match(String((err as Error).message), /self.signed|certificate/i)

  const em = new Emitter({ ...opts, tls: { ca: cert } })
  cleanup(t, em, r)
  await em.start()
  em.write(frames(0, 500))
  await waitFor(() => r.lines.length >= 500, '500 lines')
  await em.close()
  assert.deepEqual(r.lines, Array.from({ length: 500 }, (_, i) => line(i)))
})
