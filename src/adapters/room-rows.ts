import { RoomId, storedPersonName, UserId, Username } from '../core/brands.js'
import { trusted } from '../core/codecs.js'
import type { ChatUser } from '../core/chat/state.js'
import type { RecentRooms } from '../core/rooms.js'
import { storedRoomName, storedTopic } from '../core/rooms.js'
import type { CatalogRoom, DirectRoom, MadeRoom, Membership, NewRoom, RoomIdTaken, StoredRoom, TooManyRooms } from './stores.js'

// The rows of `room_catalog` and `room_members` as every engine writes and reads them, and the records they
// become (the counterpart of rows.ts for the RoomStore). The SQL of each engine stays in its folder.

/** A `room_catalog` row, read through `ROOM_COLUMNS`. */
export interface RoomRow {
  readonly id: string
  readonly kind: string
  readonly name: string
  readonly topic: string | null
  readonly owner_id: string | null
  readonly created_at: number
  readonly archived_at: number | null
  readonly dm_key: string | null
}

/** The columns a `RoomRow` is read from (`SELECT` or `RETURNING ${ROOM_COLUMNS}`). */
export const ROOM_COLUMNS = 'id, kind, name, topic, owner_id, created_at, archived_at, dm_key'

/**
 * A `room_catalog` row read with the users it names: the owner (`owner_*`), a conversation's first and
 * second user by its `dm_key` (`first_*`, `second_*`); null where there is none.
 */
export interface CatalogRow extends RoomRow {
  readonly owner_username: string | null
  readonly owner_name: string | null
  readonly first_username: string | null
  readonly first_name: string | null
  readonly second_username: string | null
  readonly second_name: string | null
}

/**
 * The columns a `CatalogRow` is read from, with the catalog as `r` and the users it names as `o` (owner),
 * `a` and `b` (a conversation's pair, in `dm_key` order). Each engine writes its own joins (how it splits
 * `dm_key` differs).
 */
export const CATALOG_COLUMNS = [
  ...ROOM_COLUMNS.split(', ').map((column) => `r.${column}`),
  'o.username AS owner_username',
  'o.name AS owner_name',
  'a.username AS first_username',
  'a.name AS first_name',
  'b.username AS second_username',
  'b.name AS second_name',
].join(', ')

/**
 * The room a catalog row stores, with its people. Throws a TypeError (a damaged database: users are never
 * deleted, and the keys refer to them) when a user it names is missing, besides `storedRoom`'s cases.
 */
export const catalogRoom = (row: CatalogRow): CatalogRoom => {
  const room = storedRoom(row)
  if (room.kind === 'direct') {
    const [first, second] = room.members
    return { ...room, pair: [chatUser(first, row.first_username, row.first_name, row.id), chatUser(second, row.second_username, row.second_name, row.id)] }
  }
  return { ...room, owner: room.ownerId === null ? null : chatUser(room.ownerId, row.owner_username, row.owner_name, row.id) }
}

const chatUser = (id: UserId, username: string | null, name: string | null, room: string): ChatUser => {
  if (username === null || name === null) throw new TypeError(`room ${room} names a user ${id} who is not stored`)
  const checked = trusted(Username, username)
  // As userRecord does: a name an earlier version let through is shown cleaned.
  return { id, username: checked, name: storedPersonName(name, checked) }
}

/** `createdSince`'s row: how many, and the earliest time (null for none). */
export interface RecentRoomsRow {
  readonly n: number | string
  readonly earliest: number | string | null
}

export const recentRooms = (row: RecentRoomsRow | undefined): RecentRooms => ({
  count: Number(row?.n ?? 0),
  earliest: row?.earliest === null || row?.earliest === undefined ? null : Number(row.earliest),
})

/** `create`'s refusal by its quota, from the count that refused (its earliest: null only under a quota of 0). */
export const tooManyRooms = (recent: RecentRooms): TooManyRooms => ({ type: 'too_many_rooms', earliest: recent.earliest })

/** The columns `create` writes, for `INSERT INTO room_catalog (${NEW_ROOM_COLUMNS}) VALUES (...)`. */
export const NEW_ROOM_COLUMNS = 'id, kind, name, topic, owner_id, created_at'

/** A new room's row, to bind in `NEW_ROOM_COLUMNS` order. */
export const newRoomValues = (room: NewRoom): Array<string | number | null> => [room.id, room.kind, room.name, room.topic, room.ownerId, room.createdAt]

/** A direct conversation's name column: it has none (it is shown as the other person's name). */
export const DIRECT_NAME = ''

/**
 * The room a row stores. Throws a TypeError on a row the store did not write (an id the codecs refuse, an
 * unknown kind, a conversation without its pair): a bug or a damaged database.
 */
export const storedRoom = (row: RoomRow): StoredRoom => {
  const id = trusted(RoomId, row.id)
  switch (row.kind) {
    case 'direct':
      return { kind: 'direct', id, members: pairOf(row.dm_key), createdAt: row.created_at, archivedAt: row.archived_at }
    case 'public':
    case 'private':
      return madeRoom(row, row.kind)
    default:
      throw new TypeError(`room ${row.id} has an unknown kind ${JSON.stringify(row.kind)}`)
  }
}

/** The made room a row stores; throws a TypeError if it is a conversation (see `storedRoom`). */
export const storedMadeRoom = (row: RoomRow): MadeRoom => {
  const room = storedRoom(row)
  if (room.kind === 'direct') throw new TypeError(`room ${row.id} is a conversation`)
  return room
}

/** The conversation a row stores; throws a TypeError if it is a made room (see `storedRoom`). */
export const storedDirectRoom = (row: RoomRow): DirectRoom => {
  const room = storedRoom(row)
  if (room.kind !== 'direct') throw new TypeError(`room ${row.id} is not a conversation`)
  return room
}

const madeRoom = (row: RoomRow, kind: MadeRoom['kind']): MadeRoom => ({
  kind,
  id: trusted(RoomId, row.id),
  // Read back as today's rules would have taken it (a room made under looser ones keeps nothing they refuse).
  name: storedRoomName(row.name, row.id),
  topic: storedTopic(row.topic),
  ownerId: row.owner_id === null ? null : trusted(UserId, row.owner_id),
  createdAt: row.created_at,
  archivedAt: row.archived_at,
})

/**
 * A pair's `dm_key`: the two ids sorted (code units, so both engines and every process agree) and joined by
 * a space. Throws a RangeError (a bug: the caller asks for a conversation with oneself, or an id that could
 * not be told apart in the key) when they are the same user or an id holds a space.
 */
export const dmKey = (a: UserId, b: UserId): string => {
  if (a === b) throw new RangeError('a direct conversation is between two different users')
  if (a.includes(' ') || b.includes(' ')) throw new RangeError('a user id in a direct conversation cannot hold a space')
  return a < b ? `${a} ${b}` : `${b} ${a}`
}

const pairOf = (key: string | null): readonly [UserId, UserId] => {
  const [first, second, ...rest] = (key ?? '').split(' ')
  if (first === undefined || second === undefined || rest.length > 0) throw new TypeError(`a conversation's key ${JSON.stringify(key)} is not a pair`)
  return [trusted(UserId, first), trusted(UserId, second)]
}

export const ROOM_ID_TAKEN: RoomIdTaken = { type: 'room_id_taken' }

/** A `room_members` row with its unread count, as `memberships` reads it. */
export interface MembershipRow {
  readonly room_id: string
  readonly read_seq: number
  readonly unread: number
}

export const membershipOf = (row: MembershipRow): Membership => ({
  room: trusted(RoomId, row.room_id),
  readSeq: row.read_seq,
  unread: row.unread,
})

/** A limit (`maxMembers`, `unreadCap`) as a number a driver can bind: absent or Infinity is the largest safe integer. */
export const bindableLimit = (limit: number | undefined): number => (limit === undefined || !Number.isFinite(limit) ? Number.MAX_SAFE_INTEGER : limit)
