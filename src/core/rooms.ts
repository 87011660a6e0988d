import * as t from 'io-ts'
import * as E from 'fp-ts/lib/Either.js'
import { sentenceFor, Username, type UserId } from './brands.js'
import { explained, keptAsIs, normalizing, strictObject } from './codecs.js'
import { checkName, cleanName, type TextProblem } from './text.js'
import type { RoomKind, RoomProfile } from './chat/state.js'

// The rules of rooms people make (docs/rooms.md): what a request may say, who may do what to a room, and
// how many rooms a user may make. Pure: the routes (src/shell/http/room-routes.ts) read what these need
// from the store, ask, and carry out the answer.

// ---- request bodies ----------------------------------------------------------------------------------

/** A made room's name: longer than a configured room's (`ROOM_NAME_MAX`), under the same text rules. */
export const MADE_ROOM_NAME_MAX = 80
export const TOPIC_MAX = 250

const NAME_SENTENCE = `must be 1-${MADE_ROOM_NAME_MAX} characters, without control, bidirectional or invisible characters or surrounding spaces`
const TOPIC_SENTENCE = `must be at most ${TOPIC_MAX} characters on one line, without control, bidirectional or invisible characters or surrounding spaces`

const checkMadeRoomName = (raw: string): E.Either<string, string> =>
  E.mapLeft((problem: TextProblem) => sentenceFor(problem, NAME_SENTENCE))(checkName(raw, { max: MADE_ROOM_NAME_MAX }))

// A topic is a name that may be empty: one line, nothing that hides or reorders characters.
const checkTopic = (raw: string): E.Either<string, string> =>
  raw === '' ? E.right('') : E.mapLeft((problem: TextProblem) => sentenceFor(problem, TOPIC_SENTENCE))(checkName(raw, { max: TOPIC_MAX }))

export interface MadeRoomNameBrand {
  readonly MadeRoomName: unique symbol
}
/** A made room's name as stored and shown, in NFC. */
export const MadeRoomName = normalizing(
  t.brand(t.string, (s): s is t.Branded<string, MadeRoomNameBrand> => keptAsIs(checkMadeRoomName, s), 'MadeRoomName'),
  checkMadeRoomName,
)
export type MadeRoomName = t.TypeOf<typeof MadeRoomName>

export interface RoomTopicBrand {
  readonly RoomTopic: unique symbol
}
/** A room's topic, in NFC; `''` is no topic (see `topicOf`). */
export const RoomTopic = normalizing(
  t.brand(t.string, (s): s is t.Branded<string, RoomTopicBrand> => keptAsIs(checkTopic, s), 'RoomTopic'),
  checkTopic,
)
export type RoomTopic = t.TypeOf<typeof RoomTopic>

/**
 * A made room's name or topic read back from the store, shown without what today's rule refuses (one an
 * earlier, looser version stored: stacked marks, private use, a stray selector): cleaned, cut to length;
 * a name with nothing left becomes `fallback`, a topic with nothing left none. As `storedPersonName` does
 * for display names.
 */
export const storedRoomName = (stored: string, fallback: string): string => {
  const cleaned = cleanedToFit(stored, MADE_ROOM_NAME_MAX)
  return cleaned === '' ? fallback : cleaned
}

export const storedTopic = (stored: string | null): string | null => {
  if (stored === null) return null
  const cleaned = cleanedToFit(stored, TOPIC_MAX)
  return cleaned === '' ? null : cleaned
}

const cleanedToFit = (stored: string, max: number): string => {
  if (E.isRight(checkName(stored, { max }))) return stored.normalize('NFC')
  return [...cleanName(stored).trim()].slice(0, max).join('').trim()
}

/** What a topic in a request means: an empty one, or null, is none. */
export const topicOf = (topic: RoomTopic | null): RoomTopic | null => (topic === '' ? null : topic)

const Visibility = explained(t.keyof({ public: null, private: null }, 'Visibility'), 'must be "public" or "private"')

/** `POST /rooms`. */
export const CreateRoomRequest = strictObject('CreateRoomRequest', { name: MadeRoomName, visibility: Visibility }, { topic: RoomTopic })
export type CreateRoomRequest = t.TypeOf<typeof CreateRoomRequest>

/**
 * Accepts null besides what `codec` accepts, reporting `codec`'s own problems at the field's own path
 * (`t.union` would add the branch's index to it: `topic.0`).
 */
const orNull = <A, O>(codec: t.Type<A, O, unknown>): t.Type<A | null, O | null, unknown> =>
  new t.Type<A | null, O | null, unknown>(
    `${codec.name} | null`,
    (u): u is A | null => u === null || codec.is(u),
    (u, context) => (u === null ? t.success(null) : codec.validate(u, context)),
    (a) => (a === null ? null : codec.encode(a)),
  )

/** `PATCH /rooms/{id}`: a field left out stays; `topic: null` (or `''`) removes the topic. */
export const UpdateRoomRequest = strictObject('UpdateRoomRequest', {}, { name: MadeRoomName, topic: orNull(RoomTopic) })
export type UpdateRoomRequest = t.TypeOf<typeof UpdateRoomRequest>

/** `POST /rooms/{id}/members`. */
export const AddMemberRequest = strictObject('AddMemberRequest', { username: Username }, {})
export type AddMemberRequest = t.TypeOf<typeof AddMemberRequest>

/** What a change request changes of a room whose name and topic are these: nothing when it repeats them. */
export const changesOf = (
  request: UpdateRoomRequest,
  current: { readonly name: string; readonly topic: string | null },
): { readonly name?: MadeRoomName; readonly topic?: RoomTopic | null } => {
  const topic = request.topic === undefined ? undefined : topicOf(request.topic)
  return {
    ...(request.name === undefined || request.name === current.name ? {} : { name: request.name }),
    ...(topic === undefined || topic === current.topic ? {} : { topic }),
  }
}

/** A conversation's name in the catalog: nobody sees it, as each sees it named after the other person. */
export const DIRECT_ROOM_NAME = 'Conversation'

// ---- who may do what ---------------------------------------------------------------------------------

/** What the rules need to know of a room. */
export interface RoomStanding {
  readonly kind: RoomKind
  /** Who made it; null for the configured (ROOMS) rooms and conversations. */
  readonly owner: UserId | null
  readonly archived: boolean
}

export const standingOf = (profile: RoomProfile): RoomStanding => ({
  kind: profile.kind,
  owner: profile.owner?.id ?? null,
  archived: profile.archivedAt !== null,
})

/** Who asks, and whether they belong to the room (a stored membership). */
export interface Asker {
  readonly id: UserId
  readonly member: boolean
}

/**
 * Why a change to a room is refused, each with its one HTTP answer (room-routes.ts):
 * - `unknown_room` (404): no such room, or one the asker may not know: a private room or a conversation
 *   they do not belong to, which must look exactly like a missing one;
 * - `not_owner` (403): a room they may know but do not own (the configured rooms and conversations have
 *   no owner);
 * - `room_archived` (409): archived rooms keep their history but change no more;
 * - `not_private` (409): members are added to (and removed by others from) private rooms only;
 * - `owner_cannot_leave` (409): the owner archives the room instead;
 * - `direct_conversation` (409): nobody leaves or is removed from a conversation.
 */
export type RoomRefusal = { readonly type: 'unknown_room' | 'not_owner' | 'room_archived' | 'not_private' | 'owner_cannot_leave' | 'direct_conversation' }

const refused = (type: RoomRefusal['type']): E.Either<RoomRefusal, never> => E.left({ type })

/** A private room or a conversation is, to a non-member, a room that does not exist (as `mayKnow` in the chat). */
export const mayKnowRoom = (room: RoomStanding | undefined, asker: Asker): room is RoomStanding =>
  room !== undefined && (room.kind === 'public' || asker.member)

/** Rename it or change its topic (`PATCH /rooms/{id}`): its owner, while it is not archived. */
export const mayChange = (room: RoomStanding | undefined, asker: Asker): E.Either<RoomRefusal, RoomStanding> => {
  if (!mayKnowRoom(room, asker)) return refused('unknown_room')
  if (room.owner !== asker.id) return refused('not_owner')
  if (room.archived) return refused('room_archived')
  return E.right(room)
}

/** Archive it (`DELETE /rooms/{id}`): its owner; again is no error (the same answer). */
export const mayArchive = (room: RoomStanding | undefined, asker: Asker): E.Either<RoomRefusal, RoomStanding> => {
  if (!mayKnowRoom(room, asker)) return refused('unknown_room')
  if (room.owner !== asker.id) return refused('not_owner')
  return E.right(room)
}

/**
 * Add a member (`POST /rooms/{id}/members`): private rooms only (the kind is told before the owner, so a
 * conversation or a configured room, which have none, say why), by the owner, while not archived.
 */
export const mayInvite = (room: RoomStanding | undefined, asker: Asker): E.Either<RoomRefusal, RoomStanding> => {
  if (!mayKnowRoom(room, asker)) return refused('unknown_room')
  if (room.kind !== 'private') return refused('not_private')
  if (room.owner !== asker.id) return refused('not_owner')
  if (room.archived) return refused('room_archived')
  return E.right(room)
}

/** `leave`: the asker ends their own membership; `remove`: the owner ends someone else's. */
export type Removal = 'leave' | 'remove'

/**
 * End a membership (`DELETE /rooms/{id}/members/{username}`): anyone their own, of any room but a
 * conversation (a public one too: it stops counting unread), except the owner, who archives instead;
 * the owner someone else's, of a private room. Archived rooms too: leaving is always possible.
 */
export const mayRemove = (room: RoomStanding | undefined, asker: Asker, whom: 'self' | 'other'): E.Either<RoomRefusal, Removal> => {
  if (!mayKnowRoom(room, asker)) return refused('unknown_room')
  if (room.kind === 'direct') return refused('direct_conversation')
  if (whom === 'self') return room.owner === asker.id ? refused('owner_cannot_leave') : E.right('leave')
  if (room.owner !== asker.id) return refused('not_owner')
  if (room.kind !== 'private') return refused('not_private')
  return E.right('remove')
}

// ---- how many rooms a user makes ---------------------------------------------------------------------

export const DAY_MS = 86_400_000

/** The rooms a user made in the last day (`RoomStore.createdSince`): how many, and when the first of them. */
export interface RecentRooms {
  readonly count: number
  /** ms; null when `count` is 0. */
  readonly earliest: number | null
}

/**
 * Whether a user who made `recent` rooms in the day before `at` may make another under `perDay`: 0 when
 * they may, else the ms until the earliest of them is a day old (at least 1), when they may again.
 */
export const roomCreationWait = (recent: RecentRooms, perDay: number, at: number): number =>
  recent.count < perDay ? 0 : Math.max(1, (recent.earliest ?? at) + DAY_MS - at)
