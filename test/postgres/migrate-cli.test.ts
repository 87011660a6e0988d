import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { forgetSalaServer } from '../capture/traffic.js'
import { ChatClient, postJson, register, startTestServer, type Registered, type TestServer } from '../integration/helpers.js'
import { createTestDatabase, postgresForTests, type TestDatabase } from './test-database.js'

const postgres = await postgresForTests()

// What the container image runs (it has dist/ and production dependencies only), and what a checkout runs.
const DIST_ENTRY = resolve('dist/src/shell/migrate-sqlite-to-postgres.js')
const NPM_SCRIPT = resolve('scripts/migrate-sqlite-to-postgres.mjs')

interface Ran {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs `node file ...args` in `cwd` (a folder without a `.env`) with only `env` set; never rejects. */
const runNode = (file: string, args: ReadonlyArray<string>, cwd: string, env: Record<string, string> = {}): Promise<Ran> =>
  new Promise((done) => {
    execFile(process.execPath, [file, ...args], { cwd, env: { PATH: process.env['PATH'] ?? '', ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1
      done({ code, stdout, stderr })
    })
  })

/** Stops a test server and keeps its data folder (TestServer.stop would delete it). */
const stopKeepingData = async (server: TestServer): Promise<void> => {
  forgetSalaServer(server.url)
  await server.server.close()
}

describe.skipIf(!postgres.available)('the migration command as the container image runs it (dist/)', () => {
  let work: string
  let dataDir: string
  let target: TestDatabase
  let ana: Registered
  // The password is never checked here (trust authentication), so it can show that the output hides it.
  const targetUrl = () => {
    const url = new URL(target.url)
    url.password = 'not-to-be-printed'
    return url.toString()
  }

  beforeAll(async () => {
    if (!existsSync(DIST_ENTRY)) throw new Error(`${DIST_ENTRY} is missing: build first (npx tsc -p tsconfig.build.json)`)
    work = await mkdtemp(join(tmpdir(), 'sala-migrate-cwd-'))
    dataDir = await mkdtemp(join(tmpdir(), 'sala-migrate-data-'))
    target = await createTestDatabase()
    // A SQLite instance as a user leaves it: an account, its session, two messages in Sala 1.
    const sqlite = await startTestServer({ DATABASE_URL: '' }, dataDir)
    try {
      expect(sqlite.config.database.type).toBe('sqlite')
      ana = await register(sqlite, 'ana')
      // Joining a public room makes ana a member of it (its read marker): the copy carries that membership too.
      const socket = await ChatClient.connect(sqlite, { token: ana.token })
      socket.send({ type: 'join' })
      await socket.next('joined')
      socket.send({ type: 'message', text: 'before the move', clientId: 'c-1' })
      expect(Number((await socket.next('ack')).id)).toBe(1)
      socket.send({ type: 'message', text: 'still SQLite', clientId: 'c-2' })
      expect(Number((await socket.next('ack')).id)).toBe(2)
      socket.close()
    } finally {
      await stopKeepingData(sqlite)
    }
  }, 60_000)

  afterAll(async () => {
    await target?.drop()
    await rm(work, { recursive: true, force: true })
    await rm(dataDir, { recursive: true, force: true })
  })

  it('copies the SQLite file into a fresh database, hiding the password, and a server on PostgreSQL then serves the same account, session and history', async () => {
    const ran = await runNode(DIST_ENTRY, ['--from', join(dataDir, 'sala.db'), '--to', targetUrl()], work, { NODE_ENV: 'production' })
    expect(ran.stderr).toBe('')
    expect(ran.code).toBe(0)
    expect(ran.stdout).toContain(':***@')
    expect(ran.stdout).not.toContain('not-to-be-printed')
    expect(ran.stdout.trim().split('\n').pop()).toBe('copied and checked: 1 users, 1 sessions, 2 messages, 0 uploads, 0 room_catalog, 1 room_members')

    // Same data folder, so the same generated session secret: the session copied along stays valid.
    const moved = await startTestServer({ DATABASE_URL: target.url }, dataDir)
    try {
      expect(moved.config.database.type).toBe('postgres')
      const socket = await ChatClient.connect(moved, { token: ana.token })
      socket.send({ type: 'join' })
      const joined = await socket.next('joined')
      expect(joined.history.map((m) => [Number(m.id), m.text, m.user.username, m.clientId])).toEqual([
        [1, 'before the move', 'ana', 'c-1'],
        [2, 'still SQLite', 'ana', 'c-2'],
      ])
      // The room's numbering continues after the copied messages, and a copied clientId is still known.
      socket.send({ type: 'message', text: 'on PostgreSQL', clientId: 'c-3' })
      expect(Number((await socket.next('ack')).id)).toBe(3)
      socket.send({ type: 'message', text: 'before the move', clientId: 'c-1' })
      expect(Number((await socket.next('ack')).id)).toBe(1)
      socket.close()
      const login = await postJson(`${moved.url}/auth/login`, { username: 'ana', password: ana.password })
      expect(login.status).toBe(200)
    } finally {
      await stopKeepingData(moved)
    }
  }, 60_000)

  it('refuses a database that holds data, and the npm script replaces it when told, taking the target from DATABASE_URL', async () => {
    // The server on PostgreSQL added a message and a session (the login).
    const refused = await runNode(DIST_ENTRY, ['--from', join(dataDir, 'sala.db'), '--to', target.url], work)
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/^not copied: the PostgreSQL database already holds data \(1 users, 2 sessions, 3 messages, 0 uploads, 0 room_catalog, 1 room_members\).*--replace/)

    const replaced = await runNode(NPM_SCRIPT, ['--from', join(dataDir, 'sala.db'), '--replace'], work, { DATABASE_URL: target.url })
    expect(replaced.stderr).toBe('')
    expect(replaced.code).toBe(0)
    expect(replaced.stdout).toContain('(replacing what is there)')
    expect(replaced.stdout.trim().split('\n').pop()).toBe('copied and checked: 1 users, 1 sessions, 2 messages, 0 uploads, 0 room_catalog, 1 room_members')
  }, 60_000)

  it('says what is wrong, with the usage line, for a missing file, a missing target or an unknown option', async () => {
    const missingFile = await runNode(DIST_ENTRY, ['--from', join(dataDir, 'nothing.db'), '--to', target.url], work)
    expect(missingFile.code).toBe(1)
    expect(missingFile.stderr).toContain('nothing.db does not exist')
    expect(missingFile.stderr).toContain('usage: node dist/src/shell/migrate-sqlite-to-postgres.js --from')

    // An empty DATABASE_URL (as .env.example leaves it) is no target.
    const noTarget = await runNode(DIST_ENTRY, ['--from', join(dataDir, 'sala.db')], work, { DATABASE_URL: '' })
    expect(noTarget.code).toBe(1)
    expect(noTarget.stderr).toContain('--to or DATABASE_URL is required')

    const notPostgres = await runNode(DIST_ENTRY, ['--from', join(dataDir, 'sala.db'), '--to', 'mysql://db/sala'], work)
    expect(notPostgres.code).toBe(1)
    expect(notPostgres.stderr).toContain('must be a postgres:// or postgresql:// URL')

    const unknown = await runNode(NPM_SCRIPT, ['--from', join(dataDir, 'sala.db'), '--force'], work)
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain("Unknown option '--force'")
    expect(unknown.stderr).toContain('usage: npm run migrate:sqlite-to-postgres -- --from')
  }, 60_000)
})
