// What the end-to-end comparison leaves behind besides stdout: the SVG chart (written by hand, so
// the bench needs no plotting dependency) and the markdown table the README shows.

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** Formats a number for a table cell: null and NaN become a dash. */
export function fmt (x, digits = 0) {
  if (x === null || x === undefined || Number.isNaN(x)) return '-'
  return Number(x).toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

/** The ratio cell: `6.1x`, or a dash. */
export const ratio = (x, base) => x > 0 && base > 0 ? `${(x / base).toFixed(x / base < 10 ? 2 : 1)}x` : '-'

/**
 * Horizontal bars of MB/s per tool, each labelled with its value and its ratio to the baseline;
 * `rows` is [{ name, short?, mbPerSec }], `base` the baseline's MB/s.
 */
export function throughputSvg (rows, base, title, subtitle) {
  const W = 760
  const left = 190
  const right = 150
  const bar = 26
  const gap = 12
  const top = 64
  const max = Math.max(...rows.map((r) => r.mbPerSec), 1)
  const H = top + rows.length * (bar + gap) + 40
  const scale = (W - left - right) / max
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="14">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="16" y="26" font-size="17" font-weight="bold">${esc(title)}</text>`,
    `<text x="16" y="46" fill="#555">${esc(subtitle)}</text>`
  ]
  // The baseline as a line across every bar, drawn first so bars and labels lie on top of it.
  const bx = left + base * scale
  out.push(
    `<line x1="${bx.toFixed(1)}" y1="${top - 6}" x2="${bx.toFixed(1)}" y2="${H - 34}" stroke="#444" stroke-dasharray="4 3"/>`,
    `<text x="${bx.toFixed(1)}" y="${H - 18}" text-anchor="middle" fill="#444" font-size="12">Node baseline = 1x</text>`
  )
  rows.forEach((r, i) => {
    const y = top + i * (bar + gap)
    const w = Math.max(1, r.mbPerSec * scale)
    const color = r.name.startsWith('feedmatch') ? '#2f6fb3' : r.name.startsWith('Node baseline') ? '#8a8a8a' : '#c9822b'
    out.push(
      `<text x="${left - 10}" y="${y + bar * 0.68}" text-anchor="end">${esc(r.short ?? r.name)}</text>`,
      `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${bar}" fill="${color}"/>`,
      `<text x="${(left + w + 8).toFixed(1)}" y="${y + bar * 0.68}">${esc(`${fmt(r.mbPerSec, 1)} MB/s (${ratio(r.mbPerSec, base)})`)}</text>`
    )
  })
  out.push('</svg>')
  return out.join('\n') + '\n'
}

/** The comparison as a markdown table with its date, machine and footnotes. */
export function markdownTable ({ rows, base, machine, date, header, footnotes, skipped }) {
  const lines = [
    `Measured ${date} on ${machine}. ${header}`,
    '',
    '| tool | MB/s | events/s | peak RSS (MB) | setup (s) | detections | vs Node baseline |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.name} | ${fmt(r.mbPerSec, 1)} | ${fmt(r.linesPerSec)} | ${fmt(r.peakRssMb)} | ${fmt(r.setupMs / 1000, 2)} | ${r.partial === undefined ? fmt(r.detections) : `${fmt(r.detections)} in ${fmt(r.partial.bytes / 1e6)} MB`} | ${ratio(r.mbPerSec, base)} |`),
    '',
    ...skipped.map((s) => `- Skipped: ${s}`),
    ...(skipped.length > 0 ? [''] : []),
    ...footnotes.map((f, i) => `${i + 1}. ${f}`)
  ]
  return lines.join('\n') + '\n'
}

/** The memory figures as a markdown table: `sets` is { label: figures | { skipped } }. */
export function memoryMarkdown (sets) {
  const rows = Object.entries(sets).map(([label, m]) => m.skipped !== undefined
    ? `| ${label} | skipped: ${m.skipped} | | | | | |`
    : `| ${label} | ${fmt(m.keys)} | ${fmt(m.bytesPerKey, 1)} | ${fmt(m.buildMs / 1000, 1)} | ${fmt(m.peakRssMb)} | ${fmt(m.snapshotLoadMs)} | ${fmt(m.servingRssMb)} |`)
  return [
    '',
    'Memory (index keys are the MD5, SHA1 and SHA256 of each hash record, IPs, networks, domains, hosts and URL masks; the context arena is apart):',
    '',
    '| indicators | keys | index bytes/key | build (s) | build peak RSS (MB) | snapshot load (ms) | RSS serving it (MB) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows
  ].join('\n') + '\n'
}
