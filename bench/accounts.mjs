// Accounts for the benchmarks that need tens of thousands of them. Signing up through the HTTP API costs a
// bcrypt hash and two committed inserts each: 120-300 sign-ups a second on the 2-core development VM, so
// minutes for 20,000. Here they are written straight into the PostgreSQL database a Sala server has just
// migrated, with the server's own row builders (dist/src/adapters/rows.js) and its token issuer, so the
// rows and tokens are the ones a sign-up makes: one bcrypt hash of the shared password, many rows per
// INSERT, one transaction. Benchmark instrumentation, not Sala.
import pg from 'pg'
import bcrypt from 'bcryptjs'
import { randomBytes, randomUUID } from 'node:crypto'
import { NEW_SESSION_COLUMNS, NEW_USER_COLUMNS, newSessionValues, newUserValues } from '../dist/src/adapters/rows.js'
import { createTokenIssuer } from '../dist/src/adapters/tokens.js'

const ROWS_PER_INSERT = 1000

/** `INSERT INTO table (columns) VALUES ($1, …), (…)` for `rows` rows of `width` values. */
const insertInto = (table, columns, rows, width) =>
  `INSERT INTO ${table} (${columns}) VALUES ${Array.from({ length: rows }, (_, r) => `(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}`).join(', ')})`).join(', ')}`

/**
 * Users bench<from> … bench<from + count - 1> (name, username and bench<i>@example.com; password
 * "benchmark password"), each with a session: their session tokens, signed with `sessionSecret` (the
 * servers' SESSION_SECRET), in order. The database must already have Sala's schema (start a server first).
 */
export const seedAccounts = async ({ databaseUrl, sessionSecret, count, from = 0, sessionTtlSeconds = 30 * 86_400 }) => {
  const passwordHash = bcrypt.hashSync('benchmark password', 4)
  const now = Date.now()
  const expiresAt = now + sessionTtlSeconds * 1000
  const users = Array.from({ length: count }, (_, i) => {
    const name = `bench${from + i}`
    return { id: randomUUID(), name, username: name, email: `${name}@example.com`, passwordHash, createdAt: now }
  })
  const sessions = users.map((user) => ({ id: randomBytes(24).toString('base64url'), userId: user.id, createdAt: now, expiresAt }))
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    await client.query('BEGIN')
    for (let i = 0; i < count; i += ROWS_PER_INSERT) {
      const slice = users.slice(i, i + ROWS_PER_INSERT)
      const values = slice.flatMap(newUserValues)
      await client.query(insertInto('users', NEW_USER_COLUMNS, slice.length, values.length / slice.length), values)
      const sessionSlice = sessions.slice(i, i + ROWS_PER_INSERT)
      const sessionValues = sessionSlice.flatMap(newSessionValues)
      await client.query(insertInto('sessions', NEW_SESSION_COLUMNS, sessionSlice.length, sessionValues.length / sessionSlice.length), sessionValues)
    }
    await client.query('COMMIT')
  } finally {
    await client.end()
  }
  const issuer = createTokenIssuer(sessionSecret)
  return Promise.all(sessions.map((session) => issuer.issue({ userId: session.userId, sessionId: session.id, expiresAt: session.expiresAt }, now)))
}
