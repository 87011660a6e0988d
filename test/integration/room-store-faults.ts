import { join } from 'node:path'
import pg from 'pg'
import { open } from 'sqlite'
import sqlite3 from 'sqlite3'
import type { TestServer } from './helpers.js'

/**
 * Makes the server's store fail every read of memberships, on either engine, by renaming `room_members`
 * behind its back (another connection, as an operator's mistake or a broken migration would); resolves to
 * what puts it back. The server's statements name the table, so each fails with "no such table" until then.
 */
export const breakMemberships = async (server: TestServer): Promise<() => Promise<void>> => {
  const rename = (from: string, to: string) => `ALTER TABLE ${from} RENAME TO ${to}`
  const database = server.config.database
  if (database.type === 'postgres') {
    const client = new pg.Client({ connectionString: database.url })
    await client.connect()
    await client.query(rename('room_members', 'room_members_away'))
    return async () => {
      await client.query(rename('room_members_away', 'room_members'))
      await client.end()
    }
  }
  const other = await open({ filename: join(server.dataDir, 'sala.db'), driver: sqlite3.Database })
  await other.exec(rename('room_members', 'room_members_away'))
  return async () => {
    await other.exec(rename('room_members_away', 'room_members'))
    await other.close()
  }
}
