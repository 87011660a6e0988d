import type * as I from 'immutable'
import type { UserId } from '../brands.js'
import type { PublicUser } from '../protocol/server-frames.js'
import { publicUser } from './frames.js'
import type { ChatState, ChatUser, RoomState, Roster } from './state.js'

// Who is in a room, in the order they arrived, paged from the latest arrival back (docs/big-rooms.md).
// A page of a room of 20,000 must not cost 20,000: the roster is a list of numbered seats, and a page walks
// back from a seat found by binary search, skipping the empty seats of those who left. Seats keep their
// numbers for ever, so a cursor (a seat number) stays valid whatever arrives, leaves or is compacted.

/**
 * Seats `user` at the end, unless they already have a seat. O(log n).
 */
export const seat = (roster: Roster, user: UserId): Roster =>
  roster.seatOf.has(user)
    ? roster
    : { ...roster, seats: roster.seats.push({ number: roster.next, user }), seatOf: roster.seatOf.set(user, roster.next), next: roster.next + 1 }

/**
 * Empties `user`'s seat, if they have one; drops the empty seats once they outnumber the taken ones, so the
 * list stays within twice the room's size (amortized O(1) a departure; each compaction is O(n) after at
 * least n/2 departures).
 */
export const unseat = (roster: Roster, user: UserId): Roster => {
  const number = roster.seatOf.get(user)
  if (number === undefined) return roster
  const index = indexOfSeat(roster.seats, number)
  const emptied: Roster = { ...roster, seats: roster.seats.set(index, { number, user: null }), seatOf: roster.seatOf.remove(user), empty: roster.empty + 1 }
  return emptied.empty > emptied.seatOf.size ? compact(emptied) : emptied
}

const compact = (roster: Roster): Roster => ({ ...roster, seats: roster.seats.filter((s) => s.user !== null), empty: 0 })

/** The index in `seats` of the seat numbered `number`, or of the first seat numbered above it (seats.size if none). */
const indexOfSeat = (seats: I.List<{ readonly number: number }>, number: number): number => {
  let low = 0
  let high = seats.size
  while (low < high) {
    const middle = (low + high) >>> 1
    if ((seats.get(middle)?.number ?? Infinity) < number) low = middle + 1
    else high = middle
  }
  return low
}

/** Keeps the roster in step with who is present in the room, here or elsewhere, after a change for `user`. */
export const reseat = (room: RoomState, user: UserId): RoomState => {
  const present = room.members.has(user) || room.remote.has(user)
  const roster = present ? seat(room.roster, user) : unseat(room.roster, user)
  return roster === room.roster ? room : { ...room, roster }
}

/** A page of members: who, and the cursor for the next page when some remain. */
export interface MemberPage {
  readonly users: ReadonlyArray<PublicUser>
  readonly cursor?: string
}

/**
 * Up to `size` present users who arrived before the seat `before` (exclusive; Infinity for the latest),
 * latest first, skipping `skip` (listed already), with the cursor of the next page when more remain.
 * O(size + empty seats passed + log n).
 */
export const pageBefore = (state: ChatState, room: RoomState, before: number, size: number, skip: ReadonlySet<UserId> = new Set()): MemberPage => {
  const seats = room.roster.seats
  const users: PublicUser[] = []
  let index = indexOfSeat(seats, before) - 1
  let last: number | undefined
  for (; index >= 0 && users.length < size; index--) {
    const taken = seats.get(index)
    if (taken === undefined || taken.user === null) continue
    last = taken.number
    if (skip.has(taken.user)) continue
    const user = presentUser(state, room, taken.user)
    if (user !== undefined) users.push(publicUser(user))
  }
  const more = last !== undefined && hasSeatBefore(seats, index)
  return more ? { users, cursor: String(last) } : { users }
}

/** Whether any taken seat is at `index` or before it. */
const hasSeatBefore = (seats: I.List<{ readonly user: UserId | null }>, index: number): boolean => {
  for (let i = index; i >= 0; i--) if (seats.get(i)?.user !== null) return true
  return false
}

/** A present user's name and username: from their presence here, or from the process they are on. */
const presentUser = (state: ChatState, room: RoomState, user: UserId): ChatUser | undefined =>
  (room.members.has(user) ? state.users.get(user)?.user : undefined) ?? room.remote.get(user)?.user

/** A cursor as the client sent it back (MemberCursor: digits), as a seat number. */
export const seatOfCursor = (cursor: string | undefined): number => (cursor === undefined ? Infinity : Number(cursor))
