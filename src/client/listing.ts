import type { RoomSummary } from '../core/protocol/server-frames.js'
import type { Cmd, Model } from './model.js'
import { findRoom, upserted, withoutRoom, type Rooms } from './rooms.js'

// The room list comes whole from `welcome` and GET /rooms, and changes live by frames and by the answers
// of the rooms routes. GET /rooms (asked every ~20 s for the member counts, which change without a frame)
// travels over HTTP, the frames over the WebSocket: an answer the server gave before a change may arrive
// after it, and would undo it (bring back a room just removed, drop one just added, show an old count).
// So every live change goes through `changed`, which remembers the changes made while a request is on its
// way, and an answer is shown with the changes made since it was asked for played over it. Each change
// is one an answer may already hold: playing it again is harmless.

/** One live change to the list. */
export type RoomChange =
  /** Added or updated: the room's newest shape. */
  | { readonly type: 'listed'; readonly room: RoomSummary }
  | { readonly type: 'removed'; readonly room: string }
  | { readonly type: 'counted'; readonly room: string; readonly count: number }
  /** The user became a member (entering a public room) or left a membership (then nothing counts). */
  | { readonly type: 'belongs'; readonly room: string; readonly member: boolean }

/**
 * GET /rooms requests, numbered in the order they are asked for. An answer to a request numbered below
 * `fresh` is older than the list shown (a later answer's, or `welcome`'s) and is dropped.
 */
export interface Listing {
  readonly next: number
  readonly fresh: number
  /** Asked for and not answered, each at least `fresh`. */
  readonly pending: ReadonlyArray<number>
  /** The changes made since the oldest pending request was asked for; `before`: the `next` at the time. */
  readonly log: ReadonlyArray<{ readonly before: number; readonly change: RoomChange }>
}

export const initialListing: Listing = { next: 1, fresh: 1, pending: [], log: [] }

/** A new session (sign-in, sign-out): what is on its way belongs to the last one. Numbers keep counting up. */
export const forgotten = (listing: Listing): Listing => ({ ...initialListing, next: listing.next, fresh: listing.next })

/** Applies live changes to the list, remembering them for the answers on their way. */
export const changed = (model: Model, ...changes: ReadonlyArray<RoomChange>): Model => {
  const rooms = changes.reduce(applied, model.rooms)
  const { listing } = model
  const log = listing.pending.length === 0 ? listing.log : [...listing.log, ...changes.map((change) => ({ before: listing.next, change }))]
  return rooms === model.rooms && log === listing.log ? model : { ...model, rooms, listing: { ...listing, log } }
}

/**
 * At most this many GET /rooms wait for their answers: past it the oldest is given up (its answer, if it
 * ever comes, is dropped), so a request that hangs does not keep the changes growing.
 */
export const MAX_PENDING = 3

/** Asks for GET /rooms; its answer comes back as `roomsLoaded` (or `roomsFailed`) with the same `ref`. */
export const roomsRequested = (model: Model): readonly [Model, Cmd] => {
  const { listing } = model
  const ref = listing.next
  const pending = [...listing.pending.slice(-(MAX_PENDING - 1)), ref]
  const fresh = Math.max(listing.fresh, pending[0] ?? ref)
  return [{ ...model, listing: pruned({ ...listing, next: ref + 1, fresh, pending }) }, { type: 'loadRooms', ref }]
}

/** The answer to request `ref`, with what changed since it was asked for played over it, unless a newer list is shown. */
export const roomsLoaded = (model: Model, ref: number, answer: Rooms): Model => {
  const { listing } = model
  if (ref < listing.fresh || !listing.pending.includes(ref)) return roomsFailed(model, ref)
  const rooms = listing.log.filter((logged) => ref < logged.before).reduce((list, logged) => applied(list, logged.change), answer)
  const fresh = ref + 1
  return { ...model, rooms, listing: pruned({ ...listing, fresh, pending: listing.pending.filter((p) => p >= fresh) }) }
}

/** Request `ref` will not be answered (or its answer is not wanted): it no longer holds changes back. */
export const roomsFailed = (model: Model, ref: number): Model => {
  const { listing } = model
  if (!listing.pending.includes(ref)) return model
  return { ...model, listing: pruned({ ...listing, pending: listing.pending.filter((p) => p !== ref) }) }
}

/** `welcome`'s list is newer than any answer on its way. */
export const relisted = (model: Model, rooms: Rooms): Model => ({
  ...model,
  rooms,
  listing: { ...initialListing, next: model.listing.next, fresh: model.listing.next },
})

/** Keeps only the changes some pending request was asked for before. */
const pruned = (listing: Listing): Listing => {
  if (listing.pending.length === 0) return { ...listing, log: [] }
  const oldest = Math.min(...listing.pending)
  return { ...listing, log: listing.log.filter((logged) => logged.before > oldest) }
}

const applied = (rooms: Rooms, change: RoomChange): Rooms => {
  switch (change.type) {
    case 'listed':
      return upserted(rooms, change.room)
    case 'removed':
      return withoutRoom(rooms, change.room)
    case 'counted':
      return withRoom(rooms, change.room, (room) => (room.unread === change.count ? room : { ...room, unread: change.count }))
    case 'belongs':
      return withRoom(rooms, change.room, (room) =>
        room.member === change.member && (change.member || room.unread === 0) ? room : { ...room, member: change.member, ...(change.member ? {} : { unread: 0 }) },
      )
  }
}

/** The list with one room changed by `change`; the same list when the room is not in it or did not change. */
const withRoom = (rooms: Rooms, id: string, change: (room: RoomSummary) => RoomSummary): Rooms => {
  const room = findRoom(rooms, id)
  if (room === undefined) return rooms
  const next = change(room)
  return next === room ? rooms : rooms.map((r) => (r === room ? next : r))
}
