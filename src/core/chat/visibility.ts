import * as I from 'immutable'
import type { RoomId, UserId } from '../brands.js'
import type { RoomSummary } from '../protocol/server-frames.js'
import type { MembershipEntry } from './events.js'
import { presentCount, publicUser } from './frames.js'
import type { ChatState, Membership, RoomState } from './state.js'
import { membershipAt } from './unread.js'

// Which rooms a user may know of (docs/rooms.md). A private room or a conversation is, to a non-member,
// exactly a room that does not exist: every list, count, join and error asks `mayKnow` before it says
// anything of one.

/** Whether a user with these memberships may know that `room` exists (and enter it). */
export const mayKnow = (room: RoomState, memberships: I.Map<RoomId, Membership>): boolean =>
  room.profile.kind === 'public' || memberships.has(room.id)

/**
 * Stored memberships as the core holds them, each counted from memory (exact up to the cap, and in step with
 * the deliveries that follow, where a count the store made may include a message committed but not yet
 * delivered here, which its delivery would count again).
 */
export const membershipsOf = (state: ChatState, entries: ReadonlyArray<MembershipEntry>): I.Map<RoomId, Membership> =>
  I.Map(entries.map((entry) => [entry.room, membershipAt(state, state.rooms.get(entry.room), entry.readSeq)]))

/**
 * Memberships with the store's counts (`RoomStore.memberships`), for a list made outside the core's presence
 * (`GET /rooms`): the room the user is in (`presentIn`) counts 0, as its marker follows delivery there.
 */
export const countedMemberships = (
  entries: ReadonlyArray<MembershipEntry & { readonly unread: number }>,
  presentIn: RoomId | null,
): I.Map<RoomId, Membership> =>
  I.Map(entries.map((entry) => [entry.room, { readSeq: entry.readSeq, unread: entry.room === presentIn ? 0 : entry.unread }]))

/**
 * The room as `viewer` sees it in a list: a conversation is named after the other person; `membership`, the
 * viewer's (absent: not a member, nothing unread).
 */
export const roomView = (room: RoomState, viewer: UserId, membership: Membership | undefined): RoomSummary => {
  const { kind, topic, owner, archivedAt, pair } = room.profile
  const other = kind === 'direct' ? (pair.find((user) => user.id !== viewer) ?? pair[0]) : undefined
  return {
    id: room.id,
    name: other === undefined ? room.name : other.name,
    members: presentCount(room),
    visibility: kind,
    unread: membership?.unread ?? 0,
    member: membership !== undefined,
    ...(topic === null ? {} : { topic }),
    ...(owner === null ? {} : { owner: owner.username }),
    ...(archivedAt === null ? {} : { archived: true }),
    ...(other === undefined ? {} : { with: publicUser(other) }),
  }
}

/**
 * Every room `viewer` may know of, in catalog order (the ROOMS rooms first, then the others as they were
 * made): what `welcome` and `GET /rooms` list.
 */
export const roomsFor = (state: ChatState, viewer: UserId, memberships: I.Map<RoomId, Membership>): RoomSummary[] => {
  const views: RoomSummary[] = []
  for (const room of state.rooms.values()) if (mayKnow(room, memberships)) views.push(roomView(room, viewer, memberships.get(room.id)))
  return views
}

