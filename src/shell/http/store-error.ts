import createHttpError, { type HttpError } from 'http-errors'
import { storageCondition } from '../../adapters/store-failure.js'

/** Seconds a client is told to wait after a lock held by another process: about one of our lock waits. */
export const STORAGE_BUSY_RETRY_SECONDS = 5

/**
 * The one mapping from a store's failure (a database or a folder; an Error or a `StoreFailure`) to HTTP:
 * - another writer held the lock: 503 `storage_busy` with `Retry-After`;
 * - no room (disk, quota, database): 507 `storage_full`, worth retrying once the operator makes room;
 * - the store takes no write (read-only, not permitted): 500 `storage_failed`, saying so;
 * - anything else: 500 `internal_error`, as any bug.
 * Sentences for the client never name a server path; the error rides along as `cause`, so the log line of
 * the request names its code (SQLITE_BUSY, ENOSPC...). `what` names what was not stored ("the file").
 */
export const storeHttpError = (error: unknown, what = 'this'): HttpError => {
  switch (storageCondition(error)) {
    case 'busy': {
      const message = `the server’s storage is busy; try again in ${STORAGE_BUSY_RETRY_SECONDS} s`
      const headers = { 'Retry-After': String(STORAGE_BUSY_RETRY_SECONDS) }
      return createHttpError(503, message, { code: 'storage_busy', expose: true, headers, cause: error })
    }
    case 'full': {
      const message = `the server has no room for ${what} right now`
      return createHttpError(507, message, { code: 'storage_full', expose: true, cause: error })
    }
    case 'unwritable': {
      const message = 'the server cannot write to its storage (read-only or not permitted); its operator must fix it'
      return createHttpError(500, message, { code: 'storage_failed', expose: true, cause: error })
    }
    case 'failed': {
      const message = error instanceof Error ? error.message : 'a store failed'
      return createHttpError(500, message, { code: 'internal_error', cause: error })
    }
  }
}
