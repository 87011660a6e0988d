import type * as TE from 'fp-ts/lib/TaskEither.js'

/**
 * Why a database cannot be used, whatever the engine. Each kind is something an operator can act on,
 * which is why a disk I/O error is not enough: "the disk is full" and "another process holds a lock"
 * call for different hands.
 */
export type DatabaseFault =
  /** Another writer held the lock past the wait we allow. */
  | { readonly kind: 'locked'; readonly waitedMs: number }
  /** The write did not finish in time (a hung disk, a lock wait the engine did not bound). */
  | { readonly kind: 'timed_out'; readonly waitedMs: number }
  | { readonly kind: 'disk_full' }
  | { readonly kind: 'read_only'; readonly detail: string }
  /** The file is not a database at all (garbage, another format, encrypted). */
  | { readonly kind: 'not_a_database' }
  /** A database whose pages or structure are damaged (a truncated file, corrupted pages). */
  | { readonly kind: 'corrupt'; readonly detail: string }
  /** The file the server opened is no longer at its path: deleted or replaced since start. */
  | { readonly kind: 'gone'; readonly detail: string }
  | { readonly kind: 'cannot_open'; readonly detail: string }
  /** Another process holds it, and sharing it would split the chat (see `soleProcess`). */
  | { readonly kind: 'in_use'; readonly detail: string }
  /** Written by a newer version of the server: migrating down is not something we do. */
  | { readonly kind: 'newer_schema'; readonly found: number; readonly known: number }
  | { readonly kind: 'failed'; readonly code: string; readonly detail: string }

/**
 * What the shell needs of a database beside its stores: readiness asks whether a write can commit now,
 * shutdown closes it. Nothing outside the adapter holds the engine's handle for these.
 */
export interface DatabasePort {
  /**
   * Commits one tiny write (a fixed row in a table of its own) within the adapter's short deadline,
   * about a second, never the long lock wait the stores use. Right when a write committed; Left with the
   * reason otherwise. Never rejects.
   */
  readonly probeWrite: () => TE.TaskEither<DatabaseFault, void>
  /** Closes every connection the adapter opened. */
  readonly close: () => Promise<void>
}

/** One sentence, no newline: for a 503's details and a start-up failure's line. */
export const describeDatabaseFault = (fault: DatabaseFault): string => {
  switch (fault.kind) {
    case 'locked':
      return `locked by another writer for more than ${fault.waitedMs} ms`
    case 'timed_out':
      return `a write did not finish within ${fault.waitedMs} ms`
    case 'disk_full':
      return 'the disk is full'
    case 'read_only':
      return `read-only (${fault.detail})`
    case 'not_a_database':
      return 'the file is not a database (garbage, another format or encrypted)'
    case 'corrupt':
      return `the file is corrupt (${fault.detail})`
    case 'gone':
      return `the file is gone: ${fault.detail}`
    case 'cannot_open':
      return `cannot be opened (${fault.detail})`
    case 'newer_schema':
      return `its schema (version ${fault.found}) is newer than this server knows (${fault.known}): run the newer version`
    case 'in_use':
      return `in use: ${fault.detail}`
    case 'failed':
      return `${fault.code}: ${fault.detail}`
  }
}
