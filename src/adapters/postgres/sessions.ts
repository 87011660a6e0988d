import * as TE from 'fp-ts/lib/TaskEither.js'
import type pg from 'pg'
import { UserId } from '../../core/brands.js'
import { trusted } from '../../core/codecs.js'
import { toStoreError } from '../store-failure.js'
import type { SessionStore } from '../stores.js'

interface SessionRow {
  readonly user_id: string
  readonly expires_at: number
  readonly revoked_at: number | null
}

export const postgresSessionStore = (pool: pg.Pool): SessionStore => ({
  create: (session) =>
    TE.tryCatch(async () => {
      await pool.query('INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)', [
        session.id,
        session.userId,
        session.createdAt,
        session.expiresAt,
      ])
    }, toStoreError),
  find: (id) =>
    TE.tryCatch(async () => {
      const { rows } = await pool.query<SessionRow>('SELECT user_id, expires_at, revoked_at FROM sessions WHERE id = $1', [id])
      const row = rows[0]
      return row === undefined ? undefined : { id, userId: trusted(UserId, row.user_id), expiresAt: row.expires_at, revokedAt: row.revoked_at }
    }, toStoreError),
  revoke: (id, at) =>
    TE.tryCatch(async () => {
      await pool.query('UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [at, id])
    }, toStoreError),
})
