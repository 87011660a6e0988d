import * as TE from 'fp-ts/lib/TaskEither.js'
import type pg from 'pg'
import { NEW_SESSION_COLUMNS, newSessionValues, SESSION_COLUMNS, sessionRecord, type SessionRow } from '../rows.js'
import { toStoreError } from '../store-failure.js'
import type { SessionStore } from '../stores.js'

export const postgresSessionStore = (pool: pg.Pool): SessionStore => ({
  create: (session) =>
    TE.tryCatch(async () => {
      await pool.query(`INSERT INTO sessions (${NEW_SESSION_COLUMNS}) VALUES ($1, $2, $3, $4)`, newSessionValues(session))
    }, toStoreError),
  find: (id) =>
    TE.tryCatch(async () => {
      const { rows } = await pool.query<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE id = $1`, [id])
      return rows[0] === undefined ? undefined : sessionRecord(id, rows[0])
    }, toStoreError),
  revoke: (id, at) =>
    TE.tryCatch(async () => {
      await pool.query('UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [at, id])
    }, toStoreError),
})
