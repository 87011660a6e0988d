import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** The `redis-server` to run (Debian's is on the PATH). */
export const REDIS_SERVER = process.env['SALA_REDIS_SERVER'] ?? 'redis-server'

/**
 * Whether `redis-server` runs here, for `describe.skipIf(!privateRedisAvailable(...))`. Missing, the reason
 * is printed and the tests skip; under `CI=true` or `SALA_REQUIRE_REDIS=1` it throws instead.
 */
export const privateRedisAvailable = (
  what: string,
  env: NodeJS.ProcessEnv = process.env,
  server: string = REDIS_SERVER,
  print: (line: string) => void = console.log,
): boolean => {
  const probe = spawnSync(server, ['--version'], { encoding: 'utf8', timeout: 5000 })
  if (probe.status === 0) return true
  const line = `${server} does not run (${probe.error?.message ?? probe.stderr.trim()}; set SALA_REDIS_SERVER to its path)`
  if (env['SALA_REQUIRE_REDIS'] === '1' || env['CI'] === 'true') throw new Error(`${what}: ${line}; required under CI=true or SALA_REQUIRE_REDIS=1`)
  print(`Skipping ${what}: ${line}.`)
  return false
}

/** A Redis of a test's own on a free port of 127.0.0.1, with nothing saved to disk. */
export interface PrivateRedis {
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string
  readonly port: number
  /**
   * Stops the server: `kill` (the default) is SIGKILL, a crash as clients see it (connections reset, every
   * key gone since nothing is saved); `shutdown` is SIGTERM, Redis's own orderly stop.
   */
  readonly stop: (how?: 'kill' | 'shutdown') => Promise<void>
  /** Starts it again on the same port, empty; resolves once it answers PING. */
  readonly start: () => Promise<void>
  /** Stops it if it runs and deletes its folder. Safe to call twice. */
  readonly remove: () => Promise<void>
}

/**
 * Starts `redis-server` in a new temp folder (its working directory) on a free port, for tests that stop
 * and start Redis: the machine's shared server is left alone. `--save '' --appendonly no`: nothing survives
 * a stop, as after a restart of a cache with no persistence.
 */
export const startPrivateRedis = async (): Promise<PrivateRedis> => {
  const folder = await mkdtemp(join(tmpdir(), 'sala-redis-'))
  const port = await freePort()
  let child: ChildProcess | undefined
  let output = ''
  const start = async () => {
    if (child !== undefined) return
    const started = spawn(
      REDIS_SERVER,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', folder, '--daemonize', 'no', '--loglevel', 'warning'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    started.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    started.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child = started
    started.once('exit', () => {
      if (child === started) child = undefined
    })
    await answersPing(port, started, () => output)
  }
  const stop = async (how: 'kill' | 'shutdown' = 'kill') => {
    const running = child
    if (running === undefined || running.exitCode !== null) return
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()))
    running.kill(how === 'kill' ? 'SIGKILL' : 'SIGTERM')
    await exited
    child = undefined
  }
  try {
    await start()
  } catch (error) {
    await stop()
    await rm(folder, { recursive: true, force: true })
    throw error
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    start,
    remove: async () => {
      await stop('kill')
      await rm(folder, { recursive: true, force: true })
    },
  }
}

/** Resolves once the server on `port` answers PING (within 10 s), rejects with its output if it exits first. */
const answersPing = async (port: number, server: ChildProcess, output: () => string): Promise<void> => {
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    if (server.exitCode !== null || server.signalCode !== null) throw new Error(`redis-server on port ${port} exited: ${output()}`)
    if (await pong(port)) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`redis-server on port ${port} did not answer PING within 10 s: ${output()}`)
}

const pong = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    let reply = ''
    const done = (answer: boolean) => {
      socket.destroy()
      resolve(answer)
    }
    socket.setTimeout(1000, () => done(false))
    socket.once('error', () => done(false))
    socket.on('data', (chunk) => {
      reply += chunk.toString()
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
    socket.once('connect', () => socket.write('PING\r\n'))
  })

/** A port nothing listens on now (the kernel picks it; a race with another process is possible but rare). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
