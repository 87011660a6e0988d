import type * as E from 'fp-ts/lib/Either.js'
import type { LinkFailure } from './cluster.js'

/** What a step does to one record: leave it, remove it, or replace it with a value that expires. */
export type RecordWrite =
  | { readonly type: 'keep' }
  | { readonly type: 'delete' }
  | { readonly type: 'set'; readonly value: string; readonly ttlMs: number }

/** One `write` per key, in the keys' order, and what the step decided. */
export interface RecordsStep<R> {
  readonly writes: ReadonlyArray<RecordWrite>
  readonly result: R
}

/**
 * Small records every process of the cluster reads and replaces together, for state whose rule is richer
 * than a bucket or a window (login throttling: backoffs, take-backs, known addresses). The rule stays a
 * pure function in the core; the port only makes its read-decide-write atomic across processes.
 */
export interface SharedRecords {
  /**
   * Reads `keys` (absent: `undefined`) and the shared clock (ms since the epoch, the same for every
   * process), lets `step` decide, and writes what it returns only if none of the keys changed meanwhile;
   * otherwise it decides again on what they now hold. So `step` must be pure: it may run several times,
   * and only its last `result` is answered. A step that keeps every record writes nothing. Errors are
   * values (`LinkFailure`); after `timeout`, `failed` or a break, the writes may or may not have happened.
   * A step whose writes do not match the keys throws a RangeError (a programming error).
   */
  readonly update: <R>(
    keys: ReadonlyArray<string>,
    step: (values: ReadonlyArray<string | undefined>, now: number) => RecordsStep<R>,
  ) => Promise<E.Either<LinkFailure, R>>
  /** Closes the connection; later calls answer `unavailable`. Safe to call twice. */
  readonly close: () => Promise<void>
}
