import { open, type Database } from 'sqlite'
import sqlite3 from 'sqlite3'
import { MIGRATIONS } from './migrations.js'

export type SqliteDatabase = Database<sqlite3.Database, sqlite3.Statement>

/**
 * Opens (creating if needed) the database file and brings its schema up to date. WAL lets readers work
 * while a write commits; `synchronous=NORMAL` is durable across process crashes in WAL mode and only risks
 * the last transactions on power loss, the usual trade for a chat server.
 */
export const openDatabase = async (filename: string): Promise<SqliteDatabase> => {
  const db = await open({ filename, driver: sqlite3.Database })
  await db.exec('PRAGMA journal_mode = WAL')
  await db.exec('PRAGMA synchronous = NORMAL')
  await db.exec('PRAGMA foreign_keys = ON')
  await db.exec('PRAGMA busy_timeout = 5000')
  await migrate(db)
  return db
}

const migrate = async (db: SqliteDatabase): Promise<void> => {
  const row = await db.get<{ user_version: number }>('PRAGMA user_version')
  const current = row?.user_version ?? 0
  for (const [index, sql] of MIGRATIONS.entries()) {
    const version = index + 1
    if (version <= current) continue
    // One transaction per migration: a failed one leaves the previous version intact.
    await db.exec(`BEGIN; ${sql}; PRAGMA user_version = ${version}; COMMIT;`).catch(async (error: unknown) => {
      await db.exec('ROLLBACK').catch(() => undefined)
      throw error
    })
  }
}
