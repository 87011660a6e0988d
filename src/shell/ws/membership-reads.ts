import * as E from 'fp-ts/lib/Either.js'
import type { UserId } from '../../core/brands.js'
import type { ChatEvent, MembershipEntry } from '../../core/chat/events.js'
import type { StoreError } from '../../adapters/store-failure.js'
import type { RoomStore } from '../../adapters/stores.js'

// A user's memberships, read from the store when their connection opens (docs/rooms.md), and handed to
// the core with the opening. A change of them that reaches the runtime while the read is under way (a
// route here, or another process's fact) finds no presence to change in the core, and the read may have
// begun before it was stored: such a read is stale, and the connection reads again before it opens.

export interface MembershipRead {
  readonly answer: Promise<E.Either<StoreError, ReadonlyArray<MembershipEntry>>>
  /** Whether a change of the user's memberships reached the runtime since this read began: its answer may miss it. */
  readonly stale: () => boolean
  /** Stops watching; once the answer is used or given up. Safe to call twice. */
  readonly done: () => void
}

export interface MembershipReads {
  readonly read: (user: UserId) => MembershipRead
  /** Sees every event the runtime is given (the runtime's `observe`), and counts the watched users' changes. */
  readonly observe: (event: ChatEvent) => void
}

/**
 * The store's unread counts are not asked for (a cap of 0 reads no message), so the read is one indexed scan
 * of the user's memberships: the core counts from each room's recent messages, exactly up to the cap and in
 * step with what it delivers next (`membershipsOf`), where the store's count could include a message
 * committed but not delivered yet, which its delivery would count again.
 */
const UNREAD_NOT_COUNTED = 0

export const createMembershipReads = (rooms: RoomStore): MembershipReads => {
  // Only users with a read under way are watched: the map stays as small as the connections opening now.
  const watched = new Map<UserId, { readers: number; changes: number }>()

  return {
    read: (user) => {
      const watch = watched.get(user) ?? { readers: 0, changes: 0 }
      watched.set(user, watch)
      watch.readers += 1
      const changesBefore = watch.changes
      let watching = true
      return {
        answer: rooms.memberships(user, UNREAD_NOT_COUNTED)().then(E.map((memberships) => memberships.map(({ room, readSeq }) => ({ room, readSeq })))),
        stale: () => watch.changes !== changesBefore,
        done: () => {
          if (!watching) return
          watching = false
          watch.readers -= 1
          if (watch.readers === 0) watched.delete(user)
        },
      }
    },
    observe: (event) => {
      if (watched.size === 0) return
      const user = event.type === 'MembershipChanged' ? event.user.id : event.type === 'PeerAnnounced' && event.fact.type === 'membership_changed' ? event.fact.user.id : undefined
      const watch = user === undefined ? undefined : watched.get(user)
      if (watch !== undefined) watch.changes += 1
    },
  }
}
