import * as TE from 'fp-ts/lib/TaskEither.js'
import { UserId } from '../../core/brands.js'
import { trusted } from '../../core/codecs.js'
import type { SqliteDatabase } from './database.js'
import { toStoreError } from '../store-failure.js'
import type { SessionStore } from '../stores.js'

interface SessionRow {
  readonly user_id: string
  readonly expires_at: number
  readonly revoked_at: number | null
}

export const sqliteSessionStore = (db: SqliteDatabase): SessionStore => ({
  create: (session) =>
    TE.tryCatch(async () => {
      await db.run('INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)', [
        session.id,
        session.userId,
        session.createdAt,
        session.expiresAt,
      ])
    }, toStoreError),
  find: (id) =>
    TE.tryCatch(async () => {
      const row = await db.get<SessionRow>('SELECT user_id, expires_at, revoked_at FROM sessions WHERE id = ?', [id])
      return row === undefined
        ? undefined
        : { id, userId: trusted(UserId, row.user_id), expiresAt: row.expires_at, revokedAt: row.revoked_at }
    }, toStoreError),
  revoke: (id, at) =>
    TE.tryCatch(async () => {
      await db.run('UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [at, id])
    }, toStoreError),
})
