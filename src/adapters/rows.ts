import * as t from 'io-ts'
import { RoomId, storedMessageText, storedPersonName, UserId, Username, type SessionId } from '../core/brands.js'
import { trusted } from '../core/codecs.js'
import { emailKey } from '../core/accounts.js'
import type { DuplicateMessage } from '../core/chat/events.js'
import type { NewMessage, StoredMessage } from '../core/chat/state.js'
import { Attachment, UploadName, type Upload } from '../core/uploads.js'
import type { NewUser, SessionRecord, SessionStore, UserRecord } from './stores.js'

// Rows as every engine writes and reads them, and the records they become. Rows were written through the
// codecs; reading them back through the same codecs keeps the brands honest, so what an engine reads is
// what was sent live, whichever engine stored it. What differs per engine (SQL text, placeholders, how a
// JSON column arrives) stays in its folder, and so do the store methods: what is still alike between the
// engines' methods is the TaskEither frame around each one's own query, which a shared helper would only
// hide. Times are ms since the epoch; each engine's driver hands them over as numbers (PostgreSQL's bigint
// is parsed as one: postgres/database.ts).

/** A `users` row, read through `USER_COLUMNS`. */
export interface UserRow {
  readonly id: string
  readonly name: string
  readonly username: string
  readonly email: string
  readonly password_hash: string
  readonly created_at: number
}

/** The columns a `UserRow` is read from, for `SELECT ${USER_COLUMNS} FROM users ...`. */
export const USER_COLUMNS = 'id, name, username, email, password_hash, created_at'

/**
 * A user as the stores answer it. Throws a TypeError if the row holds an id or username the codecs
 * refuse (a bug: only the codecs write them).
 */
export const userRecord = (row: UserRow): UserRecord => {
  const username = trusted(Username, row.username)
  // A name an earlier version let through (a bidi override) is shown cleaned, here and in every frame.
  const name = storedPersonName(row.name, username)
  return {
    user: { id: trusted(UserId, row.id), username, name },
    account: {
      username: row.username,
      name,
      email: row.email,
      createdAt: new Date(row.created_at).toISOString(),
    },
    passwordHash: row.password_hash,
  }
}

/** The columns `UserStore.create` writes, for `INSERT INTO users (${NEW_USER_COLUMNS}) VALUES (...)`. */
export const NEW_USER_COLUMNS = 'id, name, username, email, email_key, password_hash, created_at'

/**
 * A new user's row, to bind in `NEW_USER_COLUMNS` order. `email_key` is what a sign-up and a login are
 * matched by (`emailKey`: NFC, lower case), so both engines must write it the same way.
 */
export const newUserValues = (user: NewUser): Array<string | number> => [
  user.id,
  user.name,
  user.username,
  user.email,
  emailKey(user.email),
  user.passwordHash,
  user.createdAt,
]

/** What `create` answers for the user it inserted: the record a later read of that row gives. */
export const createdUserRecord = (user: NewUser): UserRecord =>
  userRecord({
    id: user.id,
    name: user.name,
    username: user.username,
    email: user.email,
    password_hash: user.passwordHash,
    created_at: user.createdAt,
  })

/** The columns `SessionStore.create` writes, for `INSERT INTO sessions (${NEW_SESSION_COLUMNS}) VALUES (...)`. */
export const NEW_SESSION_COLUMNS = 'id, user_id, created_at, expires_at'

/** A new session's row, to bind in `NEW_SESSION_COLUMNS` order (times in ms since the epoch). */
export const newSessionValues = (session: Parameters<SessionStore['create']>[0]): Array<string | number> => [
  session.id,
  session.userId,
  session.createdAt,
  session.expiresAt,
]

/** A `sessions` row, read through `SESSION_COLUMNS`; `revoked_at` is null while the session stands. */
export interface SessionRow {
  readonly user_id: string
  readonly expires_at: number
  readonly revoked_at: number | null
}

/** The columns a `SessionRow` is read from, for `SELECT ${SESSION_COLUMNS} FROM sessions ...`. */
export const SESSION_COLUMNS = 'user_id, expires_at, revoked_at'

/** The session `id` names, as stored. Throws a TypeError on a user id the codec refuses (a bug). */
export const sessionRecord = (id: SessionId, row: SessionRow): SessionRecord => ({
  id,
  userId: trusted(UserId, row.user_id),
  expiresAt: row.expires_at,
  revokedAt: row.revoked_at,
})

/** An `uploads` row, read through `UPLOAD_COLUMNS`; `size` in bytes. */
export interface UploadRow {
  readonly name: string
  readonly owner_id: string
  readonly original_name: string
  readonly type: string
  readonly size: number
}

/** The columns an `UploadRow` is read from (`SELECT` or `RETURNING ${UPLOAD_COLUMNS}`). */
export const UPLOAD_COLUMNS = 'name, owner_id, original_name, type, size'

/** The upload a row registers. Throws a TypeError on a name the codec refuses (a bug). */
export const uploadOf = (row: UploadRow): Upload => ({
  name: trusted(UploadName, row.name),
  owner: row.owner_id,
  originalName: row.original_name,
  type: row.type,
  size: row.size,
})

/**
 * A `messages` row joined with its sender, read through `MESSAGE_SELECT`. `Attachments` is how the
 * engine hands over the JSON column (SQLite: its TEXT; PostgreSQL: jsonb, already parsed); null for none.
 */
export interface MessageRow<Attachments> {
  readonly room: string
  readonly seq: number
  readonly user_id: string
  readonly username: string
  readonly name: string
  readonly text: string
  readonly client_id: string | null
  readonly sent_at: number
  readonly attachments: Attachments | null
}

/** Every `MessageRow` column; the engine adds its WHERE, ORDER BY and LIMIT (`m` is messages, `u` users). */
export const MESSAGE_SELECT = `SELECT m.room, m.seq, m.user_id, u.username, u.name, m.text, m.client_id, m.sent_at, m.attachments
  FROM messages m JOIN users u ON u.id = m.user_id`

/**
 * The message a row stores, so a message from history is the one sent live. `parseAttachments` turns the
 * engine's JSON column into plain values, which the Attachment codec then checks. Throws (a TypeError, or
 * the parser's SyntaxError) on a row the codecs did not write: a bug or a damaged database.
 */
export const storedMessage = <Attachments>(row: MessageRow<Attachments>, parseAttachments: (column: Attachments) => unknown): StoredMessage => {
  const username = trusted(Username, row.username)
  return {
    seq: row.seq,
    room: trusted(RoomId, row.room),
    user: { id: trusted(UserId, row.user_id), username, name: storedPersonName(row.name, username) },
    text: row.text === '' ? '' : storedMessageText(row.text),
    attachments: row.attachments === null ? [] : trusted(t.array(Attachment), parseAttachments(row.attachments)).map(inFrameOrder),
    sentAt: row.sent_at,
    ...(row.client_id === null ? {} : { clientId: row.client_id }),
  }
}

// An attachment with its fields in the order a live frame has them (`toAttachment`): PostgreSQL's jsonb
// keeps an object's keys sorted its own way (by length, then bytes: url, name, size, type), and history
// must be byte for byte what was sent live.
const inFrameOrder = (attachment: Attachment): Attachment => ({
  url: attachment.url,
  name: attachment.name,
  type: attachment.type,
  size: attachment.size,
})

/**
 * `page`'s `before` as a number a driver can bind: Infinity (from the newest) becomes the largest safe
 * integer, above every seq; a finite `before` is itself.
 */
export const seqBefore = (before: number): number => (Number.isFinite(before) ? before : Number.MAX_SAFE_INTEGER)

/** The stored message a resend repeats: its seq and when it was sent (ms). */
export interface OriginalRow {
  readonly seq: number
  readonly sent_at: number
}

/** The engine's lookup of a stored message by its unique key (room, sender, clientId). */
export type FindOriginal = (room: RoomId, user: UserId, clientId: string) => Promise<OriginalRow | undefined>

/**
 * The stored message that `message`, left out by the insert, repeats. Rows are never deleted, so it is
 * there to read; throws an Error if it is not (a message without a clientId is never left out), which
 * fails the whole insert as the engine's own errors do.
 */
export const duplicateMessage = async (message: NewMessage, findOriginal: FindOriginal): Promise<DuplicateMessage> => {
  const original = message.clientId === undefined ? undefined : await findOriginal(message.room, message.user.id, message.clientId)
  if (original === undefined) throw new Error(`a message of ${message.room} was neither stored nor a resend`)
  return { room: message.room, key: message.key, original: { seq: original.seq, sentAt: original.sent_at } }
}
