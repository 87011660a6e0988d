import * as TE from 'fp-ts/lib/TaskEither.js'
import type { NewMessage, StoredMessage } from '../../core/chat/state.js'
import type { DuplicateMessage } from '../../core/chat/events.js'
import { positionsInRoom, sortKept, type KeptRow } from '../message-numbering.js'
import { duplicateMessage, MESSAGE_SELECT, seqBefore, storedMessage, type MessageRow, type OriginalRow } from '../rows.js'
import { toStoreError } from '../store-failure.js'
import type { MessageStore } from '../stores.js'
import type { SqliteDatabase } from './database.js'
import type { PreparedStatements } from './prepared.js'

/** Rows per INSERT; 8 bound values each stays far below SQLite's 32766-variable limit. */
const ROWS_PER_INSERT = 500

/**
 * The row counts the insert is prepared for: a batch takes the smallest that holds it, and its unused rows
 * are bound as NULLs, which the statement skips. Ten statements, each prepared once, serve every batch
 * size; preparing per batch cost a third of the insert (measured: 1.2 ms of CPU for 50 messages, 0.84 ms
 * prepared) on the one core that also runs the server.
 */
const PREPARED_SIZES = [1, 2, 4, 8, 16, 32, 64, 128, 256, ROWS_PER_INSERT]
const COLUMNS = 8

/** Attachments are stored as JSON in a TEXT column. */
type SqliteMessageRow = MessageRow<string>

/**
 * Numbers and inserts a batch in one statement. Each room's last seq is read once, before any row goes in
 * (SQLite runs an INSERT whose SELECT reads the same table from a materialized copy), and each message gets
 * it plus its place among the batch's messages of that room. The unique key on (room, user_id, client_id)
 * decides what is a resend, whatever memory knew and however two resends raced; only that conflict is
 * skipped (its number is then not used). Rows go in in batch order, so the first copy of a clientId is
 * the one kept: CROSS JOIN makes SQLite loop over the batch (read in VALUES order) on the outside, which
 * also spares the sort an ORDER BY would cost (a quarter of the insert's time). The WHERE clause also keeps
 * SQLite from reading ON CONFLICT as a join's ON, and leaves out the padding rows (a NULL room equals none).
 */
const insertStatement = (rows: number): string => {
  const placeholders = Array.from({ length: rows }, () => `(${Array.from({ length: COLUMNS }, () => '?').join(', ')})`).join(', ')
  return `
  WITH batch (i, room, n, user_id, text, client_id, sent_at, attachments) AS (VALUES ${placeholders}),
  base AS MATERIALIZED (
    SELECT rooms.room, COALESCE((SELECT MAX(seq) FROM messages WHERE messages.room = rooms.room), 0) AS last
    FROM (SELECT DISTINCT room FROM batch) AS rooms
  )
  INSERT INTO messages (room, seq, user_id, text, client_id, sent_at, attachments)
  SELECT batch.room, base.last + batch.n, batch.user_id, batch.text, batch.client_id, batch.sent_at, batch.attachments
  FROM batch CROSS JOIN base WHERE base.room = batch.room
  ON CONFLICT (room, user_id, client_id) WHERE client_id IS NOT NULL DO NOTHING
  RETURNING room, seq, user_id, client_id`
}

const INSERTS = PREPARED_SIZES.map((size) => ({ size, sql: insertStatement(size) }))

/** The smallest prepared insert that holds `rows` (at most ROWS_PER_INSERT). */
const insertFor = (rows: number): { readonly size: number; readonly sql: string } => {
  const insert = INSERTS.find(({ size }) => size >= rows)
  if (insert === undefined) throw new RangeError(`at most ${ROWS_PER_INSERT} messages per insert`)
  return insert
}

/**
 * Each batch in one statement, so no transaction is held across awaits on the connection the stores share
 * (it would take in, and roll back, other callers' writes). The uploads a stored message links to are
 * attached by a trigger on the insert (migration 6): only rows really inserted fire it.
 */
export const sqliteMessageStore = (db: SqliteDatabase, statements: PreparedStatements): MessageStore => ({
  maxBatch: ROWS_PER_INSERT,
  insert: (messages) =>
    TE.tryCatch(async () => {
      if (messages.length === 0) return { stored: [], duplicates: [] }
      const { size, sql } = insertFor(messages.length)
      const positions = positionsInRoom(messages)
      const values = messages.flatMap((m, index) => [
        index,
        m.room,
        positions[index],
        m.user.id,
        m.text,
        m.clientId ?? null,
        m.sentAt,
        m.attachments.length === 0 ? null : JSON.stringify(m.attachments),
      ])
      for (let padding = (size - messages.length) * COLUMNS; padding > 0; padding--) values.push(null)
      const rows = await (await statements.get(sql)).all<KeptRow[]>(values)
      const { stored, left } = sortKept(messages, rows)
      const duplicates: DuplicateMessage[] = []
      for (const message of left) duplicates.push(await duplicateOf(db, message))
      return { stored, duplicates }
    }, toStoreError),
  roomHistory: (room, keep) =>
    TE.tryCatch(async () => {
      const rows = await db.all<SqliteMessageRow[]>(`${MESSAGE_SELECT} WHERE m.room = ? ORDER BY m.seq DESC LIMIT ?`, [room, keep])
      const last = await db.get<{ last: number | null }>('SELECT MAX(seq) AS last FROM messages WHERE room = ?', [room])
      return { lastSeq: last?.last ?? 0, recent: rows.reverse().map(toMessage) }
    }, toStoreError),
  since: (room, after, limit) =>
    TE.tryCatch(async () => {
      const rows = await db.all<SqliteMessageRow[]>(`${MESSAGE_SELECT} WHERE m.room = ? AND m.seq > ? ORDER BY m.seq LIMIT ?`, [room, after, limit])
      return rows.map(toMessage)
    }, toStoreError),
  page: (room, before, limit) =>
    TE.tryCatch(async () => {
      const rows = await db.all<SqliteMessageRow[]>(`${MESSAGE_SELECT} WHERE m.room = ? AND m.seq < ? ORDER BY m.seq DESC LIMIT ?`, [
        room,
        seqBefore(before),
        limit,
      ])
      return rows.reverse().map(toMessage)
    }, toStoreError),
})

const toMessage = (row: SqliteMessageRow): StoredMessage => storedMessage(row, parseJson)

const parseJson = (text: string): unknown => JSON.parse(text)

/** The stored message a left-out one repeats, by the unique key that left it out. */
const duplicateOf = (db: SqliteDatabase, message: NewMessage): Promise<DuplicateMessage> =>
  duplicateMessage(message, (room, user, clientId) =>
    db.get<OriginalRow>('SELECT seq, sent_at FROM messages WHERE room = ? AND user_id = ? AND client_id = ?', [room, user, clientId]),
  )
