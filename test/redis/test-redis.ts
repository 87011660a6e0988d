import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'

/** The machine's Redis (as on the CI machines, where `.ci/run` starts it). */
export const REDIS_URL = process.env['SALA_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379'

/** Under CI, or when asked, a missing Redis fails the run instead of skipping its tests. */
export const redisRequired = (env: NodeJS.ProcessEnv = process.env): boolean => env['SALA_REQUIRE_REDIS'] === '1' || env['CI'] === 'true'

export type Availability = { readonly available: true } | { readonly available: false; readonly reason: string }

/** Whether `url` answers PING within a few seconds. */
export const probeRedis = async (url: string = REDIS_URL): Promise<Availability> => {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false })
  // The cause (ECONNREFUSED...) arrives as an event; connect() rejects only with 'Connection is closed.'.
  let cause: string | undefined
  client.on('error', (error: Error) => {
    cause ??= error.message
  })
  try {
    await client.connect()
    await client.ping()
    return { available: true }
  } catch (error) {
    return { available: false, reason: cause ?? (error instanceof Error ? error.message || String(error) : String(error)) }
  } finally {
    client.disconnect()
  }
}

/**
 * The probe, printed once when it fails: the tests then skip, saying why; under `CI=true` or
 * `SALA_REQUIRE_REDIS=1` it throws, failing the file instead. Use at the top of a test file:
 * `const redis = await redisForTests()` then `describe.skipIf(!redis.available)`.
 */
export const redisForTests = async (
  url: string = REDIS_URL,
  env: NodeJS.ProcessEnv = process.env,
  print: (line: string) => void = console.log,
): Promise<Availability> => {
  const availability = await probeRedis(url)
  if (availability.available) return availability
  const line = `Redis at ${url} is not reachable (${availability.reason})`
  if (redisRequired(env)) throw new Error(`${line}; required because ${env['CI'] === 'true' ? 'CI=true' : 'SALA_REQUIRE_REDIS=1'} (.ci/run starts it)`)
  print(`Skipping the Redis tests: ${line}. Set SALA_REQUIRE_REDIS=1 to make this a failure.`)
  return availability
}

/** A key prefix of a test's own (`sala-test:<hex>:`), so tests sharing one Redis never meet. */
export const testPrefix = (): string => `sala-test:${randomBytes(6).toString('hex')}:`

/** A process id as a Sala process makes one: random per start. */
export const processId = (): string => `p-${randomBytes(6).toString('hex')}`

/** A plain client for looking at what the adapter left in Redis, and for playing another program. */
export const inspector = (url: string = REDIS_URL): Redis => {
  const client = new Redis(url, { maxRetriesPerRequest: 1 })
  client.on('error', () => undefined)
  return client
}

/** Deletes every key under `prefix` (SCAN, never KEYS: the machine's Redis may hold others' keys). */
export const removeKeys = async (client: Redis, prefix: string): Promise<void> => {
  let cursor = '0'
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    if (keys.length > 0) await client.del(...keys)
    cursor = next
  } while (cursor !== '0')
}

/** Polls `find` every 5 ms until it gives something, failing after `timeoutMs` with what was awaited. */
export const waitFor = async <A>(find: () => A | undefined | Promise<A | undefined>, what: string, timeoutMs = 10_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = await find()
    if (found !== undefined) return found
    if (Date.now() > deadline) throw new Error(`waited in vain for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
