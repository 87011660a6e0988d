import * as E from 'fp-ts/lib/Either.js'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import * as fc from 'fast-check'
import { describeDatabaseFault, type DatabasePort } from '../../src/adapters/database.js'
import { describeLocation } from '../../src/adapters/open-store.js'
import { openPostgres, postgresFault, type OpenedPostgres, type PostgresLocation } from '../../src/adapters/postgres/database.js'
import { MIGRATIONS } from '../../src/adapters/postgres/migrations.js'
import { privatePostgresAvailable, startPrivatePostgres, type PrivatePostgres } from './private-postgres.js'
import { adminClient, createOwnedDatabase } from './faults.js'
import { createTestDatabase, postgresForTests, type TestDatabase } from './test-database.js'

const postgres = await postgresForTests()

const at = (url: string, overrides: Partial<PostgresLocation> = {}): PostgresLocation => ({ url, poolSize: 3, statementTimeoutMs: 5000, ...overrides })

const opened = async (location: PostgresLocation, options: { soleProcess?: boolean } = {}): Promise<OpenedPostgres> => {
  const result = await openPostgres(location, options)
  if (E.isLeft(result)) throw new Error(describeDatabaseFault(result.left))
  return result.right
}

const eventually = async (check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

const probes = (port: DatabasePort) => async () => E.isRight(await port.probeWrite()())

describe.skipIf(!postgres.available)('opening a PostgreSQL database', () => {
  let database: TestDatabase
  const ports: DatabasePort[] = []
  beforeAll(async () => {
    database = await createTestDatabase()
  })
  afterEach(async () => {
    await Promise.all(ports.splice(0).map((port) => port.close()))
  })
  afterAll(async () => {
    await database?.drop()
  })

  it('creates the schema once, under a lock, however many processes start together', async () => {
    const results = await Promise.all(Array.from({ length: 4 }, () => openPostgres(at(database.url))))
    for (const result of results) if (E.isRight(result)) ports.push(result.right.port)
    expect(results.every(E.isRight)).toBe(true)
    expect(results.filter((r) => E.isRight(r) && r.right.created)).toHaveLength(1)
    const first = results[0]
    if (first === undefined || E.isLeft(first)) throw new Error('not opened')
    const { rows } = await first.right.pool.query<{ version: number }>('SELECT version FROM sala_schema')
    expect(rows).toEqual([{ version: MIGRATIONS.length }])
  })

  it('opens a current schema without creating anything, and proves a write commits', async () => {
    const again = await opened(at(database.url))
    ports.push(again.port)
    expect(again.created).toBe(false)
    expect(await again.port.probeWrite()()).toEqual(E.right(undefined))
    const { rows } = await again.pool.query<{ checked_at: number }>('SELECT checked_at FROM readiness_probe')
    expect(typeof rows[0]?.checked_at).toBe('number')
  })

  it('lets one process without a cluster link hold the database: a second is refused (in_use) until the first closes', async () => {
    const first = await opened(at(database.url, {}), { soleProcess: true })
    ports.push(first.port)
    const second = await openPostgres(at(database.url), { soleProcess: true })
    expect(E.isLeft(second) && second.left.kind).toBe('in_use')
    if (E.isLeft(second)) expect(describeDatabaseFault(second.left)).toMatch(/another Sala process uses this database without REDIS_URL/)
    // Processes that share the chat through Redis do not take the lock, and are not refused.
    ports.push((await opened(at(database.url))).port)
    await first.port.close()
    ports.push((await opened(at(database.url), { soleProcess: true })).port)
  })

  it('refuses a database newer than the code with one clear line, and changes nothing', async () => {
    const admin = await opened(at(database.url))
    await admin.pool.query('UPDATE sala_schema SET version = $1', [MIGRATIONS.length + 5])
    try {
      const newer = await openPostgres(at(database.url))
      expect(newer).toEqual(E.left({ kind: 'newer_schema', found: MIGRATIONS.length + 5, known: MIGRATIONS.length }))
      if (E.isLeft(newer)) expect(describeDatabaseFault(newer.left)).toMatch(/newer than this server knows.*run the newer version/)
    } finally {
      await admin.pool.query('UPDATE sala_schema SET version = $1', [MIGRATIONS.length])
      await admin.port.close()
    }
  })

  it('cancels a statement past the statement timeout', async () => {
    const short = await opened(at(database.url, { statementTimeoutMs: 200 }))
    ports.push(short.port)
    const error = await short.pool.query('SELECT pg_sleep(5)').catch((e: unknown) => e)
    expect(error).toMatchObject({ code: '57014' })
    expect(postgresFault(error, 200)).toEqual({ kind: 'timed_out', waitedMs: 200 })
  })

  it('caps the pool at DATABASE_POOL_SIZE connections', async () => {
    const small = await opened(at(database.url, { poolSize: 2 }))
    ports.push(small.port)
    const pids = await Promise.all(
      Array.from({ length: 6 }, () => small.pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid, pg_sleep(0.2)')),
    )
    expect(new Set(pids.map((r) => r.rows[0]?.pid)).size).toBeLessThanOrEqual(2)
  })

  it('refuses a read-only database at start, saying so', async () => {
    const readOnly = await createTestDatabase()
    try {
      const admin = new pg.Client({ connectionString: readOnly.url })
      await admin.connect()
      await opened(at(readOnly.url)).then((o) => o.port.close())
      await admin.query(`ALTER DATABASE ${readOnly.name} SET default_transaction_read_only = on`)
      await admin.end()
      const result = await openPostgres(at(readOnly.url))
      expect(result).toMatchObject(E.left({ kind: 'read_only' }))
    } finally {
      await readOnly.drop()
    }
  })

  it('answers a fault, never a rejection, for a database that does not exist or a server that does not answer', async () => {
    const missing = new URL(database.url)
    missing.pathname = '/sala_no_such_database'
    expect(await openPostgres(at(missing.toString()))).toMatchObject(E.left({ kind: 'cannot_open', detail: expect.stringMatching(/3D000/) }))
    expect(await openPostgres(at('postgres://postgres@127.0.0.1:1/sala'))).toMatchObject(E.left({ kind: 'cannot_open' }))
  })
})

/** The one line `Sala cannot start: …` would carry for this URL; fails if the database opened. */
const refusal = async (url: string): Promise<string> => {
  const result = await openPostgres(at(url))
  if (E.isRight(result)) {
    await result.right.port.close()
    throw new Error(`${url} opened`)
  }
  return describeDatabaseFault(result.left)
}

// A password written into the URL without percent-encoding: the URL parser ends the host at its first
// `/`, `#` or `?`, so what it calls the password is only a piece of it. Neither the refusal nor any line
// naming the database may show the rest.
describe('a password that is not percent-encoded', () => {
  const specials = ['@', ':', '/', '#', '?', '%', '@/', '#@', '/?#@:']

  it('is refused before any connection, saying to encode it, instead of a host made of part of the password', async () => {
    for (const special of specials.filter((s) => /[/#?]/.test(s))) {
      const line = await refusal(`postgres://sala:p${special}x4Secret@127.0.0.1:1/sala`)
      expect(line, special).toMatch(/percent-encode a password.*PGPASSWORD/)
    }
  })

  it('never shows in the line that names the database, whatever it holds', () => {
    fc.assert(
      fc.property(fc.constantFrom(...specials), fc.constantFrom(...specials), fc.stringMatching(/^[A-Za-z0-9]{6,12}$/), (before, after, secret) => {
        for (const password of [`${before}${secret}${after}`, `${secret}${before}`, encodeURIComponent(`${before}${secret}`)]) {
          const shown = describeLocation({ engine: 'postgres', url: `postgres://sala:${password}@db.internal:5432/sala?x=1`, poolSize: 1, statementTimeoutMs: 1000 })
          expect(shown, password).not.toContain(secret)
          expect(shown).toMatch(/^postgres:\/\/sala:\*\*\*@/)
        }
      }),
    )
    expect(describeLocation({ engine: 'postgres', url: 'postgres://sala:p%40ss@db.internal:5432/sala', poolSize: 1, statementTimeoutMs: 1000 })).toBe('postgres://sala:***@db.internal:5432/sala')
    expect(describeLocation({ engine: 'postgres', url: 'postgres://postgres@127.0.0.1/sala', poolSize: 1, statementTimeoutMs: 1000 })).toBe('postgres://postgres@127.0.0.1/sala')
  })
})

// A database or role not fit for Sala is refused at start with what to change, never a bare driver message.
describe.skipIf(!postgres.available)('a DATABASE_URL that is wrong for its server says what to change', () => {
  it('a database another program already uses (a table named like one of ours): give Sala its own; the table is untouched', async () => {
    const other = await createTestDatabase()
    const admin = new pg.Client({ connectionString: other.url })
    try {
      await admin.connect()
      await admin.query("CREATE TABLE users (login text); INSERT INTO users VALUES ('theirs')")
      const line = await refusal(other.url)
      expect(line).toMatch(/42P07.*"users".*give Sala a database of its own/)
      expect((await admin.query('SELECT login FROM users')).rows).toEqual([{ login: 'theirs' }])
      expect((await admin.query("SELECT to_regclass('sala_schema') AS t")).rows).toEqual([{ t: null }])
    } finally {
      await admin.end()
      await other.drop()
    }
  })

  it('a role that may not create tables in the database (not its owner, PostgreSQL 15): make it the owner', async () => {
    const owned = await createOwnedDatabase()
    const admin = await adminClient()
    const stranger = `${owned.role}_x`
    try {
      await admin.query(`CREATE ROLE ${stranger} LOGIN`)
      const url = new URL(owned.url)
      url.username = stranger
      expect(await refusal(url.toString())).toMatch(/42501.*permission denied.*owner/)
    } finally {
      await admin.query(`DROP ROLE IF EXISTS ${stranger}`)
      await admin.end()
      await owned.drop()
    }
  })
})

const binaries = privatePostgresAvailable('the pool restart test')

describe.skipIf(!binaries)('a DATABASE_URL that is wrong for a server that wants a password or has no TLS', () => {
  let server: PrivatePostgres
  const role = { name: 'sala_pw', password: 'p@ss:w/rd#x?&=%' }
  beforeAll(async () => {
    server = await startPrivatePostgres({ passwordRole: role })
  }, 120_000)
  afterAll(async () => {
    await server?.remove()
  })
  const urlOf = (userinfo: string, query = '') => `postgres://${userinfo}@127.0.0.1:${server.port}/${role.name}${query}`

  it('no password: say the server asks for one and where it goes; a wrong one: 28P01; the right one percent-encoded opens', async () => {
    expect(await refusal(urlOf(role.name))).toMatch(/asks for a password.*DATABASE_URL \(percent-encoded\) or in PGPASSWORD/)
    expect(await refusal(urlOf(`${role.name}:wrong`))).toMatch(/28P01/)
    const right = await opened(at(urlOf(`${role.name}:${encodeURIComponent(role.password)}`)))
    await right.port.close()
  })

  it('TLS asked of a server without it: say to drop sslmode or turn TLS on, never UNKNOWN', async () => {
    const line = await refusal(urlOf('postgres', '?sslmode=no-verify'))
    expect(line).toMatch(/takes no TLS connections.*sslmode/)
    expect(line).not.toMatch(/UNKNOWN/)
  })
})

describe.skipIf(!binaries)('a PostgreSQL that restarts under the pool', () => {
  let server: PrivatePostgres
  let db: OpenedPostgres
  const idleErrors: Error[] = []
  beforeAll(async () => {
    server = await startPrivatePostgres()
    const result = await openPostgres(at(server.url), { onConnectionError: (error) => idleErrors.push(error), probeDeadlineMs: 1000, connectTimeoutMs: 1000 })
    if (E.isLeft(result)) throw new Error(describeDatabaseFault(result.left))
    db = result.right
  }, 120_000)
  afterAll(async () => {
    await db?.port.close()
    await server?.remove()
  })

  it('fails probes and queries while it is down, never the process, and serves again once it is back', { timeout: 120_000 }, async () => {
    // Fill the pool with idle connections that the stop will cut.
    await Promise.all(Array.from({ length: 3 }, () => db.pool.query('SELECT pg_sleep(0.05)')))
    await db.pool.query('CREATE TABLE kept (n int)')
    await db.pool.query('INSERT INTO kept VALUES (1)')

    await server.stop('immediate')
    await eventually(async () => !(await probes(db.port)()), 'the probe to fail')
    const down = await db.port.probeWrite()()
    expect(down).toMatchObject(E.left({ kind: expect.stringMatching(/cannot_open|timed_out/) }))
    await expect(db.pool.query('SELECT 1')).rejects.toThrow()

    await server.start()
    await eventually(probes(db.port), 'the probe to succeed again')
    const { rows } = await db.pool.query<{ n: number }>('SELECT n FROM kept')
    expect(rows).toEqual([{ n: 1 }])
    expect(idleErrors.length).toBeGreaterThan(0)
  })
})
