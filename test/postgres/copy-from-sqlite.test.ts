import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { open } from 'sqlite'
import sqlite3 from 'sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStores, type OpenedStores } from '../../src/adapters/open-store.js'
import { copySqliteToPostgres, describeCopyProblem } from '../../src/adapters/postgres/copy-from-sqlite.js'
import { openDatabase } from '../../src/adapters/sqlite/database.js'
import { RoomId, SessionId, UserId } from '../../src/core/brands.js'
import { trusted } from '../../src/core/codecs.js'
import { UploadName } from '../../src/core/uploads.js'
import { createTestDatabase, postgresForTests, type TestDatabase } from './test-database.js'

const postgres = await postgresForTests()

const T0 = 1_700_000_000_000
const ROOMS = ['sala-1', 'sala-2', 'sala-3']
const USERS = 12
const MESSAGES = 3000
const uploadName = (i: number) => `upload${String(i).padStart(16, '0')}`

/**
 * A SQLite file as a server leaves it: users, sessions (one revoked), messages in three rooms, uploads, rooms
 * people made (one private and archived), a conversation, memberships with read markers.
 */
const populate = async (file: string): Promise<void> => {
  const db = await openDatabase(file)
  await db.exec('BEGIN')
  for (let u = 0; u < USERS; u++) {
    await db.run('INSERT INTO users (id, name, username, email, email_key, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
      `id-${u}`, `Person ${u} ✓`, `user${u}`, `User${u}@Example.com`, `user${u}@example.com`, `hash-${u}`, T0 + u,
    ])
    await db.run('INSERT INTO sessions (id, user_id, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?)', [
      `session-${String(u).padStart(16, '0')}`, `id-${u}`, T0, T0 + 86_400_000, u === 0 ? T0 + 5 : null,
    ])
  }
  for (let i = 0; i < 6; i++) {
    await db.run('INSERT INTO uploads (name, owner_id, original_name, type, size, created_at) VALUES (?, ?, ?, ?, ?, ?)', [
      uploadName(i), 'id-1', `photo ${i}.png`, 'image/png', 1000 + i, T0,
    ])
  }
  for (let i = 0; i < MESSAGES; i++) {
    const room = ROOMS[i % ROOMS.length] ?? 'sala-1'
    const seq = Math.floor(i / ROOMS.length) + 1
    // Messages of user 1 link uploads 0-2 (the trigger attaches them); 3-5 stay orphans.
    const attachments = i < 3 ? JSON.stringify([{ url: `/static/${uploadName(i)}`, name: `photo ${i}.png`, type: 'image/png', size: 1000 + i }]) : null
    await db.run('INSERT INTO messages (room, seq, user_id, text, client_id, sent_at, attachments) VALUES (?, ?, ?, ?, ?, ?, ?)', [
      room, seq, i < 3 ? 'id-1' : `id-${i % USERS}`, i < 3 ? '' : `message ${i} — "quoted", \\back\\slash, {braces}`, i % 2 === 0 ? `c-${i}` : null, T0 + i, attachments,
    ])
  }
  await db.exec('COMMIT')
  await db.close()
  const { stores, port } = await opened(openStores({ engine: 'sqlite', file }))
  try {
    const owner = (u: number) => trusted(UserId, `id-${u}`)
    await right(stores.rooms.create({ id: trusted(RoomId, 'r-public'), kind: 'public', name: 'Café ☕', topic: 'beans, "quoted"', ownerId: owner(0), createdAt: T0 }))
    await right(stores.rooms.create({ id: trusted(RoomId, 'r-private'), kind: 'private', name: 'Quiet', topic: null, ownerId: owner(1), createdAt: T0 + 1 }))
    await right(stores.rooms.archive(trusted(RoomId, 'r-private'), T0 + 2))
    await right(stores.rooms.direct(owner(3), owner(2), trusted(RoomId, 'dm-pair'), T0 + 3))
    for (const u of [4, 5, 6, 7]) await right(stores.rooms.addMember({ room: trusted(RoomId, 'r-public'), user: owner(u), at: T0 + u, readSeq: u }))
    for (const u of [8, 9]) await right(stores.rooms.addMember({ room: trusted(RoomId, 'sala-1'), user: owner(u), at: T0 + u }))
    await right(stores.rooms.markRead([{ user: owner(8), room: trusted(RoomId, 'sala-1'), seq: 500 }]))
  } finally {
    await port.close()
  }
}
const ROOMS_MADE = 3
const MEMBERSHIPS = 10

const opened = async (result: Promise<E.Either<unknown, OpenedStores>>): Promise<OpenedStores> => {
  const either = await result
  if (E.isLeft(either)) throw new Error(JSON.stringify(either.left))
  return either.right
}

const right = async <A>(task: () => Promise<E.Either<unknown, A>>): Promise<A> => {
  const result = await task()
  if (E.isLeft(result)) throw new Error(String(result.left))
  return result.right
}

describe.skipIf(!postgres.available)('copying a SQLite database into PostgreSQL', () => {
  let dir: string
  let file: string
  let target: TestDatabase
  const at = () => ({ url: target.url, poolSize: 2, statementTimeoutMs: 10_000 })
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sala-copy-'))
    file = join(dir, 'sala.db')
    await populate(file)
    target = await createTestDatabase()
  })
  afterAll(async () => {
    await target?.drop()
    await rm(dir, { recursive: true, force: true })
  })

  it('copies every row, checks the counts, and the PostgreSQL stores then read what the SQLite ones did', { timeout: 60_000 }, async () => {
    const copied = await copySqliteToPostgres(file, at())
    expect(copied).toEqual(E.right({ users: USERS, sessions: USERS, messages: MESSAGES, uploads: 6, room_catalog: ROOMS_MADE, room_members: MEMBERSHIPS }))

    const before = await opened(openStores({ engine: 'sqlite', file }))
    const after = await opened(openStores({ engine: 'postgres', ...at() }))
    try {
      for (const room of ROOMS.map((r) => trusted(RoomId, r))) {
        expect(await right(after.stores.messages.page(room, Infinity, 100_000))).toEqual(await right(before.stores.messages.page(room, Infinity, 100_000)))
        expect(await right(after.stores.messages.roomHistory(room, 50))).toEqual(await right(before.stores.messages.roomHistory(room, 50)))
      }
      for (let u = 0; u < USERS; u++) {
        expect(await right(after.stores.users.findByLogin(`USER${u}`))).toEqual(await right(before.stores.users.findByLogin(`USER${u}`)))
        expect(await right(after.stores.users.findById(trusted(UserId, `id-${u}`)))).toEqual(await right(before.stores.users.findById(trusted(UserId, `id-${u}`))))
        const session = trusted(SessionId, `session-${String(u).padStart(16, '0')}`)
        expect(await right(after.stores.sessions.find(session))).toEqual(await right(before.stores.sessions.find(session)))
      }
      expect(await right(after.stores.uploads.storedBytes('id-1'))).toBe(await right(before.stores.uploads.storedBytes('id-1')))
      // Rooms, conversations, memberships and markers (unread counted against the copied messages) as they were.
      expect(await right(after.stores.rooms.all())).toEqual(await right(before.stores.rooms.all()))
      expect(await right(after.stores.rooms.all())).toHaveLength(ROOMS_MADE)
      for (let u = 0; u < USERS; u++) {
        const id = trusted(UserId, `id-${u}`)
        expect(await right(after.stores.rooms.memberships(id, 9999))).toEqual(await right(before.stores.rooms.memberships(id, 9999)))
      }
      expect(await right(after.stores.rooms.memberships(trusted(UserId, 'id-8'), 9999))).toEqual([{ room: 'sala-1', readSeq: 500, unread: 500 }])
      for (const room of ['r-public', 'r-private', 'dm-pair', 'sala-1'].map((r) => trusted(RoomId, r))) {
        expect(await right(after.stores.rooms.members(room))).toEqual(await right(before.stores.rooms.members(room)))
      }
      // The conversation's key came along: the pair asking again finds it.
      expect(await right(after.stores.rooms.direct(trusted(UserId, 'id-2'), trusted(UserId, 'id-3'), trusted(RoomId, 'dm-other'), T0))).toMatchObject({
        room: { id: 'dm-pair' },
        created: false,
      })
      // Attached uploads stay attached; orphans stay orphans for the sweep.
      const sweep = { madeBefore: T0 + 1, heldBefore: T0 + 1 }
      expect(new Set(await right(after.stores.uploads.deleteOrphans(sweep, 100)))).toEqual(new Set([3, 4, 5].map((i) => trusted(UploadName, uploadName(i)))))
      // The taken keys came along: a username in another case is still taken.
      expect(await right(after.stores.users.findTaken('USER3', 'someone@example.com'))).toEqual({ type: 'username_taken' })
    } finally {
      await before.port.close()
      await after.port.close()
    }
  })

  it('refuses to copy into a database that holds data, unless told to replace it', { timeout: 60_000 }, async () => {
    const again = await copySqliteToPostgres(file, at())
    expect(again).toMatchObject(E.left({ kind: 'not_empty', found: { users: USERS, messages: MESSAGES } }))
    if (E.isLeft(again)) expect(describeCopyProblem(again.left)).toMatch(/already holds data.*--replace/)
    expect(await copySqliteToPostgres(file, at(), { replace: true })).toEqual(
      E.right({ users: USERS, sessions: USERS, messages: MESSAGES, uploads: 6, room_catalog: ROOMS_MADE, room_members: MEMBERSHIPS }),
    )
  })

  it('refuses a source that is not a Sala database (an empty file, another program’s SQLite file), even with replace: neither side is written', { timeout: 60_000 }, async () => {
    expect(await copySqliteToPostgres(file, at(), { replace: true })).toMatchObject(E.right({ messages: MESSAGES }))
    const empty = join(dir, 'empty.db')
    await writeFile(empty, '')
    const foreign = join(dir, 'foreign.db')
    const other = await open({ filename: foreign, driver: sqlite3.Database })
    await other.exec("CREATE TABLE users (login TEXT); INSERT INTO users VALUES ('someone')")
    await other.close()
    for (const source of [empty, foreign]) {
      const before = await readFile(source)
      const refused = await copySqliteToPostgres(source, at(), { replace: true })
      expect(refused, source).toEqual(E.left({ kind: 'not_sala' }))
      if (E.isLeft(refused)) expect(describeCopyProblem(refused.left)).toMatch(/not a Sala database.*check --from/)
      expect(await readFile(source), `${source} was written`).toEqual(before)
    }
    // The target kept what the real copy put there.
    const stores = await opened(openStores({ engine: 'postgres', ...at() }))
    try {
      expect(await right(stores.stores.messages.page(trusted(RoomId, 'sala-1'), Infinity, 100_000))).toHaveLength(MESSAGES / ROOMS.length)
    } finally {
      await stores.port.close()
    }
  })

  it('answers a problem, never a rejection, for a missing source or an unreachable target', async () => {
    const missing = await copySqliteToPostgres(join(dir, 'nothing-here', 'sala.db'), at())
    expect(missing).toMatchObject(E.left({ kind: 'source' }))
    const nowhere = await copySqliteToPostgres(file, { url: 'postgres://postgres@127.0.0.1:1/sala', poolSize: 1, statementTimeoutMs: 1000 })
    expect(nowhere).toMatchObject(E.left({ kind: 'target', fault: { kind: 'cannot_open' } }))
  })
})
