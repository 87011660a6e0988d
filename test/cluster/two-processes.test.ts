import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ChatClient, postJson, register, waitFor, type TestServer } from '../integration/helpers.js'
import { postgresForTests } from '../postgres/test-database.js'
import { redisForTests } from '../redis/test-redis.js'
import { sharedChat, type SharedChat } from './shared-chat.js'

// Issue 15: two Sala processes, one PostgreSQL database, one Redis: users on different processes share
// one chat — presence, messages in one order, typing, catch-up anywhere, logout closing sockets elsewhere.
const postgres = await postgresForTests()
const redis = await redisForTests()

describe.skipIf(!postgres.available || !redis.available)('two processes, one chat', () => {
  let chat: SharedChat | undefined
  let servers: TestServer[] = []
  beforeAll(async () => {
    chat = await sharedChat({ MSG_RATE: '10000', MSG_BURST: '10000' })
    servers = await Promise.all([chat.start(), chat.start()])
  }, 60_000)
  afterAll(async () => {
    await chat?.stop()
  })

  /** Joins `room` and answers the `joined` frame, once the other process has heard of the joiner. */
  const join = async (client: ChatClient, room: string, ref: string) => {
    client.send({ type: 'join', room, ref })
    return client.next('joined', (f) => f.ref === ref)
  }

  it('users on different processes see each other join, talk and type, and leave', { timeout: 60_000 }, async () => {
    const [one, two] = servers as [TestServer, TestServer]
    const ana = await register(one)
    const bia = await register(two)
    const anaOnOne = await ChatClient.connect(one, { token: ana.token })
    await join(anaOnOne, 'sala-2', 'a1')
    const biaOnTwo = await ChatClient.connect(two, { token: bia.token })
    // The processes find each other over Redis; until then bia may arrive before ana is known there.
    const joined = await waitFor(async () => {
      const frame = await join(biaOnTwo, 'sala-2', `b${Date.now()}`)
      return frame.users.some((u: { username: string }) => u.username === ana.username) ? frame : undefined
    }, 'ana in the joined list on the other process')
    expect(joined.users.map((u: { username: string }) => u.username).sort()).toEqual([ana.username, bia.username].sort())
    await anaOnOne.next('user_joined', (f) => f.user.username === bia.username)

    biaOnTwo.send({ type: 'typing_start' })
    await anaOnOne.next('typing', (f) => f.user.username === bia.username && f.typing === true)

    biaOnTwo.send({ type: 'message', text: 'olá from two', ref: 'm1' })
    const ack = await biaOnTwo.next('ack', (f) => f.ref === 'm1')
    const delivered = await anaOnOne.next('message', (f) => f.text === 'olá from two')
    expect(delivered.id).toBe(ack.id)

    biaOnTwo.close()
    await anaOnOne.next('user_left', (f) => f.user.username === bia.username && f.reason === 'disconnected')
    anaOnOne.close()
  })

  it('every member receives the messages senders on both processes write at once in one id order, without gaps', { timeout: 60_000 }, async () => {
    const [one, two] = servers as [TestServer, TestServer]
    const users = await Promise.all([register(one), register(two), register(one)])
    const clients = await Promise.all([
      ChatClient.connect(one, { token: users[0]!.token }),
      ChatClient.connect(two, { token: users[1]!.token }),
      ChatClient.connect(one, { token: users[2]!.token }),
      ChatClient.connect(two, { token: users[2]!.token }),
    ])
    for (const [i, client] of clients.entries()) await join(client, 'sala-3', `j${i}`)
    const senders = clients.slice(0, 2)
    const perSender = 100
    for (let n = 0; n < perSender; n++) for (const [i, client] of senders.entries()) client.send({ type: 'message', text: `s${i} m${n}`, ref: `s${i}-${n}` })
    // Each client hears every message: as `message`, or as the `ack` of its own.
    for (const client of clients) {
      const ids: string[] = []
      await waitFor(
        () => {
          ids.length = 0
          for (const frame of client.frames) {
            if ((frame.type === 'message' || frame.type === 'ack') && frame.room === 'sala-3') ids.push(frame.id)
          }
          return ids.length >= 2 * perSender ? ids : undefined
        },
        'every message on every client',
        30_000,
      )
      const messages = client.frames.flatMap((f) => (f.type === 'message' && f.room === 'sala-3' ? [Number(f.id)] : []))
      expect(messages).toEqual([...messages].sort((a, b) => a - b))
      expect(new Set(ids).size).toBe(2 * perSender)
    }
    for (const client of clients) client.close()
  })

  it('a client that moves to the other process catches up with `since`, nothing missing', { timeout: 60_000 }, async () => {
    const [one, two] = servers as [TestServer, TestServer]
    const writer = await register(one)
    const reader = await register(two)
    const onOne = await ChatClient.connect(one, { token: writer.token })
    await join(onOne, 'sala-1', 'w')
    onOne.send({ type: 'message', text: 'before', ref: 'b' })
    const before = await onOne.next('ack', (f) => f.ref === 'b')
    for (let n = 0; n < 5; n++) {
      onOne.send({ type: 'message', text: `after ${n}`, ref: `a${n}` })
      await onOne.next('ack', (f) => f.ref === `a${n}`)
    }
    const onTwo = await ChatClient.connect(two, { token: reader.token })
    onTwo.send({ type: 'join', room: 'sala-1', since: before.id, ref: 'r' })
    const caughtUp = await onTwo.next('joined', (f) => f.ref === 'r')
    expect(caughtUp.history.map((m: { text: string }) => m.text)).toEqual(['after 0', 'after 1', 'after 2', 'after 3', 'after 4'])
    expect(caughtUp.gap).toBeUndefined()
    onOne.close()
    onTwo.close()
  })

  it('logout on one process closes that session’s sockets on the other', { timeout: 60_000 }, async () => {
    const [one, two] = servers as [TestServer, TestServer]
    const ana = await register(one)
    const elsewhere = await ChatClient.connect(two, { token: ana.token })
    await elsewhere.next('welcome')
    const out = await postJson(`${one.url}/auth/logout`, {}, { authorization: `Bearer ${ana.token}` })
    expect(out.status).toBe(204)
    const closed = await elsewhere.waitClosed(5000)
    expect(closed.code).toBe(4001)
  })
})
