/**
 * Built-in extraction presets (DESIGN.md section 4): RE2 patterns whose first group is the value.
 *
 * `generic` is the default. Its lookup rules are written so that a single-pass byte scanner
 * (scanner.ts) can reproduce exactly what RE2 finds; test/extract/scanner.test.ts proves it on
 * random events. The semantics, precisely (`word` = ASCII `[0-9A-Za-z_]`, as RE2's `\w` and `\b`):
 *
 * - RE_URL: a word start, a scheme `http`, `https` or `ftp` in any ASCII case, `://`, then a body
 *   of characters other than ASCII controls, space, DEL, `"`, `'`, `<`, `>`. Bytes that are not
 *   UTF-8 also end the body (RE2 matches no character class against them). The URL does not end
 *   with any of `)]},;.`: a run of those at the end is left out (`(see http://x.io/a).` gives
 *   `http://x.io/a`), so a path that really ends in `)` loses it. The value keeps the scheme.
 *   Defanged forms (`hxxp://`, `[.]`) are not matched: they come from reports, not from live
 *   traffic; a source that needs them says `refang: true` (match/normalize/refang.ts).
 * - RE_IP, IPv4: four dotted decimal octets 0-255 without leading zeros (`010` is octal to some
 *   parsers and decimal to others, so it is refused, as in match/normalize/ip.ts), starting at a
 *   word start and ending at a word end, whose dotted run (word groups joined by single dots) has
 *   exactly these four groups: `1.2.3.4.5`, `5.1.2.3.4` and `1.0.0.10.in-addr.arpa` give nothing,
 *   `1.2.3.4.`, `1.2.3.4:443`, `1.2.3.4/24`, `[1.2.3.4]` give `1.2.3.4`.
 * - RE_IP, IPv6: the RFC 4291 text forms (groups of 1-4 hex digits in either case, one `::` at
 *   most, an optional dotted quad as the last 32 bits), starting where the previous character is
 *   not a word character, ending where the next one is not, the longest such form; the bare `::`
 *   is left out. A zone (`fe80::1%eth0`) or brackets (`[::1]:443`) are not part of the value. A
 *   run of nine or more hex groups joined by single colons (MAC fields) gives nothing.
 * - RE_MD5, RE_SHA1, RE_SHA256: a whole word of exactly 32, 40 or 64 hex digits, either case.
 * - SRC_IP (CONTEXT): `src=`, `src_ip=` or `srcip=` (any case, at a word start), then an IPv4.
 */
import { DOMAIN } from './scan-domain.js'
import type { RuleSpec } from './types.js'

/** An IPv4 octet, 0-255, no leading zero. Leftmost-first order matters: longest spelling first. */
const OCT = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)'
/** A dotted quad (no boundaries). */
export const IPV4 = `${OCT}\\.${OCT}\\.${OCT}\\.${OCT}`
const H = '[0-9A-Fa-f]{1,4}'
const LS32 = `(?:${H}:${H}|${IPV4})`

/**
 * IPv6 as the RFC 3986 grammar, in an order where RE2's leftmost-first choice is the longest
 * form: more groups after `::` first. Forms that start with a hex group need `\b` before them,
 * forms that start with `::` need `\B` (both mean: the previous character is not a word
 * character); forms end with `\b`, or `\B` after a final `::` (the next one is not a word char).
 */
const IPV6 = [
  `\\b(?:${H}:){6}${LS32}\\b`,
  `\\b${H}::(?:${H}:){4}${LS32}\\b`,
  `\\b(?:${H}:){0,1}${H}::(?:${H}:){3}${LS32}\\b`,
  `\\b(?:${H}:){0,2}${H}::(?:${H}:){2}${LS32}\\b`,
  `\\b(?:${H}:){0,3}${H}::${H}:${LS32}\\b`,
  `\\b(?:${H}:){0,4}${H}::${LS32}\\b`,
  `\\b(?:${H}:){0,5}${H}::${H}\\b`,
  `\\b(?:${H}:){0,6}${H}::\\B`,
  `\\B::(?:${H}:){5}${LS32}\\b`,
  `\\B::(?:${H}:){4}${LS32}\\b`,
  `\\B::(?:${H}:){3}${LS32}\\b`,
  `\\B::(?:${H}:){2}${LS32}\\b`,
  `\\B::${H}:${LS32}\\b`,
  `\\B::${LS32}\\b`,
  `\\B::${H}\\b`
].join('|')

/**
 * RE_IP. The first two branches capture nothing: they eat from its start a dotted run of five
 * groups or more, and a run of nine hex groups or more joined by single colons (the MAC field of
 * netfilter logs, `MAC=00:16:3e:...:08:00`, is fourteen), because RE2 has no look-behind and would
 * otherwise find `1.2.3.4` inside `5.1.2.3.4`, or an IPv6 in the first eight groups of a MAC run.
 */
const RE_IP = `\\b\\w+(?:\\.\\w+){4,}|\\b${H}(?::${H}){8,}\\b|(\\b${IPV4}\\b|${IPV6})`

/** The URL body: no ASCII control, space, DEL, quote or angle bracket. */
const URL_CHAR = '[^\\x00-\\x20\\x7f"\'<>]'
/** The last character of a URL: a body character that is not closing punctuation. */
const URL_LAST = '[^\\x00-\\x20\\x7f"\'<>)\\]},;.]'
// The scheme is spelled out per letter: `(?i)` would let RE2 fold `ſ` (U+017F) to `s`.
const RE_URL = `\\b((?:[hH][tT][tT][pP][sS]?|[fF][tT][pP])://${URL_CHAR}*${URL_LAST})`

const hex = (n: number): string => `\\b([0-9a-fA-F]{${n}})\\b`

/** The default preset: any URL with a scheme, any IPv4/IPv6, any 32/40/64-hex word. */
export const GENERIC: readonly RuleSpec[] = Object.freeze([
  { name: 'RE_URL', type: 'URL', extract: 'all', pattern: RE_URL },
  { name: 'RE_IP', type: 'IP', extract: 'all', pattern: RE_IP },
  { name: 'RE_MD5', type: 'MD5', extract: 'all', pattern: hex(32) },
  { name: 'RE_SHA1', type: 'SHA1', extract: 'all', pattern: hex(40) },
  { name: 'RE_SHA256', type: 'SHA256', extract: 'all', pattern: hex(64) },
  { name: 'SRC_IP', type: 'CONTEXT', extract: 'first', pattern: `\\b(?i:src|src_ip|srcip)=(${IPV4})(?:$|[^\\w.]|\\.(?:$|\\W))` }
].map((r) => Object.freeze(r as RuleSpec)))

/** A CEF header field: anything but `|`, where `\|` and `\\` are escapes. */
const CEF_FIELD = '(?:[^|\\\\]|\\\\.)*'
/** A host label: letters and digits of any script (IDN), inner hyphens. */
const LABEL = '[\\pL\\pN](?:[\\pL\\pN-]*[\\pL\\pN])?'

/** After `://`: optional userinfo, a host of IDN labels (or a bracketed IPv6), a port, a path. */
const CEF_URL = '://((?:[^\\s/?#@]+@)?' +
  `(?:\\[[0-9A-Fa-f:.]+\\]|(?:${LABEL}\\.)*${LABEL}\\.?)` +
  '(?::\\d{1,5})?(?:[/?#]\\S*)?)'

/**
 * The FortiSIEM guide's rules (REFERENCE.md), as written there. Two quirks are the guide's own and
 * kept on purpose: RE_HASH takes any 32-64 hex run (the matcher ignores lengths other than
 * 32/40/64), and UserName's greedy `(.*)` takes the rest of the event after `suser=`.
 */
export const CEF: readonly RuleSpec[] = Object.freeze([
  { name: 'RE_HASH', type: 'HASH', extract: 'all', pattern: '([\\da-fA-F]{32,64})' },
  { name: 'RE_IP', type: 'IP', extract: 'first', pattern: 'dst\\=(\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3})(?:$|\\s)' },
  { name: 'SRC_IP', type: 'IP', extract: 'first', pattern: 'src\\=(\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3})(?:$|\\s)' },
  { name: 'RE_URL', type: 'URL', extract: 'all', pattern: CEF_URL },
  // The third `|`-separated field of the CEF header (Device Product); both rules read it.
  { name: 'Device', type: 'CONTEXT', extract: 'first', pattern: `CEF:\\d+\\|${CEF_FIELD}\\|(${CEF_FIELD})\\|` },
  { name: 'Product', type: 'CONTEXT', extract: 'first', pattern: `CEF:\\d+\\|${CEF_FIELD}\\|(${CEF_FIELD})\\|` },
  { name: 'Id', type: 'CONTEXT', extract: 'first', pattern: 'eventId\\=(\\d+)(?:$|\\s)' },
  { name: 'DeviceIp', type: 'CONTEXT', extract: 'first', pattern: 'dvc\\=(\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3})(?:$|\\s)' },
  { name: 'UserName', type: 'CONTEXT', extract: 'first', pattern: 'suser\\=(.*)(?:$|\\s)' }
].map((r) => Object.freeze(r as RuleSpec)))

/**
 * The generic preset plus bare domains (scan-domain.ts): for DNS logs, TLS SNI, proxy CONNECT
 * hosts and the like, where a domain stands without a scheme. Domains inside URLs stay RE_URL's.
 */
export const DNS: readonly RuleSpec[] = Object.freeze([
  ...GENERIC,
  Object.freeze({ name: 'RE_DOMAIN', type: 'DOMAIN', extract: 'all', pattern: DOMAIN } as RuleSpec)
])

/** The rules of each built-in preset; `none` has none. */
export const PRESETS: Readonly<Record<'generic' | 'cef' | 'dns' | 'none', readonly RuleSpec[]>> = Object.freeze({
  generic: GENERIC,
  cef: CEF,
  dns: DNS,
  none: Object.freeze([])
})
