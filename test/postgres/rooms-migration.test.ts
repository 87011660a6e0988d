import * as E from 'fp-ts/lib/Either.js'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeDatabaseFault } from '../../src/adapters/database.js'
import { openStores } from '../../src/adapters/open-store.js'
import { MIGRATIONS } from '../../src/adapters/postgres/migrations.js'
import { MessageText, RoomId } from '../../src/core/brands.js'
import { trusted } from '../../src/core/codecs.js'
import { user } from '../arbitraries.js'
import { createTestDatabase, postgresForTests, type TestDatabase } from './test-database.js'

// PostgreSQL's migration 2 (rooms people make): the message counters, called `rooms` until then, become
// `room_seqs` with what they held, so a room's numbering goes on where it was.

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

  it('keeps each room’s counter (renamed room_seqs) and adds the catalog and the memberships', async () => {
    const ana = user('ana')
    const room = trusted(RoomId, 'sala-1')
    const old = new pg.Client({ connectionString: database.url })
    await old.connect()
    try {
      // A database as version 1 left it: three messages, and a counter already at 7 (numbers a failed batch
      // or a skipped resend used).
      await old.query('CREATE TABLE sala_schema (id integer PRIMARY KEY CHECK (id = 1), version integer NOT NULL)')
      await old.query(MIGRATIONS[0]!)
      await old.query('INSERT INTO sala_schema (id, version) VALUES (1, 1)')
      await old.query('INSERT INTO users (id, name, username, email, email_key, password_hash, created_at) VALUES ($1, $2, $3, $4, $4, $5, $6)', [
        ana.id, ana.name, ana.username, 'ana@example.com', 'x', T0,
      ])
      for (const seq of [1, 2, 3]) await old.query('INSERT INTO messages (room, seq, user_id, text, sent_at) VALUES ($1, $2, $3, $4, $5)', [room, seq, ana.id, `m${seq}`, T0 + seq])
      await old.query('INSERT INTO rooms (id, last_seq) VALUES ($1, 7)', [room])
    } finally {
      await old.end()
    }

    const opened = await openStores({ engine: 'postgres', url: database.url, poolSize: 2, statementTimeoutMs: 10_000 })
    if (E.isLeft(opened)) throw new Error(describeDatabaseFault(opened.left))
    const { stores, port } = opened.right
    try {
      const stored = await stores.messages.insert([{ key: 1, room, user: ana, text: trusted(MessageText, 'after'), attachments: [], sentAt: T0 + 10 }])()
      expect(E.isRight(stored) && stored.right.stored.map((s) => s.seq)).toEqual([8])
      expect(await stores.rooms.all()()).toEqual(E.right([]))
      expect(await stores.rooms.addMember({ room, user: ana.id, at: T0, readSeq: 2 })()).toEqual(E.right('added'))
      expect(await stores.rooms.memberships(ana.id, 10)()).toEqual(E.right([{ room, readSeq: 2, unread: 2 }]))
    } finally {
      await port.close()
    }
    const check = new pg.Client({ connectionString: database.url })
    await check.connect()
    try {
      expect((await check.query('SELECT version FROM sala_schema')).rows).toEqual([{ version: MIGRATIONS.length }])
      expect((await check.query('SELECT id, last_seq::int FROM room_seqs')).rows).toEqual([{ id: 'sala-1', last_seq: 8 }])
    } finally {
      await check.end()
    }
  })
})
