import * as E from 'fp-ts/lib/Either.js'
import type pg from 'pg'
import { describeDatabaseFault, type DatabaseFault } from '../database.js'
import { openSqlite, readSchemaVersion, type SqliteDatabase } from '../sqlite/database.js'
import { openPostgres, type PostgresLocation } from './database.js'

/** Rows of each table, as counted in the source and found in the target after the copy. */
export interface RowCounts {
  readonly users: number
  readonly sessions: number
  readonly messages: number
  readonly uploads: number
  readonly room_catalog: number
  readonly room_members: number
}

export type CopyProblem =
  | { readonly kind: 'source'; readonly fault: DatabaseFault }
  /** The source holds no Sala schema (an empty file, another program's database); neither side was touched. */
  | { readonly kind: 'not_sala' }
  | { readonly kind: 'target'; readonly fault: DatabaseFault }
  /** The target already holds data; nothing was written. Re-run with `replace` to overwrite it. */
  | { readonly kind: 'not_empty'; readonly found: RowCounts }
  /** The copy did not add up, and was rolled back. */
  | { readonly kind: 'count_mismatch'; readonly source: RowCounts; readonly target: RowCounts }
  | { readonly kind: 'failed'; readonly detail: string }

export interface CopyOptions {
  /** Empty the target's tables first instead of refusing a target that holds data. */
  readonly replace?: boolean
  /** Called after each chunk, for a progress line: table, rows copied so far. */
  readonly progress?: (table: keyof RowCounts, copied: number) => void
}

const TABLES: ReadonlyArray<keyof RowCounts> = ['users', 'sessions', 'messages', 'uploads', 'room_catalog', 'room_members']
const CHUNK_ROWS = 2000

/** One sentence, for the command's last line. */
export const describeCopyProblem = (problem: CopyProblem): string => {
  switch (problem.kind) {
    case 'source':
      return `the SQLite database cannot be used: ${describeDatabaseFault(problem.fault)}`
    case 'not_sala':
      return 'the SQLite file is not a Sala database (it is empty or holds no Sala tables); nothing was copied or changed: check --from'
    case 'target':
      return `the PostgreSQL database cannot be used: ${describeDatabaseFault(problem.fault)}`
    case 'not_empty':
      return `the PostgreSQL database already holds data (${countsLine(problem.found)}); nothing was copied. Re-run with --replace to overwrite it`
    case 'count_mismatch':
      return `the copy did not add up (SQLite ${countsLine(problem.source)}; PostgreSQL ${countsLine(problem.target)}) and was rolled back`
    case 'failed':
      return `the copy failed and was rolled back: ${problem.detail}`
  }
}

export const countsLine = (counts: RowCounts): string => TABLES.map((table) => `${counts[table]} ${table}`).join(', ')

/**
 * Copies users, sessions, messages, upload records, rooms people made (`room_catalog`) and memberships
 * with their read markers (`room_members`) from the SQLite file `from` into the PostgreSQL database at
 * `to`, in one transaction: the target ends up with all of it or none. The source is opened as the server
 * opens it (checked, and its schema brought up to date first, so its columns are the ones copied); the
 * target's schema is created or updated under the migration lock. A target that holds data is refused
 * unless `replace`; the row counts of both sides are compared before the commit. Each room's counter (in
 * `rooms`) starts at its highest seq, so new messages continue the numbering. Never rejects.
 */
export const copySqliteToPostgres = async (from: string, to: PostgresLocation, options: CopyOptions = {}): Promise<E.Either<CopyProblem, RowCounts>> => {
  // Opening the source brings its schema up to date, so an empty file or another program's database would
  // become an empty Sala database, be "copied" as nothing and, with `replace`, empty the target. A file no
  // Sala migration ever ran on is refused before anything is written on either side.
  const version = await readSchemaVersion(from)
  if (E.isLeft(version)) return E.left({ kind: 'source', fault: version.left })
  if (version.right === 0) return E.left({ kind: 'not_sala' })
  const source = await openSqlite(from)
  if (E.isLeft(source)) return E.left({ kind: 'source', fault: source.left })
  const target = await openPostgres(to)
  if (E.isLeft(target)) {
    await source.right.port.close()
    return E.left({ kind: 'target', fault: target.left })
  }
  const closeBoth = async () => {
    await target.right.port.close()
    await source.right.port.close()
  }
  let client: pg.PoolClient
  try {
    client = await target.right.pool.connect()
  } catch (error) {
    await closeBoth()
    return E.left({ kind: 'failed', detail: error instanceof Error ? error.message : String(error) })
  }
  try {
    return await copyInTransaction(source.right.db, client, options)
  } finally {
    client.release()
    await closeBoth()
  }
}

const copyInTransaction = async (db: SqliteDatabase, client: pg.PoolClient, options: CopyOptions): Promise<E.Either<CopyProblem, RowCounts>> => {
  try {
    await client.query('BEGIN')
    // A copy of a large history takes longer than any request should.
    await client.query('SET LOCAL statement_timeout = 0')
    const found = await targetCounts(client)
    if (TABLES.some((table) => found[table] > 0)) {
      if (options.replace !== true) {
        await client.query('ROLLBACK')
        return E.left({ kind: 'not_empty', found })
      }
      await client.query('TRUNCATE users, sessions, messages, uploads, rooms, room_catalog, room_members, readiness_probe')
    }
    const source = await sourceCounts(db)
    for (const copy of COPIES) await copy(db, client, options.progress ?? (() => undefined))
    await client.query('INSERT INTO rooms (id, last_seq) SELECT room, MAX(seq) FROM messages GROUP BY room')
    const copied = await targetCounts(client)
    if (TABLES.some((table) => copied[table] !== source[table])) {
      await client.query('ROLLBACK')
      return E.left({ kind: 'count_mismatch', source, target: copied })
    }
    await client.query('COMMIT')
    return E.right(copied)
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined)
    return E.left({ kind: 'failed', detail: error instanceof Error ? error.message : String(error) })
  }
}

const sourceCounts = async (db: SqliteDatabase): Promise<RowCounts> => {
  const count = async (table: string) => (await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`))?.n ?? 0
  return {
    users: await count('users'),
    sessions: await count('sessions'),
    messages: await count('messages'),
    uploads: await count('uploads'),
    room_catalog: await count('room_catalog'),
    room_members: await count('room_members'),
  }
}

const targetCounts = async (client: pg.PoolClient): Promise<RowCounts> => {
  const { rows } = await client.query<RowCounts>(
    `SELECT (SELECT COUNT(*) FROM users)::int AS users, (SELECT COUNT(*) FROM sessions)::int AS sessions,
            (SELECT COUNT(*) FROM messages)::int AS messages, (SELECT COUNT(*) FROM uploads)::int AS uploads,
            (SELECT COUNT(*) FROM room_catalog)::int AS room_catalog, (SELECT COUNT(*) FROM room_members)::int AS room_members`,
  )
  return rows[0] ?? { users: 0, sessions: 0, messages: 0, uploads: 0, room_catalog: 0, room_members: 0 }
}

type Row = Readonly<Record<string, string | number | null>>
type Copy = (db: SqliteDatabase, client: pg.PoolClient, progress: (table: keyof RowCounts, copied: number) => void) => Promise<void>

/**
 * Copies one table in chunks read in primary-key order (keyset paging: each chunk starts after the last
 * key seen, so a large table costs no more per chunk than a small one), each chunk one INSERT with every
 * column bound as an array.
 */
const copyTable =
  (table: keyof RowCounts, columns: ReadonlyArray<readonly [name: string, pgType: string]>, key: ReadonlyArray<string>): Copy =>
  async (db, client, progress) => {
    const names = columns.map(([name]) => name)
    const after = key.length === 1 ? `${key[0]} > ?` : `(${key.join(', ')}) > (${key.map(() => '?').join(', ')})`
    const insert = `INSERT INTO ${table} (${names.join(', ')})
      SELECT * FROM unnest(${columns.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ')})`
    let last: ReadonlyArray<string | number | null> | undefined
    let copied = 0
    for (;;) {
      const rows = await db.all<Row[]>(
        `SELECT ${names.join(', ')} FROM ${table} ${last === undefined ? '' : `WHERE ${after}`} ORDER BY ${key.join(', ')} LIMIT ${CHUNK_ROWS}`,
        last === undefined ? [] : [...last],
      )
      if (rows.length === 0) return
      await client.query(insert, names.map((name) => rows.map((row) => row[name] ?? null)))
      copied += rows.length
      progress(table, copied)
      const final = rows[rows.length - 1]
      last = key.map((column) => final?.[column] ?? null)
    }
  }

// Users before what refers to them. Times stay ms since the epoch; attachments go from JSON text to jsonb.
const COPIES: ReadonlyArray<Copy> = [
  copyTable(
    'users',
    [['id', 'text'], ['name', 'text'], ['username', 'text'], ['email', 'text'], ['email_key', 'text'], ['password_hash', 'text'], ['created_at', 'bigint']],
    ['id'],
  ),
  copyTable('sessions', [['id', 'text'], ['user_id', 'text'], ['created_at', 'bigint'], ['expires_at', 'bigint'], ['revoked_at', 'bigint']], ['id']),
  copyTable(
    'messages',
    [['room', 'text'], ['seq', 'bigint'], ['user_id', 'text'], ['text', 'text'], ['client_id', 'text'], ['sent_at', 'bigint'], ['attachments', 'jsonb']],
    ['room', 'seq'],
  ),
  copyTable(
    'uploads',
    [['name', 'text'], ['owner_id', 'text'], ['original_name', 'text'], ['type', 'text'], ['size', 'bigint'], ['created_at', 'bigint'], ['attached_at', 'bigint'], ['claimed_at', 'bigint']],
    ['name'],
  ),
  copyTable(
    'room_catalog',
    [['id', 'text'], ['kind', 'text'], ['name', 'text'], ['topic', 'text'], ['owner_id', 'text'], ['created_at', 'bigint'], ['archived_at', 'bigint'], ['dm_key', 'text']],
    ['id'],
  ),
  copyTable('room_members', [['room_id', 'text'], ['user_id', 'text'], ['added_at', 'bigint'], ['read_seq', 'bigint']], ['room_id', 'user_id']),
]
