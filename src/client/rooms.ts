import type { PublicUser, RoomSummary } from '../core/protocol/server-frames.js'

// The page's list of rooms and conversations (docs/rooms.md): what `welcome` and GET /rooms give, kept
// live by `room_added`, `room_updated` and `room_removed`. Rooms are shown in the order the server lists
// them; one the page learns of later goes last.

export type Rooms = ReadonlyArray<RoomSummary>

/** The room with its newest shape: replaced where it stands, or added last. */
export const upserted = (rooms: Rooms, room: RoomSummary): Rooms =>
  rooms.some((r) => r.id === room.id) ? rooms.map((r) => (r.id === room.id ? room : r)) : [...rooms, room]

export const withoutRoom = (rooms: Rooms, id: string): Rooms => (rooms.some((r) => r.id === id) ? rooms.filter((r) => r.id !== id) : rooms)

export const findRoom = (rooms: Rooms, id: string | null): RoomSummary | undefined => (id === null ? undefined : rooms.find((r) => r.id === id))

/** How a room is named on the page: a conversation by the other person's name. */
export const displayName = (room: RoomSummary): string => room.with?.name ?? room.name

/** A room's name for sentences, or its id when the page does not list it. */
export const nameOf = (rooms: Rooms, id: string): string => {
  const room = findRoom(rooms, id)
  return room === undefined ? id : displayName(room)
}

/** Rooms (public and private) first, then conversations: the list shows them apart. */
export const conversations = (rooms: Rooms): Rooms => rooms.filter((r) => r.visibility === 'direct')
export const ordinaryRooms = (rooms: Rooms): Rooms => rooms.filter((r) => r.visibility !== 'direct')

export const isArchived = (room: RoomSummary | undefined): boolean => room?.archived === true

/** The owner manages the room (rename, topic, archive; members of a private one) while it is not archived. */
export const manages = (me: PublicUser | null, room: RoomSummary | undefined): boolean =>
  me !== null && room !== undefined && room.owner === me.username && !isArchived(room)

/** Anyone but the owner may leave a private room they belong to (a conversation cannot be left). */
export const mayLeave = (me: PublicUser | null, room: RoomSummary | undefined): boolean =>
  me !== null && room !== undefined && room.visibility === 'private' && room.owner !== me.username

/**
 * A room from a server older than rooms people make has no `visibility`: every room was public then.
 * (The WebSocket's codecs require it, so frames.ts fills it in the same way.)
 */
export const fromOlderServer = (room: Omit<RoomSummary, 'visibility'> & { readonly visibility?: RoomSummary['visibility'] }): RoomSummary => ({
  ...room,
  visibility: room.visibility ?? 'public',
})
