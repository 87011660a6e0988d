import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { open } from 'sqlite'
import sqlite3 from 'sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RoomId } from '../../src/core/brands.js'
import { trusted } from '../../src/core/codecs.js'
import { ATTACHMENT_HOLD_MS, orphanCutoffs } from '../../src/core/upload-budget.js'
import { UploadName } from '../../src/core/uploads.js'
import { openStores } from '../../src/adapters/open-store.js'
import { openDatabase, type SqliteDatabase } from '../../src/adapters/sqlite/database.js'
import { MIGRATIONS } from '../../src/adapters/sqlite/migrations.js'
import { sqliteUploadStore } from '../../src/adapters/sqlite/uploads.js'
import { user } from '../arbitraries.js'

// SQLite's own migrations, from files an older version wrote. What every engine must do with uploads and
// messages is the contract suite's (store-contract.test.ts).

const TTL_SECONDS = 60
const TTL_MS = TTL_SECONDS * 1000
const T0 = 1_700_000_000_000

let dir: string
const ana = user('ana')
const room = trusted(RoomId, 'sala-1')

const addUser = async (database: SqliteDatabase, u: typeof ana) =>
  database.run('INSERT INTO users (id, name, username, email, email_key, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
    u.id, u.name, u.username, `${u.username}@example.com`, `${u.username}@example.com`, 'x', 0,
  ])

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sala-migrations-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const right = async <A>(task: () => Promise<E.Either<unknown, A>>): Promise<A> => {
  const result = await task()
  if (E.isLeft(result)) throw new Error(`store failed: ${JSON.stringify(result.left)}`)
  return result.right
}

const newName = (): UploadName => trusted(UploadName, randomBytes(16).toString('base64url'))

describe('migration 6', () => {
  it('gives back to the sweep the files a check alone attached, and keeps those a stored message links to', async () => {
    const file = join(dir, 'old.db')
    const old = await open({ filename: file, driver: sqlite3.Database })
    for (const [index, sql] of MIGRATIONS.slice(0, 5).entries()) await old.exec(`BEGIN; ${sql}; PRAGMA user_version = ${index + 1}; COMMIT;`)
    await addUser(old, ana)
    const [claimedOnly, linked] = [newName(), newName()]
    for (const name of [claimedOnly, linked]) {
      await old.run('INSERT INTO uploads (name, owner_id, original_name, type, size, created_at, attached_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
        name, ana.id, 'f.txt', 'text/plain', 1, T0, T0 + 5,
      ])
    }
    await old.run('INSERT INTO messages (room, seq, user_id, text, sent_at, attachments) VALUES (?, ?, ?, ?, ?, ?)', [
      room, 1, ana.id, 'hi', T0 + 6, JSON.stringify([{ url: `/static/${linked}`, name: 'f.txt', type: 'text/plain', size: 1 }]),
    ])
    await old.close()

    const migrated = await openDatabase(file)
    try {
      const store = sqliteUploadStore(migrated)
      expect(await right(store.deleteOrphans(orphanCutoffs(T0 + TTL_MS + 10, TTL_SECONDS), 100))).toEqual([])
      expect(await right(store.deleteOrphans(orphanCutoffs(T0 + 5 + ATTACHMENT_HOLD_MS + 1, TTL_SECONDS), 100))).toEqual([claimedOnly])
      expect(await right(store.find(linked))).toBeDefined()
    } finally {
      await migrated.close()
    }
  })
})

describe('migration 7', () => {
  it('adds room_catalog and room_members to a file that has messages, whose unread counts then read them', async () => {
    const file = join(dir, 'before-rooms.db')
    const old = await open({ filename: file, driver: sqlite3.Database })
    for (const [index, sql] of MIGRATIONS.slice(0, 6).entries()) await old.exec(`BEGIN; ${sql}; PRAGMA user_version = ${index + 1}; COMMIT;`)
    await addUser(old, ana)
    for (const seq of [1, 2, 3]) await old.run('INSERT INTO messages (room, seq, user_id, text, sent_at) VALUES (?, ?, ?, ?, ?)', [room, seq, ana.id, 'hi', T0 + seq])
    await old.close()

    const migrated = await openStores({ engine: 'sqlite', file })
    if (E.isLeft(migrated)) throw new Error(JSON.stringify(migrated.left))
    const { stores, port } = migrated.right
    try {
      expect(await right(stores.rooms.all())).toEqual([])
      expect(await right(stores.rooms.addMember({ room, user: ana.id, at: T0, readSeq: 1 }))).toBe('added')
      expect(await right(stores.rooms.memberships(ana.id, 10))).toEqual([{ room, readSeq: 1, unread: 2 }])
    } finally {
      await port.close()
    }
    const check = await open({ filename: file, driver: sqlite3.Database })
    expect(await check.get('PRAGMA user_version')).toEqual({ user_version: MIGRATIONS.length })
    const schema = await check.all<Array<{ type: string; name: string; tbl_name: string }>>(
      `SELECT type, name, tbl_name FROM sqlite_schema WHERE tbl_name IN ('room_catalog', 'room_members') AND name NOT LIKE 'sqlite_autoindex%' ORDER BY type, name`,
    )
    expect(schema).toEqual([
      { type: 'index', name: 'room_catalog_by_owner', tbl_name: 'room_catalog' },
      { type: 'index', name: 'room_members_by_user', tbl_name: 'room_members' },
      { type: 'table', name: 'room_catalog', tbl_name: 'room_catalog' },
      { type: 'table', name: 'room_members', tbl_name: 'room_members' },
      { type: 'trigger', name: 'room_catalog_first_members', tbl_name: 'room_catalog' },
    ])
    await check.close()
  })
})
