import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RoomSummary } from '../../src/core/protocol/server-frames.js'
import { ChatClient, register, startTestServer, type Registered, type TestServer } from './helpers.js'

// Unread counts and read markers over real HTTP and WebSockets (docs/rooms.md, "Unread counts and read
// markers"): counts on connect, live `unread` frames, entering clears, `read`, a public room's membership
// made on first entry, and markers that outlive a restart. Runs on SQLite and on PostgreSQL.

const call = (server: TestServer, user: Registered, method: string, path: string) =>
  fetch(`${server.url}${path}`, { method, headers: { Authorization: `Bearer ${user.token}` } })

const listed = async (server: TestServer, user: Registered): Promise<RoomSummary[]> => {
  const response = await call(server, user, 'GET', '/rooms')
  expect(response.status).toBe(200)
  return (await response.json()) as RoomSummary[]
}

const roomIn = (rooms: ReadonlyArray<RoomSummary>, id: string) => rooms.find((room) => room.id === id)

const connect = async (server: TestServer, user: Registered) => {
  const client = await ChatClient.connect(server, { token: user.token })
  const welcome = await client.next('welcome')
  return { client, welcome }
}

const join = async (client: ChatClient, room: string, ref: string) => {
  client.send({ type: 'join', room, ref })
  return client.next('joined', (f) => f.ref === ref)
}

/** Sends messages from `client` (in its room) and answers their ids, once each is stored. */
const say = async (client: ChatClient, ...texts: string[]): Promise<string[]> => {
  const ids: string[] = []
  for (const [i, text] of texts.entries()) {
    const ref = `say-${Date.now()}-${i}`
    client.send({ type: 'message', text, ref })
    ids.push((await client.next('ack', (f) => f.ref === ref)).id)
  }
  return ids
}

/** Everything sent to `client` before this has arrived: a ping's pong comes after it. */
const caughtUp = async (client: ChatClient, ref: string) => {
  client.send({ type: 'ping', ref })
  await client.next('pong', (f) => f.ref === ref)
}

const conversation = async (server: TestServer, a: Registered, b: Registered): Promise<string> => {
  const response = await call(server, a, 'PUT', `/dms/${b.username}`)
  expect(response.status).toBe(201)
  return ((await response.json()) as RoomSummary).id
}

describe('unread counts and read markers', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ MSG_RATE: '1000', MSG_BURST: '1000' })
  })
  afterAll(async () => {
    await server.stop()
  })

  it('counts what came while away, live while elsewhere, and clears on entering', async () => {
    const [ana, bia] = await Promise.all([register(server), register(server)])
    const dm = await conversation(server, ana, bia)
    const { client: anaSocket } = await connect(server, ana)
    await join(anaSocket, dm, 'a1')
    await say(anaSocket, 'one', 'two', 'three')

    // Bia was not connected: her list and her welcome say 3.
    expect(roomIn(await listed(server, bia), dm)).toMatchObject({ unread: 3, member: true })
    const { client: biaSocket, welcome } = await connect(server, bia)
    expect(roomIn(welcome.rooms, dm)).toMatchObject({ unread: 3, member: true })

    // Connected elsewhere: one frame per message.
    await join(biaSocket, 'sala-1', 'b1')
    await say(anaSocket, 'four')
    expect(await biaSocket.next('unread', (f) => f.room === dm)).toEqual({ type: 'unread', room: dm, count: 4 })

    // Entering reads it all; the list says 0 for the room she is in.
    await join(biaSocket, dm, 'b2')
    expect(await biaSocket.next('unread', (f) => f.room === dm)).toEqual({ type: 'unread', room: dm, count: 0 })
    expect(roomIn(await listed(server, bia), dm)).toMatchObject({ unread: 0 })
    // While she is there, messages are read as they come: no count.
    await say(anaSocket, 'five')
    await biaSocket.next('message', (f) => f.text === 'five')
    await caughtUp(biaSocket, 'p1')
    expect(biaSocket.frames.filter((f) => f.type === 'unread')).toEqual([])

    // Leaving writes the marker: a new connection (after her last one closed) starts from it.
    await join(biaSocket, 'sala-1', 'b3')
    biaSocket.close()
    await expect.poll(async () => roomIn(await listed(server, bia), dm)?.unread).toBe(0)
    await say(anaSocket, 'six')
    const { client: biaAgain, welcome: again } = await connect(server, bia)
    expect(roomIn(again.rooms, dm)).toMatchObject({ unread: 1 })
    anaSocket.close()
    biaAgain.close()
  })

  it('read moves the marker forward only, clamps an id beyond the end, and knows only member rooms', async () => {
    const [ana, bia] = await Promise.all([register(server), register(server)])
    const dm = await conversation(server, ana, bia)
    const { client: anaSocket } = await connect(server, ana)
    await join(anaSocket, dm, 'a1')
    const ids = await say(anaSocket, 'a', 'b', 'c', 'd')
    const { client: biaSocket } = await connect(server, bia)
    const { client: biaTab } = await connect(server, bia)

    biaSocket.send({ type: 'read', room: dm, upTo: ids[1] })
    // Every tab of hers recounts.
    expect(await biaSocket.next('unread', (f) => f.room === dm)).toEqual({ type: 'unread', room: dm, count: 2 })
    expect(await biaTab.next('unread', (f) => f.room === dm)).toEqual({ type: 'unread', room: dm, count: 2 })

    biaSocket.send({ type: 'read', room: dm, upTo: ids[0], ref: 'back' })
    await caughtUp(biaSocket, 'p1')
    expect(biaSocket.frames.filter((f) => f.type === 'unread' || f.type === 'error')).toEqual([])
    expect(roomIn(await listed(server, bia), dm)).toMatchObject({ unread: 2 })

    biaSocket.send({ type: 'read', room: dm, upTo: '000000999999' })
    expect(await biaSocket.next('unread', (f) => f.room === dm)).toEqual({ type: 'unread', room: dm, count: 0 })
    await expect.poll(async () => roomIn(await listed(server, bia), dm)?.unread).toBe(0)

    // A room she does not belong to answers as one that does not exist; a bad id is a bad request.
    const { client: caioSocket } = await connect(server, await register(server))
    const answers = await Promise.all(
      [dm, 'r-aaaaaaaaaaaa'].map(async (room, i) => {
        caioSocket.send({ type: 'read', room, upTo: ids[0], ref: `r${i}` })
        const error = await caioSocket.next('error', (f) => f.ref === `r${i}`)
        return { ...error, message: error.message.replace(room, '<room>'), ref: '' }
      }),
    )
    expect(answers[0]).toEqual(answers[1])
    expect(answers[0]?.code).toBe('unknown_room')
    biaSocket.send({ type: 'read', room: dm, upTo: 'not an id', ref: 'bad' })
    expect(await biaSocket.next('error', (f) => f.ref === 'bad')).toMatchObject({ code: 'bad_request' })
    for (const client of [anaSocket, biaSocket, biaTab, caioSocket]) client.close()
  })

  it('entering a public room the first time makes a membership, which counts from then on', async () => {
    const [ana, caio] = await Promise.all([register(server), register(server)])
    expect(roomIn(await listed(server, caio), 'sala-2')).toMatchObject({ unread: 0, member: false })
    const { client: anaSocket } = await connect(server, ana)
    await join(anaSocket, 'sala-2', 'a1')
    await say(anaSocket, 'before caio')
    const { client: caioSocket } = await connect(server, caio)
    await join(caioSocket, 'sala-2', 'c1')
    expect((await caioSocket.next('room_updated', (f) => f.room.id === 'sala-2')).room).toMatchObject({ member: true, unread: 0 })
    await expect.poll(async () => roomIn(await listed(server, caio), 'sala-2')?.member).toBe(true)

    await join(caioSocket, 'sala-3', 'c2')
    await say(anaSocket, 'after caio left')
    expect(await caioSocket.next('unread', (f) => f.room === 'sala-2')).toEqual({ type: 'unread', room: 'sala-2', count: 1 })
    // A public room he never entered counts nothing for him.
    expect(roomIn(await listed(server, caio), 'sala-1')).toMatchObject({ unread: 0, member: false })

    // Leaving the membership stops the count.
    expect((await call(server, caio, 'DELETE', `/rooms/sala-2/members/${caio.username}`)).status).toBe(204)
    expect((await caioSocket.next('room_updated', (f) => f.room.id === 'sala-2' && !f.room.member)).room).toMatchObject({ unread: 0 })
    await say(anaSocket, 'nobody counts this for caio')
    await caughtUp(caioSocket, 'p1')
    expect(caioSocket.frames.filter((f) => f.type === 'unread')).toEqual([])
    anaSocket.close()
    caioSocket.close()
  })

  it('markers outlive a restart', async () => {
    const [ana, bia] = await Promise.all([register(server), register(server)])
    const dm = await conversation(server, ana, bia)
    const { client: anaSocket } = await connect(server, ana)
    await join(anaSocket, dm, 'a1')
    const ids = await say(anaSocket, 'a', 'b', 'c', 'd', 'e')
    const { client: biaSocket } = await connect(server, bia)
    biaSocket.send({ type: 'read', room: dm, upTo: ids[2] })
    expect(await biaSocket.next('unread', (f) => f.room === dm)).toMatchObject({ count: 2 })
    // Ana is in the room: her marker follows delivery, and is written when the server stops.
    server = await server.restart()

    expect(roomIn(await listed(server, bia), dm)).toMatchObject({ unread: 2, member: true })
    expect(roomIn(await listed(server, ana), dm)).toMatchObject({ unread: 0, member: true })
    const { client: biaAgain, welcome } = await connect(server, bia)
    expect(roomIn(welcome.rooms, dm)).toMatchObject({ unread: 2 })
    biaAgain.close()
  })
})
