import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ChatClient, postJson, register, startTestServer, uniqueName, type TestServer } from '../integration/helpers.js'
import { saboteurOf, type Saboteur } from './faults.js'
import { createTestDatabase, postgresForTests, type TestDatabase } from './test-database.js'

// test/integration/failed-writes.test.ts on PostgreSQL: every failed write leaves a log line with the
// SQLSTATE and what was lost. The fault comes from a second connection to the server's database: a trigger
// that raises, as a constraint, a full disk or a broken table would, while the server keeps running.
const postgres = await postgresForTests()

const INJECTED = 'injected: could not write the row'
/** raise_exception: what a RAISE without its own code fails with; the store knows nothing of it, so it is `failed`. */
const CODE = 'P0001'

describe.skipIf(!postgres.available)('failed writes on PostgreSQL are logged with their SQLSTATE and what was lost', () => {
  let database: TestDatabase
  let server: TestServer
  let saboteur: Saboteur
  beforeAll(async () => {
    database = await createTestDatabase()
    server = await startTestServer({ DATABASE_URL: database.url, MSG_RATE: '10000', MSG_BURST: '100000' })
    saboteur = await saboteurOf(database)
  })
  afterAll(async () => {
    await saboteur?.close()
    await server?.stop()
    await database?.drop()
  })
  afterEach(async () => {
    await saboteur.repairAll()
  })

  const breakWrites = (table: string, operation: 'INSERT' | 'UPDATE') => saboteur.breakWrites(table, operation, { message: INJECTED, code: CODE })
  const logEntries = (from: number) => server.logLines.slice(from).map((line) => JSON.parse(line) as Record<string, unknown>)
  const failureLines = (from: number) => logEntries(from).filter((entry) => entry['level'] === 'error')
  /** The SQLSTATE as a field of its own (on the error, or on the error behind the 500), not only inside a sentence. */
  const mentionsCode = (entry: Record<string, unknown>) => JSON.stringify(entry).includes(`"code":"${CODE}"`)
  const count = async (table: string) => Number((await saboteur.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]?.n)

  it('messages: every message of a burst is answered with an error; one line per failed batch with the code, the count, the rooms and the senders, never the text; stored again once the fault is gone', async () => {
    const user = await register(server)
    const client = await ChatClient.connect(server, { token: user.token })
    await client.next('welcome')
    client.send({ type: 'join', room: 'sala-2' })
    await client.next('joined')
    await breakWrites('messages', 'INSERT')
    const from = server.logLines.length
    const total = 500
    for (let i = 0; i < total; i++) client.send({ type: 'message', text: `secret words ${i}`, clientId: `lost-${i}`, ref: `r${i}` })
    for (let i = 0; i < total; i++) {
      const error = await client.next('error', (f) => f.ref === `r${i}`, 10_000)
      expect(error).toMatchObject({ code: 'internal_error', room: 'sala-2' })
    }
    expect(client.pending('ack')).toEqual([])
    const lines = logEntries(from).filter((entry) => entry['msg'] === 'messages not stored')
    expect(lines.length).toBeGreaterThan(0)
    for (const line of lines) {
      expect(line).toMatchObject({ level: 'error', condition: 'failed', code: CODE, rooms: ['sala-2'], error: expect.stringContaining(INJECTED) })
      // Lost messages were never numbered (the database numbers what it keeps): the line names their senders.
      expect(line['users']).toEqual([expect.any(String)])
    }
    expect(lines.reduce((sum, line) => sum + Number(line['count']), 0)).toBe(total)
    expect(server.logLines.slice(from).join('\n')).not.toContain('secret words')
    // The failed statement took nothing with it: no row, and the room's counter did not move.
    expect(await count('messages')).toBe(0)
    expect(await saboteur.query('SELECT last_seq FROM rooms WHERE id = $1 AND last_seq > 0', ['sala-2']).then((r) => r.rows)).toEqual([])

    await saboteur.repairAll()
    // The same clientIds, resent, are stored now, numbered from 1 as if nothing had been lost.
    for (const i of [0, 1, 2]) client.send({ type: 'message', text: `secret words ${i}`, clientId: `lost-${i}`, ref: `again${i}` })
    const acks = [await client.next('ack', (f) => f.ref === 'again0'), await client.next('ack', (f) => f.ref === 'again1'), await client.next('ack', (f) => f.ref === 'again2')]
    expect(acks.map((ack) => ack.room)).toEqual(['sala-2', 'sala-2', 'sala-2'])
    expect(await count('messages')).toBe(3)
    expect(client.closed).toBeUndefined()
    expect(client.invalid).toEqual([])
    client.close()
  })

  it('sign-up (users), login (sessions) and logout (revocation): the 500 is logged with the code, and each works again once the fault is gone', async () => {
    const existing = await register(server)

    await breakWrites('users', 'INSERT')
    let from = server.logLines.length
    const name = uniqueName()
    const signUp = await postJson(`${server.url}/auth/register`, { name: 'Nova', username: name, email: `${name}@example.com`, password: 'long enough pw' })
    expect(signUp.status).toBe(500)
    expect(((await signUp.json()) as { error: { code: string } }).error.code).toBe('internal_error')
    expect(failureLines(from).filter(mentionsCode), JSON.stringify(logEntries(from))).toHaveLength(1)

    await breakWrites('sessions', 'INSERT')
    from = server.logLines.length
    const login = await postJson(`${server.url}/auth/login`, { username: existing.username, password: existing.password })
    expect(login.status).toBe(500)
    expect(failureLines(from).filter(mentionsCode), JSON.stringify(logEntries(from))).toHaveLength(1)

    await breakWrites('sessions', 'UPDATE')
    from = server.logLines.length
    const logout = await fetch(`${server.url}/auth/logout`, { method: 'POST', headers: { Authorization: `Bearer ${existing.token}` } })
    expect(logout.status).toBe(500)
    expect(failureLines(from).filter(mentionsCode), JSON.stringify(logEntries(from))).toHaveLength(1)
    // The logout that failed did not pretend: the session still works.
    expect((await fetch(`${server.url}/auth/me`, { headers: { Authorization: `Bearer ${existing.token}` } })).status).toBe(200)

    await saboteur.repairAll()
    const again = await postJson(`${server.url}/auth/register`, { name: 'Nova', username: name, email: `${name}@example.com`, password: 'long enough pw' })
    expect(again.status).toBe(201)
    expect((await postJson(`${server.url}/auth/login`, { username: existing.username, password: existing.password })).status).toBe(200)
    expect((await fetch(`${server.url}/auth/logout`, { method: 'POST', headers: { Authorization: `Bearer ${existing.token}` } })).status).toBe(204)
    expect((await fetch(`${server.url}/auth/me`, { headers: { Authorization: `Bearer ${existing.token}` } })).status).toBe(401)
  })

  it('uploads: a registration that fails is logged with the code, and the file is not kept', async () => {
    const user = await register(server)
    const filesBefore = await readdir(join(server.dataDir, 'uploads'))
    await breakWrites('uploads', 'INSERT')
    const from = server.logLines.length
    const form = new FormData()
    form.append('files', new Blob(['hello']), 'hello.txt')
    const response = await fetch(`${server.url}/uploads`, { method: 'POST', headers: { Authorization: `Bearer ${user.token}` }, body: form })
    expect(response.status).toBe(500)
    const lines = failureLines(from).filter(mentionsCode)
    expect(lines.length, JSON.stringify(logEntries(from))).toBeGreaterThanOrEqual(1)
    expect(lines.some((line) => line['msg'] === 'upload registration failed')).toBe(true)
    expect(await readdir(join(server.dataDir, 'uploads'))).toEqual(filesBefore)
    expect(await count('uploads')).toBe(0)

    await saboteur.repairAll()
    const retry = new FormData()
    retry.append('files', new Blob(['hello']), 'hello.txt')
    expect((await fetch(`${server.url}/uploads`, { method: 'POST', headers: { Authorization: `Bearer ${user.token}` }, body: retry })).status).toBe(201)
    expect(await count('uploads')).toBe(1)
  })
})
