import type * as TE from 'fp-ts/lib/TaskEither.js'
import type { RoomId, SessionId, UserId } from '../core/brands.js'
import type { Account, AccountError } from '../core/accounts.js'
import type { ChatUser, NewMessage, RoomHistory, StoredMessage } from '../core/chat/state.js'
import type { DuplicateMessage, MessageNumbered } from '../core/chat/events.js'
import type { OrphanCutoffs } from '../core/upload-budget.js'
import type { Upload, UploadName } from '../core/uploads.js'
import type { StoreError } from './store-failure.js'

// The storage contract: what the shell needs of a database, whatever the engine. Every engine implements
// all of it (src/adapters/sqlite/, src/adapters/postgres/) and passes one contract suite
// (test/adapters/store-contract.test.ts). Times are ms since the epoch. Every method fails with a
// `StoreError` (its `failure` says busy/full/unwritable/failed and the engine's code), never rejects.

export interface MessageStore {
  /**
   * Stores the messages in one transaction: all of them or none, except those whose (room, user, clientId)
   * is already stored, or repeats an earlier one of the batch, which are left out and reported with the
   * original they repeat (the unique key decides, however two resends raced). The store numbers those it
   * keeps, in that transaction: per room, in batch order, each above every seq the room had, whatever other
   * writers (processes) do at the same time; numbers may skip (a resend left out, a failed transaction).
   * The uploads each stored message links to (`/static/<name>` in its attachments, owned by its sender)
   * become attached, safe from the orphan sweep, in the same transaction; a message left out attaches
   * nothing. At most `maxBatch` messages per call; their `key`s are distinct.
   */
  readonly insert: (messages: ReadonlyArray<NewMessage>) => TE.TaskEither<StoreError, InsertOutcome>
  /**
   * How many messages one `insert` takes (the engine's limit on one statement's values). The group-commit
   * writer cuts its batches to this, knowing nothing else of the engine.
   */
  readonly maxBatch: number
  /** The last `keep` messages of the room in seq order, and the room's highest seq (0 for none). */
  readonly roomHistory: (room: RoomId, keep: number) => TE.TaskEither<StoreError, RoomHistory>
  /** At most `limit` messages of the room with seq below `before` (Infinity: from the newest), in seq order. */
  readonly page: (room: RoomId, before: number, limit: number) => TE.TaskEither<StoreError, ReadonlyArray<StoredMessage>>
  /**
   * At most `limit` messages of the room with seq above `after`, oldest first: what a process missed (a gap
   * in what other processes announced, or a link that was down). Reads only what it returns.
   */
  readonly since: (room: RoomId, after: number, limit: number) => TE.TaskEither<StoreError, ReadonlyArray<StoredMessage>>
}

/** Every message of a batch is in exactly one of the two lists, named by its `key`. */
export interface InsertOutcome {
  /** The messages kept, each with the seq the store gave it, in the order they were asked. */
  readonly stored: ReadonlyArray<MessageNumbered>
  /** The messages not kept because their sender had already used the clientId in that room. */
  readonly duplicates: ReadonlyArray<DuplicateMessage>
}

export interface UserRecord {
  readonly user: ChatUser
  readonly account: Account
  readonly passwordHash: string
}

export interface NewUser {
  readonly id: UserId
  readonly name: string
  readonly username: string
  readonly email: string
  readonly passwordHash: string
  readonly createdAt: number
}

export interface UserStore {
  /**
   * Left `username_taken` / `email_taken` when a unique key refuses it: usernames compare case-insensitively,
   * e-mails by `emailKey`. The keys, not a read before the write, decide a race between two sign-ups.
   */
  readonly create: (user: NewUser) => TE.TaskEither<AccountError | StoreError, UserRecord>
  /**
   * Whether a sign-up's username or e-mail is already someone's, asked before any password is hashed.
   * Only a fast answer: the unique keys in `create` still decide a race between two sign-ups.
   */
  readonly findTaken: (username: string, email: string) => TE.TaskEither<StoreError, AccountError | undefined>
  /** By username or e-mail, both case-insensitively. */
  readonly findByLogin: (login: string) => TE.TaskEither<StoreError, UserRecord | undefined>
  readonly findById: (id: UserId) => TE.TaskEither<StoreError, UserRecord | undefined>
}

export interface SessionRecord {
  readonly id: SessionId
  readonly userId: UserId
  readonly expiresAt: number
  readonly revokedAt: number | null
}

export interface SessionStore {
  readonly create: (session: { id: SessionId; userId: UserId; createdAt: number; expiresAt: number }) => TE.TaskEither<StoreError, void>
  /** The session as stored, expired or revoked ones too: the caller judges (accounts.ts). */
  readonly find: (id: SessionId) => TE.TaskEither<StoreError, SessionRecord | undefined>
  /** Marks it revoked at `at`; a session already revoked keeps its first time. Unknown ids are no error. */
  readonly revoke: (id: SessionId, at: number) => TE.TaskEither<StoreError, void>
}

export interface UploadStore {
  /** Registers the files of one request in one statement: all of them or none. */
  readonly register: (uploads: ReadonlyArray<Upload>, at: number) => TE.TaskEither<StoreError, void>
  readonly find: (name: UploadName) => TE.TaskEither<StoreError, Upload | undefined>
  readonly findMany: (names: ReadonlyArray<UploadName>) => TE.TaskEither<StoreError, ReadonlyArray<Upload>>
  /** Bytes of every upload `owner` keeps, attached to a message or not; 0 for none. */
  readonly storedBytes: (owner: string) => TE.TaskEither<StoreError, number>
  /**
   * Finds the uploads a message names, and holds each one not yet attached against the orphan sweep from
   * `at` (ms) on (`claimed_at`). Uploads never attached and made before `orphansBefore` (ms) are orphans: not
   * found, as if already swept, and not held. Found and held in one statement, which the sweep's delete is
   * serialized against, before the message goes on: while the hold lasts, a file the message may link to is
   * not swept. A file becomes attached only when a message naming it is stored (`MessageStore.insert`),
   * never by being named, so a refused message leaves its files orphans.
   */
  readonly hold: (names: ReadonlyArray<UploadName>, at: number, orphansBefore: number) => TE.TaskEither<StoreError, ReadonlyArray<Upload>>
  /**
   * Deletes the rows of at most `limit` uploads never attached, made before `cutoffs.madeBefore` and not held
   * since `cutoffs.heldBefore` (ms), oldest first, and answers their names so the caller removes the files.
   * The check and the delete are one statement: an upload held or attached meanwhile is not taken.
   */
  readonly deleteOrphans: (cutoffs: OrphanCutoffs, limit: number) => TE.TaskEither<StoreError, ReadonlyArray<UploadName>>
}

/** Every store of one database. */
export interface Stores {
  readonly messages: MessageStore
  readonly users: UserStore
  readonly sessions: SessionStore
  readonly uploads: UploadStore
}
