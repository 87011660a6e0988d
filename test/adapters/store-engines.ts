import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { describeDatabaseFault, type DatabasePort } from '../../src/adapters/database.js'
import { openStores, type StoreLocation } from '../../src/adapters/open-store.js'
import type { Stores } from '../../src/adapters/stores.js'
import { postgresEngine } from '../postgres/store-engine.js'

/** One fresh, empty database of an engine, with every store of it; `cleanup` closes and deletes it. */
export interface OpenedEngine {
  readonly stores: Stores
  readonly port: DatabasePort
  /** Where it is: a test opens it again there to act as a second process (before `cleanup`). */
  readonly location: StoreLocation
  readonly cleanup: () => Promise<void>
}

/**
 * An engine the contract suite runs against. `open` answers a string (printed as the reason) when the
 * engine cannot be reached here and may be skipped (PostgreSQL on a laptop); it throws when it must be
 * reached and is not (CI=true, SALA_REQUIRE_POSTGRES=1).
 */
export interface StoreEngine {
  readonly name: string
  readonly open: () => Promise<OpenedEngine | string>
}

const sqlite: StoreEngine = {
  name: 'sqlite',
  open: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sala-contract-'))
    const location = { engine: 'sqlite', file: join(dir, 'sala.db') } as const
    const opened = await openStores(location)
    if (E.isLeft(opened)) throw new Error(`sqlite: ${describeDatabaseFault(opened.left)}`)
    return {
      stores: opened.right.stores,
      port: opened.right.port,
      location,
      cleanup: async () => {
        await opened.right.port.close()
        await rm(dir, { recursive: true, force: true })
      },
    }
  },
}

/** Every engine: the contract suite (store-contract.test.ts) runs once per entry. */
export const STORE_ENGINES: ReadonlyArray<StoreEngine> = [sqlite, postgresEngine]
