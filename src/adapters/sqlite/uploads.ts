import * as TE from 'fp-ts/lib/TaskEither.js'
import { trusted } from '../../core/codecs.js'
import { UploadName, type Upload } from '../../core/uploads.js'
import type { SqliteDatabase } from './database.js'
import { toError } from './users.js'

export interface UploadStore {
  /** Registers the files of one request in one statement: all of them or none. */
  readonly register: (uploads: ReadonlyArray<Upload>, at: number) => TE.TaskEither<Error, void>
  readonly find: (name: UploadName) => TE.TaskEither<Error, Upload | undefined>
  readonly findMany: (names: ReadonlyArray<UploadName>) => TE.TaskEither<Error, ReadonlyArray<Upload>>
}

interface UploadRow {
  readonly name: string
  readonly owner_id: string
  readonly original_name: string
  readonly type: string
  readonly size: number
}

const COLUMNS = 'name, owner_id, original_name, type, size'

export const sqliteUploadStore = (db: SqliteDatabase): UploadStore => ({
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
  findMany: (names) =>
    TE.tryCatch(async () => {
      if (names.length === 0) return []
      const rows = await db.all<UploadRow[]>(`SELECT ${COLUMNS} FROM uploads WHERE name IN (${names.map(() => '?').join(', ')})`, [...names])
      return rows.map(toUpload)
    }, toError),
})

const toUpload = (row: UploadRow): Upload => ({
  name: trusted(UploadName, row.name),
  owner: row.owner_id,
  originalName: row.original_name,
  type: row.type,
  size: row.size,
})
