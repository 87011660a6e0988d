import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { ClusterLink, LinkLog, LinkState } from '../../src/adapters/cluster.js'
import { envelope } from '../../src/adapters/redis/envelope.js'
import { openRedisLink, type RedisLinkOptions } from '../../src/adapters/redis/link.js'
import { freePort, privateRedisAvailable, startPrivateRedis } from './private-redis.js'
import { startTcpProxy } from './tcp-proxy.js'
import { inspector, processId, REDIS_URL, redisForTests, testPrefix, waitFor } from './test-redis.js'

const redis = await redisForTests()

interface Recorded {
  readonly link: ClusterLink
  readonly payloads: Array<readonly [string, string]>
  readonly states: LinkState[]
  readonly logged: Array<{ readonly level: string; readonly message: string; readonly fields: Readonly<Record<string, unknown>> }>
}

const opened: ClusterLink[] = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map((link) => link.close()))
})

/** A link whose payloads, states and log lines are kept, closed after the test. */
const open = (options: Partial<RedisLinkOptions> & { readonly prefix: string }): Recorded => {
  const logged: Recorded['logged'] = []
  const log: LinkLog = (level, message, fields) => logged.push({ level, message, fields })
  const link = openRedisLink({ url: REDIS_URL, processId: processId(), log, ...options })
  opened.push(link)
  const payloads: Array<readonly [string, string]> = []
  const states: LinkState[] = []
  link.onPayload((payload, origin) => payloads.push([payload, origin]))
  link.onState((state) => states.push(state))
  return { link, payloads, states, logged }
}

const connected = (...links: ReadonlyArray<Recorded>) =>
  waitFor(() => (links.every(({ link }) => link.state().state === 'connected') ? true : undefined), 'every link connected')

describe.skipIf(!redis.available)('the Redis cluster link', () => {
  it('carries payloads between the processes of one prefix, never back to their sender nor to another prefix', async () => {
    const prefix = testPrefix()
    const other = testPrefix()
    const a = open({ prefix })
    const b = open({ prefix })
    const c = open({ prefix: other })
    const d = open({ prefix: other })
    await connected(a, b, c, d)

    a.link.publish('from a')
    await waitFor(() => (b.payloads.length > 0 ? true : undefined), 'b hears a')
    b.link.publish('from b')
    await waitFor(() => (a.payloads.length > 0 ? true : undefined), 'a hears b')
    // Had a's own payload come back, it would have come before b's, which b sent after receiving it.
    expect(a.payloads).toEqual([['from b', b.link.processId]])
    expect(b.payloads).toEqual([['from a', a.link.processId]])

    // Redis delivers in the order it handles publishes: had c heard the first channel, both would precede this.
    d.link.publish('marker')
    await waitFor(() => (c.payloads.length > 0 ? true : undefined), 'c hears d')
    expect(c.payloads).toEqual([['marker', d.link.processId]])
    await waitFor(() => (a.link.counts().published === 1 ? true : undefined), 'a publish confirmed')
    expect(a.link.counts()).toEqual({ published: 1, dropped: 0, unconfirmed: 0, received: 1, ignored: 0 })
  })

  it('is separated by the prefix, not by the database number in the URL (Redis shares channels across databases)', async () => {
    const prefix = testPrefix()
    const a = open({ prefix, url: `${REDIS_URL}/3` })
    const b = open({ prefix, url: `${REDIS_URL}/0` })
    await connected(a, b)
    a.link.publish('across databases')
    await waitFor(() => (b.payloads.length > 0 ? true : undefined), 'b hears a from another database')
    expect(b.payloads).toEqual([['across databases', a.link.processId]])
  })

  it("keeps one publisher's order, and its payloads as they were (empty, line breaks, any text)", async () => {
    const prefix = testPrefix()
    const a = open({ prefix })
    const b = open({ prefix })
    await connected(a, b)
    const sent = ['', '\n', 'two\nlines', '{"type":"message","text":"Olá, 世界 🎉"}', 'x'.repeat(100_000)]
    for (let n = 0; n < 2000; n += 1) sent.push(`#${n}`)
    for (const payload of sent) a.link.publish(payload)
    await waitFor(() => (b.payloads.length === sent.length ? true : undefined), 'every payload at b')
    expect(b.payloads.map(([payload]) => payload)).toEqual(sent)
    expect(new Set(b.payloads.map(([, origin]) => origin))).toEqual(new Set([a.link.processId]))
  })

  it('ignores what another program publishes on the channel, and counts it', async () => {
    const prefix = testPrefix()
    const b = open({ prefix })
    const a = open({ prefix })
    await connected(a, b)
    const raw = inspector()
    try {
      await raw.publish(`${prefix}events`, 'no line break here')
      await raw.publish(`${prefix}events`, '\nno origin')
      a.link.publish('after')
      await waitFor(() => (b.payloads.length > 0 ? true : undefined), 'the payload after the noise')
      expect(b.payloads).toEqual([['after', a.link.processId]])
      expect(b.link.counts()).toMatchObject({ received: 1, ignored: 2 })
    } finally {
      raw.disconnect()
    }
  })

  it("survives a handler that throws: the error is logged, the other handlers and later payloads still run", async () => {
    const prefix = testPrefix()
    const a = open({ prefix })
    const b = open({ prefix })
    b.link.onPayload((payload) => {
      if (payload === 'bad') throw new Error('a bug in the chat')
    })
    await connected(a, b)
    a.link.publish('bad')
    a.link.publish('good')
    await waitFor(() => (b.payloads.length === 2 ? true : undefined), 'both payloads')
    expect(b.payloads.map(([payload]) => payload)).toEqual(['bad', 'good'])
    expect(b.logged.filter((line) => line.level === 'error')).toEqual([
      { level: 'error', message: 'cluster link payload handler threw', fields: expect.objectContaining({ err: expect.objectContaining({ message: 'a bug in the chat' }) }) },
    ])
  })

  it('refuses a process id that could not be told from the payload', () => {
    for (const bad of ['', 'two words', 'line\nbreak', 'x'.repeat(101), 'acentuação']) {
      expect(() => openRedisLink({ url: REDIS_URL, prefix: testPrefix(), processId: bad })).toThrow(TypeError)
    }
  })

  it("says connected only once the subscription is confirmed: a publish made the moment it says so is heard", async () => {
    // Every byte to and from b's connections takes 150 ms: a link that said connected on 'ready' would have
    // its SUBSCRIBE still on the way when the probe, sent straight to Redis, is handled.
    const proxy = await startTcpProxy(Number(new URL(REDIS_URL).port || 6379), 150)
    const raw = inspector()
    try {
      await raw.ping()
      const prefix = testPrefix()
      const b = open({ prefix, url: proxy.url })
      b.link.onState((state) => {
        if (state.state === 'connected') void raw.publish(`${prefix}events`, envelope('probe-process', 'probe'))
      })
      await waitFor(() => (b.payloads.length > 0 ? true : undefined), 'the probe at b')
      expect(b.payloads).toEqual([['probe', 'probe-process']])
    } finally {
      raw.disconnect()
      await proxy.close()
    }
  })

  it('notices a connection gone silent (no reset ever comes) by its heartbeat, and redials', async () => {
    const proxy = await startTcpProxy(Number(new URL(REDIS_URL).port || 6379))
    try {
      const prefix = testPrefix()
      const a = open({ prefix })
      const b = open({ prefix, url: proxy.url, silenceMs: 400, downAfterMs: 60_000 })
      await connected(a, b)
      proxy.freeze()
      await waitFor(() => (b.states.length >= 3 && b.link.state().state === 'connected' ? true : undefined), 'b lost and connected again', 15_000)
      expect(b.states.slice(0, 3).map((state) => state.state)).toEqual(['connected', 'reconnecting', 'connected'])
      expect(b.states[1]).toMatchObject({ state: 'reconnecting', error: expect.stringMatching(/timeout/i) })
      a.link.publish('after the silence')
      await waitFor(() => (b.payloads.length > 0 ? true : undefined), 'a payload after the silence')
      expect(proxy.accepted()).toBeGreaterThanOrEqual(4)
    } finally {
      await proxy.close()
    }
  })

  it('with no Redis to reach: reconnecting, then down after the grace period; publishing drops and counts, never throws', async () => {
    const port = await freePort()
    const a = open({ prefix: testPrefix(), url: `redis://127.0.0.1:${port}`, downAfterMs: 300 })
    expect(a.link.state()).toMatchObject({ state: 'reconnecting', attempt: 0 })
    const started = Date.now()
    await waitFor(() => (a.states.length > 0 ? true : undefined), 'down')
    expect(Date.now() - started).toBeGreaterThanOrEqual(250)
    expect(a.states).toEqual([{ state: 'down', since: expect.any(Number), error: expect.stringContaining('ECONNREFUSED') }])
    expect(() => a.link.publish('into the void')).not.toThrow()
    expect(a.link.counts()).toMatchObject({ dropped: 1, published: 0 })
    expect(a.logged.map((line) => line.message)).toEqual(['cluster link down'])
  })

  it('close: down (closed), told once; nothing heard afterwards; the connections are gone; a second close does nothing', async () => {
    const prefix = testPrefix()
    const a = open({ prefix })
    const b = open({ prefix })
    await connected(a, b)
    const raw = inspector()
    try {
      const names = async () => String(await raw.call('CLIENT', 'LIST'))
      expect(await names()).toContain(`name=sala-sub-${b.link.processId}`)
      await b.link.close()
      await b.link.close()
      expect(b.link.state()).toMatchObject({ state: 'down', error: 'closed' })
      expect(b.states.map((state) => state.state)).toEqual(['connected', 'down'])
      expect(b.logged.map((line) => line.message)).toEqual(['cluster link connected', 'cluster link closed'])
      await waitFor(async () => ((await names()).includes(b.link.processId) ? undefined : true), "b's connections closed")
      a.link.publish('too late')
      b.link.publish('also too late')
      expect(b.payloads).toEqual([])
      expect(b.link.counts()).toMatchObject({ dropped: 1 })
    } finally {
      raw.disconnect()
    }
  })
})

const privateRedis = redis.available && privateRedisAvailable('the Redis restart tests')

describe.skipIf(!privateRedis)('the link across a Redis restart', () => {
  const servers: Array<{ remove: () => Promise<void> }> = []
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.remove()))
  })

  it('says how long an outage lasted from the loss, not from when it was declared down', async () => {
    const server = await startPrivateRedis()
    servers.push(server)
    const a = open({ prefix: testPrefix(), url: server.url, downAfterMs: 200 })
    await connected(a)
    const lostAt = Date.now()
    await server.stop('kill')
    await waitFor(() => (a.link.state().state === 'down' ? true : undefined), 'declared down')
    await server.start()
    const outage = Date.now() - lostAt
    await connected(a)
    const back = a.logged.find((line) => line.message === 'cluster link connected again')
    expect(a.logged.map((line) => line.message)).toEqual(['cluster link connected', 'cluster link lost, reconnecting', 'cluster link down', 'cluster link connected again'])
    expect(back?.fields['afterMs']).toBeGreaterThanOrEqual(outage - 50)
  })

  it('under a stream of publishes: no crash, connected -> reconnecting -> connected, drops counted, order kept, heard again at once', async () => {
    const server = await startPrivateRedis()
    servers.push(server)
    const prefix = testPrefix()
    const a = open({ prefix, url: server.url, downAfterMs: 60_000 })
    const b = open({ prefix, url: server.url, downAfterMs: 60_000 })
    await connected(a, b)
    const probe = inspector(server.url)
    let probes = 0
    b.link.onState((state) => {
      // The moment b says it is back, a publish from elsewhere must reach it.
      if (state.state === 'connected' && b.states.length > 1) {
        probes += 1
        void probe.publish(`${prefix}events`, envelope('probe-process', 'probe'))
      }
    })
    let sent = 0
    const stream = setInterval(() => a.link.publish(String(sent++)), 2)
    try {
      await waitFor(() => (b.payloads.length >= 20 ? true : undefined), 'the stream flowing')
      await server.stop('kill')
      await waitFor(() => (a.link.state().state !== 'connected' && b.link.state().state !== 'connected' ? true : undefined), 'both links lost')
      await waitFor(() => (a.link.counts().dropped >= 5 ? true : undefined), 'publishes dropped while down')
      await server.start()
      await connected(a, b)
      await waitFor(() => (b.payloads.some(([payload]) => payload === 'probe') ? true : undefined), 'the probe at b')
      const mark = sent
      await waitFor(() => (b.payloads.some(([payload]) => Number(payload) > mark) ? true : undefined), 'the stream after the restart')
    } finally {
      clearInterval(stream)
      probe.disconnect()
    }
    expect(probes).toBe(1)
    for (const { states } of [a, b]) expect(states.map((state) => state.state)).toEqual(['connected', 'reconnecting', 'connected'])
    const numbers = b.payloads.filter(([payload]) => payload !== 'probe').map(([payload]) => Number(payload))
    expect(numbers).toEqual([...numbers].sort((x, y) => x - y))
    expect(new Set(numbers).size).toBe(numbers.length)
    // Every publish is accounted for once its answer is in: confirmed, dropped before sending, or unconfirmed.
    await waitFor(() => {
      const counts = a.link.counts()
      return counts.published + counts.dropped + counts.unconfirmed === sent ? true : undefined
    }, 'every publish accounted for')
    expect(a.link.counts().published).toBeGreaterThanOrEqual(numbers.length)
    // Logged once per change, not once per dropped publish.
    expect(a.logged.map((line) => line.message)).toEqual(['cluster link connected', 'cluster link lost, reconnecting', 'cluster link connected again'])
    expect(a.logged[2]?.fields).toMatchObject({ dropped: expect.any(Number), afterMs: expect.any(Number) })
    expect(a.logged[2]?.fields['dropped']).toBeGreaterThanOrEqual(5)
  })
})
