/**
 * JIT warm-up text for the match pipeline. A fresh worker runs its hot path (extraction, lookups)
 * in V8's baseline tiers until TurboFan has compiled it, and those compilations run on the V8
 * helper threads, which on a busy 2-core machine compete with the workers themselves: a cold
 * `serve` matched 500 MB about a tenth slower than one that had seen traffic before. So `serve`
 * puts this text through its pipeline before it listens (service/warmup.ts), and the first events
 * after a start or a restart (a SIEM's backlog, as often as not) meet optimized code.
 *
 * The text is synthetic and deterministic: the line shapes the extraction presets meet in logs
 * (CEF as FortiSIEM forwards it, key=value firewall lines, squid access lines), with IPv4 and
 * IPv6 addresses, URLs, hosts and hashes where those formats put them, and some of the loaded
 * index's own indicators (index/samples.ts), so that the type feedback the compiled code is built
 * on is that of real traffic, hits included. Whatever it matches is discarded.
 */
import type { IndicatorSamples } from '../index/samples.js'

/** Bytes matched at start per worker: enough for TurboFan to have compiled the hot path. */
export const WARMUP_BYTES = 24 * 1024 * 1024

/** Bytes of distinct warm-up text, matched over and over up to WARMUP_BYTES. */
export const WARMUP_TEXT_BYTES = 1024 * 1024

const TLDS = ['com', 'net', 'org', 'ru', 'io', 'de', 'info', 'co.uk']
const WORDS = ['update', 'cdn', 'mail', 'api', 'static', 'login', 'files', 'news', 'shop', 'portal']
const PATHS = ['/index.html', '/download/setup.exe', '/api/v2/items?id=', '/css/main.css', '/search?q=', '/img/logo.png', '/']
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** xorshift32: the same text on every run and in every worker. */
function random (seed: number): () => number {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return (s >>> 0) / 0x100000000
  }
}

/** Lines that carry one of the index's own indicators (in logs about 1 in 100 does). */
const PLANT_RATE = 0.02

/**
 * Whole lines of synthetic log text, about `size` bytes (LF-terminated). With `samples` (of the
 * index the text is matched against), PLANT_RATE of the lines carry one of them where its kind
 * goes: a hash as a file hash, an IP as a destination, a host or a URL as the requested URL.
 */
export function warmupText (size = WARMUP_TEXT_BYTES, samples?: IndicatorSamples): Buffer {
  const rand = random(0x5eed)
  const int = (n: number): number => Math.floor(rand() * n)
  const pick = <T>(a: readonly T[]): T => a[int(a.length)]
  const hex = (n: number): string => { let s = ''; for (let i = 0; i < n; i++) s += '0123456789abcdef'[int(16)]; return s }
  const pad = (n: number): string => String(n).padStart(2, '0')
  const privateIp = (): string => rand() < 0.5 ? `10.${int(256)}.${int(256)}.${1 + int(254)}` : `192.168.${int(256)}.${1 + int(254)}`
  const publicIp = (): string => `${1 + int(223)}.${int(256)}.${int(256)}.${1 + int(254)}`
  const ipv6 = (): string => rand() < 0.5 ? `2001:db8::${hex(4)}` : `2a02:${hex(4)}:${hex(3)}:${hex(4)}:${hex(2)}:${hex(4)}:${hex(4)}:${hex(1)}`
  const host = (): string => `${rand() < 0.6 ? pick(WORDS) + '.' : ''}${pick(WORDS)}${int(1000)}.${pick(TLDS)}`
  const randomUrl = (): string => `${rand() < 0.7 ? 'https' : 'http'}://${host()}${pick(PATHS)}${rand() < 0.3 ? hex(6) : ''}`
  const randomHash = (): string => hex(pick([32, 32, 40, 64]))
  const clock = (): string => `${pad(int(24))}:${pad(int(60))}:${pad(int(60))}`
  const kinds = samples === undefined ? [] : (['hashes', 'ips', 'hosts', 'urls'] as const).filter((k) => samples[k].length > 0)
  const lines: string[] = []
  let bytes = 0
  while (bytes < size) {
    // The slot of this line's planted indicator, if it has one.
    const plant = kinds.length > 0 && rand() < PLANT_RATE ? pick(kinds) : undefined
    const planted = plant === undefined ? '' : pick(samples?.[plant] ?? [''])
    const dst = (): string => plant === 'ips' ? planted : rand() < 0.05 ? ipv6() : publicIp()
    const url = (): string => plant === 'hosts' ? `https://${planted}/` : plant === 'urls' ? `http://${planted}` : randomUrl()
    const hash = (): string => plant === 'hashes' ? planted : randomHash()
    const r = rand()
    let line: string
    if (r < 0.4) {
      line = `<134>${pick(MONTHS)} ${1 + int(28)} ${clock()} fw${int(9)} CEF:0|Vendor|Firewall|7.2|${int(100000)}|traffic:forward ${rand() < 0.5 ? 'close' : 'deny'}|${int(10)}|` +
        `src=${privateIp()} dst=${dst()} spt=${int(65536)} dpt=${pick([80, 443, 25, 53])} proto=6 act=close dvc=${privateIp()}` +
        (rand() < 0.5 || plant === 'hosts' || plant === 'urls' ? ` request=${url()}` : '') + (rand() < 0.1 || plant === 'hashes' ? ` fileHash=${hash()}` : '') + ` suser=user${int(50)}`
    } else if (r < 0.7) {
      line = `date=2024-${pad(1 + int(12))}-${pad(1 + int(28))} time=${clock()} devname="FW${int(9)}" devid="FG${hex(12)}" type="traffic" subtype="forward" ` +
        `srcip=${privateIp()} srcport=${int(65536)} dstip=${dst()} dstport=${pick([80, 443, 8080])} sessionid=${int(1e8)} action="${rand() < 0.8 ? 'accept' : 'deny'}"` +
        (rand() < 0.3 || plant === 'hosts' || plant === 'urls' ? ` hostname="${host()}" url="${url()}"` : '') + (plant === 'hashes' ? ` filehash="${hash()}"` : '') +
        ` sentbyte=${int(1e6)} rcvdbyte=${int(1e7)}`
    } else {
      line = `${1700000000 + int(1e7)}.${int(1000)} ${int(10000)} ${privateIp()} TCP_${rand() < 0.5 ? 'MISS' : 'HIT'}/200 ${int(1e6)} GET ${url()} user${int(50)} ` +
        `HIER_DIRECT/${dst()} ${rand() < 0.1 || plant === 'hashes' ? 'application/octet-stream ' + hash() : 'text/html'}`
    }
    lines.push(line)
    bytes += line.length + 1
  }
  return Buffer.from(lines.join('\n') + '\n', 'utf8')
}
