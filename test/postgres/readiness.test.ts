import { afterEach, describe, expect, it } from 'vitest'
import { postJson, register, startTestServer, uniqueName, waitFor, type TestServer } from '../integration/helpers.js'
import { createOwnedDatabase, saboteurOf, startRelay, type Saboteur } from './faults.js'
import { privatePostgresAvailable, startPrivatePostgres } from './private-postgres.js'
import { createTestDatabase, postgresForTests, type TestDatabase } from './test-database.js'

// test/integration/readiness.test.ts on PostgreSQL: /ready proves that a write commits (one row of
// readiness_probe, on a connection of the probe's own, within 2 s), so it answers 503 (database) while
// PostgreSQL cannot take one, whatever the reason, and 200 once it can. Polled all day, it logs each
// change of state once, never each poll.
const postgres = await postgresForTests()
const binaries = privatePostgresAvailable('the /ready test with PostgreSQL stopped')

interface Readiness {
  readonly status: number
  readonly details: ReadonlyArray<{ path: string; message: string }>
  readonly text: string
  readonly ms: number
}

const ready = async (server: TestServer): Promise<Readiness> => {
  const started = Date.now()
  const response = await fetch(`${server.url}/ready`)
  const text = await response.text()
  const body = JSON.parse(text) as { status?: string; error?: { code: string; details?: Readiness['details'] } }
  if (response.status === 503) expect(body.error?.code).toBe('not_ready')
  return { status: response.status, details: body.error?.details ?? [], text, ms: Date.now() - started }
}

/** Polls /ready until it answers `status`; the answer. */
const readyBecomes = (server: TestServer, status: number, timeoutMs = 20_000) =>
  waitFor(async () => {
    const answer = await ready(server)
    return answer.status === status ? answer : undefined
  }, `/ready to answer ${status}`, timeoutMs)

/** A 503 that names the database alone, with `message`, and nothing a stranger should not read. */
const expectDatabaseNotReady = (answer: Readiness, message: RegExp) => {
  expect(answer.status).toBe(503)
  expect(answer.details.map((problem) => problem.path)).toEqual(['database'])
  expect(answer.details[0]?.message).toMatch(message)
  expect(answer.text).not.toMatch(/sala_test|postgres:\/\/|127\.0\.0\.1|\/tmp\//)
}

type Entry = Record<string, unknown>
const entries = (server: TestServer, from = 0): Entry[] => server.logLines.slice(from).map((line) => JSON.parse(line) as Entry)
const stateChanges = (server: TestServer, from = 0) => entries(server, from).filter((entry) => entry['msg'] === 'not ready' || entry['msg'] === 'ready again')

/**
 * `count` polls of a /ready that stays 503 with `message`: each logs its request line and nothing else of
 * note (no error line, no second 'not ready').
 */
const pollNotReady = async (server: TestServer, count: number, message: RegExp) => {
  const from = server.logLines.length
  for (let i = 0; i < count; i++) expectDatabaseNotReady(await ready(server), message)
  const lines = entries(server, from)
  expect(lines.filter((line) => line['level'] === 'error')).toEqual([])
  expect(lines.filter((line) => line['msg'] === 'http request' && line['path'] === '/ready')).toHaveLength(count)
  expect(stateChanges(server, from)).toEqual([])
}

/** Every 'not ready' line says something the one before it did not: a change, not a poll. */
const expectEachChangeLoggedOnce = (server: TestServer) => {
  const changes = stateChanges(server)
  for (const [i, change] of changes.entries()) {
    if (i === 0) continue
    const before = changes[i - 1]
    if (change['msg'] === 'not ready' && before?.['msg'] === 'not ready') expect(change['problems']).not.toEqual(before['problems'])
    if (change['msg'] === 'ready again') expect(before?.['msg']).toBe('not ready')
  }
}

const cleanups: Array<() => Promise<unknown> | unknown> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A server on a database of its own (as the owner role of `made` when given), and a second connection to it. */
const serve = async (
  made?: TestDatabase & { readonly roleUrl?: string },
  via: (url: string) => string = (url) => url,
): Promise<{ readonly server: TestServer; readonly saboteur: Saboteur; readonly database: TestDatabase }> => {
  const database = made ?? (await createTestDatabase())
  cleanups.push(() => database.drop())
  const server = await startTestServer({ DATABASE_URL: via(made?.roleUrl ?? database.url) })
  cleanups.push(() => server.stop())
  const saboteur = await saboteurOf(database)
  cleanups.push(() => saboteur.close())
  return { server, saboteur, database }
}

describe.skipIf(!postgres.available)('/ready proves that PostgreSQL takes a write', () => {
  it('answers 200 when the probe commits, however many ask at once', async () => {
    const { server, saboteur } = await serve()
    const answers = await Promise.all(Array.from({ length: 20 }, () => ready(server)))
    expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => 200))
    // It wrote: the probe's row is there, with the time of a probe.
    const { rows } = await saboteur.query<{ checked_at: string }>('SELECT checked_at FROM readiness_probe')
    expect(Number(rows[0]?.checked_at)).toBeGreaterThan(Date.now() - 60_000)
  })

  it('answers 503 (database) within its deadline while another connection holds the probe’s table locked, logs that once however often it is polled, and 200 once the lock goes', async () => {
    const { server, saboteur } = await serve()
    const lock = await saboteur.lock(['readiness_probe'], 'ACCESS EXCLUSIVE')
    cleanups.push(lock.release)
    const locked = await ready(server)
    expectDatabaseNotReady(locked, /did not finish within 2000 ms/)
    // The probe's 2 s deadline, never the stores' statement timeout (10 s by default).
    expect(locked.ms).toBeLessThan(4500)
    await pollNotReady(server, 3, /did not finish within 2000 ms/)
    await lock.release()
    await readyBecomes(server, 200)
    expect(stateChanges(server).map((change) => change['msg'])).toEqual(['not ready', 'ready again'])
    expect(JSON.stringify(stateChanges(server)[0])).toContain('a write did not finish within 2000 ms')
  })

  it('answers 503 (database) while another connection holds a table the stores write locked against writes (messages: what ALTER TABLE or VACUUM FULL take), and 200 once it lets go', async () => {
    const { server, saboteur } = await serve()
    for (const table of ['messages', 'users', 'sessions', 'uploads', 'rooms', 'room_catalog', 'room_members']) {
      const lock = await saboteur.lock([table], 'EXCLUSIVE')
      cleanups.push(lock.release)
      const locked = await ready(server)
      expectDatabaseNotReady(locked, /did not finish within 2000 ms/)
      expect(locked.ms).toBeLessThan(4500)
      await lock.release()
      await readyBecomes(server, 200)
    }
    expectEachChangeLoggedOnce(server)
  })

  it('answers 503 (database) while the database takes no connection (every connection ended, the limit at 0), and 200 once it takes them again', async () => {
    // Superusers are exempt from a database's connection limit: the server signs in as the owner role.
    const { server, saboteur, database } = await serve(await createOwnedDatabase())
    expect((await ready(server)).status).toBe(200)
    await saboteur.query(`ALTER DATABASE ${database.name} CONNECTION LIMIT 0`)
    expect(await saboteur.terminateServerConnections()).toBeGreaterThanOrEqual(1)
    // The first probe may meet its ended connection before the pool has heard; from then on it cannot connect.
    await readyBecomes(server, 503)
    expectDatabaseNotReady(await ready(server), /cannot be opened/)
    await pollNotReady(server, 5, /cannot be opened/)
    await saboteur.query(`ALTER DATABASE ${database.name} CONNECTION LIMIT -1`)
    await readyBecomes(server, 200)
    expect(stateChanges(server).at(-1)?.['msg']).toBe('ready again')
    expectEachChangeLoggedOnce(server)
  })

  it('answers 503 (database) once the database is made read-only (as a standby is), and 200 once it is writable again', async () => {
    const { server, saboteur, database } = await serve()
    await saboteur.query(`ALTER DATABASE ${database.name} SET default_transaction_read_only = on`)
    // The setting applies to new connections.
    await saboteur.terminateServerConnections()
    await readyBecomes(server, 503)
    expectDatabaseNotReady(await ready(server), /read-only/)
    await pollNotReady(server, 5, /read-only/)
    await saboteur.query(`ALTER DATABASE ${database.name} RESET default_transaction_read_only`)
    await saboteur.terminateServerConnections()
    await readyBecomes(server, 200)
    expectEachChangeLoggedOnce(server)
  })

  it('after every connection of both pools is ended by the administrator: the pools open new ones, /ready is 200 and a write commits', async () => {
    const { server, saboteur } = await serve()
    const ana = await register(server)
    // Both pools hold a connection now (an idle one is closed after 10 s).
    expect((await ready(server)).status).toBe(200)
    expect(await saboteur.terminateServerConnections()).toBeGreaterThanOrEqual(2)
    await readyBecomes(server, 200)
    const name = uniqueName()
    expect((await postJson(`${server.url}/auth/register`, { name: 'Nova', username: name, email: `${name}@example.com`, password: 'long enough pw' })).status).toBe(201)
    expect((await postJson(`${server.url}/auth/login`, { username: ana.username, password: ana.password })).status).toBe(200)
    expect(server.logLines.some((line) => line.includes('database connection lost'))).toBe(true)
  })

  it('answers 503 (database) within its deadline while the link to PostgreSQL takes connections and answers nothing, and 200 once it does', async () => {
    const relay = await startRelay()
    cleanups.push(relay.close)
    const { server } = await serve(undefined, relay.through)
    relay.swallow(true)
    relay.cut()
    const stuck = await readyBecomes(server, 503)
    expect(stuck.ms).toBeLessThan(4500)
    expectDatabaseNotReady(stuck, /did not finish within 2000 ms|cannot be opened/)
    relay.swallow(false)
    await readyBecomes(server, 200)
    expectEachChangeLoggedOnce(server)
  })
})

describe.skipIf(!binaries)('/ready with PostgreSQL stopped', () => {
  it('answers 503 (database) while the server is down, logging the change once however often it is polled, and 200 once it is back', { timeout: 120_000 }, async () => {
    const cluster = await startPrivatePostgres()
    cleanups.push(cluster.remove)
    const server = await startTestServer({ DATABASE_URL: cluster.url })
    cleanups.push(() => server.stop())
    const ana = await register(server)
    expect((await ready(server)).status).toBe(200)

    await cluster.stop('fast')
    await readyBecomes(server, 503)
    // Once the pools have heard their connections end, every probe fails the same way: connection refused.
    await waitFor(async () => {
      await ready(server)
      return JSON.stringify(stateChanges(server).at(-1)).includes('ECONNREFUSED') ? true : undefined
    }, 'a probe refused a connection')
    await pollNotReady(server, 10, /cannot be opened/)
    // A request meanwhile hears that the storage is busy, not that something broke.
    const login = await postJson(`${server.url}/auth/login`, { username: ana.username, password: ana.password })
    expect(login.status).toBe(503)
    expect(login.headers.get('retry-after')).not.toBeNull()

    await cluster.start()
    await readyBecomes(server, 200, 30_000)
    const from = server.logLines.length
    for (let i = 0; i < 5; i++) expect((await ready(server)).status).toBe(200)
    expect(stateChanges(server, from)).toEqual([])
    expect(stateChanges(server).filter((change) => change['msg'] === 'ready again')).toHaveLength(1)
    expectEachChangeLoggedOnce(server)
    expect((await postJson(`${server.url}/auth/login`, { username: ana.username, password: ana.password })).status).toBe(200)
  })
})

// The probe's connection is its own: statements holding every store connection do not make /ready wait.
describe.skipIf(!postgres.available)('/ready beside a busy pool', () => {
  it('answers 200 while every store connection waits on a row another transaction holds', async () => {
    const { server, saboteur } = await serve()
    const ana = await register(server)
    // A row lock: the stores' UPDATEs of it wait, while no table is locked against the probe's write.
    const row = await saboteur.hold('SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.username = $1 FOR UPDATE OF s', [ana.username])
    cleanups.push(row.release)
    const logouts = Array.from({ length: 8 }, () => fetch(`${server.url}/auth/logout`, { method: 'POST', headers: { Authorization: `Bearer ${ana.token}` } }))
    await waitFor(
      async () => {
        const { rows } = await saboteur.query("SELECT 1 FROM pg_stat_activity WHERE application_name = 'sala' AND wait_event_type = 'Lock' AND datname = current_database()")
        return rows.length >= 5 ? true : undefined
      },
      'every store connection waiting on the row',
    )
    // Were the probe in the stores' pool, it would wait for a connection past its 2 s deadline: a 503.
    expect((await ready(server)).status).toBe(200)
    await row.release()
    // One logout revokes the session; the others find it revoked (204 or 401), none failed.
    const statuses = (await Promise.all(logouts)).map((response) => response.status)
    expect(statuses.filter((status) => status >= 500)).toEqual([])
    expect(statuses).toContain(204)
  })
})
