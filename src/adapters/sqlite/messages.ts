import * as t from 'io-ts'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { Attachment } from '../../core/uploads.js'
import { RoomId, storedMessageText, storedPersonName, UserId, Username } from '../../core/brands.js'
import { trusted } from '../../core/codecs.js'
import type { StoredMessage } from '../../core/chat/state.js'
import type { DuplicateMessage } from '../../core/chat/events.js'
import { toStoreError } from '../store-failure.js'
import type { MessageStore } from '../stores.js'
import type { SqliteDatabase } from './database.js'

/** Rows per INSERT; 7 bound values each stays far below SQLite's 32766-variable limit. */
const ROWS_PER_INSERT = 500

interface MessageRow {
  readonly room: string
  readonly seq: number
  readonly user_id: string
  readonly username: string
  readonly name: string
  readonly text: string
  readonly client_id: string | null
  readonly sent_at: number
  readonly attachments: string | null
}

const SELECT = `SELECT m.room, m.seq, m.user_id, u.username, u.name, m.text, m.client_id, m.sent_at, m.attachments
  FROM messages m JOIN users u ON u.id = m.user_id`

/**
 * Each batch in one statement, so no transaction is held across awaits on the connection the stores share
 * (it would take in, and roll back, other callers' writes). The uploads a stored message links to are
 * attached by a trigger on the insert (migration 6): only rows really inserted fire it.
 */
export const sqliteMessageStore = (db: SqliteDatabase): MessageStore => ({
  maxBatch: ROWS_PER_INSERT,
  insert: (messages) =>
    TE.tryCatch(async () => {
      if (messages.length === 0) return { duplicates: [] }
      if (messages.length > ROWS_PER_INSERT) throw new RangeError(`at most ${ROWS_PER_INSERT} messages per insert`)
      const placeholders = messages.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')
      const values = messages.flatMap((m) => [
        m.room,
        m.seq,
        m.user.id,
        m.text,
        m.clientId ?? null,
        m.sentAt,
        m.attachments.length === 0 ? null : JSON.stringify(m.attachments),
      ])
      // The unique key on (room, user_id, client_id) decides what is a resend, whatever memory knew and
      // however two resends raced; only that conflict is skipped, a clash of (room, seq) still fails.
      const kept = await db.all<Array<{ room: string; seq: number }>>(
        `INSERT INTO messages (room, seq, user_id, text, client_id, sent_at, attachments) VALUES ${placeholders}
         ON CONFLICT (room, user_id, client_id) WHERE client_id IS NOT NULL DO NOTHING
         RETURNING room, seq`,
        values,
      )
      if (kept.length === messages.length) return { duplicates: [] }
      const keptKeys = new Set(kept.map((row) => roomSeqKey(row.room, row.seq)))
      const duplicates: DuplicateMessage[] = []
      for (const message of messages) {
        if (!keptKeys.has(roomSeqKey(message.room, message.seq))) duplicates.push(await duplicateOf(db, message))
      }
      return { duplicates }
    }, toStoreError),
  roomHistory: (room, keep) =>
    TE.tryCatch(async () => {
      const rows = await db.all<MessageRow[]>(`${SELECT} WHERE m.room = ? ORDER BY m.seq DESC LIMIT ?`, [room, keep])
      const last = await db.get<{ last: number | null }>('SELECT MAX(seq) AS last FROM messages WHERE room = ?', [room])
      return { lastSeq: last?.last ?? 0, recent: rows.reverse().map(toMessage) }
    }, toStoreError),
  page: (room, before, limit) =>
    TE.tryCatch(async () => {
      const rows = await db.all<MessageRow[]>(`${SELECT} WHERE m.room = ? AND m.seq < ? ORDER BY m.seq DESC LIMIT ?`, [
        room,
        Number.isFinite(before) ? before : Number.MAX_SAFE_INTEGER,
        limit,
      ])
      return rows.reverse().map(toMessage)
    }, toStoreError),
})

// Read through the same codecs that wrote the row, so a message from history is the one sent live.
const toMessage = (row: MessageRow): StoredMessage => {
  const username = trusted(Username, row.username)
  return {
    seq: row.seq,
    room: trusted(RoomId, row.room),
    user: { id: trusted(UserId, row.user_id), username, name: storedPersonName(row.name, username) },
    text: row.text === '' ? '' : storedMessageText(row.text),
    attachments: row.attachments === null ? [] : trusted(t.array(Attachment), JSON.parse(row.attachments)),
    sentAt: row.sent_at,
    ...(row.client_id === null ? {} : { clientId: row.client_id }),
  }
}

const roomSeqKey = (room: string, seq: number): string => `${room}\u0000${seq}`

/** The stored message a left-out one repeats; rows are never deleted, so it is there to read. */
const duplicateOf = async (db: SqliteDatabase, message: StoredMessage): Promise<DuplicateMessage> => {
  const original =
    message.clientId === undefined
      ? undefined
      : await db.get<{ seq: number; sent_at: number }>('SELECT seq, sent_at FROM messages WHERE room = ? AND user_id = ? AND client_id = ?', [
          message.room,
          message.user.id,
          message.clientId,
        ])
  if (original === undefined) throw new Error(`message ${message.room}/${message.seq} was neither stored nor a resend`)
  return { room: message.room, seq: message.seq, original: { seq: original.seq, sentAt: original.sent_at } }
}
