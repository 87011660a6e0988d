import * as E from 'fp-ts/lib/Either.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { pipe } from 'fp-ts/lib/function.js'
import type { HttpError } from 'http-errors'
import { RoomId, type UserId } from '../../core/brands.js'
import { CONFIGURED_ROOM, type ChatUser } from '../../core/chat/state.js'
import { standingOf, type Asker, type RoomRefusal, type RoomStanding } from '../../core/rooms.js'
import type { CatalogRoom, RoomStore } from '../../adapters/stores.js'
import { roomEntryOf } from '../room-catalog.js'
import { httpError } from './respond.js'
import { storeHttpError } from './store-error.js'

// What a room route needs to ask the rules (core/rooms.ts): the room as the store has it now, and whether
// the asker belongs to it. Read per request rather than from this process's catalog, which another
// process's change reaches a moment later (or, across a link outage, not at all).

/** A room that is there: configured (ROOMS) or stored. */
export interface FoundRoom {
  readonly id: RoomId
  readonly standing: RoomStanding
  /** undefined for a configured room. */
  readonly stored: CatalogRoom | undefined
}

export interface Asked {
  /** undefined when the path names no room (or not a room id). */
  readonly room: FoundRoom | undefined
  readonly asker: Asker
}

export interface RoomLookup {
  readonly ask: (id: string, user: ChatUser) => TE.TaskEither<HttpError, Asked>
}

export const createRoomLookup = ({ rooms, configured }: { readonly rooms: RoomStore; readonly configured: ReadonlyArray<RoomId> }): RoomLookup => {
  const configuredIds = new Set<string>(configured)

  // A stored room's id (any id shaped like a room's that is not a configured room's) costs the same reads
  // whether a room has it or not: the room, then the asker's memberships, always both. Reading the
  // memberships only for a private room that is there made a guessed id answer measurably later (~100 µs)
  // when a hidden room has it than when none does, though both answer the same 404: the timing told whether
  // a private room exists. The ROOMS rooms are public knowledge, and an id not shaped like a room's is
  // refused by its shape alone, so neither needs hiding.
  const ask = (id: string, user: ChatUser): TE.TaskEither<HttpError, Asked> => {
    if (!RoomId.is(id)) return TE.right({ room: undefined, asker: { id: user.id, member: false } })
    if (configuredIds.has(id)) return TE.right({ room: { id, standing: standingOf(CONFIGURED_ROOM), stored: undefined }, asker: { id: user.id, member: false } })
    return pipe(
      rooms.find(id),
      TE.chain((stored) =>
        pipe(
          rooms.memberships(user.id, 0),
          TE.map((memberships): Asked => {
            const room = stored === undefined ? undefined : { id, standing: standingOf(roomEntryOf(stored).profile), stored }
            return { room, asker: { id: user.id, member: belongs(stored, user.id, () => memberships.some((membership) => membership.room === id)) } }
          }),
        ),
      ),
      TE.mapLeft((error) => storeHttpError(error)),
    )
  }

  return { ask }
}

/**
 * Whether `user` belongs to the stored room: a conversation's members are its pair, an owner belongs to
 * their room (they cannot leave it), anyone may know a public one (false: it asks nothing of membership),
 * and a private room's members are its stored memberships (`isMember`).
 */
const belongs = (stored: CatalogRoom | undefined, user: UserId, isMember: () => boolean): boolean => {
  if (stored === undefined) return false
  if (stored.kind === 'direct') return stored.members.includes(user)
  if (stored.ownerId === user) return true
  if (stored.kind === 'public') return false
  return isMember()
}

/**
 * The rule's answer about the room asked about, with the room: every rule refuses a room that is not
 * there (`unknown_room`), so one it lets through is found.
 */
export const decide = <A>(asked: Asked, rule: (room: RoomStanding | undefined, asker: Asker) => E.Either<RoomRefusal, A>): E.Either<HttpError, { readonly room: FoundRoom; readonly answer: A }> => {
  const answer = rule(asked.room?.standing, asked.asker)
  if (E.isLeft(answer)) return E.left(refusalHttpError(answer.left))
  return asked.room === undefined ? E.left(refusalHttpError({ type: 'unknown_room' })) : E.right({ room: asked.room, answer: answer.right })
}

/**
 * The one mapping of the rules' refusals to HTTP. `unknown_room` says the same for a room that is not there
 * and for one the asker may not know.
 */
export const refusalHttpError = (refusal: RoomRefusal): HttpError => {
  switch (refusal.type) {
    case 'unknown_room':
      return httpError(404, 'unknown_room', 'there is no such room')
    case 'not_owner':
      return httpError(403, 'not_owner', 'only the room’s owner may do this')
    case 'room_archived':
      return httpError(409, 'room_archived', 'this room is archived: its history stays, but it changes no more')
    case 'not_private':
      return httpError(409, 'not_private', 'members are added to, and removed from, private rooms only')
    case 'owner_cannot_leave':
      return httpError(409, 'owner_cannot_leave', 'the owner cannot leave their room: archive it instead')
    case 'direct_conversation':
      return httpError(409, 'direct_conversation', 'nobody leaves or is removed from a conversation')
  }
}
