import type { StoreFailure } from '../core/chat/events.js'

/**
 * A store's failure as plain data: the engine's code (`SQLITE_FULL`, `SQLITE_BUSY`...) and its message.
 * It travels on events and into log lines, where an `Error` would lose its `code` or not serialize.
 */
export const storeFailure = (error: unknown): StoreFailure => {
  const code = typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : 'UNKNOWN'
  const message = error instanceof Error ? error.message : String(error)
  return { code, message }
}
