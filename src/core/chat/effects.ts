import type { ConnectionId, RoomId, UserId } from '../brands.js'
import type { ServerFrame } from '../protocol/server-frames.js'
import type { ClusterFact } from '../cluster/facts.js'
import type { NewMessage } from './state.js'

/**
 * What the shell must do. Plain data: the shell interprets it in one place, a test reads it, and a
 * future interpreter can publish it to other processes.
 */
export type Effect =
  /** One frame to many connections: the shell serializes it once. */
  | { readonly type: 'send'; readonly to: ReadonlyArray<ConnectionId>; readonly frame: ServerFrame }
  | { readonly type: 'close'; readonly connection: ConnectionId; readonly code: number; readonly reason: string }
  /**
   * Store (the store numbers it), then report back with `MessagesStored` / `MessagesNotStored`, in the order
   * asked. The store keeps one message per (room, user, clientId): a later one is reported as a duplicate of
   * the first.
   */
  | { readonly type: 'storeMessage'; readonly message: NewMessage }
  /** Read older messages than the core keeps, then report back with `HistoryLoaded`. */
  | {
      readonly type: 'loadHistory'
      readonly connection: ConnectionId
      readonly room: RoomId
      readonly before: number
      readonly limit: number
      readonly ref?: string
    }
  /**
   * Read the room's stored messages with `after` < seq < `before`, oldest first, then report back with
   * `GapFilled` (or `GapNotFilled` when the store fails).
   */
  | { readonly type: 'fillGap'; readonly room: RoomId; readonly after: number; readonly before: number }
  /**
   * Store that `user` belongs to `room` now (they entered a public room they did not belong to), with the
   * marker at `readSeq`; `at` (ms) is when. Nothing comes back: a failure is only logged.
   */
  | { readonly type: 'storeMembership'; readonly room: RoomId; readonly user: UserId; readonly readSeq: number; readonly at: number }
  /**
   * Move `user`'s stored read marker in `room` up to `seq` (never down). The shell batches these like
   * messages; nothing comes back: a lost write only shows as unread again what was read just before it.
   */
  | { readonly type: 'storeReadMarker'; readonly user: UserId; readonly room: RoomId; readonly seq: number }
  /**
   * Read the catalog and the memberships of `users` from the store (the cluster link came back: this process
   * may have missed announcements), then report back with `RoomsReloaded`, giving back `asOf` and `attempt`.
   */
  | { readonly type: 'reloadRooms'; readonly users: ReadonlyArray<UserId>; readonly asOf: number; readonly attempt: number }
  /** Tell the other processes sharing this chat (at most once: whoever misses it fills from the store). */
  | { readonly type: 'announce'; readonly fact: ClusterFact }
  /** Feed a `ClockTicked` no later than `at`; earlier or extra ticks are harmless. */
  | { readonly type: 'wakeAt'; readonly at: number }
  /** Something an operator wants in the log. Fields are ids, names and codes, never message text. */
  | {
      readonly type: 'log'
      readonly level: 'debug' | 'info' | 'warn' | 'error'
      readonly message: string
      readonly fields: Readonly<Record<string, string | number | ReadonlyArray<string>>>
    }

