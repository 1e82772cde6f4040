import type { Command } from 'commander'
import { Service } from '../../service/service.js'
import { loadConfigOrDemo } from '../open-feeds.js'
import { log, setLogLevel } from '../../log.js'
import type { Config } from '../../config/types.js'
import { growHeapsLazily } from '../../util/heap.js'

interface ServeOptions {
  config?: string
  feeds?: string[]
  listen?: string[]
  output?: string
  preset?: string
  workers?: string
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v]

/** `feedmatch serve`: the detection service. */
export function registerServe (program: Command, run: (fn: () => Promise<number>) => void): void {
  program
    .command('serve')
    .description('run the detection service: syslog events in, detections out (no config: demo feeds, 127.0.0.1:9999, stdout, alienvault)')
    .option('--listen <url>', 'tcp://HOST:PORT, udp://HOST:PORT or tls://HOST:PORT (repeatable)', collect)
    .option('--output <target>', 'tcp://HOST:PORT, udp://HOST:PORT, tls://HOST:PORT, relp://HOST:PORT, file:PATH or stdout')
    .option('--preset <name>', 'output format: alienvault, fortisiem, arcsight, qradar, ecs or kv')
    .option('--workers <n>', 'worker threads (default: one per core)')
    .action((opts: ServeOptions, cmd: Command) => run(async () => await serve({ ...cmd.optsWithGlobals(), ...opts })))
}

async function load (opts: ServeOptions): Promise<Config> {
  const overrides = {
    feeds: opts.feeds,
    listen: opts.listen,
    output: opts.output,
    preset: opts.preset,
    workers: opts.workers === undefined ? undefined : Number(opts.workers)
  }
  const config = await loadConfigOrDemo(opts.config, overrides)
  setLogLevel(config.log.level)
  return config
}

async function serve (opts: ServeOptions): Promise<number> {
  const service = new Service(await load(opts))
  try {
    await service.start()
  } catch (err) {
    await service.abort()
    throw err
  }
  growHeapsLazily()
  const done = new Promise<number>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'stopping: draining events in flight')
      service.stop().then(() => resolve(0), (err: Error) => { log.error({ err: err.message }, 'stop failed'); resolve(2) })
    }
    process.once('SIGTERM', () => stop('SIGTERM'))
    process.once('SIGINT', () => stop('SIGINT'))
    process.on('SIGHUP', () => {
      log.info('SIGHUP: reloading the configuration and the feeds')
      load(opts).then(async (c) => await service.reload(c)).catch((err: Error & { code?: string }) => {
        // A bad config on reload keeps the running one: the service must not die of a typo.
        log.error({ code: err.code, err: err.message }, 'reload failed; the previous configuration stays in service')
      })
    })
  })
  // Only once the signals are handled: a supervisor (or a test) that stops the service as soon as
  // it reads this line would otherwise kill it undrained.
  log.info({ listen: service.addresses }, 'feedmatch is serving')
  return await done
}
