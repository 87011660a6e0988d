import * as TE from 'fp-ts/lib/TaskEither.js'
import type pg from 'pg'
import { trusted } from '../../core/codecs.js'
import { UploadName, type Upload } from '../../core/uploads.js'
import { UPLOAD_COLUMNS, uploadOf, type UploadRow } from '../rows.js'
import { toStoreError, type StoreError } from '../store-failure.js'
import type { UploadStore } from '../stores.js'

/** An upload the sweep may take, given the made-before ($1) and held-before ($2) cutoffs. */
const ORPHAN = 'attached_at IS NULL AND created_at < $1 AND (claimed_at IS NULL OR claimed_at < $2)'

export const postgresUploadStore = (pool: pg.Pool): UploadStore => {
  const findMany = (names: ReadonlyArray<UploadName>): TE.TaskEither<StoreError, ReadonlyArray<Upload>> =>
    TE.tryCatch(async () => {
      if (names.length === 0) return []
      const { rows } = await pool.query<UploadRow>(`SELECT ${UPLOAD_COLUMNS} FROM uploads WHERE name = ANY($1::text[])`, [names])
      return rows.map(uploadOf)
    }, toStoreError)

  return {
    register: (uploads, at) =>
      TE.tryCatch(async () => {
        if (uploads.length === 0) return
        await pool.query(
          `INSERT INTO uploads (name, owner_id, original_name, type, size, created_at)
           SELECT name, owner_id, original_name, type, size, $6 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[])
             AS u(name, owner_id, original_name, type, size)`,
          [uploads.map((u) => u.name), uploads.map((u) => u.owner), uploads.map((u) => u.originalName), uploads.map((u) => u.type), uploads.map((u) => u.size), at],
        )
      }, toStoreError),
    find: (name) =>
      TE.tryCatch(async () => {
        const { rows } = await pool.query<UploadRow>(`SELECT ${UPLOAD_COLUMNS} FROM uploads WHERE name = $1`, [name])
        return rows[0] === undefined ? undefined : uploadOf(rows[0])
      }, toStoreError),
    findMany,
    storedBytes: (owner) =>
      TE.tryCatch(async () => {
        const { rows } = await pool.query<{ readonly bytes: number }>('SELECT COALESCE(SUM(size), 0)::bigint AS bytes FROM uploads WHERE owner_id = $1', [owner])
        return rows[0]?.bytes ?? 0
      }, toStoreError),
    hold: (names, at, orphansBefore) =>
      TE.tryCatch(async () => {
        if (names.length === 0) return []
        // The row lock the update takes is what the sweep's delete waits on, and then re-checks its condition.
        const { rows } = await pool.query<UploadRow>(
          `UPDATE uploads SET claimed_at = CASE WHEN attached_at IS NULL THEN $1 ELSE claimed_at END
           WHERE name = ANY($2::text[]) AND (attached_at IS NOT NULL OR created_at >= $3)
           RETURNING ${UPLOAD_COLUMNS}`,
          [at, names, orphansBefore],
        )
        return rows.map(uploadOf)
      }, toStoreError),
    deleteOrphans: ({ madeBefore, heldBefore }, limit) =>
      TE.tryCatch(async () => {
        // The outer condition is evaluated again on a row a concurrent hold or attach changed (READ
        // COMMITTED re-checks an updated row), so such an upload is not taken.
        const { rows } = await pool.query<{ readonly name: string }>(
          `WITH swept AS (
             DELETE FROM uploads WHERE name IN (
               SELECT name FROM uploads WHERE ${ORPHAN} ORDER BY created_at, name LIMIT $3
             ) AND ${ORPHAN}
             RETURNING name, created_at
           )
           SELECT name FROM swept ORDER BY created_at, name`,
          [madeBefore, heldBefore, limit],
        )
        return rows.map((row) => trusted(UploadName, row.name))
      }, toStoreError),
  }
}
