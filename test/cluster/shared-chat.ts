import { startTestServer, type TestServer } from '../integration/helpers.js'
import { createTestDatabase, type TestDatabase } from '../postgres/test-database.js'
import { inspector, REDIS_URL, removeKeys, testPrefix } from '../redis/test-redis.js'

/**
 * Test servers sharing one chat as production runs them: one PostgreSQL database of the run's own, one
 * Redis key prefix of its own, one SESSION_SECRET. `start` adds a server (more env on top); `stop` stops
 * them all, drops the database and removes the prefix's keys.
 */
export interface SharedChat {
  readonly database: TestDatabase
  readonly prefix: string
  readonly env: Readonly<Record<string, string>>
  readonly start: (env?: Readonly<Record<string, string>>) => Promise<TestServer>
  readonly stop: () => Promise<void>
}

export const sharedChat = async (env: Readonly<Record<string, string>> = {}): Promise<SharedChat> => {
  const database = await createTestDatabase()
  const prefix = testPrefix()
  const shared = {
    DATABASE_URL: database.url,
    REDIS_URL,
    REDIS_PREFIX: prefix,
    SESSION_SECRET: 'a shared secret of at least 32 characters!',
    DATABASE_POOL_SIZE: '3',
    ...env,
  }
  const servers: TestServer[] = []
  return {
    database,
    prefix,
    env: shared,
    start: async (more = {}) => {
      const server = await startTestServer({ ...shared, ...more })
      servers.push(server)
      return server
    },
    stop: async () => {
      await Promise.all(servers.splice(0).map((server) => server.stop()))
      await database.drop()
      const client = inspector()
      await removeKeys(client, prefix)
      client.disconnect()
    },
  }
}
