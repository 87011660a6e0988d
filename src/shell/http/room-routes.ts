import * as TE from 'fp-ts/lib/TaskEither.js'
import { pipe } from 'fp-ts/lib/function.js'
import type { HttpError } from 'http-errors'
import { Username, type RoomId } from '../../core/brands.js'
import { unreadCap, type ChatUser, type RoomEntry } from '../../core/chat/state.js'
import { countedMemberships, roomsFor } from '../../core/chat/visibility.js'
import { whereElse } from '../../core/chat/peers.js'
import { changesOf, mayArchive, mayChange, mayInvite, mayRemove, AddMemberRequest, CreateRoomRequest, UpdateRoomRequest } from '../../core/rooms.js'
import type { RoomStore, UserStore } from '../../adapters/stores.js'
import type { System } from '../../adapters/system.js'
import type { ChatRuntime } from '../chat-runtime.js'
import { roomEntryOf } from '../room-catalog.js'
import { readCredentials } from './credentials.js'
import type { Guards } from './guards.js'
import type { RateGuard } from './rate-guard.js'
import type { Handler, Reply, RouteTable } from './reply.js'
import { httpError } from './respond.js'
import { createRoomLookup, decide, refusalHttpError, type FoundRoom } from './room-lookup.js'
import { createRoomMaking } from './room-making.js'
import { decodeJsonBody, retryLater } from './routes.js'
import { storeHttpError } from './store-error.js'

// The routes of rooms people make and of conversations (docs/rooms.md, "The HTTP routes"). Each decides
// on the room as the store has it now, by the rules of core/rooms.ts, writes the store, then tells this
// process's core (RoomSaved, MembershipChanged), which tells its connections and the other processes.

interface Dependencies {
  readonly guards: Guards
  readonly rooms: RoomStore
  readonly users: UserStore
  readonly runtime: ChatRuntime
  readonly system: Pick<System, 'now' | 'newRoomId' | 'newDirectRoomId'>
  /** The ROOMS rooms: public, ownerless, not in the stored catalog. */
  readonly configured: ReadonlyArray<RoomId>
  readonly limits: {
    /** ROOM_CREATE_PER_DAY */
    readonly roomsPerDay: number
    /** ROOM_MAX_MEMBERS: a private room's members, its owner included. */
    readonly maxMembers: number
  }
  /** INVITE_RATE: members a user adds per minute, keyed by user id. */
  readonly invitations: RateGuard
}

export const createRoomRoutes = (deps: Dependencies): RouteTable => {
  const { guards, rooms, users, runtime, system, limits, invitations } = deps
  const lookup = createRoomLookup(deps)
  const making = createRoomMaking(deps)

  const list: Handler = (req) =>
    pipe(
      guards.authenticate(readCredentials(req)),
      TE.chain(({ record: { user } }) =>
        pipe(
          rooms.memberships(user.id, unreadCap(runtime.state().settings)),
          TE.mapLeft((error) => storeHttpError(error)),
          TE.map((memberships): Reply => {
            // The room the caller is in (here or on another process) counts 0: its marker follows delivery
            // there, and is written only when they leave it.
            const state = runtime.state()
            const presentIn = state.users.get(user.id)?.room ?? whereElse(state, user.id)?.room ?? null
            return { status: 200, body: roomsFor(state, user.id, countedMemberships(memberships, presentIn)) }
          }),
        ),
      ),
    )

  const create: Handler = (req) =>
    withUser(req, (user) =>
      pipe(
        decodeJsonBody(CreateRoomRequest)(req),
        TE.chain((request) => making.room(user, request)),
        TE.map((entry): Reply => ({ status: 201, body: making.view(entry, user.id) })),
      ),
    )

  // A change that changes nothing (the same name, no field) writes nothing and tells nobody.
  const change: Handler = (req, { id = '' }) =>
    withUser(req, (user) =>
      pipe(
        decodeJsonBody(UpdateRoomRequest)(req),
        TE.chain((request) =>
          pipe(
            lookup.ask(id, user),
            TE.chainEitherK((asked) => decide(asked, mayChange)),
            TE.chain(({ room }) => {
              const stored = madeRoomOf(room)
              if (stored === undefined) return TE.left(refusalHttpError({ type: 'unknown_room' }))
              const changes = changesOf(request, stored)
              if (Object.keys(changes).length === 0) return TE.right(roomEntryOf(stored))
              return pipe(
                rooms.update(stored.id, changes),
                TE.mapLeft((error) => storeHttpError(error)),
                TE.chain((updated) => (updated === undefined ? TE.left(refusalHttpError({ type: 'unknown_room' })) : TE.right(saved(roomEntryOf({ ...updated, owner: stored.owner }))))),
              )
            }),
            TE.map((entry): Reply => ({ status: 200, body: making.view(entry, user.id) })),
          ),
        ),
      ),
    )

  // Archiving again answers the same, and tells nobody twice.
  const archive: Handler = (req, { id = '' }) =>
    withUser(req, (user) =>
      pipe(
        lookup.ask(id, user),
        TE.chainEitherK((asked) => decide(asked, mayArchive)),
        TE.chain(({ room }) => {
          const stored = room.stored
          if (stored === undefined) return TE.left(refusalHttpError({ type: 'unknown_room' }))
          if (stored.archivedAt !== null) return TE.right(roomEntryOf(stored))
          return pipe(
            rooms.archive(stored.id, system.now()),
            TE.mapLeft((error) => storeHttpError(error)),
            TE.chain((archived) =>
              archived === undefined ? TE.left(refusalHttpError({ type: 'unknown_room' })) : TE.right(saved(roomEntryOf({ ...stored, archivedAt: archived.archivedAt }))),
            ),
          )
        }),
        TE.map((entry): Reply => ({ status: 200, body: making.view(entry, user.id) })),
      ),
    )

  // The allowance is spent before the username is looked up, so guessing usernames costs as much as inviting.
  const invite: Handler = (req, { id = '' }) =>
    withUser(req, (user) =>
      pipe(
        decodeJsonBody(AddMemberRequest)(req),
        TE.chain((request) =>
          pipe(
            lookup.ask(id, user),
            TE.chainEitherK((asked) => decide(asked, mayInvite)),
            TE.chainFirst(() => spendInvitation(user)),
            TE.chain(({ room }) =>
              pipe(
                findUser(request.username, unknownUser),
                TE.chain((member) => add(room.id, member)),
              ),
            ),
          ),
        ),
      ),
    )

  const spendInvitation = (user: ChatUser): TE.TaskEither<HttpError, void> =>
    pipe(
      TE.fromTask(() => invitations.take(user.id)),
      TE.chain((wait) => (wait === 0 ? TE.right(undefined) : TE.left(retryLater(429, 'too_many_invitations', 'too many invitations', wait)))),
    )

  const add = (room: RoomId, member: ChatUser): TE.TaskEither<HttpError, Reply> =>
    pipe(
      rooms.addMember({ room, user: member.id, at: system.now(), maxMembers: limits.maxMembers }),
      TE.mapLeft((error) => storeHttpError(error)),
      TE.chain((added): TE.TaskEither<HttpError, Reply> => {
        const body = { user: { username: member.username, name: member.name } }
        switch (added) {
          case 'full':
            return TE.left(httpError(409, 'room_full', `this room has its ${limits.maxMembers} members already`))
          case 'already':
            return TE.right({ status: 200, body })
          case 'added':
            runtime.dispatch({ type: 'MembershipChanged', room, user: member, change: 'added', readSeq: 0, at: system.now() })
            return TE.right({ status: 201, body })
        }
      }),
    )

  const remove: Handler = (req, { id = '', username = '' }) =>
    withUser(req, (user) =>
      pipe(
        lookup.ask(id, user),
        TE.chainEitherK((asked) => decide(asked, (room, asker) => mayRemove(room, asker, sameUsername(username, user) ? 'self' : 'other'))),
        TE.chain(({ room, answer }) =>
          pipe(
            answer === 'leave' ? TE.right(user) : findUser(username, notAMember),
            TE.chain((member) => removeMember(room, member)),
          ),
        ),
        TE.map((): Reply => ({ status: 204 })),
      ),
    )

  const removeMember = (room: FoundRoom, member: ChatUser): TE.TaskEither<HttpError, void> =>
    pipe(
      rooms.removeMember(room.id, member.id),
      TE.mapLeft((error) => storeHttpError(error)),
      TE.chain((was) => {
        if (!was) return TE.left(notAMember(member.username))
        runtime.dispatch({ type: 'MembershipChanged', room: room.id, user: member, change: 'removed', at: system.now() })
        return TE.right(undefined)
      }),
    )

  // No conversation with yourself: the same answer as for nobody.
  const direct: Handler = (req, { username = '' }) =>
    withUser(req, (user) =>
      pipe(
        sameUsername(username, user) ? TE.left(unknownUser(username)) : findUser(username, unknownUser),
        TE.chain((other) => making.direct(user, other)),
        TE.map(({ entry, created }): Reply => ({ status: created ? 201 : 200, body: making.view(entry, user.id) })),
      ),
    )

  /** The user named by a username (a path segment or a body's field); `missing` answers for nobody. */
  const findUser = (username: string, missing: (username: string) => HttpError): TE.TaskEither<HttpError, ChatUser> => {
    // A Username holds no "@", so the login lookup matches it as a username only, never as an e-mail.
    if (!Username.is(username)) return TE.left(missing(username))
    return pipe(
      users.findByLogin(username),
      TE.mapLeft((error) => storeHttpError(error)),
      TE.chain((found) => (found === undefined ? TE.left(missing(username)) : TE.right(found.user))),
    )
  }

  const saved = (entry: RoomEntry): RoomEntry => {
    runtime.dispatch({ type: 'RoomSaved', room: entry, at: system.now() })
    return entry
  }

  /** Every route but the list changes something: a session, and the Origin check for a cookie. */
  const withUser = (req: Parameters<Handler>[0], body: (user: ChatUser) => TE.TaskEither<HttpError, Reply>): TE.TaskEither<HttpError, Reply> =>
    pipe(
      guards.authenticateChange(req),
      TE.chain(({ record: { user } }) => body(user)),
    )

  return {
    '/rooms': { GET: list, POST: create },
    '/rooms/{id}': { PATCH: change, DELETE: archive },
    '/rooms/{id}/members': { POST: invite },
    '/rooms/{id}/members/{username}': { DELETE: remove },
    '/dms/{username}': { PUT: direct },
  }
}

/** A made room as stored; undefined for a configured room or a conversation (neither has a name to change). */
const madeRoomOf = (room: FoundRoom) => (room.stored === undefined || room.stored.kind === 'direct' ? undefined : room.stored)

/** Usernames are compared regardless of case, as the store compares them. */
const sameUsername = (username: string, user: ChatUser): boolean => username.toLowerCase() === user.username.toLowerCase()

const unknownUser = (username: string): HttpError => httpError(404, 'unknown_user', `there is no other user called ${JSON.stringify(username)}`)
const notAMember = (username: string): HttpError => httpError(404, 'not_a_member', `${username} is not a member of this room`)
