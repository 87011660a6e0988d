import * as E from 'fp-ts/lib/Either.js'
import { describeDatabaseFault, type DatabasePort } from '../../src/adapters/database.js'
import { openStores, type StoreLocation } from '../../src/adapters/open-store.js'
import type { Stores } from '../../src/adapters/stores.js'
import { createTestDatabase, postgresForTests } from './test-database.js'

/**
 * PostgreSQL for the contract suite: a database of its own on the machine's server (127.0.0.1:5432),
 * dropped by `cleanup`. Unreachable, it answers the reason (the suite skips, printing it), or throws under
 * CI=true / SALA_REQUIRE_POSTGRES=1.
 */
// The shape of test/adapters/store-engines.ts's StoreEngine, spelled out so this file stands alone.
export const postgresEngine: {
  readonly name: string
  readonly open: () => Promise<{ readonly stores: Stores; readonly port: DatabasePort; readonly location: StoreLocation; readonly cleanup: () => Promise<void> } | string>
} = {
  name: 'postgres',
  open: async () => {
    const availability = await postgresForTests()
    if (!availability.available) return `PostgreSQL is not reachable (${availability.reason})`
    const database = await createTestDatabase()
    const location = { engine: 'postgres', url: database.url, poolSize: 4, statementTimeoutMs: 10_000 } as const
    const opened = await openStores(location)
    if (E.isLeft(opened)) {
      await database.drop()
      throw new Error(`postgres: ${describeDatabaseFault(opened.left)}`)
    }
    return {
      stores: opened.right.stores,
      port: opened.right.port,
      location,
      cleanup: async () => {
        await opened.right.port.close()
        await database.drop()
      },
    }
  },
}
