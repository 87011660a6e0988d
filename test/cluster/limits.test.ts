import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { postJson, startTestServer, uniqueName, type TestServer } from '../integration/helpers.js'
import { postgresForTests } from '../postgres/test-database.js'
import { freePort } from '../redis/private-redis.js'
import { redisForTests } from '../redis/test-redis.js'
import { sharedChat, type SharedChat } from './shared-chat.js'

// Issue 15: limits are per address and per account across the cluster, not per process. Two processes on
// one PostgreSQL database and one Redis: sign-ups and failed logins alternating between them meet the
// limits one process would set; with Redis unreachable, each process still limits on its own.
const postgres = await postgresForTests()
const redis = await redisForTests()

const signUp = (server: TestServer, address: string) => {
  const username = uniqueName('limited')
  return postJson(`${server.url}/auth/register`, { name: 'Someone', username, email: `${username}@example.com`, password: 'long enough password' }, viaProxy(address))
}
const signIn = (server: TestServer, username: string, password: string, address: string) =>
  postJson(`${server.url}/auth/login`, { username, password }, viaProxy(address))
/** The client address the proxy in front (TRUST_PROXY=1) reports. */
const viaProxy = (address: string) => ({ 'X-Forwarded-For': address })
const errorCode = async (response: Response) => ((await response.json()) as { error: { code: string } }).error.code

describe.skipIf(!postgres.available || !redis.available)('limits shared by two processes', () => {
  let chat: SharedChat | undefined
  let servers: TestServer[] = []
  const env = (redisUrl: string): Record<string, string> => ({ ...chat?.env, REDIS_URL: redisUrl })
  beforeAll(async () => {
    chat = await sharedChat({ REGISTER_RATE: '3', TRUST_PROXY: '1' })
    servers = await Promise.all([chat.start(), chat.start()])
  }, 60_000)
  afterAll(async () => {
    await chat?.stop()
  })

  it('REGISTER_RATE=3: sign-ups from one address alternating between the processes meet 429 after 3 in all', { timeout: 30_000 }, async () => {
    const [one, two] = servers as [TestServer, TestServer]
    expect((await signUp(one, '203.0.113.1')).status).toBe(201)
    expect((await signUp(two, '203.0.113.1')).status).toBe(201)
    expect((await signUp(one, '203.0.113.1')).status).toBe(201)
    const refused = await signUp(two, '203.0.113.1')
    expect(refused.status).toBe(429)
    expect(await errorCode(refused)).toBe('too_many_sign_ups')
    // The window is the first sign-up's hour.
    const retryAfter = Number(refused.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThan(3000)
    expect(retryAfter).toBeLessThanOrEqual(3600)
    expect((await signUp(one, '203.0.113.1')).status).toBe(429)
    // Another address has its own allowance, on either process.
    expect((await signUp(two, '203.0.113.2')).status).toBe(201)
  })

  it('failed logins alternating between the processes are throttled as on one: ten free, the eleventh starts the wait', { timeout: 30_000 }, async () => {
    const [one, two] = servers as [TestServer, TestServer]
    const user = await registerFrom(one, '192.0.2.1')
    const statuses: number[] = []
    // Until the first refusal: one process alone would allow 11 of its own, so 21 or more in all.
    for (let i = 0; i < 30 && !statuses.includes(429); i++) statuses.push((await signIn(i % 2 === 0 ? one : two, user.username, 'wrong password', '198.51.100.7')).status)
    expect(statuses.slice(0, 11)).toEqual(Array.from({ length: 11 }, () => 401))
    // The twelfth is refused, unless the machine stalled past the first second's wait (then one more).
    expect(statuses.length).toBeLessThanOrEqual(13)
    expect(statuses.at(-1)).toBe(429)
    // The owner from another address is not held, on either process.
    expect((await signIn(two, user.username, user.password, '192.0.2.55')).status).toBe(200)
    expect((await signIn(one, user.username, user.password, '192.0.2.56')).status).toBe(200)
  })

  it('counts a burst of parallel guesses split over both processes like a sequence', { timeout: 30_000 }, async () => {
    const [one, two] = servers as [TestServer, TestServer]
    const user = await registerFrom(two, '192.0.2.2')
    const burst = await Promise.all(Array.from({ length: 60 }, (_, i) => signIn(i % 2 === 0 ? one : two, user.username, 'wrong password', '198.51.100.8')))
    const statuses = burst.map((response) => response.status)
    // Eleven as in a sequence, plus the few a sequence also gets once its 1 s, 2 s waits have passed while
    // the burst is answered on a loaded machine; two processes counting alone would start 22.
    expect(statuses.filter((status) => status === 401).length).toBeGreaterThanOrEqual(11)
    expect(statuses.filter((status) => status === 401).length).toBeLessThanOrEqual(14)
    expect(statuses.filter((status) => status !== 401).every((status) => status === 429)).toBe(true)
  })

  it('with Redis unreachable, a process still limits sign-ups and logins on its own, and says so once per limit', { timeout: 30_000 }, async () => {
    const alone = await startTestServer(env(`redis://127.0.0.1:${await freePort()}`))
    try {
      const statuses: number[] = []
      for (let i = 0; i < 5; i++) statuses.push((await signUp(alone, '203.0.113.50')).status)
      expect(statuses).toEqual([201, 201, 201, 429, 429])
      const user = await registerFrom(alone, '192.0.2.3')
      const logins: number[] = []
      for (let i = 0; i < 12; i++) logins.push((await signIn(alone, user.username, 'wrong password', '198.51.100.9')).status)
      expect(logins.slice(0, 11).every((status) => status === 401)).toBe(true)
      expect(logins[11]).toBe(429)
      const said = alone.logLines.map((line) => JSON.parse(line) as { msg: string; limit?: string }).filter((line) => line.msg.startsWith('cluster-wide limit'))
      expect(said.map((line) => `${line.msg} (${line.limit})`)).toEqual([
        'cluster-wide limit cannot be checked: limiting per process meanwhile (signup)',
        'cluster-wide limit cannot be checked: limiting per process meanwhile (login throttling)',
      ])
    } finally {
      await alone.stop()
    }
  })

  /** Signs a user up from `address`, their own: the helper's 127.0.0.1 would spend the tests' allowance. */
  const registerFrom = async (server: TestServer, address: string) => {
    const username = uniqueName('owner')
    const password = `pw-${username}-secret`
    const response = await postJson(`${server.url}/auth/register`, { name: 'Owner', username, email: `${username}@example.com`, password }, viaProxy(address))
    if (response.status !== 201) throw new Error(`register ${username}: ${response.status} ${await response.text()}`)
    return { username, password }
  }
})
