import { existsSync } from 'node:fs'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { privatePostgresAvailable, startPrivatePostgres, type PrivatePostgres } from './private-postgres.js'
import { ADMIN_URL, createTestDatabase, postgresForTests, postgresRequired, probePostgres, withTestDatabase } from './test-database.js'

const postgres = await postgresForTests()

const query = async <R extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<R[]> => {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 })
  client.on('error', () => undefined)
  try {
    await client.connect()
    return (await client.query<R>(text, values)).rows
  } finally {
    await client.end().catch(() => undefined)
  }
}

const databaseExists = async (name: string): Promise<boolean> =>
  (await query(ADMIN_URL, 'SELECT 1 FROM pg_database WHERE datname = $1', [name])).length === 1

describe('whether PostgreSQL is required', () => {
  it('is required under CI=true or SALA_REQUIRE_POSTGRES=1, skipped otherwise', () => {
    expect(postgresRequired({ CI: 'true' })).toBe(true)
    expect(postgresRequired({ SALA_REQUIRE_POSTGRES: '1' })).toBe(true)
    expect(postgresRequired({})).toBe(false)
    expect(postgresRequired({ CI: 'false', SALA_REQUIRE_POSTGRES: '0' })).toBe(false)
  })

  it('reports an unreachable server with a reason, and throws for it only when required', async () => {
    const nowhere = 'postgres://postgres@127.0.0.1:1/postgres'
    const probe = await probePostgres(nowhere)
    expect(probe).toMatchObject({ available: false, reason: expect.stringMatching(/.+/) })
    const printed: string[] = []
    await expect(postgresForTests(nowhere, {}, (line) => printed.push(line))).resolves.toMatchObject({ available: false })
    expect(printed).toEqual([expect.stringMatching(/^Skipping the PostgreSQL tests: PostgreSQL at .*:1\/postgres is not reachable \(.+\)/)])
    await expect(postgresForTests(nowhere, { SALA_REQUIRE_POSTGRES: '1' })).rejects.toThrow(/not reachable.*SALA_REQUIRE_POSTGRES=1/)
    await expect(postgresForTests(nowhere, { CI: 'true' })).rejects.toThrow(/CI=true/)
  })
})

describe.skipIf(!postgres.available)('a test database', () => {
  it('exists, with a random name, while the test uses it, and is dropped after', async () => {
    let seen = ''
    const answer = await withTestDatabase(async (database) => {
      seen = database.name
      expect(database.name).toMatch(/^sala_test_[0-9a-f]{16}$/)
      expect(await databaseExists(database.name)).toBe(true)
      const [row] = await query<{ name: string }>(database.url, 'SELECT current_database() AS name')
      expect(row?.name).toBe(database.name)
      return 42
    })
    expect(answer).toBe(42)
    expect(await databaseExists(seen)).toBe(false)
  })

  it('is dropped when the test throws, even with a connection left open', async () => {
    let seen = ''
    await expect(
      withTestDatabase(async (database) => {
        seen = database.name
        const forgotten = new pg.Client({ connectionString: database.url })
        forgotten.on('error', () => undefined)
        await forgotten.connect()
        throw new Error('the test failed')
      }),
    ).rejects.toThrow('the test failed')
    expect(await databaseExists(seen)).toBe(false)
  })

  it('gives two callers two databases', async () => {
    const [a, b] = await Promise.all([createTestDatabase(), createTestDatabase()])
    try {
      expect(a?.name).not.toBe(b?.name)
    } finally {
      await Promise.all([a.drop(), b.drop()])
      await a.drop() // twice: no error
    }
  })
})

const binaries = privatePostgresAvailable('the private PostgreSQL tests')

describe.skipIf(!binaries)('a private PostgreSQL', () => {
  let server: PrivatePostgres | undefined
  afterAll(async () => {
    await server?.remove()
  })

  it('starts on a free port, keeps its data across a stop and a start, and leaves nothing behind', { timeout: 120_000 }, async () => {
    server = await startPrivatePostgres()
    expect(server.port).not.toBe(5432)
    await query(server.url, 'CREATE TABLE kept (n int)')
    await query(server.url, 'INSERT INTO kept VALUES (7)')

    await server.stop('immediate')
    await expect(query(server.url, 'SELECT 1')).rejects.toThrow()

    await server.start()
    expect(await query(server.url, 'SELECT n FROM kept')).toEqual([{ n: 7 }])

    await server.remove()
    await server.remove()
    expect(existsSync(server.folder)).toBe(false)
    await expect(query(server.url, 'SELECT 1')).rejects.toThrow()
  })
})
