import { describe, expect, it } from 'vitest'
import { freePort, privateRedisAvailable, startPrivateRedis } from './private-redis.js'
import { inspector, probeRedis, redisForTests, redisRequired, removeKeys, testPrefix } from './test-redis.js'

const redis = await redisForTests()

describe('whether Redis is required', () => {
  it('is required under CI=true or SALA_REQUIRE_REDIS=1, skipped otherwise', () => {
    expect(redisRequired({ CI: 'true' })).toBe(true)
    expect(redisRequired({ SALA_REQUIRE_REDIS: '1' })).toBe(true)
    expect(redisRequired({})).toBe(false)
    expect(redisRequired({ CI: 'false', SALA_REQUIRE_REDIS: '0' })).toBe(false)
  })

  it('reports an unreachable server with a reason, and throws for it only when required', async () => {
    const nowhere = `redis://127.0.0.1:${await freePort()}`
    expect(await probeRedis(nowhere)).toMatchObject({ available: false, reason: expect.stringContaining('ECONNREFUSED') })
    const printed: string[] = []
    await expect(redisForTests(nowhere, {}, (line) => printed.push(line))).resolves.toMatchObject({ available: false })
    expect(printed).toEqual([expect.stringMatching(/^Skipping the Redis tests: Redis at redis:\/\/127\.0\.0\.1:\d+ is not reachable \(.+\)/)])
    await expect(redisForTests(nowhere, { SALA_REQUIRE_REDIS: '1' })).rejects.toThrow(/not reachable.*SALA_REQUIRE_REDIS=1/)
    await expect(redisForTests(nowhere, { CI: 'true' })).rejects.toThrow(/CI=true/)
  })

  it('a missing redis-server skips, saying why, or fails when required', () => {
    const printed: string[] = []
    expect(privateRedisAvailable('the restart tests', {}, '/nonexistent/redis-server', (line) => printed.push(line))).toBe(false)
    expect(printed).toEqual([expect.stringMatching(/^Skipping the restart tests: \/nonexistent\/redis-server does not run \(.*ENOENT; set SALA_REDIS_SERVER to its path\)\.$/)])
    expect(() => privateRedisAvailable('the restart tests', { CI: 'true' }, '/nonexistent/redis-server')).toThrow(/required under CI=true/)
  })
})

describe.skipIf(!redis.available)('test prefixes', () => {
  it('are distinct, and removeKeys deletes every key under one and nothing else', async () => {
    const mine = testPrefix()
    const other = testPrefix()
    expect(mine).not.toBe(other)
    expect(mine).toMatch(/^sala-test:[0-9a-f]{12}:$/)
    const client = inspector()
    try {
      await client.mset(`${mine}a`, '1', `${mine}b`, '2', `${other}a`, '3')
      await removeKeys(client, mine)
      expect(await client.exists(`${mine}a`, `${mine}b`)).toBe(0)
      expect(await client.get(`${other}a`)).toBe('3')
      await removeKeys(client, other)
    } finally {
      client.disconnect()
    }
  })
})

describe.skipIf(!redis.available || !privateRedisAvailable('the private Redis helper test'))('a private Redis', () => {
  it('answers on its own port, empties when killed, starts again on the same port, and is gone after remove', async () => {
    const server = await startPrivateRedis()
    const client = inspector(server.url)
    try {
      await client.set('k', 'v')
      await server.stop('kill')
      await server.start()
      expect(await probeRedis(server.url)).toEqual({ available: true })
      expect(await client.get('k')).toBeNull()
    } finally {
      client.disconnect()
      await server.remove()
      await server.remove()
    }
    expect(await probeRedis(server.url)).toMatchObject({ available: false })
  })
})
