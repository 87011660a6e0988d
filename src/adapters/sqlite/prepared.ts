import type { Statement } from 'sqlite'
import type sqlite3 from 'sqlite3'
import type { SqliteDatabase } from './database.js'

export type SqliteStatement = Statement<sqlite3.Statement>

/**
 * Statements prepared once and run many times on one connection. `db.all(sql)` prepares, runs and
 * finalizes on every call, and for the message insert (a CTE, a correlated MAX and an upsert) preparing
 * costs as much as running: a third of a batch's time, on the thread that commits. Open statements keep
 * `sqlite3_close` from closing the connection, so `finalize` runs before it; a statement asked for after
 * that fails like any store call on a closed database.
 */
export interface PreparedStatements {
  /** The statement for `sql`, prepared on first use (concurrent first uses share one preparation). */
  readonly get: (sql: string) => Promise<SqliteStatement>
  /** Finalizes every statement; later `get`s reject. Safe to call twice. */
  readonly finalize: () => Promise<void>
}

export const preparedStatements = (db: SqliteDatabase): PreparedStatements => {
  const statements = new Map<string, Promise<SqliteStatement>>()
  let finalized = false
  return {
    get: (sql) => {
      if (finalized) return Promise.reject(new Error('the database is closed'))
      const known = statements.get(sql)
      if (known !== undefined) return known
      const prepared = db.prepare(sql)
      statements.set(sql, prepared)
      // A statement that failed to prepare (a schema the code does not expect) is tried afresh next time.
      prepared.catch(() => {
        if (statements.get(sql) === prepared) statements.delete(sql)
      })
      return prepared
    },
    finalize: async () => {
      finalized = true
      const all = [...statements.values()]
      statements.clear()
      for (const statement of await Promise.allSettled(all)) {
        if (statement.status === 'fulfilled') await statement.value.finalize()
      }
    },
  }
}
