import * as E from 'fp-ts/lib/Either.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { pipe } from 'fp-ts/lib/function.js'
import { trusted } from '../../core/codecs.js'
import { UserId } from '../../core/brands.js'
import {
  CATALOG_COLUMNS,
  catalogRoom,
  recentRooms,
  type CatalogRow,
  type RecentRoomsRow,
  DIRECT_NAME,
  dmKey,
  bindableLimit,
  membershipOf,
  NEW_ROOM_COLUMNS,
  newRoomValues,
  ROOM_COLUMNS,
  ROOM_ID_TAKEN,
  storedDirectRoom,
  storedMadeRoom,
  storedRoom,
  tooManyRooms,
  type MembershipRow,
  type RoomRow,
} from '../room-rows.js'
import { toStoreError, type StoreError } from '../store-failure.js'
import type { MadeRoom, RoomIdTaken, RoomStore, TooManyRooms } from '../stores.js'
import type { PreparedStatements } from './prepared.js'

// Every write is one statement, so it commits whole or not at all without a transaction held across awaits
// on the connection the stores share (it would take in, and roll back, other callers' writes). A room's
// first members go in with it by the trigger of migration 7. SQLite takes the database's write lock when a
// writing statement starts, before it reads, so a check and the write it guards (the member count and the
// insert) see no other writer in between, on this connection or any other process's.

// A room with the users it names: its owner, and a conversation's two users read from its dm_key.
const CATALOG = `SELECT ${CATALOG_COLUMNS} FROM room_catalog r
  LEFT JOIN users o ON o.id = r.owner_id
  LEFT JOIN users a ON a.id = substr(r.dm_key, 1, instr(r.dm_key, ' ') - 1)
  LEFT JOIN users b ON b.id = substr(r.dm_key, instr(r.dm_key, ' ') + 1)`
const ALL = `${CATALOG} ORDER BY r.created_at, r.id`
const FIND = `${CATALOG} WHERE r.id = ?`
const CREATE = `INSERT INTO room_catalog (${NEW_ROOM_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) RETURNING ${ROOM_COLUMNS}`
// Within a quota: the owner's rooms since ?7 are counted by the INSERT's own statement, which holds the write
// lock from its start, so no other create (this connection's or another process's) lands between the count
// and the insert.
const CREATE_WITHIN = `INSERT INTO room_catalog (${NEW_ROOM_COLUMNS})
  SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE (SELECT COUNT(*) FROM room_catalog WHERE owner_id = ?5 AND created_at >= ?7) < ?8
  RETURNING ${ROOM_COLUMNS}`
const CREATED_SINCE = 'SELECT COUNT(*) AS n, MIN(created_at) AS earliest FROM room_catalog WHERE owner_id = ? AND created_at >= ?'
// ?2 says whether the topic changes (1) or stays (0): a null ?3 then removes it.
const UPDATE = `UPDATE room_catalog SET name = COALESCE(?1, name), topic = CASE WHEN ?2 = 1 THEN ?3 ELSE topic END
  WHERE id = ?4 AND kind <> 'direct' RETURNING ${ROOM_COLUMNS}`
const ARCHIVE = `UPDATE room_catalog SET archived_at = COALESCE(archived_at, ?) WHERE id = ? RETURNING ${ROOM_COLUMNS}`
const DIRECT = `INSERT INTO room_catalog (id, kind, name, created_at, dm_key) VALUES (?, 'direct', '${DIRECT_NAME}', ?, ?)
  ON CONFLICT (dm_key) DO NOTHING`
const FIND_DIRECT = `SELECT ${ROOM_COLUMNS} FROM room_catalog WHERE dm_key = ?`
const ADD_MEMBER = `INSERT INTO room_members (room_id, user_id, added_at, read_seq) VALUES (?, ?, ?, ?)
  ON CONFLICT (room_id, user_id) DO NOTHING`
const ADD_MEMBER_WITHIN = `INSERT INTO room_members (room_id, user_id, added_at, read_seq)
  SELECT ?1, ?2, ?3, ?4 WHERE (SELECT COUNT(*) FROM room_members WHERE room_id = ?1) < ?5
  ON CONFLICT (room_id, user_id) DO NOTHING`
// The members arrive as one JSON array of [room, user, at, readSeq], as the markers do. Rows are inserted in
// the array's order, so of two entries for one key the first wins. The WHERE is SQLite's: an upsert after a
// SELECT needs one to parse.
const ADD_MEMBERS = `INSERT INTO room_members (room_id, user_id, added_at, read_seq)
  SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]')
  FROM json_each(?) WHERE true ORDER BY key
  ON CONFLICT (room_id, user_id) DO NOTHING`
const IS_MEMBER = 'SELECT 1 AS member FROM room_members WHERE room_id = ? AND user_id = ?'
const REMOVE_MEMBER = 'DELETE FROM room_members WHERE room_id = ? AND user_id = ?'
const MEMBERS = 'SELECT user_id FROM room_members WHERE room_id = ? ORDER BY added_at, user_id'
// Counting through a LIMITed subquery reads at most the cap's worth of the room's primary key per membership.
const MEMBERSHIPS = `SELECT m.room_id, m.read_seq,
    (SELECT COUNT(*) FROM (SELECT 1 FROM messages WHERE room = m.room_id AND seq > m.read_seq LIMIT ?1)) AS unread
  FROM room_members m WHERE m.user_id = ?2 ORDER BY m.room_id`
// The markers arrive as one JSON array of [user, room, seq], so one prepared statement takes any batch.
const MARK_READ = `WITH wanted AS (
    SELECT json_extract(value, '$[0]') AS user_id, json_extract(value, '$[1]') AS room_id, MAX(json_extract(value, '$[2]')) AS seq
    FROM json_each(?) GROUP BY 1, 2
  )
  UPDATE room_members SET read_seq = wanted.seq FROM wanted
  WHERE room_members.room_id = wanted.room_id AND room_members.user_id = wanted.user_id AND wanted.seq > room_members.read_seq`

export const sqliteRoomStore = (statements: PreparedStatements): RoomStore => {
  const all = async <Row>(sql: string, values: ReadonlyArray<unknown>): Promise<Row[]> => (await statements.get(sql)).all<Row[]>([...values])
  // Every statement is stepped to its end (`all`, `run`): a prepared statement left at its first row (`get`)
  // keeps its transaction open on the shared connection, a write one holding the database's write lock.
  const first = async <Row>(sql: string, values: ReadonlyArray<unknown>): Promise<Row | undefined> => (await all<Row>(sql, values))[0]
  const changes = async (sql: string, values: ReadonlyArray<unknown>): Promise<number> => (await (await statements.get(sql)).run([...values])).changes ?? 0
  const findDirect = (key: string) => first<RoomRow>(FIND_DIRECT, [key])

  return {
    all: () => TE.tryCatch(async () => (await all<CatalogRow>(ALL, [])).map(catalogRoom), toStoreError),
    find: (id) =>
      TE.tryCatch(async () => {
        const row = await first<CatalogRow>(FIND, [id])
        return row === undefined ? undefined : catalogRoom(row)
      }, toStoreError),
    create: (room, quota) =>
      pipe(
        TE.tryCatch(async (): Promise<E.Either<TooManyRooms, MadeRoom>> => {
          const values = newRoomValues(room)
          const row = quota === undefined ? await first<RoomRow>(CREATE, values) : await first<RoomRow>(CREATE_WITHIN, [...values, quota.since, bindableLimit(quota.max)])
          if (row !== undefined) return E.right(storedMadeRoom(row))
          if (quota === undefined) throw new Error(`room ${room.id} was not stored`)
          // Rooms are never deleted, so the count that refused still stands: its earliest is when to retry.
          return E.left(tooManyRooms(recentRooms(await first<RecentRoomsRow>(CREATED_SINCE, [room.ownerId, quota.since]))))
        }, takenOr),
        TE.chainEitherKW((made) => made),
      ),
    createdSince: (owner, since) => TE.tryCatch(async () => recentRooms(await first<RecentRoomsRow>(CREATED_SINCE, [owner, since])), toStoreError),
    update: (id, change) =>
      TE.tryCatch(async () => {
        const row = await first<RoomRow>(UPDATE, [change.name ?? null, change.topic === undefined ? 0 : 1, change.topic ?? null, id])
        return row === undefined ? undefined : storedMadeRoom(row)
      }, toStoreError),
    archive: (id, at) =>
      TE.tryCatch(async () => {
        const row = await first<RoomRow>(ARCHIVE, [at, id])
        return row === undefined ? undefined : storedRoom(row)
      }, toStoreError),
    direct: (a, b, newId, at) =>
      TE.tryCatch(
        async () => {
          const key = dmKey(a, b)
          const created = await changes(DIRECT, [newId, at, key]).then(
            (inserted) => inserted === 1,
            // The id was another room's: a retry of a call that made the pair's conversation finds it here.
            async (error: unknown) => {
              if (isTakenId(error) && (await findDirect(key)) !== undefined) return false
              throw error
            },
          )
          const row = await findDirect(key)
          if (row === undefined) throw new Error(`the conversation ${key} was neither stored nor found`)
          return { room: storedDirectRoom(row), created }
        },
        takenOr,
      ),
    addMember: ({ room, user, at, maxMembers, readSeq }) =>
      TE.tryCatch(async () => {
        const values = [room, user, at, readSeq ?? 0]
        const added = maxMembers === undefined ? await changes(ADD_MEMBER, values) : await changes(ADD_MEMBER_WITHIN, [...values, bindableLimit(maxMembers)])
        if (added === 1) return 'added'
        return (await first(IS_MEMBER, [room, user])) === undefined ? 'full' : 'already'
      }, toStoreError),
    addMembers: (members) =>
      TE.tryCatch(async () => {
        if (members.length === 0) return
        await changes(ADD_MEMBERS, [JSON.stringify(members.map((m) => [m.room, m.user, m.at, m.readSeq]))])
      }, toStoreError),
    removeMember: (room, user) => TE.tryCatch(async () => (await changes(REMOVE_MEMBER, [room, user])) > 0, toStoreError),
    members: (room) =>
      TE.tryCatch(async () => (await all<{ user_id: string }>(MEMBERS, [room])).map((row) => trusted(UserId, row.user_id)), toStoreError),
    memberships: (user, unreadCap) =>
      TE.tryCatch(async () => (await all<MembershipRow>(MEMBERSHIPS, [bindableLimit(unreadCap), user])).map(membershipOf), toStoreError),
    markRead: (markers) =>
      TE.tryCatch(async () => {
        if (markers.length === 0) return
        await changes(MARK_READ, [JSON.stringify(markers.map((m) => [m.user, m.room, m.seq]))])
      }, toStoreError),
  }
}

/** SQLite names the refusing key only in its message: "UNIQUE constraint failed: room_catalog.id". */
const isTakenId = (error: unknown): boolean => error instanceof Error && error.message.includes('UNIQUE constraint failed: room_catalog.id')

const takenOr = (error: unknown): RoomIdTaken | StoreError => (isTakenId(error) ? ROOM_ID_TAKEN : toStoreError(error))
