import * as TE from 'fp-ts/lib/TaskEither.js'
import type pg from 'pg'
import { STATIC_PREFIX } from '../../core/uploads.js'
import type { NewMessage, StoredMessage } from '../../core/chat/state.js'
import type { DuplicateMessage } from '../../core/chat/events.js'
import { positionsInRoom, sortKept, type KeptRow } from '../message-numbering.js'
import { duplicateMessage, MESSAGE_SELECT, seqBefore, storedMessage, type MessageRow, type OriginalRow } from '../rows.js'
import { toStoreError } from '../store-failure.js'
import type { MessageStore } from '../stores.js'

/**
 * Messages per insert. Arrays are bound as one parameter each, so PostgreSQL sets no limit here; this
 * keeps one statement's commit (and the ack latency of its first message) short.
 */
const ROWS_PER_INSERT = 500

/** Attachments are a jsonb column, which node-postgres hands over already parsed. */
type PostgresMessageRow = MessageRow<ReadonlyArray<unknown>>

/**
 * One statement per batch, so it commits whole or not at all. It numbers the batch first: each room's
 * counter row is raised by the batch's messages of that room (created, from the room's highest stored seq,
 * when missing), and the row lock that takes, held until commit, makes any other writer of the room (this
 * process or another) wait and then number above it; each message gets the counter's old value plus its
 * place among the batch's messages of its room. Then the rows go in, a resend skipped by the
 * (room, user_id, client_id) key (its number is not used), and the uploads the inserted rows link to are
 * attached. Data-modifying CTEs all see the rows really inserted, so a skipped resend attaches nothing.
 */
const INSERT = `
  WITH batch AS (
    SELECT * FROM unnest($1::int[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::jsonb[])
      AS b(i, room, n, user_id, text, client_id, sent_at, attachments)
  ),
  counts AS (
    SELECT room, max(n) AS n FROM batch GROUP BY room
  ),
  numbered AS (
    INSERT INTO rooms (id, last_seq)
    SELECT room, COALESCE((SELECT max(seq) FROM messages WHERE messages.room = counts.room), 0) + n FROM counts ORDER BY room
    ON CONFLICT (id) DO UPDATE SET last_seq = GREATEST(rooms.last_seq + (SELECT n FROM counts WHERE counts.room = rooms.id), EXCLUDED.last_seq)
    RETURNING id AS room, last_seq
  ),
  inserted AS (
    INSERT INTO messages (room, seq, user_id, text, client_id, sent_at, attachments)
    SELECT batch.room, numbered.last_seq - counts.n + batch.n, batch.user_id, batch.text, batch.client_id, batch.sent_at, batch.attachments
    FROM batch JOIN numbered ON numbered.room = batch.room JOIN counts ON counts.room = batch.room
    ORDER BY batch.i
    ON CONFLICT (room, user_id, client_id) WHERE client_id IS NOT NULL DO NOTHING
    RETURNING room, seq, user_id, client_id, sent_at, attachments
  ),
  attached AS (
    UPDATE uploads SET attached_at = inserted.sent_at
    FROM inserted, jsonb_array_elements(inserted.attachments) AS attachment
    WHERE inserted.attachments IS NOT NULL AND uploads.attached_at IS NULL AND uploads.owner_id = inserted.user_id
      AND starts_with(attachment->>'url', '${STATIC_PREFIX}')
      AND uploads.name = substr(attachment->>'url', ${STATIC_PREFIX.length + 1})
    RETURNING uploads.name
  )
  SELECT room, seq, user_id, client_id FROM inserted`

export const postgresMessageStore = (pool: pg.Pool): MessageStore => ({
  maxBatch: ROWS_PER_INSERT,
  insert: (messages) =>
    TE.tryCatch(async () => {
      if (messages.length === 0) return { stored: [], duplicates: [] }
      if (messages.length > ROWS_PER_INSERT) throw new RangeError(`at most ${ROWS_PER_INSERT} messages per insert`)
      const positions = positionsInRoom(messages)
      const { rows } = await pool.query<KeptRow>({ name: 'sala-insert-messages', text: INSERT, values: [
        messages.map((_, index) => index),
        messages.map((m) => m.room),
        positions,
        messages.map((m) => m.user.id),
        messages.map((m) => m.text),
        messages.map((m) => m.clientId ?? null),
        messages.map((m) => m.sentAt),
        messages.map((m) => (m.attachments.length === 0 ? null : JSON.stringify(m.attachments))),
      ] })
      const { stored, left } = sortKept(messages, rows)
      const duplicates: DuplicateMessage[] = []
      for (const message of left) duplicates.push(await duplicateOf(pool, message))
      return { stored, duplicates }
    }, toStoreError),
  roomHistory: (room, keep) =>
    TE.tryCatch(async () => {
      const { rows } = await pool.query<PostgresMessageRow>(`${MESSAGE_SELECT} WHERE m.room = $1 ORDER BY m.seq DESC LIMIT $2`, [room, keep])
      const last = await pool.query<{ last: number | null }>('SELECT MAX(seq) AS last FROM messages WHERE room = $1', [room])
      return { lastSeq: last.rows[0]?.last ?? 0, recent: rows.reverse().map(toMessage) }
    }, toStoreError),
  since: (room, after, limit) =>
    TE.tryCatch(async () => {
      const { rows } = await pool.query<PostgresMessageRow>(`${MESSAGE_SELECT} WHERE m.room = $1 AND m.seq > $2 ORDER BY m.seq LIMIT $3`, [room, after, limit])
      return rows.map(toMessage)
    }, toStoreError),
  page: (room, before, limit) =>
    TE.tryCatch(async () => {
      const { rows } = await pool.query<PostgresMessageRow>(`${MESSAGE_SELECT} WHERE m.room = $1 AND m.seq < $2 ORDER BY m.seq DESC LIMIT $3`, [
        room,
        seqBefore(before),
        limit,
      ])
      return rows.reverse().map(toMessage)
    }, toStoreError),
})

const toMessage = (row: PostgresMessageRow): StoredMessage => storedMessage(row, (parsed) => parsed)

/** The stored message a left-out one repeats, by the unique key that left it out. */
const duplicateOf = (pool: pg.Pool, message: NewMessage): Promise<DuplicateMessage> =>
  duplicateMessage(message, async (room, user, clientId) => {
    const { rows } = await pool.query<OriginalRow>('SELECT seq, sent_at FROM messages WHERE room = $1 AND user_id = $2 AND client_id = $3', [room, user, clientId])
    return rows[0]
  })
