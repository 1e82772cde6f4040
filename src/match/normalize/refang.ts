/**
 * Defanged indicators, as threat reports and analysts write them so that nobody clicks:
 * `hxxp://`, `hxxps[:]//`, `evil[.]example`, `evil(.)example`, `evil{.}example`, `evil[dot]example`,
 * `1.2.3[.]4`, `user[@]evil.example`. `lookup`, POST /lookup and feed loading refang what they are
 * given; events are left as they are unless their source says `refang: true` (REFANG_STEPS).
 */

const SCHEME = /\b([hH])[xX]{2}([pP][sS]?)(?:\[:\]|:)(?:\/\/|\[\/\/\])/g
const FTP = /\b[fF][xX][pP](?:\[:\]|:)(?:\/\/|\[\/\/\])/g
const DOT = /\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)/gi
const COLON = /\[:\]/g
const AT = /\[@\]|\[at\]/gi

/** The indicator with its defanging undone; the same string when it was not defanged. */
export function refang (s: string): string {
  // Most indicators are not defanged: one cheap test before any replace.
  if (!/[xX]|[[({]/.test(s)) return s
  return s.replace(SCHEME, (_m, h: string, p: string) => `${h}tt${p}://`)
    .replace(FTP, 'ftp://')
    .replace(DOT, '.')
    .replace(COLON, ':')
    .replace(AT, '@')
}

/**
 * The same undoing as normalize `replace` steps (RE2 patterns, `$1` references), for a source
 * with `refang: true`. They take the source off the byte scanner, onto RE2: a cost its README line
 * states, worth it only for sources that carry reports rather than live traffic.
 */
export const REFANG_STEPS: ReadonlyArray<{ replace: string, with: string }> = Object.freeze([
  { replace: '\\b([hH])[xX]{2}([pP][sS]?)(?:\\[:\\]|:)(?:\\/\\/|\\[\\/\\/\\])', with: '$1tt$2://' },
  { replace: '\\b[fF][xX][pP](?:\\[:\\]|:)(?:\\/\\/|\\[\\/\\/\\])', with: 'ftp://' },
  { replace: '\\[\\.\\]|\\(\\.\\)|\\{\\.\\}|(?i:\\[dot\\]|\\(dot\\))', with: '.' },
  { replace: '\\[:\\]', with: ':' },
  { replace: '\\[@\\]|(?i:\\[at\\])', with: '@' },
])
