import type pg from 'pg'
import type { Stores } from '../stores.js'
import { postgresMessageStore } from './messages.js'
import { postgresRoomStore } from './rooms.js'
import { postgresSessionStore } from './sessions.js'
import { postgresUploadStore } from './uploads.js'
import { postgresUserStore } from './users.js'

/** Every store on one pool (from `openPostgres`): each call takes a connection for its one statement. */
export const postgresStores = (pool: pg.Pool): Stores => ({
  messages: postgresMessageStore(pool),
  users: postgresUserStore(pool),
  sessions: postgresSessionStore(pool),
  uploads: postgresUploadStore(pool),
  rooms: postgresRoomStore(pool),
})
