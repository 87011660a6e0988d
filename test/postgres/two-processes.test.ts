import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ChatClient, register, startTestServer, type TestServer } from '../integration/helpers.js'
import { createTestDatabase, postgresForTests, type TestDatabase } from './test-database.js'
import { redisForTests } from '../redis/test-redis.js'
import { sharedChat, type SharedChat } from '../cluster/shared-chat.js'

// Two Sala servers on one PostgreSQL database, started together (their migrations race for the advisory
// lock) and writing one room at once: the database, not either process, numbers the messages.
// Processes share a database only when they share the chat (REDIS_URL); a second one without is refused.
const postgres = await postgresForTests()
const redis = await redisForTests()

describe.skipIf(!postgres.available)('a second server without REDIS_URL on one PostgreSQL database', () => {
  it('is refused at start with one line saying to set REDIS_URL, and the first serves on', { timeout: 60_000 }, async () => {
    const database = await createTestDatabase()
    const env = { DATABASE_URL: database.url, SESSION_SECRET: 'a shared secret of at least 32 characters!' }
    const first = await startTestServer(env)
    try {
      const refused = await startTestServer(env).then(
        async (server) => {
          await server.stop()
          return undefined
        },
        (error: unknown) => String(error),
      )
      expect(refused).toMatch(/another Sala process uses this database without REDIS_URL/)
      expect((await register(first)).token).toEqual(expect.any(String))
    } finally {
      await first.stop()
      await database.drop()
    }
  })
})

describe.skipIf(!postgres.available || !redis.available)('two servers sharing one PostgreSQL database', () => {
  let chat: SharedChat | undefined
  let database: TestDatabase
  let servers: TestServer[] = []
  beforeAll(async () => {
    // One key for both (sharedChat), as production requires with DATABASE_URL: otherwise each signs with its own.
    chat = await sharedChat({ MSG_RATE: '10000', MSG_BURST: '10000' })
    database = chat.database
    servers = await Promise.all([chat.start(), chat.start()])
  }, 60_000)
  afterAll(async () => {
    await chat?.stop()
  })

  it('share accounts, and number the messages both write into one room without a collision, each acked once', { timeout: 60_000 }, async () => {
    const [one, two] = servers as [TestServer, TestServer]
    const ana = await register(one)
    const bia = await register(two)
    // Signed up on one server, the account is the other's too: the token works on both.
    const clients = await Promise.all([ChatClient.connect(one, { token: ana.token }), ChatClient.connect(two, { token: bia.token }), ChatClient.connect(two, { token: ana.token })])
    for (const [i, client] of clients.entries()) {
      client.send({ type: 'join', room: 'sala-1', ref: `j${i}` })
      await client.next('joined', (f) => f.ref === `j${i}`)
    }
    const perClient = 200
    for (let n = 0; n < perClient; n++) {
      for (const [i, client] of clients.entries()) client.send({ type: 'message', text: `c${i} m${n}`, clientId: `c${i}-${n}`, ref: `c${i}-${n}` })
    }
    const ids: string[] = []
    for (const [i, client] of clients.entries()) {
      for (let n = 0; n < perClient; n++) ids.push((await client.next('ack', (f) => f.ref === `c${i}-${n}`, 20_000)).id)
    }
    expect(new Set(ids).size).toBe(ids.length)

    const direct = new pg.Client({ connectionString: database.url })
    await direct.connect()
    try {
      const { rows } = await direct.query<{ seq: string; text: string }>("SELECT seq, text FROM messages WHERE room = 'sala-1' ORDER BY seq")
      expect(rows).toHaveLength(clients.length * perClient)
      // What each server acknowledged is what the database numbered (an id is the room's seq, padded).
      expect(ids.map(Number).sort((a, b) => a - b)).toEqual(rows.map((row) => Number(row.seq)))
      // Each sender's messages were stored in the order it sent them, interleaved with the others'.
      for (const i of clients.keys()) {
        const mine = rows.filter((row) => row.text.startsWith(`c${i} `)).map((row) => row.text)
        expect(mine).toEqual(Array.from({ length: perClient }, (_, n) => `c${i} m${n}`))
      }
      const { rows: schema } = await direct.query<{ version: number }>('SELECT version FROM sala_schema')
      expect(schema).toHaveLength(1)
    } finally {
      await direct.end()
    }
    for (const client of clients) {
      expect(client.invalid).toEqual([])
      client.close()
    }
  })
})
