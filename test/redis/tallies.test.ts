import * as E from 'fp-ts/lib/Either.js'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { LinkFailure, SharedTallies, TallyHold } from '../../src/adapters/cluster.js'
import { redisSharedTallies, type RedisTalliesOptions } from '../../src/adapters/redis/tallies.js'
import { freePort, privateRedisAvailable, startPrivateRedis, type PrivateRedis } from './private-redis.js'
import { startTcpProxy } from './tcp-proxy.js'
import { inspector, processId, REDIS_URL, redisForTests, removeKeys, testPrefix, waitFor } from './test-redis.js'

// Shared tallies (connections per user and per address, uploads under way): a hash per tally with one
// field per process, summed over the processes whose alive key is still there.

const redis = await redisForTests()

interface Opened {
  readonly tallies: SharedTallies
  readonly prefix: string
  readonly id: string
}

const opened: SharedTallies[] = []
const prefixes: string[] = []
const raw = redis.available ? inspector() : undefined
afterEach(async () => {
  await Promise.all(opened.splice(0).map((tallies) => tallies.close()))
  if (raw !== undefined) for (const prefix of prefixes.splice(0)) await removeKeys(raw, prefix)
})
afterAll(() => raw?.disconnect())

const open = (options: Partial<RedisTalliesOptions> = {}): Opened => {
  const prefix = options.prefix ?? testPrefix()
  const id = options.processId ?? processId()
  prefixes.push(prefix)
  const tallies = redisSharedTallies({ url: REDIS_URL, aliveTtlMs: 15_000, ...options, processId: id, prefix })
  opened.push(tallies)
  return { tallies, prefix, id }
}

/** Waits until the tallies answer (they connect in the background). */
const ready = (tallies: SharedTallies) =>
  waitFor(async () => (E.isRight(await tallies.hold('warm-up', 1, 0)) ? true : undefined), 'the tallies connected')

const answer = (result: E.Either<LinkFailure, TallyHold>): TallyHold => {
  if (E.isLeft(result)) throw new Error(`the tally failed: ${result.left.type} ${result.left.message}`)
  return result.right
}

/** What Redis holds for a tally, field by field, as numbers. */
const stored = async (prefix: string, key: string, client = raw!): Promise<Record<string, number>> =>
  Object.fromEntries(Object.entries(await client.hgetall(`${prefix}tally:${key}`)).map(([field, value]) => [field, Number(value)]))

/** Waits until the tally in Redis is exactly `expected`. */
const storedIs = (prefix: string, key: string, expected: Record<string, number>, what: string, client = raw!, timeoutMs = 10_000) =>
  waitFor(async () => (sameFields(await stored(prefix, key, client), expected) ? true : undefined), what, timeoutMs)

const sameFields = (a: Record<string, number>, b: Record<string, number>) =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(b).every(([field, value]) => a[field] === value)

describe.skipIf(!redis.available)('shared tallies', () => {
  it('counts every process together: a hold past the limit is refused, and says what the others hold', async () => {
    const one = open()
    const two = open({ prefix: one.prefix })
    await Promise.all([ready(one.tallies), ready(two.tallies)])
    expect(answer(await one.tallies.hold('user:ana', 1, 2))).toEqual({ held: true, others: 0 })
    expect(answer(await two.tallies.hold('user:ana', 1, 2))).toEqual({ held: true, others: 1 })
    expect(answer(await one.tallies.hold('user:ana', 1, 2))).toEqual({ held: false, others: 1 })
    expect(answer(await two.tallies.hold('user:ana', 1, 2))).toEqual({ held: false, others: 1 })
    expect(await stored(one.prefix, 'user:ana')).toEqual({ [one.id]: 1, [two.id]: 1 })
    // Another key, another tally.
    expect(answer(await two.tallies.hold('user:bea', 1, 2))).toEqual({ held: true, others: 0 })
  })

  it('a release gives the place back to every process, and a share released to nothing leaves no field', async () => {
    const one = open()
    const two = open({ prefix: one.prefix })
    await Promise.all([ready(one.tallies), ready(two.tallies)])
    expect(answer(await one.tallies.hold('address:10.0.0.1', 1, 1)).held).toBe(true)
    expect(answer(await two.tallies.hold('address:10.0.0.1', 1, 1))).toEqual({ held: false, others: 1 })
    one.tallies.release('address:10.0.0.1', 1)
    // A release never waits: told on one's own connection, soon.
    await storedIs(one.prefix, 'address:10.0.0.1', {}, 'the release told')
    expect(answer(await two.tallies.hold('address:10.0.0.1', 1, 1))).toEqual({ held: true, others: 0 })
    expect(await stored(one.prefix, 'address:10.0.0.1')).toEqual({ [two.id]: 1 })
    two.tallies.release('address:10.0.0.1', 1)
    await waitFor(async () => ((await raw!.exists(`${one.prefix}tally:address:10.0.0.1`)) === 0 ? true : undefined), 'the empty tally gone')
  })

  it('holds any amount, not only ones (bytes in flight), and never releases below zero', async () => {
    const { tallies, prefix, id } = open()
    await ready(tallies)
    expect(answer(await tallies.hold('bytes:ana', 600_000, 1_000_000)).held).toBe(true)
    expect(answer(await tallies.hold('bytes:ana', 500_000, 1_000_000)).held).toBe(false)
    expect(answer(await tallies.hold('bytes:ana', 400_000, 1_000_000)).held).toBe(true)
    // Large shares stay exact (written as text, never formatted by Lua).
    expect(answer(await tallies.hold('bytes:big', 2 ** 40 + 1, 2 ** 41)).held).toBe(true)
    expect(await stored(prefix, 'bytes:big')).toEqual({ [id]: 2 ** 40 + 1 })
    tallies.release('bytes:ana', 2_000_000)
    expect(answer(await tallies.hold('bytes:ana', 1_000_000, 1_000_000)).held).toBe(true)
  })

  it('add counts what the caller admitted on its own, with no limit', async () => {
    const { tallies, prefix, id } = open()
    await ready(tallies)
    tallies.add('user:ana', 3)
    await storedIs(prefix, 'user:ana', { [id]: 3 }, 'the added share told')
    const two = open({ prefix })
    await ready(two.tallies)
    expect(answer(await two.tallies.hold('user:ana', 1, 3))).toEqual({ held: false, others: 3 })
  })

  it('parallel holds of two processes on one tally: exactly the limit is held', async () => {
    const one = open()
    const two = open({ prefix: one.prefix })
    await Promise.all([ready(one.tallies), ready(two.tallies)])
    const answers = await Promise.all(Array.from({ length: 40 }, (_, n) => (n % 2 === 0 ? one : two).tallies.hold('user:many', 1, 7)))
    expect(answers.map(answer).filter((hold) => hold.held)).toHaveLength(7)
    const fields = await stored(one.prefix, 'user:many')
    expect((fields[one.id] ?? 0) + (fields[two.id] ?? 0)).toBe(7)
  })

  it('drops the share of a process whose alive key is gone (it died), and does not count it', async () => {
    const { tallies, prefix, id } = open()
    await ready(tallies)
    await raw!.hset(`${prefix}tally:user:ana`, 'a-dead-process', '5')
    await raw!.hset(`${prefix}tally:user:ana`, 'a-live-process', '1')
    await raw!.set(`${prefix}alive:a-live-process`, '1', 'PX', 60_000)
    expect(answer(await tallies.hold('user:ana', 1, 2))).toEqual({ held: true, others: 1 })
    expect(await stored(prefix, 'user:ana')).toEqual({ 'a-live-process': 1, [id]: 1 })
  })

  it('keeps its alive key, and deletes it on close so the others drop its shares at once', async () => {
    const one = open({ aliveTtlMs: 900 })
    const two = open({ prefix: one.prefix })
    await Promise.all([ready(one.tallies), ready(two.tallies)])
    expect(answer(await one.tallies.hold('user:ana', 2, 2)).held).toBe(true)
    // Renewed every third of its TTL: still there after several TTLs (time must pass to show it).
    await new Promise((resolve) => setTimeout(resolve, 3000))
    expect(await raw!.exists(`${one.prefix}alive:${one.id}`)).toBe(1)
    expect(answer(await two.tallies.hold('user:ana', 1, 2))).toEqual({ held: false, others: 2 })
    await one.tallies.close()
    expect(await raw!.exists(`${one.prefix}alive:${one.id}`)).toBe(0)
    expect(answer(await two.tallies.hold('user:ana', 1, 2))).toEqual({ held: true, others: 0 })
    expect(await one.tallies.hold('user:ana', 1, 2)).toEqual(E.left({ type: 'unavailable', message: 'not connected to Redis' }))
  })

  it('tallies expire when nobody writes them, but the shares this process holds are told again before that', async () => {
    const { tallies, prefix, id } = open({ keyTtlMs: 1500 })
    await ready(tallies)
    expect(answer(await tallies.hold('user:ana', 1, 5)).held).toBe(true)
    const ttl = await raw!.pttl(`${prefix}tally:user:ana`)
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(1500)
    // A dead process's tally that nobody touches goes with its expiry.
    await raw!.hset(`${prefix}tally:user:gone`, 'a-dead-process', '1')
    await raw!.pexpire(`${prefix}tally:user:gone`, 600)
    await waitFor(async () => ((await raw!.exists(`${prefix}tally:user:gone`)) === 0 ? true : undefined), 'the untouched tally expired')
    // Ours is told again every 500 ms: after several of its TTLs it is still there (time must pass to show it).
    await new Promise((resolve) => setTimeout(resolve, 4000))
    expect(await stored(prefix, 'user:ana')).toEqual({ [id]: 1 })
  })

  it('loads its script again after SCRIPT FLUSH (EVALSHA answers NOSCRIPT)', async () => {
    const { tallies } = open()
    await ready(tallies)
    expect(answer(await tallies.hold('k', 1, 2)).held).toBe(true)
    await raw!.script('FLUSH')
    expect(answer(await tallies.hold('k', 1, 2)).held).toBe(true)
    expect(answer(await tallies.hold('k', 1, 2)).held).toBe(false)
  })

  it('throws for an amount or a limit that is not a whole number: a programming error', () => {
    const { tallies } = open()
    expect(() => tallies.hold('k', 0, 1)).toThrow(RangeError)
    expect(() => tallies.hold('k', 1.5, 1)).toThrow(RangeError)
    expect(() => tallies.hold('k', 1, -1)).toThrow(RangeError)
    expect(() => tallies.release('k', Number.NaN)).toThrow(RangeError)
    expect(() => tallies.add('k', -1)).toThrow(RangeError)
  })

  it('not reachable at all: holds answer unavailable at once; releases and adds never wait or throw', async () => {
    const port = await freePort()
    const { tallies } = open({ url: `redis://127.0.0.1:${port}` })
    const started = performance.now()
    const answers = await Promise.all([tallies.hold('k', 1, 1), tallies.hold('k', 1, 1)])
    tallies.add('k', 1)
    tallies.release('k', 1)
    expect(performance.now() - started).toBeLessThan(250)
    for (const result of answers) expect(result).toEqual(E.left({ type: 'unavailable', message: 'not connected to Redis' }))
  })

  it('a process silent past its TTL stops counting for the others, and counts again once its link is back', async () => {
    const proxy = await startTcpProxy(Number(new URL(REDIS_URL).port || 6379))
    try {
      // Found silent after 3 s, well after its alive key lapses (1 s, renewed every third of it).
      const one = open({ url: proxy.url, aliveTtlMs: 1000, silenceMs: 3000 })
      const two = open({ prefix: one.prefix })
      await Promise.all([ready(one.tallies), ready(two.tallies)])
      expect(answer(await one.tallies.hold('user:ana', 2, 2)).held).toBe(true)
      expect(answer(await two.tallies.hold('user:ana', 1, 2)).held).toBe(false)
      proxy.freeze()
      const frozenAt = performance.now()
      await waitFor(async () => (answer(await two.tallies.hold('user:ana', 1, 2)).held ? true : undefined), 'one counted gone')
      expect(performance.now() - frozenAt).toBeGreaterThanOrEqual(250)
      // One's connection is found silent and redialled: its alive key and its share are told again.
      await storedIs(one.prefix, 'user:ana', { [two.id]: 1, [one.id]: 2 }, 'one told its share again', raw, 15_000)
      expect(answer(await two.tallies.hold('user:ana', 1, 2))).toEqual({ held: false, others: 2 })
    } finally {
      await proxy.close()
    }
  })
})

const privateRedis = redis.available && privateRedisAvailable('the shared tallies restart test')

describe.skipIf(!privateRedis)('shared tallies across a Redis restart', () => {
  let server: PrivateRedis | undefined
  beforeAll(async () => {
    server = await startPrivateRedis()
  })
  afterAll(async () => {
    await server?.remove()
  })

  it('Redis restarted empty: every process tells its shares again, with what was released or added meanwhile', async () => {
    const logged: string[] = []
    const local = inspector(server!.url)
    try {
      const one = open({ url: server!.url, log: (_level, message) => logged.push(message) })
      const two = open({ url: server!.url, prefix: one.prefix })
      await Promise.all([ready(one.tallies), ready(two.tallies)])
      expect(answer(await one.tallies.hold('user:ana', 3, 5)).held).toBe(true)
      expect(answer(await two.tallies.hold('user:ana', 1, 5)).held).toBe(true)
      expect(answer(await two.tallies.hold('address:10.0.0.9', 2, 5)).held).toBe(true)
      await server!.stop('kill')
      // While Redis is away: holds fail at once; releases and adds are kept for later.
      await waitFor(async () => (E.isLeft(await one.tallies.hold('user:ana', 1, 5)) ? true : undefined), 'one sees Redis gone')
      one.tallies.release('user:ana', 1)
      two.tallies.release('address:10.0.0.9', 2)
      two.tallies.add('user:bea', 1)
      await server!.start()
      await storedIs(one.prefix, 'user:ana', { [one.id]: 2, [two.id]: 1 }, 'the shares told again', local, 15_000)
      await storedIs(one.prefix, 'user:bea', { [two.id]: 1 }, 'the added share told', local)
      expect(await local.exists(`${one.prefix}tally:address:10.0.0.9`)).toBe(0)
      expect(await local.exists(`${one.prefix}alive:${one.id}`, `${one.prefix}alive:${two.id}`)).toBe(2)
      expect(answer(await two.tallies.hold('user:ana', 2, 5))).toEqual({ held: true, others: 2 })
      expect(logged).toEqual(['shared tallies lost their Redis connection, reconnecting', 'shared tallies connected again'])
    } finally {
      local.disconnect()
    }
  })

  it('a release whose write fails while Redis is up but the link is away is told when it comes back (Redis kept its data)', async () => {
    const local = inspector(server!.url)
    const proxy = await startTcpProxy(server!.port)
    try {
      const one = open({ url: proxy.url, silenceMs: 600 })
      await ready(one.tallies)
      expect(answer(await one.tallies.hold('user:ana', 2, 5)).held).toBe(true)
      proxy.freeze()
      one.tallies.release('user:ana', 1)
      // Redis keeps the old share while the link is frozen, then hears the release after the redial.
      expect(await stored(one.prefix, 'user:ana', local)).toEqual({ [one.id]: 2 })
      await storedIs(one.prefix, 'user:ana', { [one.id]: 1 }, 'the release told after the redial', local, 15_000)
    } finally {
      await proxy.close()
      local.disconnect()
    }
  })
})
