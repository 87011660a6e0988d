import * as E from 'fp-ts/lib/Either.js'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeDatabaseFault } from '../../src/adapters/database.js'
import { openStores } from '../../src/adapters/open-store.js'
import { postgresMessageStore } from '../../src/adapters/postgres/messages.js'
import { MIGRATIONS } from '../../src/adapters/postgres/migrations.js'
import { MessageText, RoomId } from '../../src/core/brands.js'
import { trusted } from '../../src/core/codecs.js'
import { user } from '../arbitraries.js'
import { createTestDatabase, postgresForTests, type TestDatabase } from './test-database.js'

// PostgreSQL's migration 2 (rooms people make) only adds tables: `room_catalog` and `room_members`. The
// message counters keep their table, `rooms`, as version 1 made it, because during a rolling upgrade the
// processes of the previous version go on storing messages, each insert raising a counter in `rooms`, after
// the first new process has migrated the database.

const postgres = await postgresForTests()

const T0 = 1_700_000_000_000

describe.skipIf(!postgres.available)('PostgreSQL migration 2', () => {
  let database: TestDatabase
  beforeAll(async () => {
    database = await createTestDatabase()
  })
  afterAll(async () => {
    await database?.drop()
  })

  it('leaves the counters in `rooms` untouched, so a process of version 1 still stores messages, and adds room_catalog and room_members', async () => {
    const ana = user('ana')
    const room = trusted(RoomId, 'sala-1')
    const message = (text: string, at: number) => ({ key: 1, room, user: ana, text: trusted(MessageText, text), attachments: [], sentAt: at })
    const check = new pg.Client({ connectionString: database.url })
    await check.connect()
    // A process of version 1, still running: its message insert is the one in messages.ts (unchanged since
    // version 1; it writes `rooms`), on a pool of its own that it opened before the migration.
    const oldPool = new pg.Pool({ connectionString: database.url, max: 1 })
    // Dropping the database at the end terminates whatever of its connections is still closing (57P01): an
    // idle client's error then, not the test's, and without a listener it would be an unhandled error.
    oldPool.on('error', () => undefined)
    check.on('error', () => undefined)
    try {
      // A database as version 1 left it: three messages, and a counter already at 7 (numbers a failed batch
      // or a skipped resend used).
      await check.query('CREATE TABLE sala_schema (id integer PRIMARY KEY CHECK (id = 1), version integer NOT NULL)')
      await check.query(MIGRATIONS[0]!)
      await check.query('INSERT INTO sala_schema (id, version) VALUES (1, 1)')
      await check.query('INSERT INTO users (id, name, username, email, email_key, password_hash, created_at) VALUES ($1, $2, $3, $4, $4, $5, $6)', [
        ana.id, ana.name, ana.username, 'ana@example.com', 'x', T0,
      ])
      for (const seq of [1, 2, 3]) await check.query('INSERT INTO messages (room, seq, user_id, text, sent_at) VALUES ($1, $2, $3, $4, $5)', [room, seq, ana.id, `m${seq}`, T0 + seq])
      await check.query('INSERT INTO rooms (id, last_seq) VALUES ($1, 7)', [room])
      const counters = async () => (await check.query('SELECT id, last_seq::int FROM rooms')).rows
      const countersShape = async () =>
        (await check.query(`SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = 'rooms' ORDER BY ordinal_position`)).rows
      const shapeBefore = await countersShape()
      expect(shapeBefore.map((column) => column.column_name)).toEqual(['id', 'last_seq'])

      const oldMessages = postgresMessageStore(oldPool)
      const seqs = async (result: Promise<E.Either<unknown, { stored: ReadonlyArray<{ seq: number }> }>>) => {
        const either = await result
        if (E.isLeft(either)) throw new Error(`the insert failed: ${JSON.stringify(either.left)}`)
        return either.right.stored.map((s) => s.seq)
      }
      expect(await seqs(oldMessages.insert([message('old, before', T0 + 8)])())).toEqual([8])

      // A process of the new version starts: it migrates the database.
      const opened = await openStores({ engine: 'postgres', url: database.url, poolSize: 2, statementTimeoutMs: 10_000 })
      if (E.isLeft(opened)) throw new Error(describeDatabaseFault(opened.left))
      const { stores, port } = opened.right
      try {
        expect((await check.query('SELECT version FROM sala_schema')).rows).toEqual([{ version: MIGRATIONS.length }])
        expect(await counters()).toEqual([{ id: 'sala-1', last_seq: 8 }])
        expect(await countersShape()).toEqual(shapeBefore)

        // Both versions store messages side by side and number them from the one counter.
        expect(await seqs(oldMessages.insert([message('old, after', T0 + 9)])())).toEqual([9])
        expect(await seqs(stores.messages.insert([message('new', T0 + 10)])())).toEqual([10])
        expect(await seqs(oldMessages.insert([message('old, again', T0 + 11)])())).toEqual([11])
        expect(await counters()).toEqual([{ id: 'sala-1', last_seq: 11 }])

        // The new tables, with their keys and indexes under their own names.
        const tables = await check.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`)
        expect(tables.rows.map((row) => row.tablename)).toEqual(['messages', 'readiness_probe', 'room_catalog', 'room_members', 'rooms', 'sala_schema', 'sessions', 'uploads', 'users'])
        const indexes = await check.query(`SELECT indexname FROM pg_indexes WHERE tablename IN ('rooms', 'room_catalog', 'room_members') ORDER BY indexname`)
        expect(indexes.rows.map((row) => row.indexname)).toEqual([
          'room_catalog_by_owner',
          'room_catalog_dm_key_unique',
          'room_catalog_pkey',
          'room_members_by_user',
          'room_members_pkey',
          'rooms_pkey',
        ])
        expect(await stores.rooms.all()()).toEqual(E.right([]))
        expect(await stores.rooms.addMember({ room, user: ana.id, at: T0, readSeq: 2 })()).toEqual(E.right('added'))
        expect(await stores.rooms.memberships(ana.id, 100)()).toEqual(E.right([{ room, readSeq: 2, unread: 5 }]))
      } finally {
        await port.close()
      }
    } finally {
      await oldPool.end()
      await check.end()
    }
  })
})
