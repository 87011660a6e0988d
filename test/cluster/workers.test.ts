import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ChatClient, register, waitFor } from '../integration/helpers.js'
import { createTestDatabase, postgresForTests, type TestDatabase } from '../postgres/test-database.js'
import { inspector, redisForTests, removeKeys, testPrefix } from '../redis/test-redis.js'

// Issue 15, one machine: `WORKERS=2 node dist/src/shell/main.js` (the built entry point, as production
// runs it; `npm test` builds first) is a primary and two workers on one port, one chat through Redis.
const MAIN = 'dist/src/shell/main.js'
const postgres = await postgresForTests()
const redis = await redisForTests()

type LogRecord = Record<string, unknown> & { readonly msg?: string; readonly worker?: number; readonly pid?: number }

interface Primary {
  readonly child: ChildProcess
  /** Every line the primary and its workers wrote (they share its stdout and stderr). */
  readonly lines: string[]
  readonly stderr: () => string
  readonly stdout: () => string
  readonly records: (msg: string) => LogRecord[]
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
}

const primaries: Primary[] = []
const folders: string[] = []

const startPrimary = async (env: Record<string, string>): Promise<Primary> => {
  const dataDir = await mkdtemp(join(tmpdir(), 'sala-workers-'))
  folders.push(dataDir)
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env['PATH'] ?? '',
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      UPLOAD_DIR: join(dataDir, 'uploads'),
      BCRYPT_COST: '4',
      LOG_LEVEL: 'info',
      REGISTER_RATE: '1000000',
      MAX_CONNECTIONS_PER_ADDRESS: '1000000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  let stdout = ''
  let stderr = ''
  const split = (append: (text: string) => void) => {
    let partial = ''
    return (chunk: Buffer) => {
      append(chunk.toString())
      const complete = (partial + chunk.toString()).split('\n')
      partial = complete.pop() ?? ''
      lines.push(...complete.filter((line) => line !== ''))
    }
  }
  child.stdout?.on('data', split((text) => (stdout += text)))
  child.stderr?.on('data', split((text) => (stderr += text)))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  const records = (msg: string) =>
    lines.flatMap((line) => {
      try {
        const record = JSON.parse(line) as LogRecord
        return record.msg === msg ? [record] : []
      } catch {
        return []
      }
    })
  const primary = { child, lines, stderr: () => stderr, stdout: () => stdout, records, exited }
  primaries.push(primary)
  return primary
}

/** Resolves with the shared URL once `count` different workers have logged `sala listening`. */
const listening = (primary: Primary, count: number, what = `${count} workers listening`): Promise<string> =>
  waitFor(
    () => {
      const lines = primary.records('sala listening')
      const workers = new Set(lines.map((line) => line.worker))
      return workers.size >= count ? String(lines[0]?.['url']) : undefined
    },
    `${what}:\n${primary.lines.join('\n')}`,
    30_000,
  )

const pidOf = (primary: Primary, worker: number): number => {
  const started = primary.records('worker started').find((line) => line.worker === worker)
  if (started?.pid === undefined) throw new Error(`no 'worker started' line for worker ${worker}`)
  return started.pid
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

// A test that fails midway must not leave a primary (or a stopped worker, which would not notice its
// primary's end) behind: every worker this file's primaries started and did not see exit is killed.
afterEach(async () => {
  for (const primary of primaries.splice(0)) {
    const exitedWorkers = new Set(primary.records('worker exited').map((line) => line.worker))
    const running = primary.records('worker started').filter((line) => !exitedWorkers.has(line.worker))
    primary.child.kill('SIGKILL')
    await primary.exited
    for (const line of running) if (line.pid !== undefined && alive(line.pid)) process.kill(line.pid, 'SIGKILL')
  }
  for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true })
})

describe('WORKERS without Redis and PostgreSQL', () => {
  it('is refused in one line, with exit code 1, before any worker starts', async () => {
    const primary = await startPrimary({ WORKERS: '2' })
    const { code } = await primary.exited
    expect(code).toBe(1)
    expect(primary.stderr()).toBe(
      'Sala cannot start; fix these settings:\n' +
        '  - WORKERS=2 needs REDIS_URL and DATABASE_URL: workers are separate processes, which share one chat only through Redis and one history only in PostgreSQL (unset WORKERS to run one process on SQLite)\n',
    )
    expect(primary.stdout()).toBe('')
  })
})

describe.skipIf(!postgres.available || !redis.available)('WORKERS=2 on one port', () => {
  let database: TestDatabase
  const prefixes: string[] = []
  const shared = () => {
    const prefix = testPrefix()
    prefixes.push(prefix)
    return {
      WORKERS: '2',
      DATABASE_URL: database.url,
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_PREFIX: prefix,
      SESSION_SECRET: 'a shared secret of at least 32 characters!',
      DATABASE_POOL_SIZE: '3',
    }
  }
  beforeAll(async () => {
    database = await createTestDatabase()
  })
  afterAll(async () => {
    await database?.drop()
    const client = inspector()
    for (const prefix of prefixes) await removeKeys(client, prefix)
    client.disconnect()
  })

  interface Seat {
    readonly client: ChatClient
    readonly username: string
    readonly worker: number
  }

  /** A new user's socket, and the worker it landed on (from that worker's `connected` line). */
  const seat = async (primary: Primary, url: string): Promise<Seat> => {
    const server = { url, wsUrl: `${url.replace('http', 'ws')}/ws` }
    const user = await register(server)
    // One socket at a time, so the next `connected` line is this one's.
    const before = primary.records('connected').length
    const client = await ChatClient.connect(server, { token: user.token })
    await client.next('welcome', () => true, 10_000)
    const line = await waitFor(() => primary.records('connected')[before], 'its connected line')
    return { client, username: user.username, worker: Number(line.worker) }
  }

  /** Joins `room`, again until every one of `usernames` is in its `joined` list (they are on other workers too). */
  const joinSeeing = async (seat: Seat, room: string, usernames: ReadonlyArray<string>) =>
    waitFor(async () => {
      const ref = `j${Math.random()}`
      seat.client.send({ type: 'join', room, ref })
      const joined = await seat.client.next('joined', (f) => f.ref === ref, 10_000)
      const present = new Set(joined.users.map((u) => u.username))
      return usernames.every((name) => present.has(name)) ? joined : undefined
    }, `${seat.username} on worker ${seat.worker} seeing ${usernames.join(', ')}`, 20_000)

  /** `from` says something; `to` hears it. */
  const crosses = async (from: Seat, to: Seat, room: string) => {
    const text = `from ${from.username} on worker ${from.worker} to ${to.username} on worker ${to.worker}`
    from.client.send({ type: 'message', text, ref: text })
    await from.client.next('ack', (f) => f.ref === text, 10_000)
    await to.client.next('message', (f) => f.text === text && f.room === room, 10_000)
  }

  it(
    'serves one chat from both workers, restarts a worker killed with -9, and stops on SIGTERM with exit code 0',
    { timeout: 120_000 },
    async () => {
      const primary = await startPrimary(shared())
      const url = await listening(primary, 2)
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      // One port for both: every worker's line names the same URL (PORT=0 is chosen once, by the primary).
      expect(new Set(primary.records('sala listening').map((line) => line['url']))).toEqual(new Set([url]))

      // Sockets until each worker has two (node hands connections round-robin; more tries on a busy machine).
      const seats: Seat[] = []
      const on = (worker: number) => seats.filter((s) => s.worker === worker)
      while (!(on(1).length >= 2 && on(2).length >= 2) && seats.length < 30) seats.push(await seat(primary, url))
      expect(on(1).length).toBeGreaterThanOrEqual(2)
      expect(on(2).length).toBeGreaterThanOrEqual(2)

      const everyone = seats.map((s) => s.username)
      for (const s of seats) {
        s.client.send({ type: 'join', room: 'sala-1', ref: 'first' })
        await s.client.next('joined', (f) => f.ref === 'first', 10_000)
      }
      await joinSeeing(on(1)[0]!, 'sala-1', everyone)
      await joinSeeing(on(2)[0]!, 'sala-1', everyone)
      await crosses(on(1)[0]!, on(2)[0]!, 'sala-1')
      await crosses(on(2)[1]!, on(1)[1]!, 'sala-1')

      // kill -9 worker 1: its sockets drop, the primary logs the exit and starts another in its place.
      const victim = pidOf(primary, 1)
      process.kill(victim, 'SIGKILL')
      const exit = await waitFor(() => primary.records('worker exited').find((line) => line.worker === 1), 'the exit logged')
      expect(exit).toMatchObject({ pid: victim, code: null, signal: 'SIGKILL', restartInMs: expect.any(Number) })
      for (const s of on(1)) expect((await s.client.waitClosed(10_000)).code).toBe(1006)
      await listening(primary, 3, 'a third worker listening')
      const replacement = primary.records('worker started').find((line) => line.worker === 3)
      expect(replacement?.pid).not.toBe(victim)
      for (const s of on(2)) expect(s.client.closed).toBeUndefined()

      // The chat goes on, with the new worker in it: a newcomer on it and a survivor on worker 2 talk.
      let newcomer: Seat | undefined
      for (let tries = 0; newcomer === undefined && tries < 10; tries++) {
        const s = await seat(primary, url)
        if (s.worker === 3) newcomer = s
        else s.client.close()
      }
      expect(newcomer, 'a socket on the restarted worker').toBeDefined()
      const survivor = on(2)[0]!
      await joinSeeing(newcomer!, 'sala-1', [survivor.username, newcomer!.username])
      await crosses(newcomer!, survivor, 'sala-1')
      await crosses(survivor, newcomer!, 'sala-1')

      // SIGTERM: every worker stops gracefully (sockets told 1001), then the primary exits 0.
      const workerPids = primary.records('worker started').map((line) => Number(line.pid))
      primary.child.kill('SIGTERM')
      expect(await primary.exited).toEqual({ code: 0, signal: null })
      expect((await survivor.client.waitClosed()).code).toBe(1001)
      expect((await newcomer!.client.waitClosed()).code).toBe(1001)
      expect(primary.records('worker exited').filter((line) => line.worker !== 1).map((line) => line['code'])).toEqual([0, 0])
      expect(workerPids.filter(alive)).toEqual([])
      expect(primary.records('workers stopped')).toEqual([expect.objectContaining({ exitCode: 0 })])
    },
  )

  it('gives up, stopping the other worker, when one keeps exiting soon after it starts; exit code 1', { timeout: 120_000 }, async () => {
    const primary = await startPrimary(shared())
    await listening(primary, 2)
    // Kill worker 1, then each worker started in its place as soon as the primary logs it: every one of
    // those never listened, so each is a quick exit however slow the machine is.
    let worker = 1
    for (let kills = 1; kills <= 6; kills++) {
      process.kill(pidOf(primary, worker), 'SIGKILL')
      const exit = await waitFor(() => primary.records('worker exited').find((line) => line.worker === worker), `worker ${worker}'s exit`)
      if (exit['restart'] === false) break
      const next = worker === 1 ? 3 : worker + 1
      await waitFor(() => primary.records('worker started').find((line) => line.worker === next), `worker ${next} started`, 20_000)
      worker = next
    }
    expect((await primary.exited).code).toBe(1)
    const exits = primary.records('worker exited')
    const killed = exits.filter((line) => line.worker !== 2)
    // The first kill may count as healthy (restarted at once) if worker 1 took 10 s to start on a busy machine.
    expect(killed.slice(-5).map((line) => line['restartInMs'] ?? line['restart'])).toEqual([500, 1000, 2000, 4000, false])
    expect(primary.records('workers keep exiting soon after starting: stopping')).toHaveLength(1)
    expect(exits.find((line) => line.worker === 2)).toMatchObject({ code: 0 })
  })

  it('exits 1 at once when the workers cannot start (the port is taken), each saying why', { timeout: 60_000 }, async () => {
    const taken: Server = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    const port = (taken.address() as { port: number }).port
    try {
      const primary = await startPrimary({ ...shared(), PORT: String(port) })
      expect((await primary.exited).code).toBe(1)
      expect(primary.stderr()).toContain(`Sala cannot start: `)
      expect(primary.stderr()).toContain(String(port))
      expect(primary.records('workers cannot start: stopping')).toHaveLength(1)
      expect(primary.records('worker started').filter((line) => line.worker! > 2)).toEqual([])
    } finally {
      taken.close()
    }
  })

  it('kills a worker that has not stopped SHUTDOWN_TIMEOUT_MS + 5 s after SIGTERM, and exits 1', { timeout: 60_000 }, async () => {
    const primary = await startPrimary({ ...shared(), SHUTDOWN_TIMEOUT_MS: '0' })
    await listening(primary, 2)
    const stuck = pidOf(primary, 1)
    process.kill(stuck, 'SIGSTOP')
    const asked = Date.now()
    primary.child.kill('SIGTERM')
    expect((await primary.exited).code).toBe(1)
    expect(Date.now() - asked).toBeGreaterThanOrEqual(5_000)
    expect(primary.records('workers did not stop in time: killing them')).toEqual([expect.objectContaining({ workers: [stuck] })])
    expect(primary.records('worker exited')).toEqual(
      expect.arrayContaining([expect.objectContaining({ worker: 1, signal: 'SIGKILL' }), expect.objectContaining({ worker: 2, code: 0 })]),
    )
    expect(alive(stuck)).toBe(false)
  })
})
