import * as TE from 'fp-ts/lib/TaskEither.js'
import { pipe } from 'fp-ts/lib/function.js'
import type { HttpError } from 'http-errors'
import type { RoomId, UserId } from '../../core/brands.js'
import { newRoom, type ChatUser, type RoomEntry } from '../../core/chat/state.js'
import { roomView } from '../../core/chat/visibility.js'
import type { RoomSummary } from '../../core/protocol/server-frames.js'
import { DAY_MS, roomCreationWait, topicOf, type CreateRoomRequest } from '../../core/rooms.js'
import { StoreError } from '../../adapters/store-failure.js'
import type { RoomIdTaken, RoomStore, TooManyRooms } from '../../adapters/stores.js'
import type { System } from '../../adapters/system.js'
import type { ChatRuntime } from '../chat-runtime.js'
import { roomEntryOf } from '../room-catalog.js'
import { retryLater } from './routes.js'
import { storeHttpError } from './store-error.js'

// Making rooms and conversations: the store first (its keys decide a taken id and which of two first asks
// makes a conversation), then the core is told, which tells this process's connections and the others.

interface Dependencies {
  readonly rooms: RoomStore
  readonly runtime: ChatRuntime
  readonly system: Pick<System, 'now' | 'newRoomId' | 'newDirectRoomId'>
  readonly limits: { readonly roomsPerDay: number }
}

export interface RoomMaking {
  /** A new room owned by `owner`, within ROOM_CREATE_PER_DAY (counted from the store, so across the cluster). */
  readonly room: (owner: ChatUser, request: CreateRoomRequest) => TE.TaskEither<HttpError, RoomEntry>
  /** The conversation of the two, made if they have none (`created`). */
  readonly direct: (asker: ChatUser, other: ChatUser) => TE.TaskEither<HttpError, { readonly entry: RoomEntry; readonly created: boolean }>
  /** The room as `viewer` sees it now, with who is present: the answer of every room route. */
  readonly view: (entry: RoomEntry, viewer: UserId) => RoomSummary
}

/** Ids drawn for one room before giving up: at 60 random bits, a second is already a rarity. */
const ID_DRAWS = 3

export const createRoomMaking = ({ rooms, runtime, system, limits }: Dependencies): RoomMaking => {
  // A drawn id may be a configured room's (never stored, so the store's key cannot refuse it) or, rarely, a
  // stored room's: draw again. Any other refusal of the store's (`Refused`) is answered by `refused`.
  const withFreshId = <A, Refused extends { readonly type: string }>(
    draw: () => RoomId,
    attempt: (id: RoomId) => TE.TaskEither<RoomIdTaken | Refused | StoreError, A>,
    refused: (refusal: Refused) => HttpError,
  ): TE.TaskEither<HttpError, A> => {
    const tryOne = (left: number): TE.TaskEither<HttpError, A> => {
      const id = draw()
      if (runtime.state().rooms.has(id)) return left > 1 ? tryOne(left - 1) : TE.left(storeHttpError(new Error('every room id drawn was taken')))
      return pipe(
        attempt(id),
        TE.orElse((error) => {
          if (error instanceof StoreError) return TE.left(storeHttpError(error))
          if (!isTakenId(error)) return TE.left(refused(error))
          return left > 1 ? tryOne(left - 1) : TE.left(storeHttpError(new Error('every room id drawn was taken')))
        }),
      )
    }
    return tryOne(ID_DRAWS)
  }

  // The store counts the owner's rooms of the last day and inserts in one atomic step, so creates racing at
  // ROOM_CREATE_PER_DAY (on any process) never pass it; a count read here first would let them.
  const room = (owner: ChatUser, request: CreateRoomRequest): TE.TaskEither<HttpError, RoomEntry> => {
    const at = system.now()
    const quota = { max: limits.roomsPerDay, since: at - DAY_MS }
    return pipe(
      withFreshId(
        system.newRoomId,
        (id) => rooms.create({ id, kind: request.visibility, name: request.name, topic: topicOf(request.topic ?? null), ownerId: owner.id, createdAt: at }, quota),
        ({ earliest }: TooManyRooms) =>
          retryLater(429, 'too_many_rooms', `you made ${limits.roomsPerDay} rooms in the last day`, roomCreationWait({ count: limits.roomsPerDay, earliest }, limits.roomsPerDay, at)),
      ),
      TE.map((made) => {
        const entry = roomEntryOf({ ...made, owner })
        runtime.dispatch({ type: 'RoomSaved', room: entry, at: system.now() })
        runtime.dispatch({ type: 'MembershipChanged', room: entry.id, user: owner, change: 'added', readSeq: 0, at: system.now() })
        return entry
      }),
    )
  }

  const direct = (asker: ChatUser, other: ChatUser): TE.TaskEither<HttpError, { readonly entry: RoomEntry; readonly created: boolean }> =>
    pipe(
      withFreshId(system.newDirectRoomId, (id) => rooms.direct(asker.id, other.id, id, system.now()), (never: never) => never),
      TE.map(({ room: stored, created }) => {
        const person = (id: UserId) => (id === asker.id ? asker : other)
        const entry = roomEntryOf({ ...stored, pair: [person(stored.members[0]), person(stored.members[1])] })
        if (created) {
          runtime.dispatch({ type: 'RoomSaved', room: entry, at: system.now() })
          for (const member of entry.profile.pair) runtime.dispatch({ type: 'MembershipChanged', room: entry.id, user: member, change: 'added', readSeq: 0, at: system.now() })
        }
        return { entry, created }
      }),
    )

  // A room this process has not heard of yet (another process made it a moment ago) is shown as stored,
  // with nobody present. Whoever is shown a room here belongs to it (its maker, its owner, one of a
  // conversation's two): their count as this process holds it when they are connected here, else 0.
  const view = (entry: RoomEntry, viewer: UserId): RoomSummary => {
    const state = runtime.state()
    const membership = state.users.get(viewer)?.memberships.get(entry.id) ?? { readSeq: 0, unread: 0 }
    return roomView(state.rooms.get(entry.id) ?? newRoom(entry, NO_HISTORY, 0), viewer, membership)
  }

  return { room, direct, view }
}

const NO_HISTORY = { lastSeq: 0, recent: [] }

const isTakenId = <Refused extends { readonly type: string }>(error: RoomIdTaken | Refused): error is RoomIdTaken => error.type === 'room_id_taken'
