import type { PublicUser, RoomSummary } from '../core/protocol/server-frames.js'

// The page's list of rooms and conversations (docs/rooms.md): what `welcome` and GET /rooms give, kept
// live by `room_added`, `room_updated`, `room_removed` and `unread`. Rooms are shown in the order the server
// lists them; one the page learns of later goes last. (listing.ts keeps a late GET /rooms from undoing them.)

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

/**
 * Anyone but the owner may leave a room they belong to: a private one (only the owner can add them back) or
 * a public one (it stops counting unread; entering it again makes them a member again). A conversation
 * cannot be left.
 */
export const mayLeave = (me: PublicUser | null, room: RoomSummary | undefined): boolean =>
  me !== null && room !== undefined && room.member && room.visibility !== 'direct' && room.owner !== me.username

/** Where the server's counts saturate (docs/rooms.md, UNREAD_CAP): a count there means "this many or more". */
export const UNREAD_CAP = 500

/** A room's unread count as its badge says it: nothing at 0, "500+" at the cap. */
export const unreadBadge = (count: number): string => (count <= 0 ? '' : count >= UNREAD_CAP ? `${UNREAD_CAP}+` : String(count))

/** The room's count, 0 for one the page does not list. */
export const unreadOf = (rooms: Rooms, id: string): number => findRoom(rooms, id)?.unread ?? 0

/** A room as a server one release older may send it: without the fields it did not know yet. */
export type OlderRoom = Omit<RoomSummary, 'visibility' | 'unread' | 'member'> & Partial<Pick<RoomSummary, 'visibility' | 'unread' | 'member'>>

/**
 * A room from a server older than rooms people make has no `visibility`: every room was public then. One
 * older than unread counts counts nothing, and lists only its members the rooms that are not public.
 * (The WebSocket's codecs require these fields, so frames.ts fills them in the same way.)
 */
export const fromOlderServer = (room: OlderRoom): RoomSummary => {
  const visibility = room.visibility ?? 'public'
  return { ...room, visibility, unread: room.unread ?? 0, member: room.member ?? visibility !== 'public' }
}
