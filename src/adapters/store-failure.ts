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

/**
 * What a failed read or write means for whoever is waiting on it, whatever the store (a database, a
 * folder): `busy`, another writer held the lock past our wait (try again soon); `full`, no room (the disk,
 * the file system's quota, the database's size limit); `unwritable`, the file or folder takes no write
 * (read-only, not permitted: the operator's to fix); `failed`, anything else (a bug, a damaged file).
 */
export type StorageCondition = 'busy' | 'full' | 'unwritable' | 'failed'

// The one place the engines' and the file system's codes are read. SQLite's come as the primary result
// code's name; a full disk while SQLite grows its WAL may show only as SQLITE_IOERR, which stays `failed`
// here (readiness and start-up look at the disk to tell).
const CONDITIONS: Readonly<Record<string, StorageCondition>> = {
  SQLITE_BUSY: 'busy',
  SQLITE_LOCKED: 'busy',
  SQLITE_FULL: 'full',
  ENOSPC: 'full',
  EDQUOT: 'full',
  SQLITE_READONLY: 'unwritable',
  SQLITE_PERM: 'unwritable',
  EROFS: 'unwritable',
  EACCES: 'unwritable',
  EPERM: 'unwritable',
}

/** The condition behind `error`: an Error or a `StoreFailure`, read by its `code`, or its cause's. */
export const storageCondition = (error: unknown): StorageCondition => {
  const code = codeOf(error) ?? codeOf(error instanceof Error ? error.cause : undefined)
  return code !== undefined && Object.hasOwn(CONDITIONS, code) ? (CONDITIONS[code] ?? 'failed') : 'failed'
}

const codeOf = (error: unknown): string | undefined =>
  typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined
