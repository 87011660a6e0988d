import * as TE from 'fp-ts/lib/TaskEither.js'
import type pg from 'pg'
import { storedPersonName, UserId, Username } from '../../core/brands.js'
import { trusted } from '../../core/codecs.js'
import { emailKey, type AccountError } from '../../core/accounts.js'
import { StoreError, toStoreError } from '../store-failure.js'
import type { UserRecord, UserStore } from '../stores.js'

interface UserRow {
  readonly id: string
  readonly name: string
  readonly username: string
  readonly email: string
  readonly password_hash: string
  readonly created_at: number
}

const COLUMNS = 'id, name, username, email, password_hash, created_at'

/** Usernames compare case-insensitively through `lower(username)`, the expression the unique index is on. */
export const postgresUserStore = (pool: pg.Pool): UserStore => ({
  create: (user) =>
    TE.tryCatch(
      async () => {
        await pool.query(
          'INSERT INTO users (id, name, username, email, email_key, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
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
      const { rows } = await pool.query<{ readonly username_taken: boolean }>(
        'SELECT lower(username) = lower($1) AS username_taken FROM users WHERE lower(username) = lower($1) OR email_key = $2 LIMIT 2',
        [username, emailKey(email)],
      )
      if (rows.length === 0) return undefined
      return rows.some((row) => row.username_taken) ? { type: 'username_taken' as const } : { type: 'email_taken' as const }
    }, toStoreError),
  findByLogin: (login) =>
    TE.tryCatch(async () => {
      // Keys were lower case only before they were NFC too (on SQLite): an address carried over is found by either.
      const { rows } = await pool.query<UserRow>(
        `SELECT ${COLUMNS} FROM users WHERE lower(username) = lower($1) OR email_key IN ($2, $3) LIMIT 1`,
        [login, emailKey(login), login.toLowerCase()],
      )
      return rows[0] === undefined ? undefined : toRecord(rows[0])
    }, toStoreError),
  findById: (id) =>
    TE.tryCatch(async () => {
      const { rows } = await pool.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id])
      return rows[0] === undefined ? undefined : toRecord(rows[0])
    }, toStoreError),
})

/** 23505 is unique_violation; the index or constraint it names says which key refused (migrations.ts). */
const uniqueViolation = (error: unknown): AccountError | undefined => {
  if (typeof error !== 'object' || error === null || !('code' in error) || error.code !== '23505') return undefined
  const constraint = 'constraint' in error ? error.constraint : undefined
  if (constraint === 'users_username_unique') return { type: 'username_taken' }
  if (constraint === 'users_email_key_unique') return { type: 'email_taken' }
  return undefined
}

/** Rows were written through the codecs; reading them back through the codecs keeps the brands honest. */
const toRecord = (row: UserRow): UserRecord => {
  const username = trusted(Username, row.username)
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
