import * as E from 'fp-ts/lib/Either.js'
import { decodeConfig } from '../core/config.js'
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

const log = jsonLogger(config.right.logLevel)
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
const stop = (signal: string): void => {
  if (server === undefined) {
    stopAsked = signal
    return
  }
  log.info('stopping', { signal })
  server.close().then(
    () => process.exit(0),
    (error: unknown) => {
      log.error('shutdown failed', { err: error })
      process.exit(1)
    },
  )
}
process.once('SIGTERM', () => stop('SIGTERM'))
process.once('SIGINT', () => stop('SIGINT'))

const attempt = await tryStartSala(config.right, { log })
server = E.isRight(attempt) ? attempt.right : cannotStart(attempt.left)
started = true
if (stopAsked !== undefined) stop(stopAsked)
