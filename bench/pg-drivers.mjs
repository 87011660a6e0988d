// Which PostgreSQL driver for Sala: `pg` (node-postgres) or `postgres` (porsager), on the two things the
// message store does most: batched inserts of chat messages (100 rows per statement, several statements
// in flight so PostgreSQL groups their commits, each allocating its room's seq in the same statement) and
// single-row reads. Both drivers run the same SQL against a fresh database that is dropped afterwards.
//
// `pg` is Sala's driver; `postgres` was installed only for this comparison: `npm install --no-save postgres` first.
//
//   node bench/pg-drivers.mjs                       # both drivers, alternated, 3 rounds
//   BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/postgres BENCH_PG_ROUNDS=1 node bench/pg-drivers.mjs
//
// Settings: BENCH_PG_URL (an admin connection; the bench creates and drops its own database),
// BENCH_PG_ROUNDS (3), BENCH_PG_BATCHES (400 batches of BENCH_PG_BATCH_ROWS = 100 rows), BENCH_PG_INFLIGHT
// (4 statements in flight, the pool size), BENCH_PG_READS (20000).
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import postgres from 'postgres'

const ADMIN_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const ROUNDS = Number(process.env.BENCH_PG_ROUNDS ?? 3)
const BATCHES = Number(process.env.BENCH_PG_BATCHES ?? 400)
const BATCH_ROWS = Number(process.env.BENCH_PG_BATCH_ROWS ?? 100)
const INFLIGHT = Number(process.env.BENCH_PG_INFLIGHT ?? 4)
const READS = Number(process.env.BENCH_PG_READS ?? 20_000)
const ROOMS = ['sala-1', 'sala-2', 'sala-3', 'sala-4']

const SCHEMA = `
  CREATE TABLE users (id text PRIMARY KEY, username text NOT NULL);
  CREATE TABLE rooms (id text PRIMARY KEY, last_seq bigint NOT NULL);
  CREATE TABLE messages (
    room text NOT NULL, seq bigint NOT NULL, user_id text NOT NULL REFERENCES users(id),
    text text NOT NULL, client_id text, sent_at bigint NOT NULL, attachments jsonb,
    PRIMARY KEY (room, seq)
  );
  CREATE UNIQUE INDEX messages_by_client_id ON messages (room, user_id, client_id) WHERE client_id IS NOT NULL;
  INSERT INTO users SELECT 'u' || i, 'user' || i FROM generate_series(1, 10) AS i;
`

// One statement per batch: the room's counter row is bumped (and locked until commit, so a room's seqs
// commit in order), the rows take the numbers it frees, and a repeated clientId is skipped.
const INSERT = `
  WITH counter AS (
    INSERT INTO rooms (id, last_seq) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET last_seq = rooms.last_seq + EXCLUDED.last_seq
    RETURNING last_seq
  )
  INSERT INTO messages (room, seq, user_id, text, client_id, sent_at)
  SELECT $1, counter.last_seq - $2 + b.ord, b.user_id, b.text, b.client_id, b.sent_at
  FROM counter, unnest($3::text[], $4::text[], $5::text[], $6::bigint[]) WITH ORDINALITY AS b(user_id, text, client_id, sent_at, ord)
  ON CONFLICT (room, user_id, client_id) WHERE client_id IS NOT NULL DO NOTHING
  RETURNING seq`

const READ = 'SELECT room, seq, user_id, text, client_id, sent_at FROM messages WHERE room = $1 AND seq = $2'

const drivers = {
  pg: (url) => {
    const pool = new pg.Pool({ connectionString: url, max: INFLIGHT })
    // An idle client's error (the server ending it) is emitted on the pool, and unheard would end the process.
    pool.on('error', () => {})
    // Named statements are prepared once per connection, as `postgres` does by default: a fair match.
    const names = new Map()
    const nameOf = (text) => names.get(text) ?? (names.set(text, `s${names.size}`), names.get(text))
    return {
      query: async (text, values) => (await pool.query({ name: nameOf(text), text, values })).rows,
      end: () => pool.end(),
    }
  },
  postgres: (url) => {
    const sql = postgres(url, { max: INFLIGHT, onnotice: () => {} })
    return {
      query: (text, values) => sql.unsafe(text, values, { prepare: true }),
      end: () => sql.end({ timeout: 5 }),
    }
  },
}

const batchOf = (round, index) => {
  const users = []
  const texts = []
  const clientIds = []
  const sentAts = []
  for (let row = 0; row < BATCH_ROWS; row++) {
    users.push(`u${1 + ((index + row) % 10)}`)
    texts.push(`message ${index}/${row} of round ${round}: ${'lorem ipsum '.repeat(4)}`)
    clientIds.push(`c-${round}-${index}-${row}`)
    sentAts.push(Date.now())
  }
  return [ROOMS[index % ROOMS.length], BATCH_ROWS, users, texts, clientIds, sentAts]
}

/** Runs `count` operations, `inflight` at a time; each one's latency in ms, and the wall time. */
const measure = async (count, inflight, operation) => {
  const latencies = new Array(count)
  let next = 0
  const started = performance.now()
  const worker = async () => {
    while (next < count) {
      const index = next++
      const at = performance.now()
      await operation(index)
      latencies[index] = performance.now() - at
    }
  }
  await Promise.all(Array.from({ length: inflight }, worker))
  return { latencies, seconds: (performance.now() - started) / 1000 }
}

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

const runDriver = async (name, admin, round) => {
  const database = `sala_bench_${randomBytes(6).toString('hex')}`
  await admin.query(`CREATE DATABASE ${database}`)
  const url = new URL(ADMIN_URL)
  url.pathname = `/${database}`
  const client = drivers[name](url.toString())
  try {
    for (const statement of SCHEMA.split(';').filter((s) => s.trim() !== '')) await client.query(statement, [])
    // Warm the pool and the prepared statements before the clock starts.
    await measure(INFLIGHT * 4, INFLIGHT, (i) => client.query(INSERT, batchOf(-1, i)))
    const writes = await measure(BATCHES, INFLIGHT, async (i) => {
      const stored = await client.query(INSERT, batchOf(round, i))
      if (stored.length !== BATCH_ROWS) throw new Error(`batch ${i}: ${stored.length} of ${BATCH_ROWS} rows stored`)
    })
    const highest = (await client.query('SELECT id, last_seq FROM rooms', [])).map((r) => [r.id, Number(r.last_seq)])
    const lastSeq = Math.min(...highest.map(([, seq]) => seq))
    const reads = await measure(READS, INFLIGHT, async (i) => {
      const rows = await client.query(READ, [ROOMS[i % ROOMS.length], 1 + ((i * 7919) % lastSeq)])
      if (rows.length !== 1) throw new Error(`read ${i}: ${rows.length} rows`)
    })
    return {
      driver: name,
      rowsPerSecond: Math.round((BATCHES * BATCH_ROWS) / writes.seconds),
      batchP50Ms: percentile(writes.latencies, 50).toFixed(2),
      batchP99Ms: percentile(writes.latencies, 99).toFixed(2),
      readsPerSecond: Math.round(READS / reads.seconds),
      readP50Ms: percentile(reads.latencies, 50).toFixed(3),
      readP99Ms: percentile(reads.latencies, 99).toFixed(3),
    }
  } finally {
    await client.end()
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

const main = async () => {
  const admin = new pg.Client({ connectionString: ADMIN_URL })
  await admin.connect()
  const results = []
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate who goes first: the machine's speed drifts (see bench/README.md).
      const order = round % 2 === 0 ? ['pg', 'postgres'] : ['postgres', 'pg']
      for (const name of order) {
        const result = await runDriver(name, admin, round)
        results.push(result)
        console.log(JSON.stringify({ round, ...result }))
      }
    }
  } finally {
    await admin.end()
  }
  console.log(`\nmedians of ${ROUNDS} rounds; ${BATCHES} batches of ${BATCH_ROWS} rows, ${INFLIGHT} in flight; ${READS} single-row reads`)
  for (const name of Object.keys(drivers)) {
    const mine = results.filter((r) => r.driver === name)
    const pick = (key) => median(mine.map((r) => Number(r[key])))
    console.log(
      `${name.padEnd(9)} inserts ${pick('rowsPerSecond')} rows/s (batch p99 ${pick('batchP99Ms')} ms), ` +
        `reads ${pick('readsPerSecond')}/s (p99 ${pick('readP99Ms')} ms)`,
    )
  }
}

await main()
