import { setFlagsFromString } from 'node:v8'

/**
 * Lets V8 heaps grow to 4 times their live size between full collections (its default factor
 * adapts, and falls to about 1.1 on a busy main thread). At full rate the main thread of `serve`
 * allocates little (about 11 MB/s) yet ran a mark-compact every 60 ms under that default: the
 * marking took a core's fifth across V8's helper threads and the main thread, which the match
 * workers need (serve measured 157 -> 186 MB/s with it; `node --initial-old-space-size=64` has the
 * same effect but cannot be set once the process runs, nor through NODE_OPTIONS).
 * The flag is process-wide and read at each collection; it is set once the first index is built,
 * so the start-up build keeps its memory profile. Live heaps here are small (the index lives in
 * SharedArrayBuffers, outside them), so 4 times is a few tens of MB; a feed rebuild's heap may
 * grow further before it is collected.
 */
export function growHeapsLazily (): void {
  setFlagsFromString('--heap-growing-percent=300')
}
