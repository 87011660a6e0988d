import type { RoomId, UserId } from '../brands.js'
import { send, setPresence, setRoom } from './audience.js'
import type { Effect } from './effects.js'
import { leaveCurrentRoom } from './membership.js'
import { CONFIGURED_ROOM, newRoom, type ChatState, type ChatUser, type Presence, type RoomEntry, type RoomProfile, type RoomState } from './state.js'
import type { MembershipEntry } from './events.js'
import { unchanged, type Step } from './step-result.js'
import { mayKnow, roomView } from './visibility.js'
import { following, membershipAt, readMoved } from './unread.js'
import { clusterLinkRestored } from './ordering.js'

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
  if ((change === 'added') === belongs) return unchanged(state, announce)
  return changeMembership({ ...state, membershipChanges: state.membershipChanges + 1 }, room, presence, change, readSeq, announce)
}

/** Applies a change that changes something (see `membershipChanged`). */
const changeMembership = (
  state: ChatState,
  room: RoomState,
  presence: Presence,
  change: 'added' | 'removed',
  readSeq: number,
  announce: ReadonlyArray<Effect>,
): Step => {
  const roomId = room.id
  const user = presence.user
  if (change === 'added') {
    // Present there (entered it, here or on another process, before the membership arrived): all read.
    const present = presence.room === roomId
    const membership = present ? { readSeq: Math.max(readSeq, room.lastSeq), unread: 0 } : membershipAt(state, room, readSeq)
    const member: Presence = { ...presence, memberships: presence.memberships.set(roomId, membership) }
    // A public room was in their list already: it now says they belong to it.
    const added = send(member.connections, { type: room.profile.kind === 'public' ? 'room_updated' : 'room_added', room: roomView(room, user.id, membership) })
    return [setPresence(setRoom(state, following(room, user.id, !present)), member), [...announce, ...added]]
  }
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

/**
 * What the store holds of the catalog and of the memberships of `users` (connected here when it was asked),
 * read again because this process may have missed announcements while its cluster link was down
 * (`reloadRooms`). Rooms made or changed meanwhile are saved as if announced; each user's memberships are
 * brought to the store's: added, markers moved forward, and removed — a removal missed in an outage would
 * otherwise leave a removed member able to enter the room here. Removals wait for a quiet read: when a
 * membership changed here after the read was asked (`asOf`), the read may be older than that change, so
 * it is asked again (up to `attempt` 3) and nothing is taken away on its word.
 */
export const roomsReloaded = (
  state: ChatState,
  rooms: ReadonlyArray<RoomEntry>,
  memberships: ReadonlyArray<{ readonly user: UserId; readonly entries: ReadonlyArray<MembershipEntry> }>,
  asOf: number,
  attempt: number,
  failed = false,
): Step => {
  let next = state
  const effects: Effect[] = []
  if (failed) return thenReadMissed(state, effects)
  const apply = ([after, made]: Step) => {
    next = after
    effects.push(...made)
  }
  for (const entry of rooms) {
    const known = next.rooms.get(entry.id)
    // A stored room with a ROOMS room's id: the configured one is served (as at start).
    if (known?.profile === CONFIGURED_ROOM) continue
    if (known === undefined || known.name !== entry.name || !sameProfile(known.profile, entry.profile)) apply(roomSaved(next, entry, true))
  }
  const quiet = state.membershipChanges === asOf
  for (const { user, entries } of memberships) {
    const presence = next.users.get(user)
    if (presence === undefined) continue
    const stored = new Map(entries.map((entry) => [entry.room, entry.readSeq]))
    for (const [room, readSeq] of stored) {
      const known = presence.memberships.get(room)
      if (known === undefined) apply(membershipChanged(next, room, presence.user, 'added', readSeq, true))
      else if (readSeq > known.readSeq) apply(readMoved(next, user, room, readSeq))
    }
    if (!quiet) continue
    for (const room of presence.memberships.keys()) {
      const current = next.users.get(user)
      if (!stored.has(room) && current !== undefined) apply(membershipChanged(next, room, current.user, 'removed', 0, true))
    }
  }
  if (!quiet && attempt < 3) effects.push(reloadRooms(next, attempt + 1))
  return thenReadMissed(next, effects)
}

/** After the first answer to a restored link's reload (or its failure): the rooms read what they missed. */
const thenReadMissed = (state: ChatState, effects: ReadonlyArray<Effect>): Step => {
  if (!state.roomsReloading) return [state, effects]
  const [filling, fills] = clusterLinkRestored({ ...state, roomsReloading: false })
  return [filling, [...effects, ...fills]]
}

/** Asks the store for the catalog and the memberships of every user connected here (see `roomsReloaded`). */
export const reloadRooms = (state: ChatState, attempt = 1): Effect => ({
  type: 'reloadRooms',
  users: [...state.users.keys()],
  asOf: state.membershipChanges,
  attempt,
})

const sameProfile = (a: RoomProfile, b: RoomProfile): boolean =>
  a.kind === b.kind &&
  a.topic === b.topic &&
  a.archivedAt === b.archivedAt &&
  a.owner?.id === b.owner?.id &&
  a.owner?.name === b.owner?.name &&
  a.pair.length === b.pair.length &&
  a.pair.every((user, i) => user.id === b.pair[i]?.id && user.name === b.pair[i]?.name)
