import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { Framer, type FramerOptions } from '../../src/input/framing.js'

function frame (opts: Partial<FramerOptions>, chunks: Array<string | Buffer>): { events: string[], framer: Framer } {
  const framer = new Framer({ mode: 'auto', maxEventSize: 65536, ...opts })
  const events: string[] = []
  const on = (b: Buffer, s: number, e: number): void => { events.push(b.toString('latin1', s, e)) }
  for (const c of chunks) framer.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : c, on)
  framer.end(on)
  return { events, framer }
}

test('LF framing ignores CR and blank lines; an unterminated last line is an event', () => {
  const { events } = frame({ mode: 'lf' }, ['a=1\r\nb=2\n\n', 'c=', '3\r\nlast'])
  assert.deepEqual(events, ['a=1', 'b=2', 'c=3', 'last'])
})

test('octet counting (RFC 6587), auto-detected per frame, LF trailer tolerated', () => {
  const m1 = '<13>1 2024-01-01T00:00:00Z h app - - - x=1'
  const m2 = '<14>hello\nworld' // an LF inside an octet-counted frame belongs to the frame
  const { events } = frame({ mode: 'auto' }, [`${m1.length} ${m1}${m2.length} `, `${m2}\n`, '<15>plain line\n'])
  assert.deepEqual(events, [m1, m2, '<15>plain line'])
})

test('auto mode keeps a line that starts with a number LF-framed', () => {
  const { events, framer } = frame({ mode: 'auto' }, ['2024-05-01 10:00 src=1.2.3.4\n', '12 apples\n'])
  assert.deepEqual(events, ['2024-05-01 10:00 src=1.2.3.4', '12 apples'])
  assert.equal(framer.counters.framingErrors, 0)
})

test('forced octet mode counts a bad prefix and reads the line as LF-framed', () => {
  const { events, framer } = frame({ mode: 'octet' }, ['5 hello', 'oops\n', '3 abc'])
  assert.deepEqual(events, ['hello', 'oops', 'abc'])
  assert.equal(framer.counters.framingErrors, 1)
})

test('custom delimiter cuts before each <PRI> that does not follow = (FortiSIEM guide)', () => {
  const { events } = frame({ mode: 'delimiter', delimiter: '[^\\=](\\<\\d+\\>)' },
    ['<13>CEF:0|a|b|1|x|y|5|msg=<b>x<', '/b> <14>CEF:0|c| <15>', 'z'])
  assert.deepEqual(events, ['<13>CEF:0|a|b|1|x|y|5|msg=<b>x</b>', '<14>CEF:0|c|', '<15>z'])
})

test('an event over the maximum size is cut and counted; the stream stays in step', () => {
  const long = 'x'.repeat(1000)
  for (const mode of ['lf', 'auto'] as const) {
    const { events, framer } = frame({ mode, maxEventSize: 256 }, [long.slice(0, 300), long.slice(300) + '\nnext\n'])
    assert.deepEqual(events, ['x'.repeat(256), 'next'])
    assert.equal(framer.counters.truncated, 1)
  }
  const m = 'y'.repeat(600)
  const oc = frame({ mode: 'octet', maxEventSize: 256 }, [`${m.length} ${m}3 abc`])
  assert.deepEqual(oc.events, ['y'.repeat(256), 'abc'])
  assert.equal(oc.framer.counters.truncated, 1)
})

test('binary junk and invalid UTF-8 pass through as bytes without throwing', () => {
  const junk = Buffer.from([0xff, 0xfe, 0x00, 0x0a, 0xc3, 0x28, 0x0a])
  const { events } = frame({ mode: 'auto' }, [junk])
  assert.equal(events.length, 2)
})

test('property: any chunking of a stream gives the same events as one chunk', () => {
  const line = fc.stringMatching(/^[ -~]{0,60}$/).filter((s) => !s.includes('\n'))
  fc.assert(fc.property(
    fc.array(fc.tuple(line, fc.boolean()), { maxLength: 30 }),
    fc.array(fc.nat(200), { maxLength: 10 }),
    fc.constantFrom('auto', 'lf', 'octet') as fc.Arbitrary<'auto' | 'lf' | 'octet'>,
    (msgs, cuts, mode) => {
      const parts = msgs.map(([m, octet]) => {
        const body = `<1>${m}`
        return (mode === 'octet' || (mode === 'auto' && octet)) ? `${body.length} ${body}` : `${body}\n`
      })
      const whole = Buffer.from(parts.join(''), 'latin1')
      const points = [...new Set(cuts.map((c) => c % (whole.length + 1)))].sort((a, b) => a - b)
      const chunks: Buffer[] = []
      let prev = 0
      for (const p of points) { chunks.push(whole.subarray(prev, p)); prev = p }
      chunks.push(whole.subarray(prev))
      const a = frame({ mode, maxEventSize: 50 }, [whole])
      const b = frame({ mode, maxEventSize: 50 }, chunks)
      assert.deepEqual(b.events, a.events)
      assert.equal(a.events.length, msgs.length)
    }
  ), { numRuns: 500 })
})
