import type * as TE from 'fp-ts/lib/TaskEither.js'
import type { RoomId, SessionId, UserId } from '../core/brands.js'
import type { Account, AccountError } from '../core/accounts.js'
import type { ChatUser, NewMessage, RoomHistory, StoredMessage } from '../core/chat/state.js'
import type { DuplicateMessage, MessageNumbered } from '../core/chat/events.js'
import type { OrphanCutoffs } from '../core/upload-budget.js'
import type { RecentRooms } from '../core/rooms.js'
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

/** A room people made (docs/rooms.md): `public` is listed to everyone, `private` to its members only. */
export interface MadeRoom {
  readonly kind: 'public' | 'private'
  readonly id: RoomId
  /** 1-80 characters under the text rules, checked by the caller; stored as given. */
  readonly name: string
  /** null: none. */
  readonly topic: string | null
  /** Who made it and manages its members; null: nobody (a room no user owns). */
  readonly ownerId: UserId | null
  readonly createdAt: number
  /** When it was archived; null while it is not. */
  readonly archivedAt: number | null
}

/** A conversation of exactly two users: no name, no owner, shown to each as the other person. */
export interface DirectRoom {
  readonly kind: 'direct'
  readonly id: RoomId
  /** Its two users, in code-unit order of their ids (the order of its `dm_key`). */
  readonly members: readonly [UserId, UserId]
  readonly createdAt: number
  readonly archivedAt: number | null
}

/** A room as `rooms` stores it. The `ROOMS` rooms (configured, public, ownerless) are not stored there. */
export type StoredRoom = MadeRoom | DirectRoom

/**
 * A stored room with the users it names, read with it (joined in the same query): its owner, or a
 * conversation's two users in the order of `members`. What the catalog is loaded from: the chat shows
 * owners and conversation partners by username and name.
 */
export type CatalogRoom = (MadeRoom & { readonly owner: ChatUser | null }) | (DirectRoom & { readonly pair: readonly [ChatUser, ChatUser] })

export interface NewRoom {
  readonly id: RoomId
  readonly kind: MadeRoom['kind']
  readonly name: string
  readonly topic: string | null
  readonly ownerId: UserId
  readonly createdAt: number
}

/** What may change of a made room: a field left out stays as it is; `topic: null` removes the topic. */
export interface RoomChange {
  readonly name?: string
  readonly topic?: string | null
}

/** A room id some room already has: the caller draws another (ids are random, the key decides a collision). */
export interface RoomIdTaken {
  readonly type: 'room_id_taken'
}

/**
 * A limit on the rooms one owner makes: at most `max` with a `createdAt` at or after `since` (ms), archived
 * ones included, the new one included. `create` counts them and inserts in one atomic step.
 */
export interface RoomQuota {
  readonly max: number
  readonly since: number
}

/**
 * `create` refused by its `RoomQuota`: the owner has made `max` rooms since `since`. `earliest` is the
 * `createdAt` (ms) of the first of them, when the next may be made; null when `max` is 0 (there are none).
 */
export interface TooManyRooms {
  readonly type: 'too_many_rooms'
  readonly earliest: number | null
}

export interface DirectAnswer {
  readonly room: DirectRoom
  /** This call made it (its `newId`); false when the pair already had one, whoever made it first. */
  readonly created: boolean
}

export interface NewMember {
  readonly room: RoomId
  readonly user: UserId
  /** When (ms). */
  readonly at: number
  /**
   * At most this many members, the new one included: a room that has them already answers `full`.
   * Absent: no limit (the public rooms). Counted in the same transaction as the insert, under a lock every
   * adder of the room takes, so adders racing at the limit (any process) never pass it.
   */
  readonly maxMembers?: number
  /** The read marker the member starts with (the seq they have read up to); absent: 0, everything unread. */
  readonly readSeq?: number
}

/** A membership with no limit to hold (a public room's, made by entering it): one of a batch (`RoomStore.addMembers`). */
export interface PublicMember {
  readonly room: RoomId
  readonly user: UserId
  /** When (ms). */
  readonly at: number
  /** The read marker the member starts with (the seq they have read up to). */
  readonly readSeq: number
}

/** `added`: a member now; `already`: was one (nothing changed, the marker included); `full`: the limit refused. */
export type MemberAdded = 'added' | 'already' | 'full'

/** One of a user's memberships, with what they have not read there. */
export interface Membership {
  readonly room: RoomId
  /** The highest seq they have read in it (0: none). */
  readonly readSeq: number
  /** How many stored messages of the room have a seq above `readSeq`, at most the `unreadCap` asked for. */
  readonly unread: number
}

/** A request to move `user`'s read marker in `room` up to `seq`. */
export interface ReadMarker {
  readonly user: UserId
  readonly room: RoomId
  readonly seq: number
}

/**
 * Rooms people make, direct conversations, memberships and read markers (docs/rooms.md). Ids come from the
 * caller (random, `RoomId`-shaped); the unique keys, not a read before the write, decide a collision or a
 * race. Memberships are kept for any room id, stored in `rooms` or one of the configured `ROOMS`. The store
 * judges only the limits it is given (a quota of rooms, a cap on members), which only it can hold against
 * racing writers; the rest (who may rename, whether a room is archived) the core and the routes judge.
 */
export interface RoomStore {
  /** Every stored room with its people, oldest first: the catalog a process loads at start and after a link outage. */
  readonly all: () => TE.TaskEither<StoreError, ReadonlyArray<CatalogRoom>>
  /**
   * One stored room with its people, as it is now (what a route decides on, whatever this process has
   * heard); undefined when no room has the id.
   */
  readonly find: (id: RoomId) => TE.TaskEither<StoreError, CatalogRoom | undefined>
  /**
   * Stores the room and its owner's membership (marker 0) in one transaction. Left `room_id_taken` when a
   * room (made or direct) already has the id; nothing is written then. With a `quota`, the owner's rooms
   * are counted in the same atomic step as the insert, serialised with every other quota'd create of the
   * owner (any connection, any process), so creates racing at the limit never pass it: left
   * `too_many_rooms` when they would, nothing written. Absent: no limit.
   */
  readonly create: (room: NewRoom, quota?: RoomQuota) => TE.TaskEither<RoomIdTaken | TooManyRooms | StoreError, MadeRoom>
  /**
   * How many rooms `owner` made at or after `since` (ms), archived ones included, and when the first of
   * them was made: the per-day limit's count, and when it lets the owner make one again.
   */
  readonly createdSince: (owner: UserId, since: number) => TE.TaskEither<StoreError, RecentRooms>
  /**
   * Changes a made room's name and topic; answers the room as it now is, or undefined when no made room has
   * the id (a direct conversation has neither, and is not changed).
   */
  readonly update: (id: RoomId, change: RoomChange) => TE.TaskEither<StoreError, MadeRoom | undefined>
  /**
   * Marks the room archived at `at` (ms); a room already archived keeps its first time. Answers the room as
   * it now is, or undefined when no room has the id.
   */
  readonly archive: (id: RoomId, at: number) => TE.TaskEither<StoreError, StoredRoom | undefined>
  /**
   * The conversation between users `a` and `b` (in either order), made with the id `newId` at `at` (ms) if the
   * pair has none, with both memberships (marker 0) in the same transaction. The pair's unique key decides a
   * race between two makers (processes): the one that loses answers the winner's conversation, not created.
   * Left `room_id_taken` when the pair has none and `newId` is another room's. Fails (a bug) when `a` is `b`
   * or an id holds a space.
   */
  readonly direct: (a: UserId, b: UserId, newId: RoomId, at: number) => TE.TaskEither<RoomIdTaken | StoreError, DirectAnswer>
  /** Makes the user a member of the room, within `maxMembers` (see `NewMember`). */
  readonly addMember: (member: NewMember) => TE.TaskEither<StoreError, MemberAdded>
  /**
   * Makes each user a member of the room, with no limit (the public rooms), all in one statement that
   * commits whole or not at all. One who is a member already is left as they are (their marker included),
   * and so is the second of two entries for one user and room: the first wins.
   */
  readonly addMembers: (members: ReadonlyArray<PublicMember>) => TE.TaskEither<StoreError, void>
  /** Ends the membership (and its marker); answers whether there was one. */
  readonly removeMember: (room: RoomId, user: UserId) => TE.TaskEither<StoreError, boolean>
  /** The room's members, in the order they were added (ties by id). */
  readonly members: (room: RoomId) => TE.TaskEither<StoreError, ReadonlyArray<UserId>>
  /**
   * Every membership of the user, with its marker and unread count (at most `unreadCap`, so a room with a
   * huge backlog costs no more than the cap), in one query: what the core holds while the user is connected.
   * Ordered by room id.
   */
  readonly memberships: (user: UserId, unreadCap: number) => TE.TaskEither<StoreError, ReadonlyArray<Membership>>
  /**
   * Moves each marker up to its `seq`, never down (a lower `seq` than stored changes nothing; the highest of
   * several for one user and room wins), all in one statement. A marker of someone who is not a member of the
   * room does nothing: reading never makes a membership.
   */
  readonly markRead: (markers: ReadonlyArray<ReadMarker>) => TE.TaskEither<StoreError, void>
}

/** Every store of one database. */
export interface Stores {
  readonly messages: MessageStore
  readonly users: UserStore
  readonly sessions: SessionStore
  readonly uploads: UploadStore
  readonly rooms: RoomStore
}
