import * as TE from 'fp-ts/lib/TaskEither.js'
import { storedPersonName, UserId, Username } from '../../core/brands.js'
import { trusted } from '../../core/codecs.js'
import { emailKey, type AccountError } from '../../core/accounts.js'
import { StoreError, toStoreError } from '../store-failure.js'
import type { UserRecord, UserStore } from '../stores.js'
import type { SqliteDatabase } from './database.js'

interface UserRow {
  readonly id: string
  readonly name: string
  readonly username: string
  readonly email: string
  readonly password_hash: string
  readonly created_at: number
}

const COLUMNS = 'id, name, username, email, password_hash, created_at'

export const sqliteUserStore = (db: SqliteDatabase): UserStore => ({
  create: (user) =>
    TE.tryCatch(
      async () => {
        await db.run(
          'INSERT INTO users (id, name, username, email, email_key, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
          [user.id, user.name, user.username, user.email, emailKey(user.email), user.passwordHash, user.createdAt],
        )
        return toRecord({
          id: user.id,
          name: user.name,
          username: user.username,
          email: user.email,
          password_hash: user.passwordHash,
          created_at: user.createdAt,
        })
      },
      // The unique indexes decide races between two registrations, not a read before the write.
      (error): AccountError | StoreError => uniqueViolation(error) ?? toStoreError(error),
    ),
  findTaken: (username, email) =>
    TE.tryCatch(async () => {
      const rows = await db.all<Array<{ readonly username_taken: number }>>(
        'SELECT username = ? COLLATE NOCASE AS username_taken FROM users WHERE username = ? OR email_key = ? LIMIT 2',
        [username, username, emailKey(email)],
      )
      if (rows.length === 0) return undefined
      return rows.some((row) => row.username_taken === 1) ? { type: 'username_taken' as const } : { type: 'email_taken' as const }
    }, toStoreError),
  findByLogin: (login) =>
    TE.tryCatch(async () => {
      // Keys were lower case only before they were NFC too: an address stored then is found by either.
      const row = await db.get<UserRow>(`SELECT ${COLUMNS} FROM users WHERE username = ? OR email_key IN (?, ?)`, [
        login,
        emailKey(login),
        login.toLowerCase(),
      ])
      return row === undefined ? undefined : toRecord(row)
    }, toStoreError),
  findById: (id) =>
    TE.tryCatch(async () => {
      const row = await db.get<UserRow>(`SELECT ${COLUMNS} FROM users WHERE id = ?`, [id])
      return row === undefined ? undefined : toRecord(row)
    }, toStoreError),
})

const uniqueViolation = (error: unknown): AccountError | undefined => {
  const message = error instanceof Error ? error.message : ''
  if (!message.includes('UNIQUE constraint failed')) return undefined
  if (message.includes('users.username')) return { type: 'username_taken' }
  if (message.includes('users.email_key')) return { type: 'email_taken' }
  return undefined
}

/** Rows were written through the codecs; reading them back through the codecs keeps the brands honest. */
const toRecord = (row: UserRow): UserRecord => {
  const username = trusted(Username, row.username)
  // A name an earlier version let through (a bidi override) is shown cleaned, here and in every frame.
  const name = storedPersonName(row.name, username)
  return {
    user: { id: trusted(UserId, row.id), username, name },
    account: {
      username: row.username,
      name,
      email: row.email,
      createdAt: new Date(row.created_at).toISOString(),
    },
    passwordHash: row.password_hash,
  }
}

