import * as E from 'fp-ts/lib/Either.js'
import pg from 'pg'
import type { DatabaseFault, DatabasePort } from '../database.js'
import { withDeadline } from '../deadline.js'
import { MIGRATIONS } from './migrations.js'

/** Where the database is and how the pool treats it (`DATABASE_URL`, `DATABASE_POOL_SIZE`, `DATABASE_STATEMENT_TIMEOUT_MS`). */
export interface PostgresLocation {
  readonly url: string
  readonly poolSize: number
  readonly statementTimeoutMs: number
}

export interface OpenedPostgres {
  /** For the PostgreSQL stores; nothing outside `src/adapters` should need it. */
  readonly pool: pg.Pool
  readonly port: DatabasePort
  /** The schema was empty before this start: on a server that had data, the wrong database or a wiped one. */
  readonly created: boolean
}

export interface PostgresOpenOptions {
  /** How long the readiness probe may take, connecting included. */
  readonly probeDeadlineMs?: number
  /** How long a store's query waits for a connection when none is free or the server does not answer. */
  readonly connectTimeoutMs?: number
  /** A pooled connection failed while idle (the server restarted, the network dropped it): for a log line. */
  readonly onConnectionError?: (error: Error) => void
  readonly now?: () => number
  /**
   * This process is the only Sala on the database (no cluster link): each process answers joins and
   * catch-ups from the messages it stored, so a second one would tell its clients they missed nothing
   * while the first stored more. Held with a session-level advisory lock on a connection of its own; a
   * second such process is refused (`in_use`).
   */
  readonly soleProcess?: boolean
}

/** The key of the advisory lock a sole process holds ('SALa' + 1). */
export const SOLE_PROCESS_LOCK_KEY = 0x53414c42

const DEFAULT_PROBE_DEADLINE_MS = 2000
const DEFAULT_CONNECT_TIMEOUT_MS = 5000

/**
 * The key of the session-wide advisory lock under which migrations run ('SALA' in ASCII): two processes
 * starting together take turns, and the second finds the schema already current.
 */
export const MIGRATION_LOCK_KEY = 0x53414c41

/**
 * Opens a pool on `location.url`, brings the schema up to date under an advisory lock, and proves a write
 * commits. Every statement of the stores is cancelled after `statementTimeoutMs`; a query that finds no
 * free connection (or no server) within `connectTimeoutMs` fails instead of queueing for ever. A pooled
 * connection the server drops is replaced at its next use, so a restart of PostgreSQL costs the queries in
 * flight, never the process.
 *
 * Never rejects: every failure is a `DatabaseFault` (a database newer than this code is `newer_schema`),
 * and whatever was opened is closed again.
 */
export const openPostgres = async (location: PostgresLocation, options: PostgresOpenOptions = {}): Promise<E.Either<DatabaseFault, OpenedPostgres>> => {
  const misread = misreadUrl(location.url)
  if (misread !== undefined) return E.left({ kind: 'cannot_open', detail: misread })
  const probeDeadlineMs = options.probeDeadlineMs ?? DEFAULT_PROBE_DEADLINE_MS
  const onConnectionError = options.onConnectionError ?? (() => undefined)
  const pool = makePool(location.url, {
    max: location.poolSize,
    statement_timeout: location.statementTimeoutMs,
    connectionTimeoutMillis: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
  }, onConnectionError)
  // Its own connection, so /ready answers within its deadline even while every store connection is busy.
  const probePool = makePool(location.url, { max: 1, statement_timeout: probeDeadlineMs, connectionTimeoutMillis: probeDeadlineMs }, onConnectionError)
  let holder: pg.Client | undefined
  const closeAll = async () => {
    await Promise.allSettled([pool.end(), probePool.end(), holder?.end()])
  }
  try {
    const migrated = await migrate(pool)
    if (E.isLeft(migrated)) {
      await closeAll()
      return migrated
    }
    if (options.soleProcess === true) {
      holder = new pg.Client({ connectionString: location.url })
      // Lost with its connection (PostgreSQL restarted): said in the log; the process keeps serving.
      holder.on('error', onConnectionError)
      await holder.connect()
      const { rows } = await holder.query<{ held: boolean }>('SELECT pg_try_advisory_lock($1) AS held', [SOLE_PROCESS_LOCK_KEY])
      if (rows[0]?.held !== true) {
        await closeAll()
        return E.left({ kind: 'in_use', detail: 'another Sala process uses this database without REDIS_URL; set REDIS_URL (and the same REDIS_PREFIX) on every process to run several' })
      }
    }
    const port = postgresPort(probePool, closeAll, probeDeadlineMs, options.now ?? Date.now)
    // A database that connects but takes no write (a read-only replica, a full disk) would fail every request later.
    const written = await port.probeWrite()()
    if (E.isLeft(written)) {
      await closeAll()
      return written
    }
    return E.right({ pool, port, created: migrated.right.created })
  } catch (error) {
    await closeAll()
    return E.left(postgresFault(error, location.statementTimeoutMs))
  }
}

/**
 * Why the URL would not name what its writer meant, or undefined. An `@` after the host is the sign of a
 * password holding `/`, `#` or `?` unencoded: the URL parser ends the host at that character, so
 * node-postgres would look for a host made of part of the password (and say only ENOTFOUND).
 */
const misreadUrl = (raw: string): string | undefined => {
  const url = URL.canParse(raw) ? new URL(raw) : undefined
  const unencoded = 'percent-encode a password holding @ : / # ? % (encodeURIComponent), or give it in PGPASSWORD'
  if (url === undefined) return `the URL does not parse: ${unencoded}`
  return `${url.pathname}${url.hash}`.includes('@') ? `the URL has an @ after its host: ${unencoded}` : undefined
}

/**
 * Applies the migrations `sala_schema` has not recorded, all in one transaction under a transaction-level
 * advisory lock: a second process starting at the same moment waits, then finds nothing to do; a failed
 * migration leaves the previous version intact (PostgreSQL's DDL is transactional), and the lock goes with
 * the transaction even if the connection dies. No statement timeout inside: a migration may rewrite a table.
 */
export const migrate = async (pool: pg.Pool): Promise<E.Either<DatabaseFault, { readonly created: boolean }>> => {
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    await client.query('SET LOCAL statement_timeout = 0')
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY])
    await client.query('CREATE TABLE IF NOT EXISTS sala_schema (id integer PRIMARY KEY CHECK (id = 1), version integer NOT NULL)')
    const row = await client.query<{ version: number }>('SELECT version FROM sala_schema WHERE id = 1')
    const current = row.rows[0]?.version ?? 0
    if (current > MIGRATIONS.length) {
      await client.query('ROLLBACK')
      return E.left({ kind: 'newer_schema', found: current, known: MIGRATIONS.length })
    }
    for (const sql of MIGRATIONS.slice(current)) await client.query(sql)
    await client.query(
      `INSERT INTO sala_schema (id, version) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version`,
      [MIGRATIONS.length],
    )
    await client.query('COMMIT')
    return E.right({ created: current === 0 })
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw error
  } finally {
    client.release()
  }
}

/**
 * PostgreSQL locks tables one by one, where SQLite's write lock is the whole file: a table the stores write
 * that another session holds against writes (LOCK TABLE, ALTER TABLE, VACUUM FULL, CREATE INDEX, a newer
 * version's migration) fails every write to it while the probe's own row commits. So the probe first takes
 * the lock the stores' INSERTs and UPDATEs take (ROW EXCLUSIVE, which they never refuse each other) on
 * every table they write, then writes its row. One simple-protocol query, which PostgreSQL runs as one
 * implicit transaction: the locks go at its end, or with it if it fails. A table added by a migration that
 * the stores write belongs in this list.
 */
const probeStatement = (at: number): string =>
  `LOCK TABLE users, sessions, rooms, messages, uploads, room_catalog, room_members, readiness_probe IN ROW EXCLUSIVE MODE;
  INSERT INTO readiness_probe (id, checked_at) VALUES (1, ${Math.trunc(at)})
  ON CONFLICT (id) DO UPDATE SET checked_at = EXCLUDED.checked_at`

const postgresPort = (probePool: pg.Pool, closeAll: () => Promise<void>, deadlineMs: number, now: () => number): DatabasePort => {
  // A probe that outlived its deadline still holds the probe connection; while it runs every probe answers
  // "timed out" at once instead of queueing behind it.
  let stuck: Promise<unknown> | undefined
  let closing: Promise<void> | undefined

  const probeWrite = async (): Promise<E.Either<DatabaseFault, void>> => {
    if (stuck !== undefined) return E.left({ kind: 'timed_out', waitedMs: deadlineMs })
    // No parameters: node-postgres sends it as a simple query, the only kind that holds two statements.
    const write = probePool.query(probeStatement(now())).then(
      (): E.Either<DatabaseFault, void> => E.right(undefined),
      (error: unknown) => E.left(postgresFault(error, deadlineMs)),
    )
    const outcome = await withDeadline(write, deadlineMs)
    if (outcome === undefined) {
      stuck = write.finally(() => (stuck = undefined))
      return E.left({ kind: 'timed_out', waitedMs: deadlineMs })
    }
    return outcome
  }

  return { probeWrite: () => probeWrite, close: () => (closing ??= closeAll()) }
}

/** bigint columns (seq, times in ms, sizes) come back as numbers: all of ours stay below 2^53. */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === pg.types.builtins.INT8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text')) as pg.CustomTypesConfig['getTypeParser'],
}

const makePool = (
  connectionString: string,
  settings: { readonly max: number; readonly statement_timeout: number; readonly connectionTimeoutMillis: number },
  onConnectionError: (error: Error) => void,
): pg.Pool => {
  const pool = new pg.Pool({ connectionString, application_name: 'sala', types, ...settings })
  // An idle client's failure is emitted on the pool (which then drops that client); unheard, Node would
  // treat it as an uncaught error and end the process.
  pool.on('error', onConnectionError)
  return pool
}

/**
 * A driver or server error as an operator's reason. SQLSTATEs by class: 08 and 57P0x the connection or the
 * server going away, 53300 no connection slot left; 28 and 3D000 a URL that names the wrong user, password
 * or database; 53100 a full disk; 25006 a read-only server (a replica); 57014 a statement cancelled by its
 * timeout; 42P07 and 42501 a database or role not fit for Sala. Errors with no SQLSTATE (a password the
 * server wants, TLS) say what to change in DATABASE_URL.
 */
export const postgresFault = (error: unknown, timeoutMs: number): DatabaseFault => {
  const code = errorCode(error) ?? 'UNKNOWN'
  const detail = error instanceof Error ? error.message || code : String(error)
  switch (code) {
    case '53100':
      return { kind: 'disk_full' }
    case '25006':
      return { kind: 'read_only', detail }
    case '57014':
      return { kind: 'timed_out', waitedMs: timeoutMs }
    case '55P03':
    case '40P01':
      return { kind: 'locked', waitedMs: timeoutMs }
    case 'ECONNREFUSED':
    case 'ECONNRESET':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case '3D000':
    case '28000':
    case '28P01':
    case '57P01':
    case '57P02':
    case '57P03':
    // too_many_connections: the server's max_connections, or the database's or role's CONNECTION LIMIT, is reached.
    case '53300':
      return { kind: 'cannot_open', detail: `${code}: ${detail}` }
    // Met only at start, by the migrations: a database another program already uses.
    case '42P07':
      return { kind: 'failed', code, detail: `${detail}: the database holds tables Sala did not create; give Sala a database of its own` }
    // At start: a role that may not create Sala's tables (PostgreSQL 15 gives only the database's owner
    // CREATE on the public schema) or may not write them.
    case '42501':
      return { kind: 'failed', code, detail: `${detail}: the role in DATABASE_URL must be allowed to create and write Sala's tables; make it the database's owner (ALTER DATABASE … OWNER TO …)` }
    default:
      return driverFault(code, detail)
  }
}

// The node-postgres and TLS failures that come with no SQLSTATE, each with what to change.
const driverFault = (code: string, detail: string): DatabaseFault => {
  // pg's own connect timeout and its lost connections have no code, only these messages.
  if (/timeout exceeded when trying to connect|Connection terminated|not queryable/i.test(detail)) return { kind: 'cannot_open', detail }
  if (code.startsWith('08')) return { kind: 'cannot_open', detail: `${code}: ${detail}` }
  // The server asked for a password (SCRAM) and none was given: pg says only that it is not a string.
  if (/client password must be a string/.test(detail)) {
    return { kind: 'cannot_open', detail: 'the server asks for a password and none was given: put it in DATABASE_URL (percent-encoded) or in PGPASSWORD' }
  }
  if (/does not support SSL/i.test(detail)) {
    return { kind: 'cannot_open', detail: 'the server takes no TLS connections: drop sslmode (or ssl) from DATABASE_URL, or turn TLS on in PostgreSQL' }
  }
  if (TLS_TRUST_CODES.has(code)) {
    return {
      kind: 'cannot_open',
      detail: `${code}: ${detail}: the server's TLS certificate is not trusted or not for this host name; give Node its CA with NODE_EXTRA_CA_CERTS (node-postgres checks it for sslmode=require too)`,
    }
  }
  return { kind: 'failed', code, detail }
}

// Node's codes for a TLS certificate it will not trust (an unknown CA, a self-signed one, another host name, expired).
const TLS_TRUST_CODES: ReadonlySet<string> = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
])

const errorCode = (error: unknown): string | undefined => {
  if (typeof error !== 'object' || error === null) return undefined
  if ('code' in error && typeof error.code === 'string') return error.code
  // A connect failure to a name with several addresses arrives as an AggregateError of the attempts.
  if (error instanceof AggregateError) return errorCode(error.errors[0])
  return undefined
}
