import * as TE from 'fp-ts/lib/TaskEither.js'
import type pg from 'pg'
import { emailKey } from '../../core/accounts.js'
import { signUpFailure, takenAnswer, type UserKey } from '../account-keys.js'
import { createdUserRecord, NEW_USER_COLUMNS, newUserValues, USER_COLUMNS, userRecord, type UserRow } from '../rows.js'
import { toStoreError } from '../store-failure.js'
import type { UserStore } from '../stores.js'

/** Usernames compare case-insensitively through `lower(username)`, the expression the unique index is on. */
export const postgresUserStore = (pool: pg.Pool): UserStore => ({
  create: (user) =>
    TE.tryCatch(async () => {
      await pool.query(`INSERT INTO users (${NEW_USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)`, newUserValues(user))
      return createdUserRecord(user)
    }, signUpFailure(refusedKey)),
  findTaken: (username, email) =>
    TE.tryCatch(async () => {
      const { rows } = await pool.query<{ readonly username_taken: boolean }>(
        'SELECT lower(username) = lower($1) AS username_taken FROM users WHERE lower(username) = lower($1) OR email_key = $2 LIMIT 2',
        [username, emailKey(email)],
      )
      return takenAnswer(rows.map((row) => row.username_taken))
    }, toStoreError),
  findByLogin: (login) =>
    TE.tryCatch(async () => {
      // PostgreSQL's text cannot hold NUL: bound as a parameter it fails the statement (22021) where SQLite
      // just finds nothing. No stored username or e-mail holds one, so such a login is a miss like any other.
      if (login.includes('\u0000')) return undefined
      // Keys were lower case only before they were NFC too (on SQLite): an address carried over is found by either.
      const { rows } = await pool.query<UserRow>(
        `SELECT ${USER_COLUMNS} FROM users WHERE lower(username) = lower($1) OR email_key IN ($2, $3) LIMIT 1`,
        [login, emailKey(login), login.toLowerCase()],
      )
      return rows[0] === undefined ? undefined : userRecord(rows[0])
    }, toStoreError),
  findById: (id) =>
    TE.tryCatch(async () => {
      const { rows } = await pool.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [id])
      return rows[0] === undefined ? undefined : userRecord(rows[0])
    }, toStoreError),
})

/** 23505 is unique_violation; the index or constraint it names says which key refused (migrations.ts). */
const refusedKey = (error: unknown): UserKey | undefined => {
  if (typeof error !== 'object' || error === null || !('code' in error) || error.code !== '23505') return undefined
  const constraint = 'constraint' in error ? error.constraint : undefined
  if (constraint === 'users_username_unique') return 'username'
  if (constraint === 'users_email_key_unique') return 'email'
  return undefined
}
