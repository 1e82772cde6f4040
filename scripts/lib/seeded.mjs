// Shared by the data generators: a seeded PRNG, so every machine makes the same data, and the
// small `--name value` option reader they use.

/** mulberry32: small, fast, and the same sequence on every machine; with the helpers built on it. */
export function seeded (seed) {
  let s = seed >>> 0
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n) => Math.floor(rand() * n)
  const pick = (a) => a[int(a.length)]
  const hex = (n) => { let r = ''; for (let i = 0; i < n; i++) r += '0123456789abcdef'[int(16)]; return r }
  return { rand, int, pick, hex }
}

/** `opt('count', '1000')`: the value after `--count` in `args`, or the default. */
export function options (args) {
  return (name, def) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : def }
}
