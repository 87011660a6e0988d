import type { AccountError } from '../core/accounts.js'
import { toStoreError, type StoreError } from './store-failure.js'

// What the unique keys of `users` mean to a sign-up, whatever the engine: each engine's migrations make one
// key on the username (case-insensitive) and one on `email_key`; only how a refusal names its key differs.

/** A unique key of `users` that can refuse a sign-up. */
export type UserKey = 'username' | 'email'

/**
 * The engine's reading of a failed INSERT INTO users: the key whose unique index refused the row, or
 * undefined for any other failure (which then is a `StoreError`).
 */
export type RefusedKey = (error: unknown) => UserKey | undefined

/** What a sign-up refused by `key` is told. */
export const takenBy = (key: UserKey): AccountError => (key === 'username' ? { type: 'username_taken' } : { type: 'email_taken' })

/**
 * `UserStore.create`'s failure: a unique key's refusal as the `AccountError` it means, so the keys (not a
 * read before the write) decide a race between two sign-ups; any other failure as a `StoreError`.
 */
export const signUpFailure =
  (refusedKey: RefusedKey) =>
  (error: unknown): AccountError | StoreError => {
    const key = refusedKey(error)
    return key === undefined ? toStoreError(error) : takenBy(key)
  }

/**
 * `UserStore.findTaken`'s answer from the rows its query found, one flag a row: whether that row holds the
 * username (otherwise it holds the e-mail). None: undefined; a username taken wins over an e-mail taken,
 * whichever row came first.
 */
export const takenAnswer = (usernameTaken: ReadonlyArray<boolean>): AccountError | undefined => {
  if (usernameTaken.length === 0) return undefined
  return takenBy(usernameTaken.includes(true) ? 'username' : 'email')
}
