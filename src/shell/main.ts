import * as E from 'fp-ts/lib/Either.js'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { decodeConfig, MAX_WORKERS, type Config } from '../core/config.js'
import { jsonLogger } from '../adapters/logger.js'
import { tryStartSala, type SalaServer } from './server.js'
import { describeStartupError, startupErrorOf, type StartupError } from './startup.js'

const config = decodeConfig(process.env)
if (E.isLeft(config)) {
  process.stderr.write(`Sala cannot start; fix these settings:\n${config.left.map((problem) => `  - ${problem}\n`).join('')}`)
  process.exit(1)
}

/** Start-up failures read like the settings errors: one line on stderr, no stack, exit code 1. */
const cannotStart = (error: StartupError): never => {
  process.stderr.write(`Sala cannot start: ${describeStartupError(error)}\n`)
  process.exit(1)
}

/** Serves the chat in this process: alone, or as one of the primary's workers (`worker` is its id then). */
const serve = async (settings: Config, worker: number | undefined): Promise<void> => {
  const log = jsonLogger(settings.logLevel, undefined, worker === undefined ? {} : { worker })
  let started = false

  // An exception that escapes every handler leaves the process in an unknown state: log it and exit, so
  // the supervisor starts a clean one. Before the server is up, it is a start-up failure like the others.
  process.on('uncaughtException', (error) => {
    if (!started) cannotStart(startupErrorOf(error))
    log.error('uncaught exception', { err: error })
    process.exit(1)
  })
  process.on('unhandledRejection', (reason) => {
    if (!started) cannotStart(startupErrorOf(reason))
    log.error('unhandled rejection', { err: reason })
    process.exit(1)
  })

  // Signals are handled from the first moment: one that arrives while the server is starting stops it as
  // soon as it is up (without a handler, it would kill the process mid-start).
  let server: SalaServer | undefined
  let stopAsked: string | undefined
  let stopping = false
  const stop = (signal: string): void => {
    if (server === undefined) {
      stopAsked = signal
      return
    }
    if (stopping) return
    stopping = true
    log.info('stopping', { signal })
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error('shutdown failed', { err: error })
        process.exit(1)
      },
    )
  }
  // Alone, a second signal ends the process outright, as if there were no handler. A worker hears each
  // signal twice when the whole process group is signalled (Ctrl-C in a terminal, systemd's default
  // KillMode) and its primary passes the signal on: it stops once, and its primary kills it if it is slow.
  const onSignal = worker === undefined ? process.once.bind(process) : process.on.bind(process)
  onSignal('SIGTERM', () => stop('SIGTERM'))
  onSignal('SIGINT', () => stop('SIGINT'))

  const attempt = await tryStartSala(settings, { log })
  server = E.isRight(attempt) ? attempt.right : cannotStart(attempt.left)
  started = true
  if (stopAsked !== undefined) stop(stopAsked)
}

/** The primary of WORKERS=N: forks and watches the workers, serves nothing itself. */
const supervise = async (settings: Config, workers: number): Promise<never> => {
  const log = jsonLogger(settings.logLevel)
  // A bug here would leave the workers unwatched: end, and they end with the primary (node's rule).
  process.on('uncaughtException', (error) => {
    log.error('uncaught exception', { err: error })
    process.exit(1)
  })
  const { superviseWorkers } = await import('./workers.js')
  const script = fileURLToPath(import.meta.url)
  process.exit(await superviseWorkers({ workers, script, shutdownTimeoutMs: settings.shutdownTimeoutMs, log }))
}

const workers = config.right.workers === 'auto' ? Math.min(availableParallelism(), MAX_WORKERS) : config.right.workers
// One process (the default) never loads node:cluster: it runs exactly as it always has.
const cluster = workers > 1 ? (await import('node:cluster')).default : undefined
if (cluster?.isPrimary === true) await supervise(config.right, workers)
else await serve(config.right, cluster?.worker?.id)
