import { randomBytes } from 'node:crypto'
import { connect, createServer, type Socket } from 'node:net'
import pg from 'pg'
import { ADMIN_URL, createTestDatabase, type TestDatabase } from './test-database.js'

/**
 * Faults injected into a running server's PostgreSQL database the way they happen to one: from another
 * connection. A trigger that raises (a write the server cannot make), a table lock held past the server's
 * statement timeout, connections ended by the administrator, a database made read-only or closed to new
 * connections. Nothing here touches the server process.
 */
export interface Saboteur {
  /** A second connection to the database, for statements of the test's own. */
  readonly query: <R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values?: unknown[]) => Promise<pg.QueryResult<R>>
  /** Every `operation` on `table` fails with `message` and SQLSTATE `code` until `repairAll`. */
  readonly breakWrites: (table: string, operation: 'INSERT' | 'UPDATE', fault: { readonly message: string; readonly code: string }) => Promise<void>
  /** Drops every trigger `breakWrites` made. */
  readonly repairAll: () => Promise<void>
  /**
   * Takes `mode` locks on `tables` in a transaction of a connection of its own and holds them until the
   * answer's `release` (a rollback). EXCLUSIVE blocks writes and lets reads through, as a writer holding
   * SQLite's lock does; ACCESS EXCLUSIVE (what ALTER TABLE, VACUUM FULL or a migration take) blocks reads too.
   */
  readonly lock: (tables: ReadonlyArray<string>, mode: 'EXCLUSIVE' | 'ACCESS EXCLUSIVE') => Promise<Held>
  /** Runs `statement` (a `SELECT ... FOR UPDATE`, say) in a transaction of a connection of its own, and holds what it locked until `release`. */
  readonly hold: (statement: string, values?: unknown[]) => Promise<Held>
  /** Ends every connection the server holds to the database (application_name `sala`); waits until they are gone. */
  readonly terminateServerConnections: () => Promise<number>
  readonly close: () => Promise<void>
}

/** Locks held by an open transaction on a connection of their own; `release` rolls it back and closes it. Safe to call twice. */
export interface Held {
  readonly release: () => Promise<void>
}

export const saboteurOf = async (database: TestDatabase): Promise<Saboteur> => {
  const client = await connected(database.url)
  const locks: pg.Client[] = []
  await client.query(`CREATE OR REPLACE FUNCTION sala_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION USING MESSAGE = TG_ARGV[0], ERRCODE = TG_ARGV[1]; END $$`)
  const hold = async (statement: string, values?: unknown[]): Promise<Held> => {
    const holder = await connected(database.url)
    locks.push(holder)
    await holder.query('BEGIN')
    await holder.query(statement, values)
    let released = false
    return {
      release: async () => {
        if (released) return
        released = true
        await holder.query('ROLLBACK')
        await holder.end()
        locks.splice(locks.indexOf(holder), 1)
      },
    }
  }
  return {
    query: (sql, values) => client.query(sql, values),
    breakWrites: async (table, operation, { message, code }) => {
      const name = `break_${table}_${operation.toLowerCase()}`
      await client.query(`CREATE TRIGGER ${name} BEFORE ${operation} ON ${table} FOR EACH ROW EXECUTE FUNCTION sala_test_refuse('${message}', '${code}')`)
    },
    repairAll: async () => {
      const { rows } = await client.query<{ trigger: string; table: string }>(
        `SELECT t.tgname AS trigger, c.relname AS table FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal AND t.tgname LIKE 'break\\_%'`,
      )
      for (const { trigger, table } of rows) await client.query(`DROP TRIGGER ${trigger} ON ${table}`)
    },
    lock: (tables, mode) => hold(`LOCK TABLE ${tables.join(', ')} IN ${mode} MODE`),
    hold: (statement, values) => hold(statement, values),
    terminateServerConnections: () => terminateServerConnections(client, database.name),
    close: async () => {
      await Promise.allSettled(locks.splice(0).map((holder) => holder.end()))
      await client.end().catch(() => undefined)
    },
  }
}

/**
 * Ends the server's connections to `databaseName` from `client` (any database of the same cluster),
 * waiting up to 5 s for each to be gone; answers how many there were.
 */
export const terminateServerConnections = async (client: pg.Client, databaseName: string): Promise<number> => {
  const { rows } = await client.query<{ gone: boolean }>(
    `SELECT pg_terminate_backend(pid, 5000) AS gone FROM pg_stat_activity
     WHERE datname = $1 AND application_name = 'sala' AND pid <> pg_backend_pid()`,
    [databaseName],
  )
  if (!rows.every((row) => row.gone)) throw new Error(`some connections to ${databaseName} outlived pg_terminate_backend`)
  return rows.length
}

/** A connection to the cluster's `postgres` database, for statements about a database (ALTER DATABASE, terminate). */
export const adminClient = (adminUrl: string = ADMIN_URL): Promise<pg.Client> => connected(adminUrl)

/** A database owned by a login role of its own without superuser rights, so per-database and per-role limits apply to it. */
export interface OwnedDatabase extends TestDatabase {
  readonly role: string
  /** The database's URL as the role. */
  readonly roleUrl: string
}

export const createOwnedDatabase = async (adminUrl: string = ADMIN_URL): Promise<OwnedDatabase> => {
  const role = `sala_test_role_${randomBytes(6).toString('hex')}`
  const dropRole = async () => {
    const admin = await adminClient(adminUrl)
    try {
      await admin.query(`DROP ROLE IF EXISTS ${role}`)
    } finally {
      await admin.end()
    }
  }
  const admin = await adminClient(adminUrl)
  let database: TestDatabase | undefined
  try {
    await admin.query(`CREATE ROLE ${role} LOGIN`)
    database = await createTestDatabase(adminUrl)
    await admin.query(`ALTER DATABASE ${database.name} OWNER TO ${role}`)
  } catch (error) {
    // Nothing of a half-made one stays behind: the role outlives every database, on the shared server.
    await database?.drop()
    await dropRole()
    throw error
  } finally {
    await admin.end()
  }
  const made = database
  const roleUrl = new URL(made.url)
  roleUrl.username = role
  return {
    ...made,
    role,
    roleUrl: roleUrl.toString(),
    drop: async () => {
      await made.drop()
      await dropRole()
    },
  }
}

const connected = async (url: string): Promise<pg.Client> => {
  const client = new pg.Client({ connectionString: url, application_name: 'sala-test-saboteur' })
  // A connection error after connect() arrives as an event; unheard it would end the test process.
  client.on('error', () => undefined)
  await client.connect()
  return client
}

/**
 * A TCP relay between the server and PostgreSQL, standing for the network: `cut` ends every connection
 * through it at once, as a dropped link or a firewall does (the server hears the socket close, with no
 * word from PostgreSQL); while `swallowing`, new connections are accepted and then hear nothing, as with
 * a link that drops packets, until the relay forwards again.
 */
export interface Relay {
  /** `url` with the relay's address in place of the server's. */
  readonly through: (url: string) => string
  readonly cut: () => void
  readonly swallow: (swallowing: boolean) => void
  readonly close: () => Promise<void>
}

export const startRelay = async (url: string = ADMIN_URL): Promise<Relay> => {
  const target = new URL(url)
  const sockets = new Set<Socket>()
  let swallowing = false
  const track = (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    // Ends of a cut relay: the other side's error is the server's to hear, not the test's.
    socket.on('error', () => undefined)
  }
  const relay = createServer((incoming) => {
    track(incoming)
    if (swallowing) return
    const outgoing = connect(Number(target.port || 5432), target.hostname)
    track(outgoing)
    incoming.pipe(outgoing)
    outgoing.pipe(incoming)
    incoming.on('close', () => outgoing.destroy())
    outgoing.on('close', () => incoming.destroy())
  })
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve))
  const address = relay.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return {
    through: (databaseUrl) => {
      const via = new URL(databaseUrl)
      via.hostname = '127.0.0.1'
      via.port = String(port)
      return via.toString()
    },
    cut: () => {
      for (const socket of sockets) socket.destroy()
    },
    swallow: (on) => {
      swallowing = on
    },
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => relay.close(() => resolve()))
    },
  }
}
