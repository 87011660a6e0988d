import * as O from 'fp-ts/lib/Option.js'
import { RoomId, type ConnectionId, type UserId } from '../brands.js'
import type { ReadCommand } from '../protocol/client-commands.js'
import { parseMessageId } from '../protocol/message-id.js'
import { findSender, send, sendTo, setPresence, setRoom } from './audience.js'
import type { Effect } from './effects.js'
import { errorFrame } from './frames.js'
import { roomView } from './visibility.js'
import { unreadCap, type ChatState, type Membership, type Presence, type RoomState, type StoredMessage } from './state.js'
import { unchanged, type Step } from './step-result.js'

// Unread counts and read markers (docs/rooms.md, "Unread counts and read markers"). A member who is not
// present in a room counts what is delivered there (`RoomState.followers`: one increment each); a present
// member's marker follows delivery without a write, and is written (`storeReadMarker`, batched by the
// shell) when they leave, move or disconnect, and on `read`. Counts saturate at `unreadCap(settings)`,
// one less than what a room keeps in `recent`, so memory counts exactly up to the cap.

/**
 * How many of the room's delivered messages come after `seq`, at most `cap`, counted back from the newest.
 * Exact: `recent` is the room's latest messages in seq order, all of them while it is not full, and when it
 * is full it holds more than `cap`.
 */
export const unreadAfter = (room: RoomState, seq: number, cap: number): number => {
  let count = 0
  for (let i = room.recent.size - 1; i >= 0 && count < cap; i--) {
    if ((room.recent.get(i)?.seq ?? 0) <= seq) break
    count++
  }
  return count
}

/** A membership with its marker at `readSeq`, counted in `room` (unknown here yet: nothing to count). */
export const membershipAt = (state: ChatState, room: RoomState | undefined, readSeq: number): Membership => ({
  readSeq,
  unread: room === undefined ? 0 : unreadAfter(room, readSeq, unreadCap(state.settings)),
})

const unreadFrame = (room: RoomId, count: number) => ({ type: 'unread' as const, room, count })

const withMembership = (presence: Presence, room: RoomId, membership: Membership): Presence => ({
  ...presence,
  memberships: presence.memberships.set(room, membership),
})

/** The user counts the room's messages (a member not present in it) or no longer does. */
export const following = (room: RoomState, user: UserId, follows: boolean): RoomState => {
  if (room.followers.has(user) === follows) return room
  return { ...room, followers: follows ? room.followers.add(user) : room.followers.remove(user) }
}

/** A user whose presence here begins follows every room they belong to (they are in none yet). */
export const followAll = (state: ChatState, presence: Presence): ChatState => {
  let next = state
  for (const room of presence.memberships.keys()) {
    const known = next.rooms.get(room)
    if (known !== undefined && presence.room !== room) next = setRoom(next, following(known, presence.user.id, true))
  }
  return next
}

/** A user whose presence here ends (last connection closed) follows nothing here any more. */
export const unfollowAll = (state: ChatState, presence: Presence): ChatState => {
  let next = state
  for (const room of presence.memberships.keys()) {
    const known = next.rooms.get(room)
    if (known !== undefined) next = setRoom(next, following(known, presence.user.id, false))
  }
  return next
}

/**
 * `presence` is now in `room` (already set in `state`): a member reads everything there, their marker at the
 * room's last seq and their count 0 (an `unread` frame when it was not). With `makeMemberAt`, a non-member
 * entering a public room becomes a member at that marker: stored and announced here, where they joined
 * (the processes that follow the move hear of it by the announcement).
 */
export const enterRoom = (state: ChatState, presence: Presence, room: RoomState, makeMemberAt: number | undefined): Step => {
  const membership = presence.memberships.get(room.id)
  const user = presence.user
  if (membership === undefined) {
    if (room.profile.kind !== 'public' || makeMemberAt === undefined) return unchanged(state)
    const membership = { readSeq: room.lastSeq, unread: 0 }
    const member = withMembership(presence, room.id, membership)
    const listed = send(presence.connections, { type: 'room_updated', room: roomView(room, user.id, membership) })
    const store: Effect = { type: 'storeMembership', room: room.id, user: user.id, readSeq: room.lastSeq, at: makeMemberAt }
    const announce: ReadonlyArray<Effect> =
      state.settings.cluster === null ? [] : [{ type: 'announce', fact: { type: 'membership_changed', room: room.id, user, change: 'added', readSeq: room.lastSeq } }]
    return [setPresence(state, member), [store, ...announce, ...listed]]
  }
  const read = withMembership(presence, room.id, { readSeq: Math.max(membership.readSeq, room.lastSeq), unread: 0 })
  const next = setPresence(setRoom(state, following(room, user.id, false)), read)
  return [next, membership.unread === 0 ? [] : send(presence.connections, unreadFrame(room.id, 0))]
}

/**
 * `presence` has left `room` (moved, left, disconnected; already set in `state`): as a member, what was
 * delivered while they were there is read, and the marker is written; they follow the room again.
 */
export const leftRoom = (state: ChatState, presence: Presence, room: RoomState): Step => {
  const membership = presence.memberships.get(room.id)
  if (membership === undefined) return unchanged(state)
  const seq = Math.max(membership.readSeq, room.lastSeq)
  const left = withMembership(presence, room.id, { readSeq: seq, unread: 0 })
  const next = setPresence(setRoom(state, following(room, presence.user.id, true)), left)
  return [next, seq === 0 ? [] : [{ type: 'storeReadMarker', user: presence.user.id, room: room.id, seq }]]
}

/** A message was delivered in `room` (remembered already): each follower counts it, and is told. */
export const countDelivered = (state: ChatState, room: RoomState, message: StoredMessage): Step => {
  if (room.followers.size === 0) return unchanged(state)
  const cap = unreadCap(state.settings)
  let next = state
  const effects: Effect[] = []
  for (const user of room.followers) {
    const presence = next.users.get(user)
    const membership = presence?.memberships.get(room.id)
    // Read already (a marker another process moved past what this one delivered), or at the cap.
    if (presence === undefined || membership === undefined || message.seq <= membership.readSeq || membership.unread >= cap) continue
    const unread = membership.unread + 1
    next = setPresence(next, withMembership(presence, room.id, { ...membership, unread }))
    effects.push(...send(presence.connections, unreadFrame(room.id, unread)))
  }
  return [next, effects]
}

/**
 * `read`: the sender's marker in the room moves up to `upTo` (clamped to the room's last message; the last
 * message, whatever `upTo`, for the room they are in), never back. Stored, announced, and recounted for
 * every connection of theirs here. A room they do not belong to answers as a room that does not exist.
 */
export const readUpTo = (state: ChatState, connection: ConnectionId, command: ReadCommand): Step => {
  const sender = findSender(state, connection)
  if (sender === undefined) return unchanged(state)
  const room = RoomId.is(command.room) ? state.rooms.get(command.room) : undefined
  const membership = room === undefined ? undefined : sender.presence.memberships.get(room.id)
  if (room === undefined || membership === undefined) {
    return unchanged(state, [sendTo(connection, errorFrame('unknown_room', `there is no room ${JSON.stringify(command.room)}`, command.ref))])
  }
  // Without `upTo`: everything so far.
  const upTo = command.upTo === undefined ? room.lastSeq : O.getOrElse(() => 0)(parseMessageId(command.upTo))
  const seq = sender.presence.room === room.id ? room.lastSeq : Math.min(upTo, room.lastSeq)
  const [next, effects] = moveMarker(state, sender.presence, room, seq)
  if (next === state) return [next, effects]
  const user = sender.presence.user.id
  const store: Effect = { type: 'storeReadMarker', user, room: room.id, seq }
  const announce: ReadonlyArray<Effect> = state.settings.cluster === null ? [] : [{ type: 'announce', fact: { type: 'read_moved', user, room: room.id, seq } }]
  return [next, [store, ...announce, ...effects]]
}

/** Another process moved the user's marker (their `read` there, stored there): their connections here recount. */
export const readMoved = (state: ChatState, user: UserId, room: RoomId, seq: number): Step => {
  const presence = state.users.get(user)
  const known = state.rooms.get(room)
  if (presence === undefined || known === undefined) return unchanged(state)
  return moveMarker(state, presence, known, seq)
}

/** The marker moves up to `seq` (nothing when it is there already): recounted, and told when the count changed. */
const moveMarker = (state: ChatState, presence: Presence, room: RoomState, seq: number): Step => {
  const membership = presence.memberships.get(room.id)
  if (membership === undefined || seq <= membership.readSeq) return unchanged(state)
  const unread = presence.room === room.id ? 0 : unreadAfter(room, seq, unreadCap(state.settings))
  const next = setPresence(state, withMembership(presence, room.id, { readSeq: seq, unread }))
  return [next, unread === membership.unread ? [] : send(presence.connections, unreadFrame(room.id, unread))]
}
