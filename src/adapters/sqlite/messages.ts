import * as t from 'io-ts'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { Attachment } from '../../core/uploads.js'
import { MessageText, PersonName, RoomId, UserId, Username } from '../../core/brands.js'
import { trusted } from '../../core/codecs.js'
import type { RoomHistory, StoredMessage } from '../../core/chat/state.js'
import type { SqliteDatabase } from './database.js'
import { toError } from './users.js'

export interface MessageStore {
  /** Stores the messages in one statement: all of them or none. */
  readonly insert: (messages: ReadonlyArray<StoredMessage>) => TE.TaskEither<Error, void>
  readonly roomHistory: (room: RoomId, keep: number) => TE.TaskEither<Error, RoomHistory>
  readonly page: (room: RoomId, before: number, limit: number) => TE.TaskEither<Error, ReadonlyArray<StoredMessage>>
}

/** Rows per INSERT; 7 bound values each stays far below SQLite's 32766-variable limit. */
export const ROWS_PER_INSERT = 500

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

export const sqliteMessageStore = (db: SqliteDatabase): MessageStore => ({
  insert: (messages) =>
    TE.tryCatch(async () => {
      if (messages.length === 0) return
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
      await db.run(`INSERT INTO messages (room, seq, user_id, text, client_id, sent_at, attachments) VALUES ${placeholders}`, values)
    }, toError),
  roomHistory: (room, keep) =>
    TE.tryCatch(async () => {
      const rows = await db.all<MessageRow[]>(`${SELECT} WHERE m.room = ? ORDER BY m.seq DESC LIMIT ?`, [room, keep])
      const last = await db.get<{ last: number | null }>('SELECT MAX(seq) AS last FROM messages WHERE room = ?', [room])
      return { lastSeq: last?.last ?? 0, recent: rows.reverse().map(toMessage) }
    }, toError),
  page: (room, before, limit) =>
    TE.tryCatch(async () => {
      const rows = await db.all<MessageRow[]>(`${SELECT} WHERE m.room = ? AND m.seq < ? ORDER BY m.seq DESC LIMIT ?`, [
        room,
        Number.isFinite(before) ? before : Number.MAX_SAFE_INTEGER,
        limit,
      ])
      return rows.reverse().map(toMessage)
    }, toError),
})

const toMessage = (row: MessageRow): StoredMessage => ({
  seq: row.seq,
  room: trusted(RoomId, row.room),
  user: { id: trusted(UserId, row.user_id), username: trusted(Username, row.username), name: trusted(PersonName, row.name) },
  text: row.text === '' ? '' : trusted(MessageText, row.text),
  attachments: row.attachments === null ? [] : trusted(t.array(Attachment), JSON.parse(row.attachments)),
  sentAt: row.sent_at,
  ...(row.client_id === null ? {} : { clientId: row.client_id }),
})
