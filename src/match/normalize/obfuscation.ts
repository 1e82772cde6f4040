/**
 * The tricks a URL or host in an event used to look like something else, or to slip past a
 * naive filter: an IP host written as one decimal number, in hex or in octal, a userinfo lure
 * (`http://bank.example@evil.example/`), a %-encoded host, an IDN or punycode host, a trailing
 * dot, a defanged form. Normalization undoes them all before matching (DESIGN.md section 3); this
 * says which were undone, for the detection (%Obfuscation%) and the per-technique counters.
 * Runs for detections only (rare), never on the event path.
 */

/** The techniques, as named in detections and counters. */
export type Obfuscation = 'ip-decimal' | 'ip-hex' | 'ip-octal' | 'ip-short' | 'userinfo' | 'percent-host' | 'idn' | 'trailing-dot' | 'defanged'

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i
const DEFANGED = /h[x]{2}ps?:|\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)|\[:\]/i

/** The techniques the raw value (a URL, a host) shows, in a fixed order; empty for a plain one. */
export function obfuscationOf (raw: string): Obfuscation[] {
  const out: Obfuscation[] = []
  if (DEFANGED.test(raw)) out.push('defanged')
  const rest = raw.replace(SCHEME, '')
  const authority = rest.split(/[/?#\\]/, 1)[0] ?? ''
  const at = authority.lastIndexOf('@')
  if (at >= 0) out.push('userinfo')
  let host = authority.slice(at + 1)
  if (host.startsWith('[')) host = host.slice(1, host.indexOf(']') < 0 ? undefined : host.indexOf(']'))
  else host = host.replace(/:\d*$/, '')
  if (host.includes('%')) out.push('percent-host')
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\x7f]/.test(host) || /(^|\.)xn--/i.test(host)) out.push('idn')
  if (host.endsWith('.') && host.length > 1) out.push('trailing-dot')
  out.push(...ipForms(host.replace(/\.$/, '')))
  return out
}

// An IPv4 host that is not a plain dotted quad: the forms inet_aton accepts and browsers follow.
function ipForms (host: string): Obfuscation[] {
  const parts = host.split('.')
  if (parts.length > 4 || !parts.every((p) => /^(0x[0-9a-f]*|\d+)$/i.test(p))) return []
  const out: Obfuscation[] = []
  if (parts.length === 1) out.push('ip-decimal')
  else if (parts.length < 4) out.push('ip-short')
  if (parts.some((p) => /^0x/i.test(p))) out.push('ip-hex')
  if (parts.some((p) => /^0\d+$/.test(p))) out.push('ip-octal')
  return out
}
