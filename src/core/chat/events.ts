import type { ConnectionId, RoomId, SessionId, UserId } from '../brands.js'
import type { FieldProblem } from '../codecs.js'
import type { ChatCommand } from '../protocol/client-commands.js'
import type { ClusterFact } from '../cluster/facts.js'
import type { ChatUser, NewMessage, ProcessId, RoomEntry, StoredMessage } from './state.js'
import type { Upload } from '../uploads.js'
import type { SharedAdmission } from './limits.js'
import type { ProtocolVersion } from '../protocol/version.js'

/** Everything that can happen to the chat. Time always arrives with the event (`at`, ms since epoch). */
export type ChatEvent =
  | {
      readonly type: 'ConnectionOpened'
      readonly connection: ConnectionId
      readonly user: ChatUser
      readonly session: SessionId
      readonly sessionExpiresAt: number
      /**
       * The user's connections open on the other processes of the cluster, when the shell could ask (the
       * per-user cap counts them); absent, this process decides alone.
       */
      readonly connectionsElsewhere?: number
      /**
       * The user's stored memberships, read by the shell when the user has no connection here yet (for a
       * second tab the core keeps what it has and this is ignored).
       */
      readonly memberships?: ReadonlyArray<MembershipEntry>
      /** The protocol version the connection negotiated; 1 when absent (protocol/version.ts). */
      readonly protocol?: ProtocolVersion
      readonly at: number
    }
  /**
   * A room of the catalog was made, renamed, given a topic or archived (by this process's routes, which
   * stored it first; or told by another process with `fromPeer`, and then not announced again).
   */
  | { readonly type: 'RoomSaved'; readonly room: RoomEntry; readonly fromPeer?: boolean; readonly at: number }
  /** `user` now belongs to `room`, or no longer does (stored first, as for `RoomSaved`). */
  | {
      readonly type: 'MembershipChanged'
      readonly room: RoomId
      readonly user: ChatUser
      readonly change: 'added' | 'removed'
      /** With `added`: the marker the store gave the membership. */
      readonly readSeq?: number
      readonly fromPeer?: boolean
      readonly at: number
    }
  | { readonly type: 'ConnectionClosed'; readonly connection: ConnectionId; readonly at: number }
  | {
      readonly type: 'CommandReceived'
      readonly connection: ConnectionId
      readonly command: ChatCommand
      /** The uploads a message's attachment links point at, as the shell found them; absent ones are unknown. */
      readonly uploads?: ReadonlyMap<string, Upload>
      /** The cluster's allowance for this command, when the shell asked it; absent, this process decides alone. */
      readonly shared?: SharedAdmission
      readonly at: number
    }
  | {
      readonly type: 'FrameRejected'
      readonly connection: ConnectionId
      readonly message: string
      readonly details: ReadonlyArray<FieldProblem>
      readonly ref?: string
      readonly at: number
    }
  /**
   * The store answered for a batch of messages: `stored` numbers those it kept, in the order they were asked
   * (which is their seq order within a room); those in `duplicates` were not kept: their sender had already
   * used the clientId in that room, and the store names the original.
   */
  | {
      readonly type: 'MessagesStored'
      readonly stored: ReadonlyArray<MessageNumbered>
      readonly duplicates?: ReadonlyArray<DuplicateMessage>
      readonly at: number
    }
  /** The store kept none of these; `error` says why, for the log. */
  | { readonly type: 'MessagesNotStored'; readonly messages: ReadonlyArray<NewMessage>; readonly error: StoreFailure; readonly at: number }
  | {
      readonly type: 'HistoryLoaded'
      readonly connection: ConnectionId
      readonly room: StoredMessage['room']
      readonly messages: ReadonlyArray<StoredMessage>
      readonly ref?: string
      readonly at: number
    }
  /** The shell could not carry out a command (the store failed); the client may try again. */
  | {
      readonly type: 'CommandFailed'
      readonly connection: ConnectionId
      readonly message: string
      readonly ref?: string
      readonly at: number
    }
  | { readonly type: 'SessionRevoked'; readonly session: SessionId; readonly expiresAt: number; readonly at: number }
  | { readonly type: 'ClockTicked'; readonly at: number }
  /** Another process sharing this chat (`origin`) announced `fact` (decoded at the edge). */
  | { readonly type: 'PeerAnnounced'; readonly origin: ProcessId; readonly fact: ClusterFact; readonly at: number }
  /** The store's messages of the room asked for by `fillGap` (every seq below `before` it has). */
  | { readonly type: 'GapFilled'; readonly room: RoomId; readonly before: number; readonly messages: ReadonlyArray<StoredMessage>; readonly at: number }
  | { readonly type: 'GapNotFilled'; readonly room: RoomId; readonly error: StoreFailure; readonly at: number }
  /** The store's catalog and memberships, as `reloadRooms` asked (its `asOf` and `attempt` given back). */
  | {
      readonly type: 'RoomsReloaded'
      readonly rooms: ReadonlyArray<RoomEntry>
      readonly memberships: ReadonlyArray<{ readonly user: UserId; readonly entries: ReadonlyArray<MembershipEntry> }>
      readonly asOf: number
      readonly attempt: number
      /** The store could not be read (every attempt failed): nothing to apply, the rooms read what they missed. */
      readonly failed?: boolean
      readonly at: number
    }
  /** The link to the other processes is up again (or for the first time): what was announced meanwhile is lost. */
  | { readonly type: 'ClusterLinkRestored'; readonly at: number }

/**
 * What a failed read or write means for whoever is waiting on it, whatever the store (a database engine,
 * a folder): `busy`, another writer held the lock past our wait, or the server is briefly unreachable (try
 * again soon); `full`, no room (the disk, a quota, the database's size limit); `unwritable`, the store takes
 * no write (read-only, not permitted: the operator's to fix); `failed`, anything else (a bug, damage).
 */
export type StorageCondition = 'busy' | 'full' | 'unwritable' | 'failed'

/**
 * Why a store failed, as plain data (events stay serializable): what it means (`condition`), the engine's
 * code and its message.
 */
export interface StoreFailure {
  readonly condition: StorageCondition
  /** `SQLITE_FULL`, `SQLITE_BUSY`, `SQLITE_IOERR`, PostgreSQL's SQLSTATE (`53100`)...; `UNKNOWN` when none. */
  readonly code: string
  readonly message: string
}

/** One stored membership as the shell reads it (docs/rooms.md). */
export interface MembershipEntry {
  readonly room: RoomId
  readonly readSeq: number
}

/** What identifies a stored message to the client that sent it: the ack's `id` and `sentAt`. */
export interface MessageReceipt {
  readonly seq: number
  readonly sentAt: number
}

/** The number the store gave a message it kept, named by the message's provisional `key` (`NewMessage`). */
export interface MessageNumbered {
  readonly room: RoomId
  readonly key: number
  readonly seq: number
}

/** A message the store refused as a resend, by its provisional `key`; `original` is the one kept. */
export interface DuplicateMessage {
  readonly room: RoomId
  readonly key: number
  readonly original: MessageReceipt
}
