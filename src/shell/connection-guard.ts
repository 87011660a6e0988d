import type { Server } from 'node:net'
import type { Logger } from '../adapters/logger.js'
import type { RefusalLog } from './refusal-log.js'

export interface ConnectionGuard {
  /** Most connections held at once (undefined: no ceiling, the descriptor limit is unknown). */
  readonly ceiling: number | undefined
  readonly refusals: RefusalLog
  readonly log: Logger
}

/**
 * Refuses connections before the process runs out of descriptors, and logs refusals at a bounded rate.
 *
 * Left alone, descriptor exhaustion is silent: libuv accepts and closes the connections it has no
 * descriptor for and Node never hears of them, while the database, uploads and downloads start failing
 * with EMFILE. With `maxConnections` below the limit Node closes the extra connection itself and emits
 * 'drop', which can be logged; the EMFILE that still gets through (another descriptor user won the race)
 * arrives as a server 'error' and is logged the same way. Any other server error is logged as one.
 */
export const guardConnections = (server: Server, { ceiling, refusals, log }: ConnectionGuard): void => {
  if (ceiling !== undefined) server.maxConnections = ceiling
  server.on('drop', (dropped) => refusals.refused('too_many_connections', { remoteAddress: dropped?.remoteAddress, maxConnections: ceiling }))
  server.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EMFILE' || error.code === 'ENFILE') {
      refusals.refused('descriptors_exhausted', { code: error.code, syscall: error.syscall })
      return
    }
    log.error('http server error', { err: error })
  })
}
