import { execFileSync } from 'node:child_process'
import { readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import pg from 'pg'
import WebSocket from 'ws'
import { afterEach, describe, expect, it } from 'vitest'
import { fillDisk, mountTmpfs } from '../integration/disks.js'
import { ChatClient, postJson, register, startTestServer, uniqueName, waitFor, type Registered, type TestServer } from '../integration/helpers.js'
import { BOUNDARY, multipartOf } from '../integration/upload-client.js'
import { createOwnedDatabase, saboteurOf, startRelay, type Saboteur } from './faults.js'
import { privatePostgresAvailable, startPrivatePostgres } from './private-postgres.js'
import { createTestDatabase, postgresForTests, type TestDatabase } from './test-database.js'

// test/integration/storage-failures.test.ts on PostgreSQL: a store that fails says why, over HTTP, in one
// way on every route. A lock another connection holds past the statement timeout (57014), a database that
// refuses connections (53300) or ends them (57P01, a lost connection) is 503 `storage_busy` with
// Retry-After; no room (53100) is 507 `storage_full`; a read-only database (25006) is 500 `storage_failed`.
// The WebSocket upgrade, which looks the session up too, answers as the routes do. Each failure is logged
// with its SQLSTATE.
const postgres = await postgresForTests()
const binaries = privatePostgresAvailable('the PostgreSQL full-disk test')

/** Low, so that a write behind a lock gives up within the test's patience; the stores' default is 10 s. */
const STATEMENT_TIMEOUT_MS = 500

interface Answer {
  readonly status: number
  readonly retryAfter: string | null
  readonly error: { readonly code: string; readonly message: string } | undefined
}

const answerOf = async (response: Response): Promise<Answer> => {
  const text = await response.text()
  const body = text === '' ? {} : (JSON.parse(text) as { error?: Answer['error'] })
  return { status: response.status, retryAfter: response.headers.get('retry-after'), error: body.error }
}

const signUp = (server: TestServer) => {
  const name = uniqueName('nova')
  return postJson(`${server.url}/auth/register`, { name: 'Nova', username: name, email: `${name}@example.com`, password: 'long enough pw' }).then(answerOf)
}
const login = (server: TestServer, user: Registered) => postJson(`${server.url}/auth/login`, { username: user.username, password: user.password }).then(answerOf)
const logout = (server: TestServer, user: Registered) =>
  fetch(`${server.url}/auth/logout`, { method: 'POST', headers: { Authorization: `Bearer ${user.token}` } }).then(answerOf)
const upload = (server: TestServer, user: Registered) =>
  fetch(`${server.url}/uploads`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${user.token}`, 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}` },
    body: multipartOf([{ filename: 'f.txt', data: Buffer.alloc(100, 1) }]),
  }).then(answerOf)
const me = (server: TestServer, user: Registered) => fetch(`${server.url}/auth/me`, { headers: { Authorization: `Bearer ${user.token}` } })
/** The WebSocket upgrade with a Bearer token, as an Answer: a refused upgrade is an HTTP response like any other. */
const upgrade = (server: TestServer, user: Registered): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const socket = new WebSocket(server.wsUrl, { headers: { Authorization: `Bearer ${user.token}` } })
    socket.once('open', () => {
      socket.close()
      resolve({ status: 101, retryAfter: null, error: undefined })
    })
    socket.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: Answer['error'] }
        const retryAfter = res.headers['retry-after']
        resolve({ status: res.statusCode ?? 0, retryAfter: typeof retryAfter === 'string' ? retryAfter : null, error: body.error })
      })
    })
    socket.once('error', reject)
  })

/** Log lines from `from` on that name `code` as an error's code. */
const loggedWithCode = (server: TestServer, from: number, code: string) => server.logLines.slice(from).filter((line) => line.includes(`"code":"${code}"`))

const uploadedFiles = async (server: TestServer) => (await readdir(join(server.dataDir, 'uploads'))).filter((name) => !name.startsWith('.'))

const expectAnswer = (answer: Answer, status: number, code: string) => {
  expect(answer).toMatchObject({ status, error: { code } })
  // The client hears what failed, never the engine's message or where the database is.
  expect(answer.error?.message).not.toMatch(/\/|sala_test|postgres/i)
}

const expectBusy = (answer: Answer) => {
  expectAnswer(answer, 503, 'storage_busy')
  expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1)
}

const cleanups: Array<() => Promise<unknown> | unknown> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

interface Served {
  readonly server: TestServer
  readonly saboteur: Saboteur
  readonly database: TestDatabase
}

/** A server on a database of its own (as `database`'s owner role when given one), and a second connection to it. */
const serve = async (env: Record<string, string> = {}, made?: TestDatabase & { readonly roleUrl?: string }, via: (url: string) => string = (url) => url): Promise<Served> => {
  const database = made ?? (await createTestDatabase())
  cleanups.push(() => database.drop())
  const server = await startTestServer({ DATABASE_URL: via(made?.roleUrl ?? database.url), DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS), ...env })
  cleanups.push(() => server.stop())
  const saboteur = await saboteurOf(database)
  cleanups.push(() => saboteur.close())
  return { server, saboteur, database }
}

/** After a fault is gone: each route works, and the logout really ends the session. */
const expectEverythingWorks = async (server: TestServer, [ana, bia, caio]: ReadonlyArray<Registered>) => {
  if (ana === undefined || bia === undefined || caio === undefined) throw new Error('three users')
  expect((await signUp(server)).status).toBe(201)
  expect((await login(server, ana)).status).toBe(200)
  expect((await logout(server, bia)).status).toBe(204)
  expect((await me(server, bia)).status).toBe(401)
  expect((await upload(server, caio)).status).toBe(201)
}

describe.skipIf(!postgres.available)('a PostgreSQL store that fails answers what failed', () => {
  it('tables locked against writes by another connection: sign-up, login, logout and upload answer 503 storage_busy with Retry-After once the statement timeout passes, and work once it lets go', async () => {
    const { server, saboteur } = await serve()
    const users = [await register(server), await register(server), await register(server)] as const
    const [ana, bia, caio] = users
    // EXCLUSIVE takes no reads from anyone: the session checks pass, and the writes wait.
    const lock = await saboteur.lock(['users', 'sessions', 'uploads'], 'EXCLUSIVE')
    cleanups.push(lock.release)
    const from = server.logLines.length
    const started = Date.now()
    const answers = await Promise.all([signUp(server), login(server, ana), logout(server, bia), upload(server, caio)])
    for (const answer of answers) expectBusy(answer)
    // Each waited out the statement timeout (500 ms), not the pool's connect wait or a test timeout.
    expect(Date.now() - started).toBeGreaterThanOrEqual(STATEMENT_TIMEOUT_MS)
    expect(loggedWithCode(server, from, '57014').length).toBeGreaterThanOrEqual(answers.length)
    expect(await uploadedFiles(server)).toEqual([])
    // The logout that failed did not pretend: the session still works until a logout succeeds.
    expect((await me(server, bia)).status).toBe(200)
    await lock.release()
    await expectEverythingWorks(server, users)
  })

  it('tables locked against reads too (ACCESS EXCLUSIVE, as ALTER TABLE takes): every route that needs them answers 503 storage_busy, and works once it lets go', async () => {
    const { server, saboteur } = await serve()
    const users = [await register(server), await register(server), await register(server)] as const
    const [ana, bia, caio] = users
    const lock = await saboteur.lock(['users', 'sessions', 'uploads'], 'ACCESS EXCLUSIVE')
    cleanups.push(lock.release)
    const from = server.logLines.length
    const answers = await Promise.all([signUp(server), login(server, ana), logout(server, bia), upload(server, caio), me(server, bia).then(answerOf), upgrade(server, ana)])
    for (const answer of answers) expectBusy(answer)
    expect(loggedWithCode(server, from, '57014').length).toBeGreaterThanOrEqual(answers.length)
    expect(await uploadedFiles(server)).toEqual([])
    await lock.release()
    await expectEverythingWorks(server, users)
    expect((await upgrade(server, ana)).status).toBe(101)
  })

  it('the messages table locked: every message is answered with an error, logged as busy with 57014, and stored once it lets go', async () => {
    const { server, saboteur } = await serve({ MSG_RATE: '10000', MSG_BURST: '10000' })
    const ana = await register(server)
    const client = await ChatClient.connect(server, { token: ana.token })
    client.send({ type: 'join', room: 'sala-3', ref: 'j' })
    await client.next('joined', (f) => f.ref === 'j')
    const lock = await saboteur.lock(['messages'], 'EXCLUSIVE')
    cleanups.push(lock.release)
    const from = server.logLines.length
    for (let i = 0; i < 20; i++) client.send({ type: 'message', text: `hello ${i}`, clientId: `c${i}`, ref: `r${i}` })
    for (let i = 0; i < 20; i++) expect(await client.next('error', (f) => f.ref === `r${i}`, 10_000)).toMatchObject({ code: 'internal_error', room: 'sala-3' })
    const lines = server.logLines.slice(from).map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line['msg'] === 'messages not stored')
    expect(lines.length).toBeGreaterThan(0)
    for (const line of lines) expect(line).toMatchObject({ level: 'error', condition: 'busy', code: '57014', rooms: ['sala-3'] })
    expect(lines.reduce((sum, line) => sum + Number(line['count']), 0)).toBe(20)
    await lock.release()
    for (let i = 0; i < 20; i++) client.send({ type: 'message', text: `hello ${i}`, clientId: `c${i}`, ref: `again${i}` })
    for (let i = 0; i < 20; i++) await client.next('ack', (f) => f.ref === `again${i}`, 10_000)
    expect(Number((await saboteur.query<{ n: string }>('SELECT count(*) AS n FROM messages')).rows[0]?.n)).toBe(20)
    client.close()
  })

  it('no room in the database (53100): sign-up, login, logout and upload answer 507 storage_full, and work once there is room', async () => {
    const { server, saboteur } = await serve()
    const users = [await register(server), await register(server), await register(server)] as const
    const [ana, bia, caio] = users
    // What PostgreSQL says when a table's file cannot grow: could not extend file, No space left on device.
    const full = { message: 'injected: could not extend file: No space left on device', code: '53100' }
    await saboteur.breakWrites('users', 'INSERT', full)
    await saboteur.breakWrites('sessions', 'INSERT', full)
    await saboteur.breakWrites('sessions', 'UPDATE', full)
    await saboteur.breakWrites('uploads', 'INSERT', full)
    const from = server.logLines.length
    const answers = await Promise.all([signUp(server), login(server, ana), logout(server, bia), upload(server, caio)])
    for (const answer of answers) expectAnswer(answer, 507, 'storage_full')
    expect(loggedWithCode(server, from, '53100').length).toBeGreaterThanOrEqual(answers.length)
    expect(await uploadedFiles(server)).toEqual([])
    await saboteur.repairAll()
    await expectEverythingWorks(server, users)
  })

  it('a read-only database (default_transaction_read_only, as a standby has): writes answer 500 storage_failed that says so, reads still work, and all works once it is writable again', async () => {
    const { server, saboteur, database } = await serve()
    const users = [await register(server), await register(server), await register(server)] as const
    const [ana, bia, caio] = users
    await saboteur.query(`ALTER DATABASE ${database.name} SET default_transaction_read_only = on`)
    // The setting applies to new connections: the server's pool opens them again.
    await saboteur.terminateServerConnections()
    const from = server.logLines.length
    const answers = await Promise.all([signUp(server), login(server, ana), logout(server, bia), upload(server, caio)])
    for (const answer of answers) {
      expectAnswer(answer, 500, 'storage_failed')
      expect(answer.error?.message).toMatch(/read-only/)
    }
    expect(loggedWithCode(server, from, '25006').length).toBeGreaterThanOrEqual(answers.length)
    expect(await uploadedFiles(server)).toEqual([])
    expect((await me(server, bia)).status).toBe(200)

    await saboteur.query(`ALTER DATABASE ${database.name} RESET default_transaction_read_only`)
    await saboteur.terminateServerConnections()
    await expectEverythingWorks(server, users)
  })

  it('a database that takes no more connections (53300, its connection limit reached): 503 storage_busy, and all works once it takes them again', async () => {
    // Superusers are exempt from a database's connection limit: the server signs in as the owner role.
    const owned = await createOwnedDatabase()
    const { server, saboteur, database } = await serve({}, owned)
    const users = [await register(server), await register(server), await register(server)] as const
    const [ana, bia, caio] = users
    await saboteur.query(`ALTER DATABASE ${database.name} CONNECTION LIMIT 0`)
    await saboteur.terminateServerConnections()
    const from = server.logLines.length
    const answers = await Promise.all([signUp(server), login(server, ana), logout(server, bia), upload(server, caio), me(server, bia).then(answerOf), upgrade(server, ana)])
    for (const answer of answers) expectBusy(answer)
    expect(loggedWithCode(server, from, '53300').length).toBeGreaterThanOrEqual(answers.length)
    await saboteur.query(`ALTER DATABASE ${database.name} CONNECTION LIMIT -1`)
    await expectEverythingWorks(server, users)
    expect((await upgrade(server, ana)).status).toBe(101)
  })

  it('every pooled connection ended by the administrator (pg_terminate_backend): no crash, the pool opens new ones, and the next requests and messages succeed', async () => {
    const { server, saboteur } = await serve({ DATABASE_POOL_SIZE: '3' })
    const users = [await register(server), await register(server), await register(server)] as const
    const ana = users[0]
    const client = await ChatClient.connect(server, { token: ana.token })
    client.send({ type: 'join', room: 'sala-1', ref: 'j' })
    await client.next('joined', (f) => f.ref === 'j')
    // Fill both pools (the stores' and the probe's), so that every one of their connections is there to be ended.
    await Promise.all([...Array.from({ length: 6 }, () => me(server, ana)), fetch(`${server.url}/ready`)])
    const from = server.logLines.length
    expect(await saboteur.terminateServerConnections()).toBeGreaterThanOrEqual(2)
    client.send({ type: 'message', text: 'after', clientId: 'after', ref: 'after' })
    expect(await client.next('ack', (f) => f.ref === 'after', 10_000)).toMatchObject({ room: 'sala-1' })
    await expectEverythingWorks(server, users)
    expect(server.logLines.slice(from).some((line) => line.includes('database connection lost'))).toBe(true)
    expect(client.closed).toBeUndefined()
    client.close()
  })
})

describe.skipIf(!postgres.available)('a PostgreSQL store out of reach: the pool and the network', () => {
  /** Until one of the server's statements waits on a lock in PostgreSQL. */
  const waitingOnLock = (saboteur: Saboteur) =>
    waitFor(
      async () => {
        const { rows } = await saboteur.query("SELECT 1 FROM pg_stat_activity WHERE application_name = 'sala' AND wait_event_type = 'Lock' AND datname = current_database()")
        return rows.length > 0 ? true : undefined
      },
      'a statement of the server waiting on the lock',
    )

  it('every pooled connection held behind a lock: a request that gets no connection within the pool’s wait answers 503 storage_busy, not 500', async () => {
    // One connection, and a statement timeout longer than the pool's 5 s wait for a connection.
    const { server, saboteur } = await serve({ DATABASE_POOL_SIZE: '1', DATABASE_STATEMENT_TIMEOUT_MS: '20000' })
    const ana = await register(server)
    const lock = await saboteur.lock(['sessions'], 'ACCESS EXCLUSIVE')
    cleanups.push(lock.release)
    const holding = me(server, ana)
    await waitingOnLock(saboteur)
    const from = server.logLines.length
    const waiting = await answerOf(await me(server, ana))
    expectBusy(waiting)
    // node-postgres says this without a code; it is logged as a connection that could not be had (08001).
    expect(loggedWithCode(server, from, '08001').length, server.logLines.slice(from).join('\n')).toBeGreaterThanOrEqual(1)
    await lock.release()
    expect((await holding).status).toBe(200)
    expect((await me(server, ana)).status).toBe(200)
  })

  it('the link to PostgreSQL cut under a statement: 503 storage_busy, not 500, and the next request works on a new connection', async () => {
    const relay = await startRelay()
    cleanups.push(relay.close)
    const { server, saboteur } = await serve({}, undefined, relay.through)
    const ana = await register(server)
    const lock = await saboteur.lock(['sessions'], 'ACCESS EXCLUSIVE')
    cleanups.push(lock.release)
    const cutShort = me(server, ana)
    await waitingOnLock(saboteur)
    const from = server.logLines.length
    relay.cut()
    expectBusy(await answerOf(await cutShort))
    // node-postgres says "Connection terminated unexpectedly" without a code: a connection failure (08006).
    expect(loggedWithCode(server, from, '08006').length, server.logLines.slice(from).join('\n')).toBeGreaterThanOrEqual(1)
    await lock.release()
    expect((await me(server, ana)).status).toBe(200)
    expect((await login(server, ana)).status).toBe(200)
  })

  it('a link that swallows new connections: a request answers 503 storage_busy once the connect timeout passes, and works once connections go through again', async () => {
    const relay = await startRelay()
    cleanups.push(relay.close)
    const { server } = await serve({}, undefined, relay.through)
    const ana = await register(server)
    relay.swallow(true)
    relay.cut()
    await waitFor(() => (server.logLines.some((line) => line.includes('database connection lost')) ? true : undefined), 'the pool to hear its connections end')
    const from = server.logLines.length
    expectBusy(await answerOf(await me(server, ana)))
    expect(loggedWithCode(server, from, '08001').length, server.logLines.slice(from).join('\n')).toBeGreaterThanOrEqual(1)
    relay.swallow(false)
    expect((await me(server, ana)).status).toBe(200)
    expect((await signUp(server)).status).toBe(201)
  })
})

describe.skipIf(!binaries)('a PostgreSQL whose disk is full', () => {
  it('tables on a full disk (could not extend file, 53100): sign-up, login, logout and upload answer 507 storage_full, and work once there is room', { timeout: 120_000 }, async (context) => {
    const cluster = await startPrivatePostgres()
    cleanups.push(cluster.remove)
    // A tablespace on a small disk of its own; PostgreSQL (the `postgres` user when we are root) must own it.
    const disk = await mountTmpfs(join(cluster.folder, 'small'), 2048)
    if (disk === undefined) return context.skip('cannot mount a small disk here (needs root)')
    cleanups.push(disk.unmount)
    if (process.getuid?.() === 0) execFileSync('chown', ['postgres:postgres', disk.dir])
    const server = await startTestServer({ DATABASE_URL: cluster.url, DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS) })
    cleanups.push(() => server.stop())
    const users = [await register(server), await register(server), await register(server)] as const
    const [ana, bia, caio] = users

    const admin = new pg.Client({ connectionString: cluster.url })
    admin.on('error', () => undefined)
    await admin.connect()
    cleanups.push(() => admin.end())
    await admin.query(`CREATE TABLESPACE small LOCATION '${disk.dir}'`)
    const tables = ['users', 'sessions', 'uploads']
    for (const table of tables) {
      await admin.query(`ALTER TABLE ${table} SET TABLESPACE small`)
      // Dead rows of the filling below must keep their room: a vacuum would give it to the server's writes.
      await admin.query(`ALTER TABLE ${table} SET (autovacuum_enabled = false)`)
    }
    await fillDisk(disk.dir)
    // The last pages of each table filled too, so that any new row needs a page the disk cannot give.
    const owner = (await admin.query<{ id: string }>('SELECT id FROM users LIMIT 1')).rows[0]?.id
    const junk: Record<string, string> = {
      users: `INSERT INTO users (id, name, username, email, email_key, password_hash, created_at)
        SELECT 'junk-' || $1 || '-' || g, 'Junk', 'junk' || $1 || '_' || g, 'junk' || $1 || '_' || g || '@example.com', 'junk' || $1 || '_' || g || '@example.com', 'x', 0 FROM generate_series(1, $2::int) g`,
      sessions: `INSERT INTO sessions (id, user_id, created_at, expires_at) SELECT 'junk-' || $1 || '-' || g, '${owner}', 0, 0 FROM generate_series(1, $2::int) g`,
      uploads: `INSERT INTO uploads (name, owner_id, original_name, type, size, created_at)
        SELECT 'junk-' || $1 || '-' || g, '${owner}', 'junk', 'text/plain', 1, 0 FROM generate_series(1, $2::int) g`,
    }
    for (const table of tables) {
      for (let round = 0, rows = 50; ; round++) {
        const error = await admin.query(junk[table] ?? '', [round, rows]).then(() => undefined, (failure: unknown) => failure as { code?: string })
        if (error === undefined) continue
        expect(error.code).toBe('53100')
        if (rows === 1) break
        rows = 1
      }
    }

    const from = server.logLines.length
    const answers = await Promise.all([signUp(server), login(server, ana), logout(server, bia), upload(server, caio)])
    for (const answer of answers) expectAnswer(answer, 507, 'storage_full')
    expect(loggedWithCode(server, from, '53100').length).toBeGreaterThanOrEqual(answers.length)
    expect(server.logLines.slice(from).join('\n')).toContain('No space left on device')
    expect(await uploadedFiles(server)).toEqual([])

    for (const name of await readdir(disk.dir)) if (name.startsWith('filler')) await rm(join(disk.dir, name))
    await expectEverythingWorks(server, users)
  })
})
