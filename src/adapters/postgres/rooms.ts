import * as E from 'fp-ts/lib/Either.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { pipe } from 'fp-ts/lib/function.js'
import type pg from 'pg'
import { UserId } from '../../core/brands.js'
import { trusted } from '../../core/codecs.js'
import {
  CATALOG_COLUMNS,
  catalogRoom,
  recentRooms,
  type CatalogRow,
  type RecentRoomsRow,
  bindableLimit,
  DIRECT_NAME,
  dmKey,
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
import type { MadeRoom, MemberAdded, RoomIdTaken, RoomStore, TooManyRooms } from '../stores.js'

// A room and its first members go in by one statement (data-modifying CTEs), which commits whole or not at
// all. Ids are ordered with COLLATE "C" (bytes, as SQLite compares them), so both engines answer in one order
// whatever the database's collation.

// A room with the users it names: its owner, and a conversation's two users read from its dm_key.
const CATALOG = `SELECT ${CATALOG_COLUMNS} FROM room_catalog r
  LEFT JOIN users o ON o.id = r.owner_id
  LEFT JOIN users a ON a.id = split_part(r.dm_key, ' ', 1)
  LEFT JOIN users b ON b.id = split_part(r.dm_key, ' ', 2)`
const ALL = `${CATALOG} ORDER BY r.created_at, r.id COLLATE "C"`
const FIND = `${CATALOG} WHERE r.id = $1`
const CREATE = `
  WITH room AS (
    INSERT INTO room_catalog (${NEW_ROOM_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${ROOM_COLUMNS}
  ),
  owner AS (
    INSERT INTO room_members (room_id, user_id, added_at, read_seq) SELECT id, owner_id, created_at, 0 FROM room
    ON CONFLICT (room_id, user_id) DO NOTHING
  )
  SELECT ${ROOM_COLUMNS} FROM room`
// Within a quota: the same, inserting only while the owner has fewer than $8 rooms since $7. Run under the
// owner's lock (OWNER_ROOMS_LOCK_CLASS), as a statement of its own, so its snapshot, taken when it starts,
// holds every room a create that had the lock before committed.
const CREATE_WITHIN = `
  WITH room AS (
    INSERT INTO room_catalog (${NEW_ROOM_COLUMNS})
    SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::bigint
    WHERE (SELECT count(*) FROM room_catalog WHERE owner_id = $5::text AND created_at >= $7::bigint) < $8::bigint
    RETURNING ${ROOM_COLUMNS}
  ),
  owner AS (
    INSERT INTO room_members (room_id, user_id, added_at, read_seq) SELECT id, owner_id, created_at, 0 FROM room
    ON CONFLICT (room_id, user_id) DO NOTHING
  )
  SELECT ${ROOM_COLUMNS} FROM room`
const CREATED_SINCE = 'SELECT count(*) AS n, min(created_at) AS earliest FROM room_catalog WHERE owner_id = $1 AND created_at >= $2'
const UPDATE = `UPDATE room_catalog SET name = COALESCE($1, name), topic = CASE WHEN $2::boolean THEN $3 ELSE topic END
  WHERE id = $4 AND kind <> 'direct' RETURNING ${ROOM_COLUMNS}`
const ARCHIVE = `UPDATE room_catalog SET archived_at = COALESCE(archived_at, $1) WHERE id = $2 RETURNING ${ROOM_COLUMNS}`
// A pair that has its conversation already, or whose first ask is being committed by another session (which
// this one then waits for), is skipped by the dm_key arbiter: nothing is inserted, and no member either.
const DIRECT = `
  WITH room AS (
    INSERT INTO room_catalog (id, kind, name, created_at, dm_key) VALUES ($1, 'direct', '${DIRECT_NAME}', $2, $3)
    ON CONFLICT (dm_key) DO NOTHING RETURNING ${ROOM_COLUMNS}
  ),
  members AS (
    INSERT INTO room_members (room_id, user_id, added_at, read_seq)
    SELECT room.id, member, room.created_at, 0 FROM room, unnest($4::text[]) AS member
    ON CONFLICT (room_id, user_id) DO NOTHING
  )
  SELECT ${ROOM_COLUMNS} FROM room`
const FIND_DIRECT = `SELECT ${ROOM_COLUMNS} FROM room_catalog WHERE dm_key = $1`
const ADD_MEMBER = `INSERT INTO room_members (room_id, user_id, added_at, read_seq) VALUES ($1, $2, $3, $4)
  ON CONFLICT (room_id, user_id) DO NOTHING`
const ADD_MEMBER_WITHIN = `INSERT INTO room_members (room_id, user_id, added_at, read_seq)
  SELECT $1::text, $2::text, $3::bigint, $4::bigint WHERE (SELECT count(*) FROM room_members WHERE room_id = $1) < $5
  ON CONFLICT (room_id, user_id) DO NOTHING`
// Inserted in one order (room, user), so two batches sharing some memberships (one user's tabs on two
// processes) wait for each other's keys in that order instead of deadlocking. Of two entries for one key the
// first in the batch (by ordinality) goes in first, and the second does nothing, as written one by one.
const ADD_MEMBERS = `INSERT INTO room_members (room_id, user_id, added_at, read_seq)
  SELECT room_id, user_id, added_at, read_seq
  FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) WITH ORDINALITY AS m(room_id, user_id, added_at, read_seq, n)
  ORDER BY room_id COLLATE "C", user_id COLLATE "C", n
  ON CONFLICT (room_id, user_id) DO NOTHING`
const IS_MEMBER = 'SELECT 1 FROM room_members WHERE room_id = $1 AND user_id = $2'
const REMOVE_MEMBER = 'DELETE FROM room_members WHERE room_id = $1 AND user_id = $2'
const MEMBERS = 'SELECT user_id FROM room_members WHERE room_id = $1 ORDER BY added_at, user_id COLLATE "C"'
// Counting through a LIMITed subquery reads at most the cap's worth of the room's primary key per membership.
const MEMBERSHIPS = `SELECT m.room_id, m.read_seq,
    (SELECT count(*) FROM (SELECT 1 FROM messages WHERE room = m.room_id AND seq > m.read_seq LIMIT $1) AS capped) AS unread
  FROM room_members m WHERE m.user_id = $2 ORDER BY m.room_id COLLATE "C"`
// The markers' rows are locked in one order (room, user) before any is written, so two batches that share
// some (one user's tabs on two processes) queue behind each other instead of deadlocking. The WHERE is read
// again on a row another batch moved meanwhile, and GREATEST keeps the higher of the two.
const MARK_READ = `
  WITH wanted AS (
    SELECT room_id, user_id, max(seq) AS seq FROM unnest($1::text[], $2::text[], $3::bigint[]) AS w(user_id, room_id, seq)
    GROUP BY room_id, user_id
  ),
  locked AS (
    SELECT m.room_id, m.user_id, wanted.seq FROM room_members m JOIN wanted ON wanted.room_id = m.room_id AND wanted.user_id = m.user_id
    WHERE wanted.seq > m.read_seq
    ORDER BY m.room_id COLLATE "C", m.user_id COLLATE "C"
    FOR UPDATE OF m
  )
  UPDATE room_members m SET read_seq = GREATEST(m.read_seq, locked.seq) FROM locked
  WHERE m.room_id = locked.room_id AND m.user_id = locked.user_id`

/**
 * The class of the transaction-level advisory lock an adder with a limit takes on a room (the room's id
 * hashed is the other half): adders of one room take turns, so each counts the members the others added.
 * A lock rather than the `room_catalog` row's: the configured rooms have no row. Two-key locks are a space
 * of their own, apart from the one-key migration and sole-process locks.
 */
const MEMBERS_LOCK_CLASS = 0x53414c4d

/**
 * The class of the transaction-level advisory lock a create with a quota takes on its owner (the owner's id
 * hashed is the other half): one owner's creates take turns, so each counts the rooms the others made. A
 * hash collision of two owners only makes them wait for each other.
 */
const OWNER_ROOMS_LOCK_CLASS = 0x53414c52

export const postgresRoomStore = (pool: pg.Pool): RoomStore => {
  const findDirect = async (key: string) => (await pool.query<RoomRow>(FIND_DIRECT, [key])).rows[0]

  return {
    all: () => TE.tryCatch(async () => (await pool.query<CatalogRow>(ALL)).rows.map(catalogRoom), toStoreError),
    find: (id) =>
      TE.tryCatch(async () => {
        const { rows } = await pool.query<CatalogRow>(FIND, [id])
        return rows[0] === undefined ? undefined : catalogRoom(rows[0])
      }, toStoreError),
    create: (room, quota) =>
      pipe(
        TE.tryCatch(async (): Promise<E.Either<TooManyRooms, MadeRoom>> => {
          if (quota === undefined) {
            const { rows } = await pool.query<RoomRow>(CREATE, newRoomValues(room))
            if (rows[0] === undefined) throw new Error(`room ${room.id} was not stored`)
            return E.right(storedMadeRoom(rows[0]))
          }
          return inTransaction(pool, async (client) => {
            await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [OWNER_ROOMS_LOCK_CLASS, room.ownerId])
            const { rows } = await client.query<RoomRow>(CREATE_WITHIN, [...newRoomValues(room), quota.since, bindableLimit(quota.max)])
            if (rows[0] !== undefined) return E.right(storedMadeRoom(rows[0]))
            return E.left(tooManyRooms(recentRooms((await client.query<RecentRoomsRow>(CREATED_SINCE, [room.ownerId, quota.since])).rows[0])))
          })
        }, takenOr),
        TE.chainEitherKW((made) => made),
      ),
    createdSince: (owner, since) => TE.tryCatch(async () => recentRooms((await pool.query<RecentRoomsRow>(CREATED_SINCE, [owner, since])).rows[0]), toStoreError),
    update: (id, change) =>
      TE.tryCatch(async () => {
        const { rows } = await pool.query<RoomRow>(UPDATE, [change.name ?? null, change.topic !== undefined, change.topic ?? null, id])
        return rows[0] === undefined ? undefined : storedMadeRoom(rows[0])
      }, toStoreError),
    archive: (id, at) =>
      TE.tryCatch(async () => {
        const { rows } = await pool.query<RoomRow>(ARCHIVE, [at, id])
        return rows[0] === undefined ? undefined : storedRoom(rows[0])
      }, toStoreError),
    direct: (a, b, newId, at) =>
      TE.tryCatch(async () => {
        const key = dmKey(a, b)
        const inserted = await pool.query<RoomRow>(DIRECT, [newId, at, key, [a, b]]).then(
          ({ rows }) => rows[0],
          // The id was another room's: a retry of a call that made the pair's conversation finds it below.
          async (error: unknown) => {
            if (isTakenId(error) && (await findDirect(key)) !== undefined) return undefined
            throw error
          },
        )
        if (inserted !== undefined) return { room: storedDirectRoom(inserted), created: true }
        // A new statement, so it sees the conversation whose commit the insert waited for.
        const found = await findDirect(key)
        if (found === undefined) throw new Error(`the conversation ${key} was neither stored nor found`)
        return { room: storedDirectRoom(found), created: false }
      }, takenOr),
    addMember: ({ room, user, at, maxMembers, readSeq }) =>
      TE.tryCatch(async (): Promise<MemberAdded> => {
        const values = [room, user, at, readSeq ?? 0]
        if (maxMembers === undefined) {
          const { rowCount } = await pool.query(ADD_MEMBER, values)
          if (rowCount === 1) return 'added'
          return 'already'
        }
        // Separate statements, so the count is read after the lock is held (a statement's snapshot is taken
        // when it starts).
        return inTransaction(pool, async (client) => {
          await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [MEMBERS_LOCK_CLASS, room])
          const { rowCount } = await client.query(ADD_MEMBER_WITHIN, [...values, bindableLimit(maxMembers)])
          if (rowCount === 1) return 'added'
          return (await client.query(IS_MEMBER, [room, user])).rowCount === 0 ? 'full' : 'already'
        })
      }, toStoreError),
    addMembers: (members) =>
      TE.tryCatch(async () => {
        if (members.length === 0) return
        await pool.query({
          name: 'sala-add-members',
          text: ADD_MEMBERS,
          values: [members.map((m) => m.room), members.map((m) => m.user), members.map((m) => m.at), members.map((m) => m.readSeq)],
        })
      }, toStoreError),
    removeMember: (room, user) => TE.tryCatch(async () => ((await pool.query(REMOVE_MEMBER, [room, user])).rowCount ?? 0) > 0, toStoreError),
    members: (room) =>
      TE.tryCatch(async () => (await pool.query<{ user_id: string }>(MEMBERS, [room])).rows.map((row) => trusted(UserId, row.user_id)), toStoreError),
    memberships: (user, unreadCap) =>
      TE.tryCatch(async () => {
        const { rows } = await pool.query<MembershipRow>({ name: 'sala-memberships', text: MEMBERSHIPS, values: [bindableLimit(unreadCap), user] })
        return rows.map(membershipOf)
      }, toStoreError),
    markRead: (markers) =>
      TE.tryCatch(async () => {
        if (markers.length === 0) return
        await pool.query({
          name: 'sala-mark-read',
          text: MARK_READ,
          values: [markers.map((m) => m.user), markers.map((m) => m.room), markers.map((m) => m.seq)],
        })
      }, toStoreError),
  }
}

/**
 * Runs `body` in a transaction on a connection of its own, committed when it settles, rolled back when it
 * throws (and the error thrown on). A connection whose rollback failed is not given back to the pool.
 */
const inTransaction = async <A>(pool: pg.Pool, body: (client: pg.PoolClient) => Promise<A>): Promise<A> => {
  const client = await pool.connect()
  let broken = false
  try {
    await client.query('BEGIN')
    const answer = await body(client)
    await client.query('COMMIT')
    return answer
  } catch (error) {
    await client.query('ROLLBACK').catch(() => (broken = true))
    throw error
  } finally {
    client.release(broken)
  }
}

/** 23505 is unique_violation; `room_catalog_pkey` is the key on the room's id. */
const isTakenId = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && 'code' in error && error.code === '23505' && 'constraint' in error && error.constraint === 'room_catalog_pkey'

const takenOr = (error: unknown): RoomIdTaken | StoreError => (isTakenId(error) ? ROOM_ID_TAKEN : toStoreError(error))
