import * as TE from 'fp-ts/lib/TaskEither.js'
import { trusted } from '../../core/codecs.js'
import { UploadName, type Upload } from '../../core/uploads.js'
import type { OrphanCutoffs } from '../../core/upload-budget.js'
import type { SqliteDatabase } from './database.js'
import { toError } from './users.js'

export interface UploadStore {
  /** Registers the files of one request in one statement: all of them or none. */
  readonly register: (uploads: ReadonlyArray<Upload>, at: number) => TE.TaskEither<Error, void>
  readonly find: (name: UploadName) => TE.TaskEither<Error, Upload | undefined>
  readonly findMany: (names: ReadonlyArray<UploadName>) => TE.TaskEither<Error, ReadonlyArray<Upload>>
  /** Bytes of every upload `owner` keeps, attached to a message or not; 0 for none. */
  readonly storedBytes: (owner: string) => TE.TaskEither<Error, number>
  /**
   * Finds the uploads a message names, and holds each one not yet attached against the orphan sweep from
   * `at` (ms) on (`claimed_at`). Uploads never attached and made before `orphansBefore` (ms) are orphans: not
   * found, as if already swept, and not held. Found and held in one statement, which the sweep's delete is
   * serialized against, before the message goes on: while the hold lasts, a file the message may link to is
   * not swept. A file becomes attached only when a message naming it is stored (a trigger on the insert,
   * migration 6), never by being named, so a refused message leaves its files orphans.
   */
  readonly hold: (names: ReadonlyArray<UploadName>, at: number, orphansBefore: number) => TE.TaskEither<Error, ReadonlyArray<Upload>>
  /**
   * Deletes the rows of at most `limit` uploads never attached, made before `cutoffs.madeBefore` and not held
   * since `cutoffs.heldBefore` (ms), and answers their names so the caller removes the files. The check and
   * the delete are one statement: an upload held or attached meanwhile is not taken.
   */
  readonly deleteOrphans: (cutoffs: OrphanCutoffs, limit: number) => TE.TaskEither<Error, ReadonlyArray<UploadName>>
}

interface UploadRow {
  readonly name: string
  readonly owner_id: string
  readonly original_name: string
  readonly type: string
  readonly size: number
}

const COLUMNS = 'name, owner_id, original_name, type, size'

/** An upload the sweep may take; binds the made-before and held-before cutoffs, in that order. */
const ORPHAN = 'attached_at IS NULL AND created_at < ? AND (claimed_at IS NULL OR claimed_at < ?)'

const inList = (names: ReadonlyArray<unknown>): string => names.map(() => '?').join(', ')

export const sqliteUploadStore = (db: SqliteDatabase): UploadStore => {
  const findMany = (names: ReadonlyArray<UploadName>): TE.TaskEither<Error, ReadonlyArray<Upload>> =>
    TE.tryCatch(async () => {
      if (names.length === 0) return []
      const rows = await db.all<UploadRow[]>(`SELECT ${COLUMNS} FROM uploads WHERE name IN (${inList(names)})`, [...names])
      return rows.map(toUpload)
    }, toError)

  return {
    register: (uploads, at) =>
      TE.tryCatch(async () => {
        if (uploads.length === 0) return
        const placeholders = uploads.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')
        const values = uploads.flatMap((u) => [u.name, u.owner, u.originalName, u.type, u.size, at])
        await db.run(`INSERT INTO uploads (name, owner_id, original_name, type, size, created_at) VALUES ${placeholders}`, values)
      }, toError),
    find: (name) =>
      TE.tryCatch(async () => {
        const row = await db.get<UploadRow>(`SELECT ${COLUMNS} FROM uploads WHERE name = ?`, [name])
        return row === undefined ? undefined : toUpload(row)
      }, toError),
    findMany,
    storedBytes: (owner) =>
      TE.tryCatch(async () => {
        const row = await db.get<{ readonly bytes: number }>('SELECT COALESCE(SUM(size), 0) AS bytes FROM uploads WHERE owner_id = ?', [owner])
        return row?.bytes ?? 0
      }, toError),
    hold: (names, at, orphansBefore) =>
      TE.tryCatch(async () => {
        if (names.length === 0) return []
        const rows = await db.all<UploadRow[]>(
          `UPDATE uploads SET claimed_at = CASE WHEN attached_at IS NULL THEN ? ELSE claimed_at END
           WHERE name IN (${inList(names)}) AND (attached_at IS NOT NULL OR created_at >= ?)
           RETURNING ${COLUMNS}`,
          [at, ...names, orphansBefore],
        )
        return rows.map(toUpload)
      }, toError),
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
      }, toError),
  }
}

const toUpload = (row: UploadRow): Upload => ({
  name: trusted(UploadName, row.name),
  owner: row.owner_id,
  originalName: row.original_name,
  type: row.type,
  size: row.size,
})
