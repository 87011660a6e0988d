import * as E from 'fp-ts/lib/Either.js'
import type { DatabaseFault, DatabasePort } from './database.js'
import type { Stores } from './stores.js'
import { openSqlite, type OpenOptions } from './sqlite/database.js'
import { sqliteMessageStore } from './sqlite/messages.js'
import { sqliteRoomStore } from './sqlite/rooms.js'
import { sqliteSessionStore } from './sqlite/sessions.js'
import { sqliteUploadStore } from './sqlite/uploads.js'
import { sqliteUserStore } from './sqlite/users.js'
import { openPostgres } from './postgres/database.js'
import { postgresStores } from './postgres/stores.js'
import { withoutPassword as withoutUrlPassword } from '../core/config.js'

/** Where the data lives: the one choice of engine, made from configuration (`DATABASE_URL`, `DATA_DIR`). */
export type StoreLocation =
  | { readonly engine: 'sqlite'; readonly file: string }
  | {
      readonly engine: 'postgres'
      /** `postgres://` or `postgresql://`; never logged whole (it may hold a password). */
      readonly url: string
      readonly poolSize: number
      readonly statementTimeoutMs: number
    }

export interface OpenedStores {
  readonly stores: Stores
  /** Readiness (`probeWrite`) and shutdown (`close`). */
  readonly port: DatabasePort
  /** No data was there before (a new SQLite file, an empty schema): on a server that had data, a wiped volume. */
  readonly created: boolean
}

/**
 * Opens the database at `location`, brings its schema up to date and proves a write commits; answers every
 * store of it and its port. Never rejects: every failure is a `DatabaseFault`, and whatever was opened is
 * closed again. The only module outside an engine's folder that knows the engines.
 */
export interface OpenStoresOptions extends OpenOptions {
  /**
   * Told when a pooled PostgreSQL connection fails while idle (the server restarted, the network dropped):
   * the pool replaces it, so without this an outage shows only in `/ready`.
   */
  readonly onConnectionError?: (error: Error) => void
  /** PostgreSQL: no other process shares the chat, so none may share the database (see `soleProcess`). */
  readonly soleProcess?: boolean
}

export const openStores = async (location: StoreLocation, options: OpenStoresOptions = {}): Promise<E.Either<DatabaseFault, OpenedStores>> => {
  switch (location.engine) {
    case 'sqlite': {
      const opened = await openSqlite(location.file, options)
      if (E.isLeft(opened)) return opened
      const { db, statements, port, created } = opened.right
      const stores: Stores = {
        messages: sqliteMessageStore(db, statements),
        users: sqliteUserStore(db),
        sessions: sqliteSessionStore(db),
        uploads: sqliteUploadStore(db),
        rooms: sqliteRoomStore(statements),
      }
      return E.right({ stores, port, created })
    }
    case 'postgres': {
      const opened = await openPostgres(location, {
        ...(options.now === undefined ? {} : { now: options.now }),
        ...(options.onConnectionError === undefined ? {} : { onConnectionError: options.onConnectionError }),
        ...(options.soleProcess === undefined ? {} : { soleProcess: options.soleProcess }),
      })
      if (E.isLeft(opened)) return opened
      const { pool, port, created } = opened.right
      return E.right({ stores: postgresStores(pool), port, created })
    }
  }
}

/** How `location` is named in log lines and start-up errors: a SQLite file's path, a URL without its password. */
export const describeLocation = (location: StoreLocation): string => {
  switch (location.engine) {
    case 'sqlite':
      return location.file
    case 'postgres':
      return withoutPassword(location.url)
  }
}

/**
 * The URL with everything between `user:` and the last `@` hidden. Not the URL parser's idea of the
 * password: a password holding `/`, `#` or `?` that was not percent-encoded ends the parser's authority
 * early (`postgres://sala:p@ss/w0rd@db/sala` has, to it, the password `p` and the host `ss`), and the rest
 * of the password would show. Hiding up to the last `@` hides too much at worst, never too little.
 */
export const withoutPassword = (url: string): string =>
  /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? withoutUrlPassword(url) : 'a PostgreSQL URL that does not parse'
