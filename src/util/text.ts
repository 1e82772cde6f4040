/** Small renderers for command output: aligned text tables and RFC 4180 CSV. */

/** An aligned text table; cells are cut at `maxWidth` characters so a long context stays on one line. */
export function table (header: string[], rows: string[][], maxWidth = 80): string {
  const cut = (s: string): string => s.length > maxWidth ? s.slice(0, maxWidth - 1) + '…' : s
  const cells = [header, ...rows].map((r) => r.map((c) => cut(c.replace(/[\r\n\t]+/g, ' '))))
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]?.length ?? 0)))
  return cells.map((r) => r.map((c, i) => i === r.length - 1 ? c : c.padEnd(widths[i])).join('  ').trimEnd()).join('\n') + '\n'
}

/** One CSV field, quoted when it holds a delimiter, a quote or a line break. */
export function csvField (value: unknown): string {
  const s = value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value)
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

/** One CSV line (CRLF-free: LF endings, as the tools our users pipe into expect). */
export function csvLine (values: unknown[]): string {
  return values.map(csvField).join(',') + '\n'
}

/** A record context as `k=v k=v`, for the table view. */
export function flatContext (ctx: Record<string, unknown>): string {
  return Object.entries(ctx).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')
}

/** Bytes as a short human figure (KiB, MiB, GiB). */
export function humanBytes (n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++ }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`
}
