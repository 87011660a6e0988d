import { randomBytes } from 'node:crypto'
import pg from 'pg'

/** The machine's PostgreSQL, as an administrator (trust authentication on 127.0.0.1, as on the CI machines). */
export const ADMIN_URL = process.env['SALA_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** Under CI, or when asked, a missing PostgreSQL fails the run instead of skipping its tests. */
export const postgresRequired = (env: NodeJS.ProcessEnv = process.env): boolean =>
  env['SALA_REQUIRE_POSTGRES'] === '1' || env['CI'] === 'true'

export type Availability = { readonly available: true } | { readonly available: false; readonly reason: string }

/**
 * Whether `ADMIN_URL` answers a query within a few seconds. Use at the top of a test file:
 * `const postgresAvailable = await postgresForTests()` then `describe.skipIf(!postgresAvailable.available)`.
 */
export const probePostgres = async (url: string = ADMIN_URL): Promise<Availability> => {
  try {
    await adminQuery(url, 'SELECT 1', 3000)
    return { available: true }
  } catch (error) {
    return { available: false, reason: error instanceof Error ? error.message || String(error) : String(error) }
  }
}

/**
 * The probe, printed once when it fails: the tests then skip, saying why, like the browser tests without
 * Chromium; under `CI=true` or `SALA_REQUIRE_POSTGRES=1` it throws, failing the file instead.
 */
export const postgresForTests = async (
  url: string = ADMIN_URL,
  env: NodeJS.ProcessEnv = process.env,
  print: (line: string) => void = console.log,
): Promise<Availability> => {
  const availability = await probePostgres(url)
  if (availability.available) return availability
  const line = `PostgreSQL at ${url} is not reachable (${availability.reason})`
  if (postgresRequired(env)) throw new Error(`${line}; required because ${env['CI'] === 'true' ? 'CI=true' : 'SALA_REQUIRE_POSTGRES=1'} (.ci/run starts it)`)
  print(`Skipping the PostgreSQL tests: ${line}. Set SALA_REQUIRE_POSTGRES=1 to make this a failure.`)
  return availability
}

/** A database of a test's own, on the admin URL's server. */
export interface TestDatabase {
  readonly name: string
  /** The admin URL with this database's name as its path. */
  readonly url: string
  /** Drops it, ending any connection still open to it. Safe to call twice. */
  readonly drop: () => Promise<void>
}

/** Creates a database with a random name (`sala_test_<hex>`) on `adminUrl`'s server. */
export const createTestDatabase = async (adminUrl: string = ADMIN_URL): Promise<TestDatabase> => {
  const name = `sala_test_${randomBytes(8).toString('hex')}`
  await adminQuery(adminUrl, `CREATE DATABASE ${name}`)
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return {
    name,
    url: url.toString(),
    drop: async () => {
      // FORCE: a pool the test forgot to end must not keep its database alive.
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    },
  }
}

/** Runs `use` with a fresh database's URL and drops the database afterwards, whether `use` settles or throws. */
export const withTestDatabase = async <A>(use: (database: TestDatabase) => Promise<A>, adminUrl: string = ADMIN_URL): Promise<A> => {
  const database = await createTestDatabase(adminUrl)
  try {
    return await use(database)
  } finally {
    await database.drop()
  }
}

/** One statement on a connection of its own (CREATE/DROP DATABASE cannot run inside a transaction or pool). */
const adminQuery = async (url: string, statement: string, connectionTimeoutMillis = 10_000): Promise<void> => {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis })
  // A connection error after connect() (the server going away) arrives as an event; unheard it would crash.
  client.on('error', () => undefined)
  try {
    await client.connect()
    await client.query(statement)
  } finally {
    await client.end().catch(() => undefined)
  }
}
