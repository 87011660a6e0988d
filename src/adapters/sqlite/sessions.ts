import * as TE from 'fp-ts/lib/TaskEither.js'
import { NEW_SESSION_COLUMNS, newSessionValues, SESSION_COLUMNS, sessionRecord, type SessionRow } from '../rows.js'
import { toStoreError } from '../store-failure.js'
import type { SessionStore } from '../stores.js'
import type { SqliteDatabase } from './database.js'

export const sqliteSessionStore = (db: SqliteDatabase): SessionStore => ({
  create: (session) =>
    TE.tryCatch(async () => {
      await db.run(`INSERT INTO sessions (${NEW_SESSION_COLUMNS}) VALUES (?, ?, ?, ?)`, newSessionValues(session))
    }, toStoreError),
  find: (id) =>
    TE.tryCatch(async () => {
      const row = await db.get<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE id = ?`, [id])
      return row === undefined ? undefined : sessionRecord(id, row)
    }, toStoreError),
  revoke: (id, at) =>
    TE.tryCatch(async () => {
      await db.run('UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [at, id])
    }, toStoreError),
})
