import type { StorageCondition, StoreFailure } from '../core/chat/events.js'

export type { StorageCondition, StoreFailure } from '../core/chat/events.js'

/**
 * How every store, whatever the engine, fails: an `Error` (so the shell's `instanceof Error` still tells a
 * store's failure from an account's refusal, and the logger prints its code and stack) that carries the
 * plain-data `StoreFailure` (condition, engine code, message) for events and HTTP answers.
 */
export class StoreError extends Error {
  override readonly name = 'StoreError'
  readonly failure: StoreFailure

  constructor(failure: StoreFailure, options?: { readonly cause?: unknown }) {
    super(failure.message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.failure = failure
  }

  /** The engine's code (`SQLITE_FULL`, `53100`...), where the logger and `storageCondition` look. */
  get code(): string {
    return this.failure.code
  }

  get condition(): StorageCondition {
    return this.failure.condition
  }
}

/**
 * A store's failure as plain data: what it means, the engine's code (`SQLITE_FULL`, `SQLITE_BUSY`, a
 * PostgreSQL SQLSTATE...) and its message. It travels on events and into log lines, where an `Error` would
 * lose its `code` or not serialize. A `StoreError` gives back the failure it carries.
 */
export const storeFailure = (error: unknown): StoreFailure => {
  if (error instanceof StoreError) return error.failure
  const code = codeOf(error) ?? 'UNKNOWN'
  const message = error instanceof Error ? error.message : String(error)
  return { condition: storageCondition(error), code, message }
}

/** Whatever was thrown, as an Error (a string thrown stays readable as its message). */
export const toError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)))

/** Wraps whatever an engine threw as the `StoreError` every store port fails with; the original is its cause. */
export const toStoreError = (error: unknown): StoreError =>
  error instanceof StoreError ? error : new StoreError(storeFailure(error), { cause: error })

// The one place the engines' and the file system's codes are read. SQLite's come as the primary result
// code's name; a full disk while SQLite grows its WAL may show only as SQLITE_IOERR, which stays `failed`
// here (readiness and start-up look at the disk to tell). PostgreSQL's are SQLSTATEs: a server that is
// restarting, refusing connections or cancelling a statement past its timeout is `busy` (worth a retry),
// as is a serialization failure or a deadlock victim.
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
  // PostgreSQL: connection lost or refused, the server shutting down or starting, timeouts, lock waits.
  ECONNREFUSED: 'busy',
  ECONNRESET: 'busy',
  '08000': 'busy',
  '08001': 'busy',
  '08003': 'busy',
  '08006': 'busy',
  '57P01': 'busy',
  '57P02': 'busy',
  '57P03': 'busy',
  '57014': 'busy',
  '55P03': 'busy',
  '40001': 'busy',
  '40P01': 'busy',
  '53300': 'busy',
  // PostgreSQL: disk full, out of memory (the database's own room), a read-only server, no privilege.
  '53100': 'full',
  '25006': 'unwritable',
  '42501': 'unwritable',
}

/** The condition behind `error`: a `StoreError`'s, or read from an Error's `code` (or its cause's). */
export const storageCondition = (error: unknown): StorageCondition => {
  if (error instanceof StoreError) return error.condition
  if (isFailure(error)) return error.condition
  const code = codeOf(error) ?? codeOf(error instanceof Error ? error.cause : undefined)
  return code !== undefined && Object.hasOwn(CONDITIONS, code) ? (CONDITIONS[code] ?? 'failed') : 'failed'
}

const CONDITION_NAMES: ReadonlySet<unknown> = new Set(['busy', 'full', 'unwritable', 'failed'])

const isFailure = (error: unknown): error is StoreFailure =>
  typeof error === 'object' && error !== null && 'condition' in error && CONDITION_NAMES.has(error.condition)

const codeOf = (error: unknown): string | undefined => {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') return error.code
  return error instanceof Error ? DRIVER_CODES.get(error.message) : undefined
}

// node-postgres says in words only, with no code, that it could not get or keep a connection: a pool whose
// connections were all taken (by statements waiting on a lock) or whose new one got no answer, for its
// connect timeout; a connection that ended under a statement (the link cut, the server gone without a
// word). They get the SQLSTATE a client library gives such failures (PgJDBC does the same), so they are
// `busy` like the server's own 08 class and their log lines carry a code: 08001 could not connect, 08006
// the connection failed.
const DRIVER_CODES: ReadonlyMap<string, string> = new Map([
  ['timeout exceeded when trying to connect', '08001'],
  ['Connection terminated due to connection timeout', '08001'],
  ['Connection terminated unexpectedly', '08006'],
  ['Connection terminated', '08006'],
  ['Client has encountered a connection error and is not queryable', '08006'],
  ['Client was closed and is not queryable', '08006'],
])
