import * as t from 'io-ts'
import * as TE from 'fp-ts/lib/TaskEither.js'
import type pg from 'pg'
import { Attachment, STATIC_PREFIX } from '../../core/uploads.js'
import { RoomId, storedMessageText, storedPersonName, UserId, Username } from '../../core/brands.js'
import { trusted } from '../../core/codecs.js'
import type { StoredMessage } from '../../core/chat/state.js'
import type { DuplicateMessage } from '../../core/chat/events.js'
import { toStoreError } from '../store-failure.js'
import type { MessageStore } from '../stores.js'

/**
 * Messages per insert. Arrays are bound as one parameter each, so PostgreSQL sets no limit here; this
 * keeps one statement's commit (and the ack latency of its first message) short.
 */
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
  readonly attachments: ReadonlyArray<unknown> | null
}

const SELECT = `SELECT m.room, m.seq, m.user_id, u.username, u.name, m.text, m.client_id, m.sent_at, m.attachments
  FROM messages m JOIN users u ON u.id = m.user_id`

/**
 * One statement per batch, so it commits whole or not at all: the rows (bound as arrays, one parameter per
 * column), a resend skipped by the (room, user_id, client_id) key, the uploads the inserted rows link to
 * attached, and each room's counter row raised to its highest seq. Data-modifying CTEs all see the rows
 * really inserted, so a skipped resend attaches nothing. The counter row's lock, held until commit, is
 * where a store-allocated seq will come from; a clash of (room, seq) fails the statement.
 */
const INSERT = `
  WITH batch AS (
    SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::jsonb[])
      AS b(room, seq, user_id, text, client_id, sent_at, attachments)
  ),
  inserted AS (
    INSERT INTO messages (room, seq, user_id, text, client_id, sent_at, attachments)
    SELECT room, seq, user_id, text, client_id, sent_at, attachments FROM batch
    ON CONFLICT (room, user_id, client_id) WHERE client_id IS NOT NULL DO NOTHING
    RETURNING room, seq, user_id, sent_at, attachments
  ),
  attached AS (
    UPDATE uploads SET attached_at = inserted.sent_at
    FROM inserted, jsonb_array_elements(inserted.attachments) AS attachment
    WHERE inserted.attachments IS NOT NULL AND uploads.attached_at IS NULL AND uploads.owner_id = inserted.user_id
      AND starts_with(attachment->>'url', '${STATIC_PREFIX}')
      AND uploads.name = substr(attachment->>'url', ${STATIC_PREFIX.length + 1})
    RETURNING uploads.name
  ),
  counters AS (
    INSERT INTO rooms (id, last_seq)
    SELECT room, max(seq) FROM inserted GROUP BY room ORDER BY room
    ON CONFLICT (id) DO UPDATE SET last_seq = GREATEST(rooms.last_seq, EXCLUDED.last_seq)
    RETURNING id
  )
  SELECT room, seq FROM inserted`

export const postgresMessageStore = (pool: pg.Pool): MessageStore => ({
  maxBatch: ROWS_PER_INSERT,
  insert: (messages) =>
    TE.tryCatch(async () => {
      if (messages.length === 0) return { duplicates: [] }
      if (messages.length > ROWS_PER_INSERT) throw new RangeError(`at most ${ROWS_PER_INSERT} messages per insert`)
      const { rows: kept } = await pool.query<{ room: string; seq: number }>(INSERT, [
        messages.map((m) => m.room),
        messages.map((m) => m.seq),
        messages.map((m) => m.user.id),
        messages.map((m) => m.text),
        messages.map((m) => m.clientId ?? null),
        messages.map((m) => m.sentAt),
        messages.map((m) => (m.attachments.length === 0 ? null : JSON.stringify(m.attachments))),
      ])
      if (kept.length === messages.length) return { duplicates: [] }
      const keptKeys = new Set(kept.map((row) => roomSeqKey(row.room, row.seq)))
      const duplicates: DuplicateMessage[] = []
      for (const message of messages) {
        if (!keptKeys.has(roomSeqKey(message.room, message.seq))) duplicates.push(await duplicateOf(pool, message))
      }
      return { duplicates }
    }, toStoreError),
  roomHistory: (room, keep) =>
    TE.tryCatch(async () => {
      const { rows } = await pool.query<MessageRow>(`${SELECT} WHERE m.room = $1 ORDER BY m.seq DESC LIMIT $2`, [room, keep])
      const last = await pool.query<{ last: number | null }>('SELECT MAX(seq) AS last FROM messages WHERE room = $1', [room])
      return { lastSeq: last.rows[0]?.last ?? 0, recent: rows.reverse().map(toMessage) }
    }, toStoreError),
  page: (room, before, limit) =>
    TE.tryCatch(async () => {
      const { rows } = await pool.query<MessageRow>(`${SELECT} WHERE m.room = $1 AND m.seq < $2 ORDER BY m.seq DESC LIMIT $3`, [
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
    attachments: row.attachments === null ? [] : trusted(t.array(Attachment), row.attachments),
    sentAt: row.sent_at,
    ...(row.client_id === null ? {} : { clientId: row.client_id }),
  }
}

const roomSeqKey = (room: string, seq: number): string => `${room}\u0000${seq}`

/** The stored message a left-out one repeats; rows are never deleted, so it is there to read. */
const duplicateOf = async (pool: pg.Pool, message: StoredMessage): Promise<DuplicateMessage> => {
  const { rows } =
    message.clientId === undefined
      ? { rows: [] }
      : await pool.query<{ seq: number; sent_at: number }>('SELECT seq, sent_at FROM messages WHERE room = $1 AND user_id = $2 AND client_id = $3', [
          message.room,
          message.user.id,
          message.clientId,
        ])
  const original = rows[0]
  if (original === undefined) throw new Error(`message ${message.room}/${message.seq} was neither stored nor a resend`)
  return { room: message.room, seq: message.seq, original: { seq: original.seq, sentAt: original.sent_at } }
}
