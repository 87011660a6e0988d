import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import WebSocket from 'ws'
import { decodeConfig, type Config } from '../../src/core/config.js'
import { jsonLogger } from '../../src/adapters/logger.js'
import { ServerFrame } from '../../src/core/protocol/server-frames.js'
import { startSala, type SalaServer, type StartOptions } from '../../src/shell/server.js'
import { forgetSalaServer, registerSalaServer } from '../capture/traffic.js'
import { createTestDatabase, type TestDatabase } from '../postgres/test-database.js'

export interface TestServer {
  readonly server: SalaServer
  readonly url: string
  readonly wsUrl: string
  readonly dataDir: string
  readonly config: Config
  readonly logLines: string[]
  readonly restart: () => Promise<TestServer>
  /** Restarts on the same port, as a real deploy does: clients reconnect to the address they know. */
  readonly restartOnSamePort: () => Promise<TestServer>
  readonly stop: () => Promise<void>
}

/** A real server on an ephemeral port with its own temp data folder and cheap bcrypt. */
// With SALA_TEST_ENGINE=postgres (the vitest project `sala-postgres`), every test server stores in a
// PostgreSQL database of its own, one per data folder, so a restart on the same folder finds its data.
const databases = new Map<string, TestDatabase>()
const databaseFor = async (dir: string): Promise<Record<string, string>> => {
  if (process.env['SALA_TEST_ENGINE'] !== 'postgres') return {}
  const database = databases.get(dir) ?? (await createTestDatabase())
  databases.set(dir, database)
  return { DATABASE_URL: database.url }
}
const dropDatabaseOf = async (dir: string): Promise<void> => {
  const database = databases.get(dir)
  databases.delete(dir)
  await database?.drop()
}

/** `options` are the start options the environment cannot give (a clock, a disk seam, a shorter sign-in timeout). */
export const startTestServer = async (env: Record<string, string> = {}, dataDir?: string, options: StartOptions = {}): Promise<TestServer> => {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'sala-test-')))
  const engine = await databaseFor(dir)
  const decoded = decodeConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dir,
    UPLOAD_DIR: join(dir, 'uploads'),
    BCRYPT_COST: '4',
    LOG_LEVEL: 'debug',
    // Tests sign up many users from one address; the sign-up limit has its own tests.
    REGISTER_RATE: '1000000',
    MAX_CONNECTIONS_PER_ADDRESS: '1000000',
    ...engine,
    ...env,
  })
  if (E.isLeft(decoded)) throw new Error(decoded.left.join('\n'))
  const logLines: string[] = []
  const server = await startSala(decoded.right, { log: jsonLogger('debug', (line) => logLines.push(line)), ...options })
  // What it answers is checked against the published specs at the end of the run (test/capture).
  registerSalaServer(server.url)
  const close = async () => {
    forgetSalaServer(server.url)
    await server.close()
  }
  const self: TestServer = {
    server,
    url: server.url,
    wsUrl: server.url.replace('http', 'ws') + '/ws',
    dataDir: dir,
    config: decoded.right,
    logLines,
    restart: async () => {
      await close()
      return startTestServer(env, dir, options)
    },
    restartOnSamePort: async () => {
      await close()
      return startTestServer({ ...env, PORT: String(server.port) }, dir, options)
    },
    stop: async () => {
      await close()
      await dropDatabaseOf(dir)
      await rm(dir, { recursive: true, force: true })
    },
  }
  return self
}

let counter = 0
export const uniqueName = (prefix = 'user'): string => `${prefix}${process.pid % 1000}${counter++}`

export interface Registered {
  readonly username: string
  readonly password: string
  readonly token: string
  readonly cookie: string
}

export const postJson = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) })

export const register = async (server: Pick<TestServer, 'url'>, username = uniqueName()): Promise<Registered> => {
  const password = `pw-${username}-secret`
  const response = await postJson(`${server.url}/auth/register`, {
    name: username.toUpperCase(),
    username,
    email: `${username}@example.com`,
    password,
  })
  if (response.status !== 201) throw new Error(`register ${username}: ${response.status} ${await response.text()}`)
  const body = (await response.json()) as { token: string }
  const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
  return { username, password, token: body.token, cookie }
}

/** A WebSocket client that records every frame, checks each against the protocol codecs, and can wait for one. */
export class ChatClient {
  readonly frames: ServerFrame[] = []
  readonly invalid: unknown[] = []
  closed: { code: number; reason: string } | undefined
  private waiters: Array<() => void> = []

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const json: unknown = JSON.parse(data.toString())
      if (ServerFrame.is(json)) this.frames.push(json)
      else this.invalid.push(json)
      this.notify()
    })
    socket.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() }
      this.notify()
    })
  }

  /** `server` is a test server, or any Sala whose WebSocket address is known (a child process). */
  static connect(server: Pick<TestServer, 'wsUrl'>, auth: { token?: string; cookie?: string; origin?: string }): Promise<ChatClient> {
    const headers: Record<string, string> = {}
    if (auth.token !== undefined) headers['Authorization'] = `Bearer ${auth.token}`
    if (auth.cookie !== undefined) headers['Cookie'] = auth.cookie
    if (auth.origin !== undefined) headers['Origin'] = auth.origin
    const socket = new WebSocket(server.wsUrl, { headers })
    const client = new ChatClient(socket)
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(client))
      socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)))
      socket.once('error', reject)
    })
  }

  send(command: unknown): void {
    this.socket.send(typeof command === 'string' ? command : JSON.stringify(command))
  }

  /** The first frame, from `from` on, that matches; fails after `timeoutMs`. */
  async next<T extends ServerFrame['type']>(
    type: T,
    match: (frame: Extract<ServerFrame, { type: T }>) => boolean = () => true,
    timeoutMs = 3000,
  ): Promise<Extract<ServerFrame, { type: T }>> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.frames.find((f): f is Extract<ServerFrame, { type: T }> => f.type === type && match(f as Extract<ServerFrame, { type: T }>))
      if (found !== undefined) {
        this.frames.splice(this.frames.indexOf(found), 1)
        return found
      }
      const left = deadline - Date.now()
      if (left <= 0) {
        const have = this.frames.slice(-5).map((f) => JSON.stringify(f).slice(0, 200))
        throw new Error(`no ${type} frame within ${timeoutMs} ms (closed: ${JSON.stringify(this.closed)}); last of ${this.frames.length}: ${have.join(' ')}`)
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  async waitClosed(timeoutMs = 3000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs
    while (this.closed === undefined) {
      if (Date.now() > deadline) throw new Error('socket did not close')
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50)
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
    return this.closed
  }

  /** Frames of these types received so far and not consumed by `next`. */
  pending(...types: ReadonlyArray<ServerFrame['type']>): ServerFrame[] {
    return this.frames.filter((f) => types.includes(f.type))
  }

  close(): void {
    this.socket.close()
  }

  private notify(): void {
    const waiters = this.waiters
    this.waiters = []
    for (const wake of waiters) wake()
  }
}

/** Lets in-flight frames arrive, for asserting that something did NOT happen. */
export const settle = (ms = 150) => new Promise((resolve) => setTimeout(resolve, ms))

/** The HTTP status an upgrade with this Bearer token is answered with (101 when it opens; it is then closed). */
export const upgradeStatus = (url: string, token: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` } })
    socket.on('open', () => {
      socket.close()
      resolve(101)
    })
    socket.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0)
      res.resume()
    })
    socket.on('error', reject)
  })

/** Polls `find` until it gives a value (not undefined), or fails after `timeoutMs` naming `what`. */
export const waitFor = async <A>(find: () => A | undefined | Promise<A | undefined>, what: string, timeoutMs = 10_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = await find()
    if (found !== undefined) return found
    if (Date.now() > deadline) throw new Error(`waited in vain for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
