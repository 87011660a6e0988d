import * as E from 'fp-ts/lib/Either.js'
import { decodeConfig } from '../core/config.js'
import { jsonLogger } from '../adapters/logger.js'
import { startSala } from './server.js'

const config = decodeConfig(process.env)
if (E.isLeft(config)) {
  process.stderr.write(`Sala cannot start; fix these settings:\n${config.left.map((problem) => `  - ${problem}\n`).join('')}`)
  process.exit(1)
}

const log = jsonLogger(config.right.logLevel)

// An exception that escapes every handler leaves the process in an unknown state: log it and exit, so
// the supervisor starts a clean one.
process.on('uncaughtException', (error) => {
  log.error('uncaught exception', { err: error })
  process.exit(1)
})
process.on('unhandledRejection', (reason) => {
  log.error('unhandled rejection', { err: reason })
  process.exit(1)
})

const server = await startSala(config.right, { log })

const stop = (signal: string) => {
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
