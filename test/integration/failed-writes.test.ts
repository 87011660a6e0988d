import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { openDatabase, type SqliteDatabase } from '../../src/adapters/sqlite/database.js'
import { ChatClient, postJson, register, startTestServer, uniqueName, type TestServer } from './helpers.js'

// Every failed write leaves a log line with the store's error code and what was lost. The fault is
// injected from a second connection to the same database file: a trigger that aborts the write, as a
// full disk or a broken file would, while the server keeps running.

let server: TestServer
let saboteur: SqliteDatabase
beforeAll(async () => {
  server = await startTestServer({ MSG_RATE: '10000', MSG_BURST: '100000' })
  saboteur = await openDatabase(join(server.dataDir, 'sala.db'))
})
afterAll(async () => {
  await saboteur.close()
  await server.stop()
})
afterEach(async () => {
  for (const { name } of await saboteur.all<Array<{ name: string }>>("SELECT name FROM sqlite_master WHERE type = 'trigger'")) {
    await saboteur.exec(`DROP TRIGGER ${name}`)
  }
})

const INJECTED = 'injected: database or disk is full'
const breakWrites = (table: string, operation: 'INSERT' | 'UPDATE') =>
  saboteur.exec(`CREATE TRIGGER break_${table}_${operation.toLowerCase()} BEFORE ${operation} ON ${table} BEGIN SELECT RAISE(ABORT, '${INJECTED}'); END`)

const logEntries = (from: number) => server.logLines.slice(from).map((line) => JSON.parse(line) as Record<string, unknown>)
const failureLines = (from: number) => logEntries(from).filter((entry) => entry['level'] === 'error')
/** The store's code as a field of its own (on the error, or on the error behind the 500), not only inside a sentence. */
const mentionsCode = (entry: Record<string, unknown>) => JSON.stringify(entry).includes('"code":"SQLITE_CONSTRAINT"')

describe('failed writes are logged with their error code and what was lost', () => {
  it('messages: one line per failed batch with the code, the count, the rooms and the senders, never the text', async () => {
    const user = await register(server)
    const client = await ChatClient.connect(server, { token: user.token })
    await client.next('welcome')
    client.send({ type: 'join', room: 'sala-2' })
    await client.next('joined')
    await breakWrites('messages', 'INSERT')
    const from = server.logLines.length
    const count = 500
    for (let i = 0; i < count; i++) client.send({ type: 'message', text: `secret words ${i}`, clientId: `lost-${i}`, ref: `r${i}` })
    for (let i = 0; i < count; i++) await client.next('error', (f) => f.ref === `r${i}`, 10_000)
    const lines = logEntries(from).filter((entry) => entry['msg'] === 'messages not stored')
    expect(lines.length).toBeGreaterThan(0)
    for (const line of lines) {
      expect(line).toMatchObject({ level: 'error', code: 'SQLITE_CONSTRAINT', rooms: ['sala-2'], error: expect.stringContaining(INJECTED) })
      // Lost messages were never numbered (the store numbers what it keeps): the line names their senders.
      expect(line['users']).toEqual([expect.any(String)])
    }
    expect(lines.reduce((sum, line) => sum + Number(line['count']), 0)).toBe(count)
    expect(server.logLines.slice(from).join('\n')).not.toContain('secret words')
    client.close()
  })

  it('sign-up (users), login (sessions) and logout (revocation): the 500 is logged with the code', async () => {
    const existing = await register(server)

    await breakWrites('users', 'INSERT')
    let from = server.logLines.length
    const name = uniqueName()
    const signUp = await postJson(`${server.url}/auth/register`, { name: 'Nova', username: name, email: `${name}@example.com`, password: 'long enough pw' })
    expect(signUp.status).toBe(500)
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
  })
})
