import type { RoomId } from '../brands.js'
import { send, setPresence, setRoom } from './audience.js'
import type { Effect } from './effects.js'
import { leaveCurrentRoom } from './membership.js'
import { newRoom, type ChatState, type ChatUser, type Presence, type RoomEntry, type RoomState } from './state.js'
import { unchanged, type Step } from './step-result.js'
import { mayKnow, roomView } from './visibility.js'
import { following, membershipAt } from './unread.js'

// How the catalog and memberships change (docs/rooms.md). Changes are stored first (by the routes), then
// arrive here as events; each process tells its own connections, and the one where it happened tells the
// others (`room_saved`, `membership_changed`).

/**
 * A room was made, renamed, given a topic or archived. A new public room is `room_added` for everyone
 * connected here (it is in everyone's list now); a new private room or conversation is added for its
 * members by their `MembershipChanged`, or here for a member whose connection opened with the stored
 * membership before the room reached this process (their `MembershipChanged` then changes nothing). A
 * change is `room_updated` for everyone who may know the room. Announced to the other processes unless it
 * came from one.
 */
export const roomSaved = (state: ChatState, entry: RoomEntry, fromPeer: boolean): Step => {
  const known = state.rooms.get(entry.id)
  const made = known === undefined ? newRoom(entry, NO_HISTORY, state.settings.recentCapacity) : { ...known, name: entry.name, profile: entry.profile }
  // Members connected with the stored membership before the room reached this process count it from now on.
  const room: RoomState = known === undefined ? { ...made, followers: followersAmong(state, made) } : made
  const next = setRoom(state, room)
  const announce: ReadonlyArray<Effect> = fromPeer ? [] : [{ type: 'announce', fact: { type: 'room_saved', room: entry } }]
  const type = known === undefined ? 'room_added' : 'room_updated'
  const effects: Effect[] = [...announce]
  // One frame per user: a conversation is named for whoever reads it.
  for (const presence of next.users.values()) {
    if (mayKnow(room, presence.memberships)) effects.push(...send(presence.connections, { type, room: roomView(room, presence.user.id, presence.memberships.get(room.id)) }))
  }
  return [next, effects]
}

/**
 * `user` now belongs to `room`, or no longer does. Their connections here are told (`room_added` /
 * `room_removed`) for a private room or a conversation, whose visibility it changes; a public one stays in
 * their list either way. A member removed from a private room they are in is moved out of it: `user_left`
 * (`removed`) to the others and to their own connections. Announced to the other processes unless it came
 * from one; each process does the same for its own connections.
 */
export const membershipChanged = (
  state: ChatState,
  roomId: RoomId,
  user: ChatUser,
  change: 'added' | 'removed',
  readSeq: number,
  fromPeer: boolean,
): Step => {
  const announce: ReadonlyArray<Effect> = fromPeer
    ? []
    : [{ type: 'announce', fact: { type: 'membership_changed', room: roomId, user, change, readSeq } }]
  const presence = state.users.get(user.id)
  const room = state.rooms.get(roomId)
  if (presence === undefined || room === undefined) return unchanged(state, announce)
  const belongs = presence.memberships.has(roomId)
  if (change === 'added') {
    if (belongs) return unchanged(state, announce)
    // Present there (entered it, here or on another process, before the membership arrived): all read.
    const present = presence.room === roomId
    const membership = present ? { readSeq: Math.max(readSeq, room.lastSeq), unread: 0 } : membershipAt(state, room, readSeq)
    const member: Presence = { ...presence, memberships: presence.memberships.set(roomId, membership) }
    // A public room was in their list already: it now says they belong to it.
    const added = send(member.connections, { type: room.profile.kind === 'public' ? 'room_updated' : 'room_added', room: roomView(room, user.id, membership) })
    return [setPresence(setRoom(state, following(room, user.id, !present)), member), [...announce, ...added]]
  }
  if (!belongs) return unchanged(state, announce)
  const former: Presence = { ...presence, memberships: presence.memberships.remove(roomId) }
  const next = setPresence(setRoom(state, following(room, user.id, false)), former)
  // A public room stays in their list, saying they no longer belong to it (nothing unread there any more).
  if (room.profile.kind === 'public') return [next, [...announce, ...send(former.connections, { type: 'room_updated', room: roomView(room, user.id, undefined) })]]
  const removed = send(former.connections, { type: 'room_removed', room: roomId })
  if (former.room !== roomId) return [next, [...announce, ...removed]]
  const [out, leaving] = leaveCurrentRoom(next, former, 'removed', former.connections, former.moves + 1)
  return [out, [...announce, ...leaving, ...removed]]
}

const NO_HISTORY = { lastSeq: 0, recent: [] }

/** The users connected here who belong to a room this process has just heard of (none are in it yet). */
const followersAmong = (state: ChatState, room: RoomState): RoomState['followers'] =>
  room.followers.withMutations((followers) => {
    for (const presence of state.users.values()) if (presence.memberships.has(room.id)) followers.add(presence.user.id)
  })
