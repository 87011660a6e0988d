import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RoomSummary } from '../../src/core/protocol/server-frames.js'
import { ChatClient, register, settle, waitFor, type Registered, type TestServer } from '../integration/helpers.js'
import { postgresForTests } from '../postgres/test-database.js'
import { redisForTests } from '../redis/test-redis.js'
import { logRecords, startSalaProcess, type SalaProcess } from './sala-process.js'
import { sharedChat, type SharedChat } from './shared-chat.js'

// Issue 16 across processes: two Sala processes of their own (the built dist/, as production runs them) on
// one PostgreSQL database and one Redis. What one process's routes change reaches the members connected to
// the other through the room_saved and membership_changed facts.
const postgres = await postgresForTests()
const redis = await redisForTests()

const call = (process: Pick<SalaProcess, 'url'>, user: Registered, method: string, path: string, body?: unknown) =>
  fetch(`${process.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${user.token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })

const connect = async (process: SalaProcess, user: Registered) => {
  const client = await ChatClient.connect(process, { token: user.token })
  await client.next('welcome', () => true, 10_000)
  return client
}

describe.skipIf(!postgres.available || !redis.available)('rooms across two processes', () => {
  let chat: SharedChat | undefined
  let one: SalaProcess
  let two: SalaProcess
  beforeAll(async () => {
    chat = await sharedChat()
    ;[one, two] = await Promise.all([startSalaProcess({ ...chat.env }), startSalaProcess({ ...chat.env })])
    // What each announces from now on reaches the other.
    await waitFor(
      () => ([one, two].every((p) => logRecords(p).some((record) => record.msg === 'cluster link connected')) ? true : undefined),
      'both processes linked',
      20_000,
    )
  }, 60_000)
  afterAll(async () => {
    await Promise.all([one?.stop(), two?.stop()])
    await chat?.stop()
  })

  it('a private room made through one process reaches its member on the other, and a member removed through one is moved out on the other', { timeout: 60_000 }, async () => {
    const [ana, bia, caio] = await Promise.all([register(one), register(two), register(two)])
    const biaOnTwo = await connect(two, bia)
    const caioOnTwo = await connect(two, caio)

    const made = await call(one, ana, 'POST', '/rooms', { name: 'Across', visibility: 'private', topic: 'two processes' })
    expect(made.status).toBe(201)
    const room = (await made.json()) as RoomSummary
    const added = await call(one, ana, 'POST', `/rooms/${room.id}/members`, { username: bia.username })
    expect(added.status).toBe(201)
    const told = await biaOnTwo.next('room_added', (f) => f.room.id === room.id, 10_000)
    expect(told.room).toEqual({ id: room.id, name: 'Across', members: 0, visibility: 'private', unread: 0, member: true, topic: 'two processes', owner: ana.username })
    const listed = (await (await call(two, bia, 'GET', '/rooms')).json()) as RoomSummary[]
    expect(listed.find((r) => r.id === room.id)).toEqual(told.room)

    // bia enters it on two; ana, on one, sees her there.
    biaOnTwo.send({ type: 'join', room: room.id, ref: 'b1' })
    await biaOnTwo.next('joined', (f) => f.ref === 'b1')
    const anaOnOne = await connect(one, ana)
    const joined = await waitFor(async () => {
      const ref = `a${Date.now()}`
      anaOnOne.send({ type: 'join', room: room.id, ref })
      const frame = await anaOnOne.next('joined', (f) => f.ref === ref, 10_000)
      return frame.users.some((u) => u.username === bia.username) ? frame : undefined
    }, 'bia present in the room as seen from one')
    expect(joined.users.map((u) => u.username).sort()).toEqual([ana.username, bia.username].sort())

    // A rename through one is room_updated on two.
    expect((await call(one, ana, 'PATCH', `/rooms/${room.id}`, { name: 'Across, renamed' })).status).toBe(200)
    expect((await biaOnTwo.next('room_updated', (f) => f.room.id === room.id, 10_000)).room.name).toBe('Across, renamed')

    expect((await call(one, ana, 'DELETE', `/rooms/${room.id}/members/${bia.username}`)).status).toBe(204)
    expect(await biaOnTwo.next('user_left', (f) => f.user.username === bia.username, 10_000)).toMatchObject({ room: room.id, reason: 'removed' })
    expect(await biaOnTwo.next('room_removed', (f) => f.room === room.id, 10_000)).toEqual({ type: 'room_removed', room: room.id })
    expect(await anaOnOne.next('user_left', (f) => f.user.username === bia.username, 10_000)).toMatchObject({ room: room.id, reason: 'removed' })
    biaOnTwo.send({ type: 'join', room: room.id, ref: 'b2' })
    expect((await biaOnTwo.next('error', (f) => f.ref === 'b2')).code).toBe('unknown_room')

    // caio, on the same process as bia, heard nothing of it.
    await settle(300)
    expect(JSON.stringify(caioOnTwo.frames)).not.toContain(room.id)
    for (const client of [biaOnTwo, caioOnTwo, anaOnOne]) client.close()
  })

  it('a conversation made through one process is added for both, on either process, and found from the other side', { timeout: 60_000 }, async () => {
    const [ana, bia] = await Promise.all([register(one), register(two)])
    const biaOnTwo = await connect(two, bia)
    const made = await call(one, ana, 'PUT', `/dms/${bia.username}`)
    expect(made.status).toBe(201)
    const conversation = (await made.json()) as RoomSummary
    expect((await biaOnTwo.next('room_added', (f) => f.room.id === conversation.id, 10_000)).room).toMatchObject({ visibility: 'direct', with: { username: ana.username } })
    const found = await call(two, bia, 'PUT', `/dms/${ana.username}`)
    expect(found.status).toBe(200)
    expect(((await found.json()) as RoomSummary).id).toBe(conversation.id)
    biaOnTwo.close()
  })

  it('a message through one process counts for a member connected to the other; a read on one recounts her tab on the other', { timeout: 60_000 }, async () => {
    const [ana, bia] = await Promise.all([register(one), register(two)])
    const made = await call(one, ana, 'PUT', `/dms/${bia.username}`)
    expect(made.status).toBe(201)
    const dm = ((await made.json()) as RoomSummary).id
    const biaOnTwo = await connect(two, bia)
    const biaOnOne = await connect(one, bia)
    const anaOnOne = await connect(one, ana)
    anaOnOne.send({ type: 'join', room: dm, ref: 'a1' })
    await anaOnOne.next('joined', (f) => f.ref === 'a1')

    const ids: string[] = []
    for (const text of ['one', 'two', 'three']) {
      anaOnOne.send({ type: 'message', text, ref: text })
      ids.push((await anaOnOne.next('ack', (f) => f.ref === text)).id)
      expect(await biaOnTwo.next('unread', (f) => f.room === dm, 10_000)).toEqual({ type: 'unread', room: dm, count: ids.length })
    }
    expect(await biaOnOne.next('unread', (f) => f.room === dm && f.count === 3, 10_000)).toEqual({ type: 'unread', room: dm, count: 3 })

    // Read through her tab on one: the tab on two recounts (read_moved).
    biaOnOne.send({ type: 'read', room: dm, upTo: ids[1] })
    expect(await biaOnOne.next('unread', (f) => f.room === dm && f.count !== 3, 10_000)).toEqual({ type: 'unread', room: dm, count: 1 })
    expect(await biaOnTwo.next('unread', (f) => f.room === dm && f.count !== 3, 10_000)).toEqual({ type: 'unread', room: dm, count: 1 })
    await waitFor(async () => {
      const rooms = (await (await call(two, bia, 'GET', '/rooms')).json()) as RoomSummary[]
      return rooms.find((r) => r.id === dm)?.unread === 1 ? true : undefined
    }, 'the marker stored')
    for (const client of [biaOnTwo, biaOnOne, anaOnOne]) client.close()
  })
})

describe.skipIf(!postgres.available || !redis.available)('INVITE_RATE across processes', () => {
  let chat: SharedChat | undefined
  let servers: TestServer[] = []
  beforeAll(async () => {
    chat = await sharedChat({ INVITE_RATE: '3' })
    servers = await Promise.all([chat.start(), chat.start()])
  }, 60_000)
  afterAll(async () => {
    await chat?.stop()
  })

  it('invitations alternating between the processes meet 429 after INVITE_RATE in all, not per process', { timeout: 30_000 }, async () => {
    const [first, second] = servers as [TestServer, TestServer]
    const [ana, ...others] = (await Promise.all(Array.from({ length: 5 }, () => register(first)))) as [Registered, ...Registered[]]
    const made = (await (await call(first, ana, 'POST', '/rooms', { name: 'Invitations', visibility: 'private' })).json()) as RoomSummary
    const statuses: number[] = []
    for (const [i, other] of others.entries()) statuses.push((await call(i % 2 === 0 ? first : second, ana, 'POST', `/rooms/${made.id}/members`, { username: other.username })).status)
    expect(statuses).toEqual([201, 201, 201, 429])
  })
})
