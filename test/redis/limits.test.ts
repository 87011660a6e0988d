import * as E from 'fp-ts/lib/Either.js'
import fc from 'fast-check'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Admission, LinkFailure, SharedLimits } from '../../src/adapters/cluster.js'
import { redisSharedLimits, type RedisLimitsOptions } from '../../src/adapters/redis/limits.js'
import { freePort, privateRedisAvailable, startPrivateRedis } from './private-redis.js'
import { startTcpProxy } from './tcp-proxy.js'
import { inspector, processId, REDIS_URL, redisForTests, removeKeys, testPrefix, waitFor } from './test-redis.js'

const redis = await redisForTests()

const opened: SharedLimits[] = []
const prefixes: string[] = []
const raw = redis.available ? inspector() : undefined
afterEach(async () => {
  await Promise.all(opened.splice(0).map((limits) => limits.close()))
  if (raw !== undefined) for (const prefix of prefixes.splice(0)) await removeKeys(raw, prefix)
})
afterAll(() => raw?.disconnect())

const open = (options: Partial<RedisLimitsOptions> = {}): { readonly limits: SharedLimits; readonly prefix: string } => {
  const prefix = options.prefix ?? testPrefix()
  prefixes.push(prefix)
  const limits = redisSharedLimits({ url: REDIS_URL, processId: processId(), ...options, prefix })
  opened.push(limits)
  return { limits, prefix }
}

/** Waits until the limits answer (they connect in the background). */
const ready = (limits: SharedLimits) =>
  waitFor(async () => (E.isRight(await limits.count('warm-up', 1000, 1_000_000)) ? true : undefined), 'the limits connected')

const admitted = (answer: E.Either<LinkFailure, Admission>): boolean => {
  if (E.isLeft(answer)) throw new Error(`the limit failed: ${answer.left.type} ${answer.left.message}`)
  return answer.right.admitted
}
const waitOf = (answer: E.Either<LinkFailure, Admission>): number => {
  if (E.isLeft(answer) || answer.right.admitted) throw new Error(`expected a refusal, got ${JSON.stringify(answer)}`)
  return answer.right.retryAfterMs
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe.skipIf(!redis.available)('shared limits: the token bucket', () => {
  it('admits the burst, then refuses with the wait for one token', async () => {
    const { limits } = open()
    await ready(limits)
    const rate = { perSecond: 10, burst: 5 }
    const answers = []
    for (let n = 0; n < 6; n += 1) answers.push(await limits.take('user:ana', rate))
    expect(answers.slice(0, 5).map(admitted)).toEqual([true, true, true, true, true])
    const wait = waitOf(answers[5]!)
    expect(wait).toBeGreaterThan(0)
    expect(wait).toBeLessThanOrEqual(100)
  })

  it('refills at its rate: admitted again once the wait it gave has passed, and only once', async () => {
    const { limits } = open()
    await ready(limits)
    // Half a second per token: the take right after the one admitted comes well within it, even on a loaded machine.
    const rate = { perSecond: 2, burst: 2 }
    expect(admitted(await limits.take('k', rate))).toBe(true)
    expect(admitted(await limits.take('k', rate))).toBe(true)
    const wait = waitOf(await limits.take('k', rate))
    // As for the window below: a timer may fire a millisecond early; a refused take leaves the bucket as it was.
    await sleep(wait)
    await waitFor(async () => (admitted(await limits.take('k', rate)) ? true : undefined), 'the refilled token', 2_000)
    expect(waitOf(await limits.take('k', rate))).toBeGreaterThan(0)
  })

  it('takes several tokens at once, or none', async () => {
    const { limits } = open()
    await ready(limits)
    const rate = { perSecond: 1, burst: 5 }
    expect(admitted(await limits.take('k', rate, 3))).toBe(true)
    const wait = waitOf(await limits.take('k', rate, 3))
    // One token short at one a second (less what refilled since the first take); none was spent by the refusal.
    expect(wait).toBeGreaterThan(500)
    expect(wait).toBeLessThanOrEqual(1000)
    expect(admitted(await limits.take('k', rate, 2))).toBe(true)
    expect(admitted(await limits.take('k', rate, 1))).toBe(false)
  })

  it('is one bucket for every process: two clients on one prefix share it, another prefix has its own', async () => {
    const { limits: first, prefix } = open()
    const { limits: second } = open({ prefix })
    const { limits: elsewhere } = open()
    await Promise.all([ready(first), ready(second), ready(elsewhere)])
    const rate = { perSecond: 0.01, burst: 5 }
    const answers = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => (n % 2 === 0 ? first : second).take('address:10.0.0.1', rate)))
    expect(answers.filter(admitted)).toHaveLength(5)
    expect(admitted(await elsewhere.take('address:10.0.0.1', rate))).toBe(true)
  })

  it('keys expire when the bucket would be full again, so idle keys cost nothing', async () => {
    const { limits, prefix } = open()
    await ready(limits)
    const rate = { perSecond: 1, burst: 5 }
    await limits.take('k', rate)
    const afterOne = await raw!.pttl(`${prefix}bucket:k`)
    expect(afterOne).toBeGreaterThan(0)
    expect(afterOne).toBeLessThanOrEqual(1000)
    for (let n = 0; n < 4; n += 1) await limits.take('k', rate)
    // Five tokens to win back at one a second, less the time the takes took.
    const afterFive = await raw!.pttl(`${prefix}bucket:k`)
    expect(afterFive).toBeGreaterThan(3000)
    expect(afterFive).toBeLessThanOrEqual(5000)
  })

  it('loads its script again after SCRIPT FLUSH (EVALSHA answers NOSCRIPT), keeping the bucket', async () => {
    const { limits } = open()
    await ready(limits)
    const rate = { perSecond: 0.01, burst: 2 }
    expect(admitted(await limits.take('k', rate))).toBe(true)
    await raw!.script('FLUSH')
    expect(admitted(await limits.take('k', rate))).toBe(true)
    expect(admitted(await limits.take('k', rate))).toBe(false)
  })

  it('answers failed when the server refuses (a key of another type), and the connection stays usable', async () => {
    const { limits, prefix } = open()
    await ready(limits)
    await raw!.hset(`${prefix}bucket:odd`, 'field', 'value')
    const answer = await limits.take('odd', { perSecond: 1, burst: 1 })
    expect(answer).toEqual(E.left({ type: 'failed', message: expect.stringContaining('WRONGTYPE') }))
    expect(admitted(await limits.take('fine', { perSecond: 1, burst: 1 }))).toBe(true)
  })

  it('throws for a rule no bucket can follow: a programming error, not a failure of Redis', () => {
    const { limits } = open()
    expect(() => limits.take('k', { perSecond: 0, burst: 1 })).toThrow(RangeError)
    expect(() => limits.take('k', { perSecond: 1, burst: 0 })).toThrow(RangeError)
    expect(() => limits.take('k', { perSecond: 1, burst: 2 }, 3)).toThrow(RangeError)
    expect(() => limits.take('k', { perSecond: 1, burst: 2 }, 0)).toThrow(RangeError)
    expect(() => limits.count('k', 0, 1)).toThrow(RangeError)
    expect(() => limits.count('k', 1000, 1.5)).toThrow(RangeError)
  })

  it('agrees with a model: with no time to refill, a take is admitted exactly when its cost is still in the bucket', async () => {
    const { limits } = open()
    await ready(limits)
    // One token per 1000 s: what refills during a run is a thousandth of a token at most.
    const perSecond = 0.001
    const interval = 1000 / perSecond
    let run = 0
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }).chain((burst) => fc.tuple(fc.constant(burst), fc.array(fc.integer({ min: 1, max: burst }), { minLength: 1, maxLength: 12 }))),
        async ([burst, costs]) => {
          const key = `model:${run++}`
          let left = burst
          for (const cost of costs) {
            const answer = await limits.take(key, { perSecond, burst }, cost)
            if (cost <= left) {
              expect(answer).toEqual(E.right({ admitted: true }))
              left -= cost
            } else {
              const wait = waitOf(answer)
              // The missing tokens' worth of time, less the little that has passed since the first take.
              expect(wait).toBeLessThanOrEqual((cost - left) * interval)
              expect(wait).toBeGreaterThan((cost - left) * interval - 10_000)
            }
          }
        },
      ),
      { numRuns: 60 },
    )
  })
})

describe.skipIf(!redis.available)('shared limits: the fixed window counter', () => {
  it('admits `limit` calls in a window, then refuses until the window ends; every process counts together', async () => {
    const { limits: first, prefix } = open()
    const { limits: second } = open({ prefix })
    await Promise.all([ready(first), ready(second)])
    const answers = []
    for (let n = 0; n < 4; n += 1) answers.push(await (n % 2 === 0 ? first : second).count('register:10.0.0.1', 60_000, 3))
    expect(answers.slice(0, 3).map(admitted)).toEqual([true, true, true])
    const wait = waitOf(answers[3]!)
    expect(wait).toBeGreaterThan(55_000)
    expect(wait).toBeLessThanOrEqual(60_001)
    expect(await raw!.pttl(`${prefix}count:register:10.0.0.1`)).toBeGreaterThan(55_000)
  })

  it('starts a new window once the last has ended', async () => {
    const { limits } = open()
    await ready(limits)
    expect(admitted(await limits.count('k', 100, 1))).toBe(true)
    const wait = waitOf(await limits.count('k', 100, 1))
    expect(wait).toBeLessThanOrEqual(101)
    // Node's timers may fire a millisecond early and Redis expires by its own clock, so after the wait
    // the test asks again until the window has ended (a refused call does not move the window's end).
    await sleep(wait)
    await waitFor(async () => (admitted(await limits.count('k', 100, 1)) ? true : undefined), 'a new window', 2_000)
  })

  it('gives an expiry to a counter left without one (set by hand), so it cannot count for ever', async () => {
    const { limits, prefix } = open()
    await ready(limits)
    await raw!.set(`${prefix}count:stuck`, '10')
    expect(admitted(await limits.count('stuck', 5000, 3))).toBe(false)
    const ttl = await raw!.pttl(`${prefix}count:stuck`)
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(5000)
  })
})

describe.skipIf(!redis.available)('shared limits when Redis cannot answer', () => {
  it('not reachable at all: unavailable at once, nothing waits for a connection', async () => {
    const port = await freePort()
    const { limits } = open({ url: `redis://127.0.0.1:${port}` })
    const started = performance.now()
    const answers = await Promise.all([limits.take('k', { perSecond: 1, burst: 1 }), limits.count('k', 1000, 1)])
    // Well under any connect or command timeout (seconds); the slack is for a loaded machine's event loop.
    expect(performance.now() - started).toBeLessThan(250)
    for (const answer of answers) expect(answer).toEqual(E.left({ type: 'unavailable', message: 'not connected to Redis' }))
  })

  it('a connection gone silent: timeout after the command timeout, not later', async () => {
    const proxy = await startTcpProxy(Number(new URL(REDIS_URL).port || 6379))
    try {
      const { limits } = open({ url: proxy.url, commandTimeoutMs: 300, silenceMs: 60_000 })
      await ready(limits)
      proxy.freeze()
      const started = performance.now()
      const answer = await limits.take('k', { perSecond: 1, burst: 1 })
      const took = performance.now() - started
      expect(answer).toEqual(E.left({ type: 'timeout', message: expect.stringContaining('timed out') }))
      expect(took).toBeGreaterThanOrEqual(290)
      expect(took).toBeLessThan(2000)
    } finally {
      await proxy.close()
    }
  })

  it('a connection gone silent while idle is noticed by its heartbeat and redialled', async () => {
    const proxy = await startTcpProxy(Number(new URL(REDIS_URL).port || 6379))
    try {
      const logged: string[] = []
      const { limits } = open({ url: proxy.url, silenceMs: 400, log: (_level, message) => logged.push(message) })
      await ready(limits)
      proxy.freeze()
      await waitFor(() => (logged.length >= 2 ? true : undefined), 'the limits lost and connected again', 15_000)
      expect(logged).toEqual(['shared limits lost their Redis connection, reconnecting', 'shared limits connected again'])
      expect(admitted(await limits.take('k', { perSecond: 1, burst: 1 }))).toBe(true)
    } finally {
      await proxy.close()
    }
  })

  it('after close: unavailable', async () => {
    const { limits } = open()
    await ready(limits)
    await limits.close()
    await limits.close()
    expect(await limits.take('k', { perSecond: 1, burst: 1 })).toEqual(E.left({ type: 'unavailable', message: 'not connected to Redis' }))
  })
})

const privateRedis = redis.available && privateRedisAvailable('the shared limits restart test')

describe.skipIf(!privateRedis)('shared limits across a Redis restart', () => {
  let server: Awaited<ReturnType<typeof startPrivateRedis>> | undefined
  beforeAll(async () => {
    server = await startPrivateRedis()
  })
  afterAll(async () => {
    await server?.remove()
  })

  it('answers unavailable at once while Redis is down, in flight or not, and admits again once it is back', async () => {
    const logged: string[] = []
    const { limits } = open({ url: server!.url, log: (_level, message) => logged.push(message) })
    await ready(limits)
    const rate = { perSecond: 1000, burst: 1000 }
    expect(admitted(await limits.take('k', rate))).toBe(true)
    // Takes in flight when the server dies are answered when the connection closes, not after a retry.
    const inFlight = Array.from({ length: 50 }, () => limits.take('k', rate))
    await server!.stop('kill')
    const settled = await Promise.all(inFlight)
    expect(settled.every((answer) => E.isRight(answer) || answer.left.type === 'unavailable')).toBe(true)
    const started = performance.now()
    const whileDown = await limits.take('k', rate)
    expect(performance.now() - started).toBeLessThan(250)
    // 'not connected to Redis' once the client has seen the close; sent on a socket that was closing
    // under it (the in-flight takes may all have been answered just before the kill landed), ioredis's own
    // words. Either way: unavailable, at once.
    expect(E.isLeft(whileDown) && whileDown.left.type).toBe('unavailable')
    await server!.start()
    await ready(limits)
    expect(admitted(await limits.take('k', rate))).toBe(true)
    expect(logged).toEqual(['shared limits lost their Redis connection, reconnecting', 'shared limits connected again'])
  })
})
