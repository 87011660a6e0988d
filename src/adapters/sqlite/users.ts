import * as TE from 'fp-ts/lib/TaskEither.js'
import { storedPersonName, UserId, Username } from '../../core/brands.js'
import { trusted } from '../../core/codecs.js'
import { emailKey, type Account, type AccountError } from '../../core/accounts.js'
import type { ChatUser } from '../../core/chat/state.js'
import type { SqliteDatabase } from './database.js'

export interface UserRecord {
  readonly user: ChatUser
  readonly account: Account
  readonly passwordHash: string
}

interface UserRow {
  readonly id: string
  readonly name: string
  readonly username: string
  readonly email: string
  readonly password_hash: string
  readonly created_at: number
}

export interface NewUser {
  readonly id: UserId
  readonly name: string
  readonly username: string
  readonly email: string
  readonly passwordHash: string
  readonly createdAt: number
}

export interface UserStore {
  readonly create: (user: NewUser) => TE.TaskEither<AccountError | Error, UserRecord>
  /**
   * Whether a sign-up's username or e-mail is already someone's, asked before any password is hashed.
   * Only a fast answer: the unique indexes in `create` still decide a race between two sign-ups.
   */
  readonly findTaken: (username: string, email: string) => TE.TaskEither<Error, AccountError | undefined>
  /** By username or e-mail, both case-insensitively. */
  readonly findByLogin: (login: string) => TE.TaskEither<Error, UserRecord | undefined>
  readonly findById: (id: UserId) => TE.TaskEither<Error, UserRecord | undefined>
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
      (error): AccountError | Error => uniqueViolation(error) ?? toError(error),
    ),
  findTaken: (username, email) =>
    TE.tryCatch(async () => {
      const rows = await db.all<Array<{ readonly username_taken: number }>>(
        'SELECT username = ? COLLATE NOCASE AS username_taken FROM users WHERE username = ? OR email_key = ? LIMIT 2',
        [username, username, emailKey(email)],
      )
      if (rows.length === 0) return undefined
      return rows.some((row) => row.username_taken === 1) ? { type: 'username_taken' as const } : { type: 'email_taken' as const }
    }, toError),
  findByLogin: (login) =>
    TE.tryCatch(async () => {
      // Keys were lower case only before they were NFC too: an address stored then is found by either.
      const row = await db.get<UserRow>(`SELECT ${COLUMNS} FROM users WHERE username = ? OR email_key IN (?, ?)`, [
        login,
        emailKey(login),
        login.toLowerCase(),
      ])
      return row === undefined ? undefined : toRecord(row)
    }, toError),
  findById: (id) =>
    TE.tryCatch(async () => {
      const row = await db.get<UserRow>(`SELECT ${COLUMNS} FROM users WHERE id = ?`, [id])
      return row === undefined ? undefined : toRecord(row)
    }, toError),
})

const uniqueViolation = (error: unknown): AccountError | undefined => {
  const message = error instanceof Error ? error.message : ''
  if (!message.includes('UNIQUE constraint failed')) return undefined
  if (message.includes('users.username')) return { type: 'username_taken' }
  if (message.includes('users.email_key')) return { type: 'email_taken' }
  return undefined
}

export const toError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)))

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

