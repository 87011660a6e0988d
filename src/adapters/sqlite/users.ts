import * as TE from 'fp-ts/lib/TaskEither.js'
import { emailKey } from '../../core/accounts.js'
import { signUpFailure, takenAnswer, type UserKey } from '../account-keys.js'
import { createdUserRecord, NEW_USER_COLUMNS, newUserValues, USER_COLUMNS, userRecord, type UserRow } from '../rows.js'
import { toStoreError } from '../store-failure.js'
import type { UserStore } from '../stores.js'
import type { SqliteDatabase } from './database.js'

/** Usernames compare case-insensitively through the column's NOCASE collation, which its unique index uses. */
export const sqliteUserStore = (db: SqliteDatabase): UserStore => ({
  create: (user) =>
    TE.tryCatch(async () => {
      await db.run(`INSERT INTO users (${NEW_USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`, newUserValues(user))
      return createdUserRecord(user)
    }, signUpFailure(refusedKey)),
  findTaken: (username, email) =>
    TE.tryCatch(async () => {
      const rows = await db.all<Array<{ readonly username_taken: number }>>(
        'SELECT username = ? COLLATE NOCASE AS username_taken FROM users WHERE username = ? OR email_key = ? LIMIT 2',
        [username, username, emailKey(email)],
      )
      return takenAnswer(rows.map((row) => row.username_taken === 1))
    }, toStoreError),
  findByLogin: (login) =>
    TE.tryCatch(async () => {
      // Keys were lower case only before they were NFC too: an address stored then is found by either.
      const row = await db.get<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE username = ? OR email_key IN (?, ?)`, [
        login,
        emailKey(login),
        login.toLowerCase(),
      ])
      return row === undefined ? undefined : userRecord(row)
    }, toStoreError),
  findById: (id) =>
    TE.tryCatch(async () => {
      const row = await db.get<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?`, [id])
      return row === undefined ? undefined : userRecord(row)
    }, toStoreError),
})

/** SQLite names the refusing index only in its message, by column: "UNIQUE constraint failed: users.username". */
const refusedKey = (error: unknown): UserKey | undefined => {
  const message = error instanceof Error ? error.message : ''
  if (!message.includes('UNIQUE constraint failed')) return undefined
  if (message.includes('users.username')) return 'username'
  if (message.includes('users.email_key')) return 'email'
  return undefined
}
