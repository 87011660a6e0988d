import { stat, statfs } from 'node:fs/promises'
import { dirname } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { open, type Database } from 'sqlite'
import sqlite3 from 'sqlite3'
import { describeDatabaseFault, type DatabaseFault, type DatabasePort } from '../database.js'
import { withDeadline } from '../deadline.js'
import { MIGRATIONS } from './migrations.js'
import { preparedStatements, type PreparedStatements } from './prepared.js'

export type SqliteDatabase = Database<sqlite3.Database, sqlite3.Statement>

export interface OpenedSqlite {
  /** For the SQLite stores; nothing outside `src/adapters` should need it. */
  readonly db: SqliteDatabase
  /** Statements kept prepared on `db` (the hot ones: the message insert); finalized by `port.close`. */
  readonly statements: PreparedStatements
  readonly port: DatabasePort
  /** No file (or an empty one) was at the path: on a server that had data, a wiped or unmounted volume. */
  readonly created: boolean
}

export interface OpenOptions {
  /** How long the readiness probe waits for another writer's lock; its whole deadline is twice this. */
  readonly probeLockWaitMs?: number
  readonly now?: () => number
}

/** The stores wait this long for a lock: a group commit must not fail on a short checkpoint. */
const STORE_LOCK_WAIT_MS = 5000
const DEFAULT_PROBE_LOCK_WAIT_MS = 1000
/** Below this much free space an I/O error is almost surely a full disk (SQLite reports it as IOERR). */
const NEARLY_FULL_BYTES = 1 << 20

/**
 * Opens (creating if needed) the database file, checks it (`PRAGMA quick_check`, which reads every page:
 * a truncated or damaged file is refused here rather than failing requests later) and brings its schema
 * up to date. WAL lets readers work while a write commits; `synchronous=NORMAL` is durable across process
 * crashes in WAL mode and only risks the last transactions on power loss, the usual trade for a chat
 * server. A second connection, with a short lock wait, serves the readiness probe, so `/ready` answers in
 * about a second even while the stores' connection waits out a lock; it also proves, before the server
 * starts, that a write commits.
 *
 * Never rejects: every failure is a `DatabaseFault`, and whatever was opened is closed again.
 */
export const openSqlite = async (filename: string, options: OpenOptions = {}): Promise<E.Either<DatabaseFault, OpenedSqlite>> => {
  const lockWaitMs = options.probeLockWaitMs ?? DEFAULT_PROBE_LOCK_WAIT_MS
  const created = await isAbsentOrEmpty(filename)
  const opened: SqliteDatabase[] = []
  try {
    const db = await open({ filename, driver: sqlite3.Database })
    opened.push(db)
    await db.exec('PRAGMA journal_mode = WAL')
    await db.exec('PRAGMA synchronous = NORMAL')
    await db.exec('PRAGMA foreign_keys = ON')
    await db.exec(`PRAGMA busy_timeout = ${STORE_LOCK_WAIT_MS}`)
    const damage = created ? undefined : await quickCheck(db)
    if (damage !== undefined) return await closedWith(opened, { kind: 'corrupt', detail: damage })
    const schema = await migrate(db)
    if (E.isLeft(schema)) return await closedWith(opened, schema.left)
    const identity = await stat(filename)
    // Never created by the probe: if the file is gone, the probe must say so, not make an empty one.
    const probe = await open({ filename, driver: sqlite3.Database, mode: sqlite3.OPEN_READWRITE })
    opened.push(probe)
    await probe.exec('PRAGMA synchronous = NORMAL')
    await probe.exec(`PRAGMA busy_timeout = ${lockWaitMs}`)
    const statements = preparedStatements(db)
    const port = sqlitePort({ filename, identity, probe, db, statements, lockWaitMs, now: options.now ?? Date.now })
    // A file that opens but takes no write (read-only, on a full disk) would fail every request later.
    const written = await port.probeWrite()()
    if (E.isLeft(written)) return await closedWith(opened, written.left)
    return E.right({ db, statements, port, created })
  } catch (error) {
    return closedWith(opened, await sqliteFault(error, filename, STORE_LOCK_WAIT_MS))
  }
}

/**
 * The handle alone, for tests and scripts that want a ready database and treat any fault as a bug.
 * Throws an Error whose message describes the fault.
 */
export const openDatabase = async (filename: string): Promise<SqliteDatabase> => {
  const opened = await openSqlite(filename)
  if (E.isLeft(opened)) throw new Error(`database ${filename}: ${describeDatabaseFault(opened.left)}`)
  return opened.right.db
}

/**
 * How many of Sala's migrations the SQLite file at `filename` records (`PRAGMA user_version`), read without
 * writing anything: 0 for an empty file or another program's SQLite database. For a command that must not
 * mistake such a file for a Sala database it then brings up to date (and so writes into). Never rejects.
 */
export const readSchemaVersion = async (filename: string): Promise<E.Either<DatabaseFault, number>> => {
  let db: SqliteDatabase | undefined
  try {
    db = await open({ filename, driver: sqlite3.Database, mode: sqlite3.OPEN_READONLY })
    const row = await db.get<{ user_version: number }>('PRAGMA user_version')
    return E.right(row?.user_version ?? 0)
  } catch (error) {
    return E.left(await sqliteFault(error, filename, 0))
  } finally {
    await db?.close().catch(() => undefined)
  }
}

interface PortParts {
  readonly filename: string
  readonly identity: { readonly dev: number; readonly ino: number }
  readonly probe: SqliteDatabase
  readonly db: SqliteDatabase
  readonly statements: PreparedStatements
  readonly lockWaitMs: number
  readonly now: () => number
}

const UPSERT_PROBE = `INSERT INTO readiness_probe (id, checked_at) VALUES (1, ?)
  ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at`

const sqlitePort = ({ filename, identity, probe, db, statements, lockWaitMs, now }: PortParts): DatabasePort => {
  // A probe that outlived its deadline still holds the probe connection; a second one would queue behind
  // it, so while it runs every probe answers "timed out" at once instead of piling up.
  let stuck: Promise<unknown> | undefined
  let closing: Promise<void> | undefined
  const deadlineMs = 2 * lockWaitMs

  const probeWrite = async (): Promise<E.Either<DatabaseFault, void>> => {
    if (stuck !== undefined) return E.left({ kind: 'timed_out', waitedMs: deadlineMs })
    const moved = await movedFrom(filename, identity)
    if (moved !== undefined) return E.left({ kind: 'gone', detail: moved })
    const write = probe.run(UPSERT_PROBE, now()).then(
      (): E.Either<DatabaseFault, void> => E.right(undefined),
      (error: unknown) => sqliteFault(error, filename, lockWaitMs).then(E.left),
    )
    const outcome = await withDeadline(write, deadlineMs)
    if (outcome === undefined) {
      stuck = write.finally(() => (stuck = undefined))
      return E.left({ kind: 'timed_out', waitedMs: deadlineMs })
    }
    return outcome
  }

  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await probe.close()
      await statements.finalize()
      await db.close()
    })())

  return { probeWrite: () => probeWrite, close }
}

/** Why the file at `filename` is not the one we opened, or undefined when it is. */
const movedFrom = async (filename: string, identity: PortParts['identity']): Promise<string | undefined> => {
  try {
    const now = await stat(filename)
    return now.dev === identity.dev && now.ino === identity.ino ? undefined : `${filename} was replaced by another file since start`
  } catch (error) {
    return `${filename} cannot be found (${errnoCode(error) ?? 'stat failed'}): deleted since start?`
  }
}

/** The first problem `quick_check` finds, or undefined when it says "ok". */
const quickCheck = async (db: SqliteDatabase): Promise<string | undefined> => {
  const rows = await db.all<Array<{ quick_check: string }>>('PRAGMA quick_check(1)')
  const first = rows[0]?.quick_check ?? 'no answer'
  return first === 'ok' ? undefined : first
}

const migrate = async (db: SqliteDatabase): Promise<E.Either<DatabaseFault, void>> => {
  const row = await db.get<{ user_version: number }>('PRAGMA user_version')
  const current = row?.user_version ?? 0
  if (current > MIGRATIONS.length) return E.left({ kind: 'newer_schema', found: current, known: MIGRATIONS.length })
  for (const [index, sql] of MIGRATIONS.entries()) {
    const version = index + 1
    if (version <= current) continue
    // One transaction per migration: a failed one leaves the previous version intact.
    await db.exec(`BEGIN; ${sql}; PRAGMA user_version = ${version}; COMMIT;`).catch(async (error: unknown) => {
      await db.exec('ROLLBACK').catch(() => undefined)
      throw error
    })
  }
  return E.right(undefined)
}

/**
 * SQLite's result code as an operator's reason. SQLite reports a full disk while it grows the WAL as
 * a plain I/O error, so an I/O error on a nearly full disk is called what it is.
 */
const sqliteFault = async (error: unknown, filename: string, lockWaitMs: number): Promise<DatabaseFault> => {
  const code = errnoCode(error) ?? 'UNKNOWN'
  const detail = error instanceof Error ? error.message : String(error)
  switch (code) {
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return { kind: 'locked', waitedMs: lockWaitMs }
    case 'SQLITE_FULL':
      return { kind: 'disk_full' }
    case 'SQLITE_READONLY':
      return { kind: 'read_only', detail }
    case 'SQLITE_NOTADB':
      return { kind: 'not_a_database' }
    case 'SQLITE_CORRUPT':
      return { kind: 'corrupt', detail }
    case 'SQLITE_CANTOPEN':
    case 'SQLITE_PERM':
    case 'SQLITE_AUTH':
      return { kind: 'cannot_open', detail }
    case 'SQLITE_IOERR':
      return (await nearlyFull(dirname(filename))) ? { kind: 'disk_full' } : { kind: 'failed', code, detail }
    default:
      return { kind: 'failed', code, detail }
  }
}

const nearlyFull = async (dir: string): Promise<boolean> => {
  try {
    const space = await statfs(dir)
    return space.bavail * space.bsize < NEARLY_FULL_BYTES
  } catch {
    return false
  }
}

const isAbsentOrEmpty = async (filename: string): Promise<boolean> => {
  try {
    return (await stat(filename)).size === 0
  } catch {
    return true
  }
}

const closedWith = async (opened: ReadonlyArray<SqliteDatabase>, fault: DatabaseFault): Promise<E.Either<DatabaseFault, never>> => {
  for (const db of [...opened].reverse()) await db.close().catch(() => undefined)
  return E.left(fault)
}

const errnoCode = (error: unknown): string | undefined =>
  typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : undefined
