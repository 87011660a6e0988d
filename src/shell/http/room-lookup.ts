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

  const find = (id: string): TE.TaskEither<HttpError, FoundRoom | undefined> => {
    if (!RoomId.is(id)) return TE.right(undefined)
    if (configuredIds.has(id)) return TE.right({ id, standing: standingOf(CONFIGURED_ROOM), stored: undefined })
    return pipe(
      rooms.find(id),
      TE.mapLeft((error) => storeHttpError(error)),
      TE.map((stored) => (stored === undefined ? undefined : { id, standing: standingOf(roomEntryOf(stored).profile), stored })),
    )
  }

  // Only a private room asks the store about membership: anyone may know a public one, an owner belongs
  // to their room (they cannot leave it), and a conversation's members are its pair.
  const belongs = (room: FoundRoom | undefined, user: UserId): TE.TaskEither<HttpError, boolean> => {
    if (room === undefined || room.stored === undefined) return TE.right(false)
    if (room.stored.kind === 'direct') return TE.right(room.stored.members.includes(user))
    if (room.stored.ownerId === user) return TE.right(true)
    if (room.stored.kind === 'public') return TE.right(false)
    return pipe(
      rooms.memberships(user, 0),
      TE.mapLeft((error) => storeHttpError(error)),
      TE.map((memberships) => memberships.some((membership) => membership.room === room.id)),
    )
  }

  return {
    ask: (id, user) =>
      pipe(
        find(id),
        TE.chain((room) =>
          pipe(
            belongs(room, user.id),
            TE.map((member): Asked => ({ room, asker: { id: user.id, member } })),
          ),
        ),
      ),
  }
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
