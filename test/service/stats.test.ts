import { test } from 'node:test'
import assert from 'node:assert/strict'
import { LatencyHistogram } from '../../src/service/stats.js'

test('latency histogram: exact below 16 ms, within 12.5% above, never under the true quantile', () => {
  const h = new LatencyHistogram()
  assert.equal(h.quantile(0.99), 0, 'empty')
  for (let ms = 1; ms <= 100; ms++) h.record(ms)
  assert.equal(h.count, 100)
  assert.equal(h.quantile(0.1), 10)
  const p50 = h.quantile(0.5)
  assert.ok(p50 >= 50 && p50 <= 50 * 1.125, `p50 ${p50}`)
  const p99 = h.quantile(0.99)
  assert.ok(p99 >= 99 && p99 <= 99 * 1.125, `p99 ${p99}`)
})

test('latency histogram: fractional, zero and huge values land in a bucket', () => {
  const h = new LatencyHistogram()
  h.record(0)
  h.record(0.3)
  h.record(3_600_000)
  assert.equal(h.quantile(0.5), 1)
  assert.ok(h.quantile(1) >= 2 ** 20, 'an hour is counted in the last bucket, not lost')
})
