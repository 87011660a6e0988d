import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ChatClient, register, waitFor, type TestServer } from '../integration/helpers.js'
import { postgresForTests } from '../postgres/test-database.js'
import { redisForTests } from '../redis/test-redis.js'
import { sharedChat, type SharedChat } from './shared-chat.js'

// Issue 15: the chat commands' allowances (MSG_RATE, TYPING_RATE, HISTORY_RATE) are per user across the
// cluster: a user with a tab on each of two processes gets one allowance, not two, and a connection's
// commands still meet their answers in the order they were sent while each waits for the cluster's.
const postgres = await postgresForTests()
const redis = await redisForTests()

type Answer = { readonly type: string; readonly ref?: string; readonly retryAfterMs?: number }

describe.skipIf(!postgres.available || !redis.available)('chat allowances shared by two processes', () => {
  let chat: SharedChat | undefined
  let servers: TestServer[] = []
  beforeAll(async () => {
    // One message a second after a burst of three; typing and history at their own single-token rates.
    chat = await sharedChat({ MSG_RATE: '1', MSG_BURST: '3', HISTORY_RATE: '1' })
    servers = await Promise.all([chat.start(), chat.start()])
  }, 60_000)
  afterAll(async () => {
    await chat?.stop()
  })

  /** The acks and errors `client` got for the refs, in arrival order, once there is one for each. */
  const answers = (client: ChatClient, refs: ReadonlyArray<string>) =>
    waitFor(() => {
      const got = client.pending('ack', 'error').filter((f): f is typeof f & Answer => refs.includes((f as Answer).ref ?? ''))
      return got.length === refs.length ? (got as ReadonlyArray<Answer>) : undefined
    }, `an answer for each of ${refs.join(', ')}`)

  it('a user writing from a tab on each process meets one allowance: the burst of 3 in all, not 3 per process', { timeout: 30_000 }, async () => {
    const [one, two] = servers as [TestServer, TestServer]
    const ana = await register(one)
    const onOne = await ChatClient.connect(one, { token: ana.token })
    const onTwo = await ChatClient.connect(two, { token: ana.token })
    onOne.send({ type: 'join', room: 'sala-1', ref: 'j1' })
    await onOne.next('joined', (f) => f.ref === 'j1')
    onTwo.send({ type: 'join', room: 'sala-1', ref: 'j2' })
    await onTwo.next('joined', (f) => f.ref === 'j2')

    // Sent at once, three from each tab: each process alone would admit all three of its own.
    const refsOne = ['a1', 'a2', 'a3']
    const refsTwo = ['b1', 'b2', 'b3']
    for (let i = 0; i < 3; i++) {
      onOne.send({ type: 'message', text: `one ${i}`, ref: refsOne[i] })
      onTwo.send({ type: 'message', text: `two ${i}`, ref: refsTwo[i] })
    }
    const [fromOne, fromTwo] = await Promise.all([answers(onOne, refsOne), answers(onTwo, refsTwo)])
    const all = [...fromOne, ...fromTwo]
    const acked = all.filter((a) => a.type === 'ack').length
    // Three, or four if the machine stalled for the second that refills a token.
    expect(acked).toBeGreaterThanOrEqual(3)
    expect(acked).toBeLessThanOrEqual(4)
    const refused = all.filter((a) => a.type === 'error')
    expect(refused.every((a) => (a as { code?: string }).code === 'rate_limited' && (a.retryAfterMs ?? 0) > 0)).toBe(true)
    // Each tab's commands kept their order while waiting for the cluster's answers: what was admitted was
    // numbered in the order it was sent (a refusal is answered at once, an ack once stored, so the frames
    // themselves may cross).
    for (const [got, refs] of [[fromOne, refsOne], [fromTwo, refsTwo]] as const) {
      const ids = refs.flatMap((ref) => got.filter((a) => a.type === 'ack' && a.ref === ref).map((a) => (a as { id?: string }).id ?? ''))
      expect(ids).toEqual([...ids].sort())
    }
    onOne.close()
    onTwo.close()
  })

  it('a command that waits for the cluster’s answer is not overtaken by the next one, which does not ask', { timeout: 30_000 }, async () => {
    const [one, two] = servers as [TestServer, TestServer]
    const caio = await register(one)
    const client = await ChatClient.connect(two, { token: caio.token })
    client.send({ type: 'join', room: 'sala-3', ref: 'j' })
    await client.next('joined', (f) => f.ref === 'j')
    // The message waits for Redis; leave and join are decided here at once. Overtaken, the message would be
    // refused (not in a room) or written in sala-1.
    client.send({ type: 'message', text: 'written in sala-3', ref: 'm' })
    client.send({ type: 'leave', ref: 'l' })
    client.send({ type: 'join', room: 'sala-1', ref: 'j2' })
    client.send({ type: 'message', text: 'written in sala-1', ref: 'm2' })
    const first = await client.next('ack', (f) => f.ref === 'm')
    const second = await client.next('ack', (f) => f.ref === 'm2')
    expect(first.room).toBe('sala-3')
    expect(second.room).toBe('sala-1')
    client.close()
  })

  it('history requests count across the processes too', { timeout: 30_000 }, async () => {
    const [one, two] = servers as [TestServer, TestServer]
    const bia = await register(two)
    const onOne = await ChatClient.connect(one, { token: bia.token })
    const onTwo = await ChatClient.connect(two, { token: bia.token })
    for (const [client, ref] of [[onOne, 'j1'], [onTwo, 'j2']] as const) {
      client.send({ type: 'join', room: 'sala-2', ref })
      await client.next('joined', (f) => f.ref === ref)
    }
    // HISTORY_RATE=1 (a burst of 2): two requests on one process are answered, a third on the other refused.
    const sentAt = Date.now()
    onOne.send({ type: 'history', ref: 'h0' })
    onOne.send({ type: 'history', ref: 'h1' })
    await onOne.next('history', (f) => f.ref === 'h1')
    onTwo.send({ type: 'history', ref: 'h2' })
    const answer = await waitFor(() => onTwo.pending('history', 'error').find((f) => (f as Answer).ref === 'h2'), 'an answer to h2')
    // A token comes back after a second: answered sooner, the second request must have been refused.
    if (Date.now() - sentAt < 1000) expect(answer).toMatchObject({ type: 'error', code: 'rate_limited', ref: 'h2' })
    onOne.close()
    onTwo.close()
  })
})
