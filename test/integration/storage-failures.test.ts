import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { open } from 'sqlite'
import sqlite3 from 'sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { fillDisk, makeReadOnly, mountTmpfs } from './disks.js'
import { postJson, register, startTestServer, uniqueName, type Registered, type TestServer } from './helpers.js'
import { BOUNDARY, multipartOf } from './upload-client.js'

// A store that fails says why, over HTTP, in one way on every route: another process holding the database
// lock is 503 `storage_busy` with Retry-After (try again soon), a full disk is 507 `storage_full`, a folder
// or file that takes no write is 500 `storage_failed` with a sentence that says so. Each failure is logged
// with the store's or the file system's code.

interface Answer {
  readonly status: number
  readonly retryAfter: string | null
  readonly error: { readonly code: string; readonly message: string } | undefined
}

const answerOf = async (response: Response): Promise<Answer> => {
  const text = await response.text()
  const body = text === '' ? {} : (JSON.parse(text) as { error?: Answer['error'] })
  return { status: response.status, retryAfter: response.headers.get('retry-after'), error: body.error }
}

const signUp = (server: TestServer) => {
  const name = uniqueName('nova')
  return postJson(`${server.url}/auth/register`, { name: 'Nova', username: name, email: `${name}@example.com`, password: 'long enough pw' }).then(answerOf)
}
const login = (server: TestServer, user: Registered) => postJson(`${server.url}/auth/login`, { username: user.username, password: user.password }).then(answerOf)
const logout = (server: TestServer, user: Registered) =>
  fetch(`${server.url}/auth/logout`, { method: 'POST', headers: { Authorization: `Bearer ${user.token}` } }).then(answerOf)
const upload = (server: TestServer, user: Registered) =>
  fetch(`${server.url}/uploads`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${user.token}`, 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}` },
    body: multipartOf([{ filename: 'f.txt', data: Buffer.alloc(100, 1) }]),
  }).then(answerOf)
const me = (server: TestServer, user: Registered) => fetch(`${server.url}/auth/me`, { headers: { Authorization: `Bearer ${user.token}` } })

/** Log lines from `from` on that name `code` as an error's code. */
const loggedWithCode = (server: TestServer, from: number, code: string) =>
  server.logLines.slice(from).filter((line) => line.includes(`"code":"${code}"`))

const cleanups: Array<() => Promise<unknown> | unknown> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const serve = async (env: Record<string, string> = {}, dataDir?: string): Promise<TestServer> => {
  const server = await startTestServer(env, dataDir)
  cleanups.push(() => server.stop())
  return server
}

describe('a store that fails answers what failed', () => {
  it('database locked by another process: sign-up, login, logout and upload answer 503 storage_busy with Retry-After, and work once it lets go', async () => {
    const server = await serve()
    const [ana, bia, caio] = [await register(server), await register(server), await register(server)]
    const other = await open({ filename: join(server.dataDir, 'sala.db'), driver: sqlite3.Database })
    cleanups.push(() => other.close())
    await other.exec('BEGIN IMMEDIATE')
    const from = server.logLines.length
    // Together: each waits out the stores' lock wait (5 s) once.
    const answers = await Promise.all([signUp(server), login(server, ana), logout(server, bia), upload(server, caio)])
    for (const answer of answers) {
      expect(answer).toMatchObject({ status: 503, error: { code: 'storage_busy' } })
      expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1)
      expect(answer.error?.message).not.toMatch(/\//)
    }
    expect(loggedWithCode(server, from, 'SQLITE_BUSY').length).toBeGreaterThanOrEqual(answers.length)
    // The upload's file was not kept.
    expect((await readdir(join(server.dataDir, 'uploads'))).filter((name) => !name.startsWith('.'))).toEqual([])
    // The logout that failed did not pretend: the session still works until a logout succeeds.
    expect((await me(server, bia)).status).toBe(200)
    await other.exec('ROLLBACK')

    expect((await signUp(server)).status).toBe(201)
    expect((await login(server, ana)).status).toBe(200)
    expect((await logout(server, bia)).status).toBe(204)
    expect((await me(server, bia)).status).toBe(401)
    expect((await upload(server, caio)).status).toBe(201)
    // The stores share one connection, so the four lock waits (5 s each) come one after another.
  }, 120_000)

  it('a logout whose session cannot be looked up fails; it is not a 204 that leaves the session working', async () => {
    const server = await serve()
    const ana = await register(server)
    const other = await open({ filename: join(server.dataDir, 'sala.db'), driver: sqlite3.Database })
    cleanups.push(() => other.close())
    // The sessions table out of the way: every lookup of a session fails, as a damaged file's would.
    await other.exec('ALTER TABLE sessions RENAME TO sessions_away')
    const answer = await logout(server, ana)
    await other.exec('ALTER TABLE sessions_away RENAME TO sessions')
    expect(answer).toMatchObject({ status: 500, error: { code: 'internal_error' } })
    expect((await me(server, ana)).status).toBe(200)
  })

  it('DATA_DIR on a full disk: sign-up, login and logout answer 507 storage_full, and work once there is room', async (context) => {
    const base = await mkdtemp(join(tmpdir(), 'sala-store-full-'))
    cleanups.push(() => rm(base, { recursive: true, force: true }))
    const disk = await mountTmpfs(join(base, 'data'), 1024)
    if (disk === undefined) return context.skip('cannot mount a small disk here (needs root)')
    cleanups.push(disk.unmount)
    const server = await startTestServer({ UPLOAD_DIR: join(base, 'uploads') }, disk.dir)
    cleanups.push(() => server.server.close())
    const [ana, bia] = [await register(server), await register(server)]
    await fillDisk(disk.dir)
    const from = server.logLines.length
    // The WAL may still have room for a frame or two: a full disk shows within a few writes.
    const first = async (attempt: () => Promise<Answer>) => {
      let answer = await attempt()
      for (let i = 0; i < 20 && answer.status < 400; i++) answer = await attempt()
      return answer
    }
    const answers = [await first(() => signUp(server)), await first(() => login(server, ana)), await logout(server, bia)]
    for (const answer of answers) {
      expect(answer).toMatchObject({ status: 507, error: { code: 'storage_full' } })
      expect(answer.error?.message).not.toMatch(/\//)
    }
    expect(loggedWithCode(server, from, 'SQLITE_FULL').length).toBeGreaterThanOrEqual(answers.length)
    await rm(join(disk.dir, 'filler'), { force: true })
    expect((await signUp(server)).status).toBe(201)
    expect((await login(server, ana)).status).toBe(200)
    expect((await logout(server, bia)).status).toBe(204)
  })

  it('a read-only upload folder: 500 storage_failed that says so, not internal_error, and the code is logged', async (context) => {
    const uploads = await mkdtemp(join(tmpdir(), 'sala-store-ro-'))
    cleanups.push(() => rm(uploads, { recursive: true, force: true }))
    const server = await serve({ UPLOAD_DIR: uploads })
    const ana = await register(server)
    const restore = await makeReadOnly(uploads)
    if (restore === undefined) return context.skip('cannot make a read-only folder here (root without mount)')
    cleanups.push(restore)
    const from = server.logLines.length
    const answer = await upload(server, ana)
    expect(answer).toMatchObject({ status: 500, error: { code: 'storage_failed', message: expect.stringMatching(/cannot write|read-only/) } })
    expect(answer.error?.message).not.toContain(uploads)
    const code = process.getuid?.() === 0 ? 'EROFS' : 'EACCES'
    expect(loggedWithCode(server, from, code).length).toBeGreaterThan(0)
  })
})
