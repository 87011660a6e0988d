import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ChatClient, postJson, register, startTestServer, uniqueName, upgradeStatus, waitFor, type TestServer } from '../integration/helpers.js'
import { postgresForTests } from '../postgres/test-database.js'
import { freePort } from '../redis/private-redis.js'
import { startTcpProxy, type TcpProxy } from '../redis/tcp-proxy.js'
import { inspector, REDIS_URL, redisForTests } from '../redis/test-redis.js'
import { startSalaProcess, type SalaProcess } from './sala-process.js'
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

// MAX_CONNECTIONS_PER_USER and MAX_CONNECTIONS_PER_ADDRESS count the sockets open on every process: a
// tally per user and per address in Redis, each process's share apart, so a process that dies stops
// counting once its alive key lapses (PRESENCE_TTL).

type Attempt =
  | { readonly type: 'welcome'; readonly client: ChatClient }
  | { readonly type: 'closed'; readonly code: number; readonly reason: string }
  | { readonly type: 'refused'; readonly status: number }

/** Opens a socket for `token` and says how it went: welcomed (left open), closed by the server, or refused at the upgrade. */
const attempt = async (server: Pick<TestServer, 'wsUrl'>, token: string): Promise<Attempt> => {
  let client: ChatClient
  try {
    client = await ChatClient.connect(server, { token })
  } catch (error) {
    const status = /upgrade refused: (\d+)/.exec(String(error))?.[1]
    if (status === undefined) throw error
    return { type: 'refused', status: Number(status) }
  }
  return waitFor(
    (): Attempt | undefined =>
      client.closed !== undefined ? { type: 'closed', ...client.closed } : client.pending('welcome').length > 0 ? { type: 'welcome', client } : undefined,
    'a welcome or a close',
  )
}

/** Tries every 50 ms until a socket is welcomed (a place given back elsewhere reaches Redis soon, not at once). */
const welcomedSoon = async (server: Pick<TestServer, 'wsUrl'>, token: string, what: string, timeoutMs = 10_000): Promise<ChatClient> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const tried = await attempt(server, token)
    if (tried.type === 'welcome') return tried.client
    if (Date.now() > deadline) throw new Error(`waited in vain for ${what}: last ${JSON.stringify(tried)}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

const TOO_MANY_FOR_USER = { type: 'closed', code: 1008, reason: 'at most 2 connections per user' }

/** The warnings `lines` hold that a connection cap could not be checked across the cluster, as `limit` names. */
const perProcessWarnings = (lines: ReadonlyArray<string>) =>
  lines
    .map((line) => JSON.parse(line) as { msg: string; limit?: string })
    .filter((line) => line.msg === 'cluster-wide limit cannot be checked: limiting per process meanwhile' && (line.limit ?? '').startsWith('connections'))
    .map((line) => line.limit)

describe.skipIf(!postgres.available || !redis.available)('connections per user counted by two processes', () => {
  let chat: SharedChat | undefined
  let servers: TestServer[] = []
  beforeAll(async () => {
    chat = await sharedChat({ MAX_CONNECTIONS_PER_USER: '2' })
    servers = await Promise.all([chat.start(), chat.start()])
  }, 60_000)
  afterAll(async () => {
    await chat?.stop()
  })

  it('MAX_CONNECTIONS_PER_USER=2: a tab on each process, and a third is refused (1008) on either; a tab closed gives its place back', { timeout: 30_000 }, async () => {
    const [one, two] = servers as [TestServer, TestServer]
    const ana = await register(one)
    const first = await attempt(one, ana.token)
    const second = await attempt(two, ana.token)
    expect([first.type, second.type]).toEqual(['welcome', 'welcome'])
    expect(await attempt(one, ana.token)).toEqual(TOO_MANY_FOR_USER)
    expect(await attempt(two, ana.token)).toEqual(TOO_MANY_FOR_USER)
    // Another user is not held back by ana's count.
    const bia = await register(two)
    expect((await attempt(one, bia.token)).type).toBe('welcome')
    if (first.type === 'welcome') first.client.close()
    const third = await welcomedSoon(two, ana.token, 'the place of the tab closed on one')
    expect(third.closed).toBeUndefined()
    expect(await attempt(one, ana.token)).toEqual(TOO_MANY_FOR_USER)
    for (const server of servers) expect(perProcessWarnings(server.logLines)).toEqual([])
  })

  it('with Redis unreachable a process still caps each user alone, and says so once', { timeout: 30_000 }, async () => {
    const alone = await startTestServer({ ...chat?.env, MAX_CONNECTIONS_PER_USER: '2', REDIS_URL: `redis://127.0.0.1:${await freePort()}` })
    try {
      const ana = await register(alone)
      expect((await attempt(alone, ana.token)).type).toBe('welcome')
      expect((await attempt(alone, ana.token)).type).toBe('welcome')
      expect(await attempt(alone, ana.token)).toEqual(TOO_MANY_FOR_USER)
      expect(await attempt(alone, ana.token)).toEqual(TOO_MANY_FOR_USER)
      // Once, however many connections were decided here meanwhile.
      expect(perProcessWarnings(alone.logLines)).toEqual(['connections per user and per address'])
    } finally {
      await alone.stop()
    }
  })
})

describe.skipIf(!postgres.available || !redis.available)('a process whose Redis answers slowly (100 ms each way)', () => {
  let chat: SharedChat | undefined
  let proxy: TcpProxy | undefined
  let slow: TestServer | undefined
  beforeAll(async () => {
    chat = await sharedChat({ MAX_CONNECTIONS_PER_USER: '2' })
    proxy = await startTcpProxy(Number(new URL(REDIS_URL).port || 6379), 100)
    slow = await chat.start({ REDIS_URL: proxy.url })
  }, 60_000)
  afterAll(async () => {
    await chat?.stop()
    await proxy?.close()
  })

  /** The one user's tally in this chat's Redis prefix: a field per process, what it holds. */
  const userTally = async (): Promise<ReadonlyArray<string>> => {
    const client = inspector()
    try {
      const [, keys] = await client.scan('0', 'MATCH', `${chat!.prefix}tally:connections:user:*`, 'COUNT', 1000)
      return keys.length === 0 ? [] : Object.values(await client.hgetall(keys[0]!))
    } finally {
      client.disconnect()
    }
  }

  it('a socket’s first frames and its close wait for the cluster’s answer: nothing overtakes the opening, and nothing stays counted', { timeout: 30_000 }, async () => {
    const ana = await register(slow!)
    // Once the tallies are connected, every opening waits for a hold through the slow link.
    const first = await welcomedSoon(slow!, ana.token, 'a first tab')
    await waitFor(async () => ((await userTally()).join() === '1' ? true : undefined), 'the first tab counted in Redis')
    const second = await ChatClient.connect(slow!, { token: ana.token })
    second.send({ type: 'join', room: 'sala-1', ref: 'j' })
    await second.next('joined', (frame) => frame.ref === 'j', 5000)
    expect(second.frames.filter((frame) => frame.type === 'error')).toEqual([])
    // A tab closed while its opening is asked about: its close waits too, and takes its count with it.
    const gone = await ChatClient.connect(slow!, { token: ana.token })
    gone.close()
    await gone.waitClosed(5000)
    await waitFor(async () => ((await userTally()).join() === '2' ? true : undefined), 'the closed tab not counted')
    expect(await attempt(slow!, ana.token)).toEqual(TOO_MANY_FOR_USER)
    first.close()
    second.close()
    await waitFor(async () => ((await userTally()).length === 0 ? true : undefined), 'nothing counted once every tab closed')
  })
})

describe.skipIf(!postgres.available || !redis.available)('connections per address counted by two processes', () => {
  let chat: SharedChat | undefined
  let servers: TestServer[] = []
  beforeAll(async () => {
    // Every test socket comes from 127.0.0.1.
    chat = await sharedChat({ MAX_CONNECTIONS_PER_ADDRESS: '2' })
    servers = await Promise.all([chat.start(), chat.start()])
  }, 60_000)
  afterAll(async () => {
    await chat?.stop()
  })

  it('MAX_CONNECTIONS_PER_ADDRESS=2: a socket on each process, and a third upgrade is refused (429) on either; a socket closed gives its slot back', { timeout: 30_000 }, async () => {
    const [one, two] = servers as [TestServer, TestServer]
    const [ana, bia, caio] = await Promise.all([register(one), register(one), register(two)])
    const onOne = await ChatClient.connect(one, { token: ana.token })
    const onTwo = await ChatClient.connect(two, { token: bia.token })
    // Each process has one socket of its own from the address: only the cluster's count is full.
    expect(await upgradeStatus(one.wsUrl, caio.token)).toBe(429)
    expect(await upgradeStatus(two.wsUrl, caio.token)).toBe(429)
    onOne.close()
    await waitFor(async () => ((await upgradeStatus(two.wsUrl, caio.token)) === 101 ? true : undefined), 'the slot of the socket closed on one')
    onTwo.close()
    await onTwo.waitClosed()
  })

  it('with Redis unreachable a process still caps each address alone, and says so once', { timeout: 30_000 }, async () => {
    const alone = await startTestServer({ ...chat?.env, MAX_CONNECTIONS_PER_ADDRESS: '2', REDIS_URL: `redis://127.0.0.1:${await freePort()}` })
    try {
      const [ana, bia] = await Promise.all([register(alone), register(alone)])
      const open = [await ChatClient.connect(alone, { token: ana.token }), await ChatClient.connect(alone, { token: bia.token })]
      expect(await upgradeStatus(alone.wsUrl, ana.token)).toBe(429)
      expect(await upgradeStatus(alone.wsUrl, bia.token)).toBe(429)
      expect(perProcessWarnings(alone.logLines)).toEqual(['connections per user and per address'])
      for (const client of open) client.close()
    } finally {
      await alone.stop()
    }
  })
})

describe.skipIf(!postgres.available || !redis.available)('connections of a process killed with SIGKILL', () => {
  const ttlSeconds = 3
  let chat: SharedChat | undefined
  let victim: SalaProcess | undefined
  let survivor: TestServer | undefined
  beforeAll(async () => {
    const caps = { MAX_CONNECTIONS_PER_USER: '2', MAX_CONNECTIONS_PER_ADDRESS: '3', PRESENCE_TTL: String(ttlSeconds) }
    chat = await sharedChat(caps)
    ;[victim, survivor] = await Promise.all([startSalaProcess({ ...chat.env }), chat.start()])
  }, 60_000)
  afterAll(async () => {
    await victim?.stop()
    await chat?.stop()
  })

  it('stop counting within PRESENCE_TTL: for the user and for the address', { timeout: 60_000 }, async () => {
    const [ana, bia] = await Promise.all([register(survivor!), register(survivor!)])
    // ana's two tabs on the victim: her cap is full, and two of the address's three slots are taken.
    for (let tab = 0; tab < 2; tab++) expect((await attempt(victim!, ana.token)).type).toBe('welcome')
    expect(await attempt(survivor!, ana.token)).toEqual(TOO_MANY_FOR_USER)
    const biaHere = await welcomedSoon(survivor!, bia.token, 'the slot of ana’s refused tab')
    expect(await upgradeStatus(survivor!.wsUrl, bia.token)).toBe(429)

    const killedAt = Date.now()
    await victim!.kill()
    // Dead, but not yet known to be: its sockets still count until its alive key lapses.
    expect(await upgradeStatus(survivor!.wsUrl, ana.token)).toBe(429)
    const anaHere = await welcomedSoon(survivor!, ana.token, 'the victim’s sockets no longer counted', (ttlSeconds + 10) * 1000)
    const afterMs = Date.now() - killedAt
    console.log(`kill -9 → its connections no longer counted on the survivor: ${afterMs} ms (PRESENCE_TTL ${ttlSeconds} s)`)
    expect(afterMs).toBeLessThanOrEqual(ttlSeconds * 1000 + 2000)
    // Both caps count only the survivor's sockets now: ana gets her second tab, and the address is full again.
    expect((await attempt(survivor!, ana.token)).type).toBe('welcome')
    expect(await attempt(survivor!, ana.token)).toEqual({ type: 'refused', status: 429 })
    expect(biaHere.closed).toBeUndefined()
    expect(anaHere.closed).toBeUndefined()
  })
})
