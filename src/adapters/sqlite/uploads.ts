import * as TE from 'fp-ts/lib/TaskEither.js'
import { trusted } from '../../core/codecs.js'
import { UploadName, type Upload } from '../../core/uploads.js'
import type { SqliteDatabase } from './database.js'
import { UPLOAD_COLUMNS, uploadOf, type UploadRow } from '../rows.js'
import { toStoreError, type StoreError } from '../store-failure.js'
import type { UploadStore } from '../stores.js'

/** An upload the sweep may take; binds the made-before and held-before cutoffs, in that order. */
const ORPHAN = 'attached_at IS NULL AND created_at < ? AND (claimed_at IS NULL OR claimed_at < ?)'

const inList = (names: ReadonlyArray<unknown>): string => names.map(() => '?').join(', ')

export const sqliteUploadStore = (db: SqliteDatabase): UploadStore => {
  const findMany = (names: ReadonlyArray<UploadName>): TE.TaskEither<StoreError, ReadonlyArray<Upload>> =>
    TE.tryCatch(async () => {
      if (names.length === 0) return []
      const rows = await db.all<UploadRow[]>(`SELECT ${UPLOAD_COLUMNS} FROM uploads WHERE name IN (${inList(names)})`, [...names])
      return rows.map(uploadOf)
    }, toStoreError)

  return {
    register: (uploads, at) =>
      TE.tryCatch(async () => {
        if (uploads.length === 0) return
        const placeholders = uploads.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')
        const values = uploads.flatMap((u) => [u.name, u.owner, u.originalName, u.type, u.size, at])
        await db.run(`INSERT INTO uploads (name, owner_id, original_name, type, size, created_at) VALUES ${placeholders}`, values)
      }, toStoreError),
    find: (name) =>
      TE.tryCatch(async () => {
        const row = await db.get<UploadRow>(`SELECT ${UPLOAD_COLUMNS} FROM uploads WHERE name = ?`, [name])
        return row === undefined ? undefined : uploadOf(row)
      }, toStoreError),
    findMany,
    storedBytes: (owner) =>
      TE.tryCatch(async () => {
        const row = await db.get<{ readonly bytes: number }>('SELECT COALESCE(SUM(size), 0) AS bytes FROM uploads WHERE owner_id = ?', [owner])
        return row?.bytes ?? 0
      }, toStoreError),
    hold: (names, at, orphansBefore) =>
      TE.tryCatch(async () => {
        if (names.length === 0) return []
        const rows = await db.all<UploadRow[]>(
          `UPDATE uploads SET claimed_at = CASE WHEN attached_at IS NULL THEN ? ELSE claimed_at END
           WHERE name IN (${inList(names)}) AND (attached_at IS NOT NULL OR created_at >= ?)
           RETURNING ${UPLOAD_COLUMNS}`,
          [at, ...names, orphansBefore],
        )
        return rows.map(uploadOf)
      }, toStoreError),
    deleteOrphans: ({ madeBefore, heldBefore }, limit) =>
      TE.tryCatch(async () => {
        const rows = await db.all<Array<{ readonly name: string }>>(
          `DELETE FROM uploads WHERE name IN (
             SELECT name FROM uploads WHERE ${ORPHAN} ORDER BY created_at LIMIT ?
           ) AND ${ORPHAN}
           RETURNING name`,
          [madeBefore, heldBefore, limit, madeBefore, heldBefore],
        )
        return rows.map((row) => trusted(UploadName, row.name))
      }, toStoreError),
  }
}
