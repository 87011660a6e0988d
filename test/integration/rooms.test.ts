import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RoomSummary } from '../../src/core/protocol/server-frames.js'
import { ChatClient, register, settle, startTestServer, type Registered, type TestServer } from './helpers.js'
import { breakMemberships } from './room-store-faults.js'

// Issue 16 over real HTTP and WebSockets (docs/rooms.md): rooms people make, private rooms that are to a
// non-member a room that does not exist, members added and removed live, archiving, conversations, and
// the limits. Runs on SQLite and on PostgreSQL (the sala-postgres project).

const call = (server: TestServer, user: Registered, method: string, path: string, body?: unknown) =>
  fetch(`${server.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${user.token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })

const json = async <A = unknown>(response: Response): Promise<A> => (await response.json()) as A
const errorCode = async (response: Response) => (await json<{ error: { code: string } }>(response)).error.code

const connect = async (server: TestServer, user: Registered) => {
  const client = await ChatClient.connect(server, { token: user.token })
  const welcome = await client.next('welcome')
  return { client, welcome }
}

const makeRoom = async (server: TestServer, owner: Registered, body: Record<string, unknown>): Promise<RoomSummary> => {
  const response = await call(server, owner, 'POST', '/rooms', body)
  expect(response.status, JSON.stringify(await response.clone().json())).toBe(201)
  return json<RoomSummary>(response)
}

const listed = async (server: TestServer, user: Registered): Promise<RoomSummary[]> => {
  const response = await call(server, user, 'GET', '/rooms')
  expect(response.status).toBe(200)
  return json<RoomSummary[]>(response)
}

const joinRoom = async (client: ChatClient, room: string, ref: string) => {
  client.send({ type: 'join', room, ref })
  return client.next('joined', (f) => f.ref === ref)
}

describe('rooms people make', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ MSG_RATE: '1000', MSG_BURST: '1000' })
  })
  afterAll(async () => {
    await server.stop()
  })

  it('a public room is listed to everyone and announced to every connection; a private one to its owner only', async () => {
    const [ana, bia] = await Promise.all([register(server), register(server)])
    const { client: biaSocket } = await connect(server, bia)
    const { client: anaSocket } = await connect(server, ana)

    const open = await makeRoom(server, ana, { name: 'Café ☕ talk', visibility: 'public', topic: 'all things coffee' })
    expect(open).toEqual({ id: expect.stringMatching(/^r-[a-z2-7]{12}$/), name: 'Café ☕ talk', members: 0, visibility: 'public', unread: 0, member: true, topic: 'all things coffee', owner: ana.username })
    // Bia does not belong to it (yet): the same room, not hers.
    const forBia = { ...open, member: false }
    expect((await biaSocket.next('room_added', (f) => f.room.id === open.id)).room).toEqual(forBia)
    await anaSocket.next('room_added', (f) => f.room.id === open.id)
    expect(await listed(server, bia)).toContainEqual(forBia)

    const plans = await makeRoom(server, ana, { name: 'Plans', visibility: 'private' })
    expect(plans).toEqual({ id: expect.stringMatching(/^r-/), name: 'Plans', members: 0, visibility: 'private', unread: 0, member: true, owner: ana.username })
    expect((await anaSocket.next('room_added', (f) => f.room.id === plans.id)).room).toEqual(plans)
    expect(await listed(server, ana)).toContainEqual(plans)
    expect((await listed(server, bia)).map((room) => room.id)).not.toContain(plans.id)
    await settle()
    expect(JSON.stringify(biaSocket.frames)).not.toContain(plans.id)
    // A new connection's welcome says the same.
    const { client: again, welcome } = await connect(server, ana)
    expect(welcome.rooms.map((room) => room.id)).toEqual(expect.arrayContaining(['sala-1', open.id, plans.id]))
    const { client: biaAgain, welcome: biaWelcome } = await connect(server, bia)
    expect(biaWelcome.rooms.map((room) => room.id)).not.toContain(plans.id)
    for (const client of [anaSocket, biaSocket, again, biaAgain]) client.close()
  })

  it('refuses bad bodies with each problem named, and makes nothing', async () => {
    const ana = await register(server)
    const before = await listed(server, ana)
    const bad = await call(server, ana, 'POST', '/rooms', { name: ' x'.repeat(50), visibility: 'secret', colour: 'red' })
    expect(bad.status).toBe(400)
    expect((await json<{ error: { code: string; details: Array<{ path: string }> } }>(bad)).error.details.map((d) => d.path).sort()).toEqual(['colour', 'name', 'visibility'])
    expect((await call(server, ana, 'POST', '/rooms', { name: 'x'.repeat(81), visibility: 'public' })).status).toBe(400)
    expect((await call(server, ana, 'POST', '/rooms', { name: 'Ok', visibility: 'public', topic: 'two\nlines' })).status).toBe(400)
    expect((await call(server, ana, 'POST', '/rooms', { name: 'x'.repeat(80), visibility: 'public', topic: 't'.repeat(250) })).status).toBe(201)
    expect((await listed(server, ana)).length).toBe(before.length + 1)
  })

  it('a private room is to a non-member exactly a room that does not exist: lists, join, and every route answer the same', async () => {
    const [ana, caio] = await Promise.all([register(server), register(server)])
    const plans = await makeRoom(server, ana, { name: 'Secret plans', visibility: 'private' })
    const missing = 'r-aaaaaaaaaaaa'
    const { client: caioSocket, welcome } = await connect(server, caio)
    expect(welcome.rooms.map((room) => room.id)).not.toContain(plans.id)

    const joins = await Promise.all([plans.id, missing].map(async (room, i) => {
      caioSocket.send({ type: 'join', room, ref: `j${i}` })
      const error = await caioSocket.next('error', (f) => f.ref === `j${i}`)
      return { ...error, message: error.message.replace(room, '<room>') }
    }))
    expect(joins[0]).toEqual({ ...joins[1], ref: 'j0' })
    expect(joins[0]?.code).toBe('unknown_room')

    const asks: Array<[string, (room: string) => string, unknown]> = [
      ['PATCH', (room) => `/rooms/${room}`, { name: 'Mine now' }],
      ['DELETE', (room) => `/rooms/${room}`, undefined],
      ['POST', (room) => `/rooms/${room}/members`, { username: caio.username }],
      ['DELETE', (room) => `/rooms/${room}/members/${caio.username}`, undefined],
      ['DELETE', (room) => `/rooms/${room}/members/${ana.username}`, undefined],
    ]
    for (const [method, path, body] of asks) {
      const [hidden, absent] = await Promise.all([call(server, caio, method, path(plans.id), body), call(server, caio, method, path(missing), body)])
      expect(hidden.status, `${method} ${path('{id}')}`).toBe(404)
      expect(await hidden.text()).toBe(await absent.text())
    }
    expect((await call(server, caio, 'PATCH', '/rooms/NOT A ROOM', { name: 'x' })).status).toBe(404)
    // Nothing changed.
    expect((await listed(server, ana)).find((room) => room.id === plans.id)).toEqual(plans)
    await settle()
    expect(JSON.stringify(caioSocket.frames)).not.toContain(plans.id)
    caioSocket.close()
  })

  it('the owner adds a member, who is told live and may enter; removed while present, they are moved out and told', async () => {
    const [ana, bia, caio] = await Promise.all([register(server), register(server), register(server)])
    const plans = await makeRoom(server, ana, { name: 'Plans', visibility: 'private', topic: 'what next' })
    const { client: anaSocket } = await connect(server, ana)
    const { client: biaSocket } = await connect(server, bia)
    const { client: biaTab } = await connect(server, bia)
    const { client: caioSocket } = await connect(server, caio)

    const added = await call(server, ana, 'POST', `/rooms/${plans.id}/members`, { username: bia.username.toUpperCase() })
    expect(added.status).toBe(201)
    expect(await json(added)).toEqual({ user: { username: bia.username, name: bia.username.toUpperCase() } })
    for (const socket of [biaSocket, biaTab]) expect((await socket.next('room_added', (f) => f.room.id === plans.id)).room).toMatchObject({ id: plans.id, visibility: 'private', owner: ana.username })
    const again = await call(server, ana, 'POST', `/rooms/${plans.id}/members`, { username: bia.username })
    expect(again.status).toBe(200)
    expect((await listed(server, bia)).map((room) => room.id)).toContain(plans.id)

    // Only the owner adds; an unknown user is unknown_user.
    expect(await errorCode(await call(server, bia, 'POST', `/rooms/${plans.id}/members`, { username: caio.username }))).toBe('not_owner')
    const nobody = await call(server, ana, 'POST', `/rooms/${plans.id}/members`, { username: 'nobody-here' })
    expect([nobody.status, await errorCode(nobody)]).toEqual([404, 'unknown_user'])

    await joinRoom(anaSocket, plans.id, 'a1')
    const joined = await joinRoom(biaSocket, plans.id, 'b1')
    expect(joined.users.map((u) => u.username).sort()).toEqual([ana.username, bia.username].sort())
    await anaSocket.next('user_joined', (f) => f.user.username === bia.username)

    const removed = await call(server, ana, 'DELETE', `/rooms/${plans.id}/members/${bia.username}`)
    expect(removed.status).toBe(204)
    for (const socket of [anaSocket, biaSocket, biaTab]) {
      expect(await socket.next('user_left', (f) => f.user.username === bia.username)).toMatchObject({ room: plans.id, reason: 'removed' })
    }
    for (const socket of [biaSocket, biaTab]) expect(await socket.next('room_removed', (f) => f.room === plans.id)).toEqual({ type: 'room_removed', room: plans.id })
    // Out, and unable to come back: to her now it is a room that does not exist.
    biaSocket.send({ type: 'message', text: 'still here?', ref: 'm1' })
    expect((await biaSocket.next('error', (f) => f.ref === 'm1')).code).toBe('not_in_room')
    biaSocket.send({ type: 'join', room: plans.id, ref: 'b2' })
    expect((await biaSocket.next('error', (f) => f.ref === 'b2')).code).toBe('unknown_room')
    expect((await listed(server, bia)).map((room) => room.id)).not.toContain(plans.id)
    const gone = await call(server, ana, 'DELETE', `/rooms/${plans.id}/members/${bia.username}`)
    expect([gone.status, await errorCode(gone)]).toEqual([404, 'not_a_member'])
    await settle()
    expect(JSON.stringify(caioSocket.frames)).not.toContain(plans.id)
    for (const socket of [anaSocket, biaSocket, biaTab, caioSocket]) socket.close()
  })

  it('a member leaves by removing themselves; the owner cannot leave; nobody leaves a conversation', async () => {
    const [ana, bia] = await Promise.all([register(server), register(server)])
    const plans = await makeRoom(server, ana, { name: 'Plans', visibility: 'private' })
    await call(server, ana, 'POST', `/rooms/${plans.id}/members`, { username: bia.username })
    const { client: biaSocket } = await connect(server, bia)
    expect((await call(server, bia, 'DELETE', `/rooms/${plans.id}/members/${bia.username}`)).status).toBe(204)
    await biaSocket.next('room_removed', (f) => f.room === plans.id)
    const owner = await call(server, ana, 'DELETE', `/rooms/${plans.id}/members/${ana.username}`)
    expect([owner.status, await errorCode(owner)]).toEqual([409, 'owner_cannot_leave'])
    // Leaving a public room's membership one never had: not a member.
    const notMember = await call(server, bia, 'DELETE', `/rooms/sala-1/members/${bia.username}`)
    expect([notMember.status, await errorCode(notMember)]).toEqual([404, 'not_a_member'])

    const dm = await json<RoomSummary>(await call(server, ana, 'PUT', `/dms/${bia.username}`))
    for (const [who, whom] of [[ana, bia], [ana, ana], [bia, ana]] as const) {
      const refused = await call(server, who, 'DELETE', `/rooms/${dm.id}/members/${whom.username}`)
      expect([refused.status, await errorCode(refused)]).toEqual([409, 'direct_conversation'])
    }
    biaSocket.close()
  })

  it('renames and sets the topic: the owner only, room_updated to whoever may know it; configured rooms have no owner', async () => {
    const [ana, bia, caio] = await Promise.all([register(server), register(server), register(server)])
    const plans = await makeRoom(server, ana, { name: 'Plans', visibility: 'private', topic: 'old' })
    await call(server, ana, 'POST', `/rooms/${plans.id}/members`, { username: bia.username })
    const { client: biaSocket } = await connect(server, bia)
    const { client: caioSocket } = await connect(server, caio)

    const renamed = await call(server, ana, 'PATCH', `/rooms/${plans.id}`, { name: 'Better plans', topic: null })
    expect(renamed.status).toBe(200)
    const room = await json<RoomSummary>(renamed)
    expect(room).toEqual({ id: plans.id, name: 'Better plans', members: 0, visibility: 'private', unread: 0, member: true, owner: ana.username })
    expect((await biaSocket.next('room_updated', (f) => f.room.id === plans.id)).room).toEqual(room)
    // The same again changes nothing and tells nobody.
    expect(await json(await call(server, ana, 'PATCH', `/rooms/${plans.id}`, { name: 'Better plans' }))).toEqual(room)
    await settle()
    expect(biaSocket.pending('room_updated')).toEqual([])
    expect(JSON.stringify(caioSocket.frames)).not.toContain(plans.id)

    const byMember = await call(server, bia, 'PATCH', `/rooms/${plans.id}`, { topic: 'mine' })
    expect([byMember.status, await errorCode(byMember)]).toEqual([403, 'not_owner'])
    for (const [method, body] of [['PATCH', { name: 'Mine' }], ['DELETE', undefined]] as const) {
      const configured = await call(server, ana, method, '/rooms/sala-2', body)
      expect([configured.status, await errorCode(configured)]).toEqual([403, 'not_owner'])
    }
    const invalid = await call(server, ana, 'PATCH', `/rooms/${plans.id}`, { name: '' })
    expect(invalid.status).toBe(400)
    biaSocket.close()
    caioSocket.close()
  })

  it('an archived room keeps its history but takes no message, no rename and no member; archiving again answers the same', async () => {
    const [ana, bia] = await Promise.all([register(server), register(server)])
    const plans = await makeRoom(server, ana, { name: 'Plans', visibility: 'private' })
    await call(server, ana, 'POST', `/rooms/${plans.id}/members`, { username: bia.username })
    const { client: anaSocket } = await connect(server, ana)
    const { client: biaSocket } = await connect(server, bia)
    await joinRoom(anaSocket, plans.id, 'a1')
    anaSocket.send({ type: 'message', text: 'before the archive', ref: 'm1' })
    await anaSocket.next('ack', (f) => f.ref === 'm1')

    const archived = await call(server, ana, 'DELETE', `/rooms/${plans.id}`)
    expect(archived.status).toBe(200)
    const room = await json<RoomSummary>(archived)
    expect(room).toMatchObject({ id: plans.id, archived: true })
    expect((await biaSocket.next('room_updated', (f) => f.room.id === plans.id)).room).toMatchObject({ archived: true })
    expect(await json(await call(server, ana, 'DELETE', `/rooms/${plans.id}`))).toEqual(room)
    await settle()
    expect(biaSocket.pending('room_updated')).toEqual([])

    anaSocket.send({ type: 'message', text: 'after the archive', ref: 'm2' })
    expect(await anaSocket.next('error', (f) => f.ref === 'm2')).toMatchObject({ code: 'room_archived', room: plans.id })
    const joined = await joinRoom(biaSocket, plans.id, 'b1')
    expect(joined.history.map((m) => m.text)).toEqual(['before the archive'])

    for (const [method, path, body] of [['PATCH', `/rooms/${plans.id}`, { name: 'x' }], ['POST', `/rooms/${plans.id}/members`, { username: ana.username }]] as const) {
      const refused = await call(server, ana, method, path, body)
      expect([refused.status, await errorCode(refused)]).toEqual([409, 'room_archived'])
    }
    const byMember = await call(server, bia, 'DELETE', `/rooms/${plans.id}`)
    expect([byMember.status, await errorCode(byMember)]).toEqual([403, 'not_owner'])
    anaSocket.close()
    biaSocket.close()
  })

  it('members are added to private rooms only', async () => {
    const [ana, bia] = await Promise.all([register(server), register(server)])
    const open = await makeRoom(server, ana, { name: 'Open', visibility: 'public' })
    const dm = await json<RoomSummary>(await call(server, ana, 'PUT', `/dms/${bia.username}`))
    for (const room of [open.id, dm.id, 'sala-1']) {
      const refused = await call(server, ana, 'POST', `/rooms/${room}/members`, { username: bia.username })
      expect([refused.status, await errorCode(refused)], room).toEqual([409, 'not_private'])
    }
  })

  it('a conversation is one room from either side, named after the other person: 201 when made, 200 after; not with oneself or nobody', async () => {
    const [ana, bia] = await Promise.all([register(server), register(server)])
    const { client: anaSocket } = await connect(server, ana)
    const { client: biaSocket } = await connect(server, bia)

    const made = await call(server, ana, 'PUT', `/dms/${bia.username}`)
    expect(made.status).toBe(201)
    const forAna = await json<RoomSummary>(made)
    expect(forAna).toEqual({
      id: expect.stringMatching(/^dm-[a-z2-7]{12}$/),
      name: bia.username.toUpperCase(),
      members: 0,
      visibility: 'direct',
      unread: 0,
      member: true,
      with: { username: bia.username, name: bia.username.toUpperCase() },
    })
    expect((await anaSocket.next('room_added', (f) => f.room.id === forAna.id)).room).toEqual(forAna)
    const toBia = (await biaSocket.next('room_added', (f) => f.room.id === forAna.id)).room
    expect(toBia).toMatchObject({ name: ana.username.toUpperCase(), with: { username: ana.username } })

    const found = await call(server, bia, 'PUT', `/dms/${ana.username.toUpperCase()}`)
    expect(found.status).toBe(200)
    expect(await json(found)).toEqual(toBia)
    expect((await call(server, ana, 'PUT', `/dms/${bia.username}`)).status).toBe(200)
    await settle()
    expect(anaSocket.pending('room_added').filter((f) => f.type === 'room_added' && f.room.id === forAna.id)).toEqual([])

    for (const username of [ana.username, 'nobody-here', 'not a username']) {
      const refused = await call(server, ana, 'PUT', `/dms/${encodeURIComponent(username)}`)
      expect([refused.status, await errorCode(refused)], username).toEqual([404, 'unknown_user'])
    }

    // Both may talk there; a third person may not even know it.
    await joinRoom(anaSocket, forAna.id, 'a1')
    await joinRoom(biaSocket, forAna.id, 'b1')
    anaSocket.send({ type: 'message', text: 'oi', ref: 'm1' })
    expect((await biaSocket.next('message', (f) => f.room === forAna.id)).text).toBe('oi')
    const caio = await register(server)
    expect((await listed(server, caio)).map((room) => room.id)).not.toContain(forAna.id)
    anaSocket.close()
    biaSocket.close()
  })

  it('path parameters are percent-decoded once; a malformed escape is 400 malformed_path', async () => {
    const [ana, bia] = await Promise.all([register(server), register(server)])
    /** Every character of `s` as its %XX escape (ids and usernames are ASCII). */
    const escaped = (s: string) => [...s].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`).join('')
    const plans = await makeRoom(server, ana, { name: 'Plans', visibility: 'private' })
    const renamed = await call(server, ana, 'PATCH', `/rooms/${escaped(plans.id)}`, { name: 'Renamed' })
    expect([renamed.status, (await json<RoomSummary>(renamed)).name]).toEqual([200, 'Renamed'])
    const added = await call(server, ana, 'POST', `/rooms/${escaped(plans.id)}/members`, { username: bia.username })
    expect(added.status).toBe(201)
    expect((await call(server, ana, 'DELETE', `/rooms/${plans.id}/members/${escaped(bia.username)}`)).status).toBe(204)
    const dm = await call(server, ana, 'PUT', `/dms/${escaped(bia.username)}`)
    expect([dm.status, (await json<RoomSummary>(dm)).with?.username]).toEqual([201, bia.username])
    // The decoded name is looked up (and named back), not its escapes.
    const nobody = await call(server, ana, 'PUT', '/dms/b%C3%AD%C3%A1')
    expect(nobody.status).toBe(404)
    expect(await json(nobody)).toEqual({ error: { code: 'unknown_user', message: 'there is no other user called "bíá"' } })
    for (const [method, path] of [
      ['PATCH', '/rooms/%E0%A4%A'],
      ['DELETE', `/rooms/${plans.id}/members/%ZZ`],
      ['PUT', '/dms/%C3%28'],
    ] as const) {
      const malformed = await call(server, ana, method, path, method === 'PATCH' ? { name: 'x' } : undefined)
      expect([malformed.status, await errorCode(malformed)], path).toEqual([400, 'malformed_path'])
    }
    expect((await listed(server, ana)).find((room) => room.id === plans.id)?.name).toBe('Renamed')
  })

  it('the catalog, memberships and histories outlive a restart', async () => {
    const [ana, bia] = await Promise.all([register(server), register(server)])
    const plans = await makeRoom(server, ana, { name: 'Kept', visibility: 'private', topic: 'kept topic' })
    const dm = await json<RoomSummary>(await call(server, ana, 'PUT', `/dms/${bia.username}`))
    const { client: anaSocket } = await connect(server, ana)
    await joinRoom(anaSocket, plans.id, 'a1')
    anaSocket.send({ type: 'message', text: 'kept message', ref: 'm1' })
    await anaSocket.next('ack', (f) => f.ref === 'm1')
    anaSocket.close()

    server = await server.restart()
    const rooms = await listed(server, ana)
    expect(rooms).toContainEqual(plans)
    expect(rooms.find((room) => room.id === dm.id)).toEqual(dm)
    expect((await listed(server, bia)).find((room) => room.id === dm.id)).toMatchObject({ name: ana.username.toUpperCase(), with: { username: ana.username } })
    expect((await listed(server, bia)).map((room) => room.id)).not.toContain(plans.id)
    const { client: again, welcome } = await connect(server, ana)
    expect(welcome.rooms).toContainEqual(plans)
    expect((await joinRoom(again, plans.id, 'a2')).history.map((m) => m.text)).toEqual(['kept message'])
    again.close()
  })

  it('a connection whose memberships the store cannot read is closed 1011, and nothing of the user opens', async () => {
    const ana = await register(server)
    const restore = await breakMemberships(server)
    try {
      const client = await ChatClient.connect(server, { token: ana.token })
      const closed = await client.waitClosed(10_000)
      expect(closed.code).toBe(1011)
      expect(client.frames).toEqual([])
      expect(server.logLines.some((line) => line.includes('memberships could not be read'))).toBe(true)
      expect([...server.server.runtime.state().users.values()].some((presence) => presence.user.username === ana.username)).toBe(false)
      const list = await call(server, ana, 'GET', '/rooms')
      expect(list.status).toBe(500)
    } finally {
      await restore()
    }
    const { client } = await connect(server, ana)
    client.close()
  })
})

describe('the limits of rooms', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ ROOM_CREATE_PER_DAY: '2', ROOM_MAX_MEMBERS: '3', INVITE_RATE: '4' })
  })
  afterAll(async () => {
    await server.stop()
  })

  it('ROOM_CREATE_PER_DAY: the third room of the day is 429 too_many_rooms, with the wait until the first is a day old', async () => {
    const [ana, bia] = await Promise.all([register(server), register(server)])
    await makeRoom(server, ana, { name: 'One', visibility: 'public' })
    const second = await makeRoom(server, ana, { name: 'Two', visibility: 'private' })
    // Archiving does not give one back.
    await call(server, ana, 'DELETE', `/rooms/${second.id}`)
    const third = await call(server, ana, 'POST', '/rooms', { name: 'Three', visibility: 'public' })
    expect([third.status, await errorCode(third)]).toEqual([429, 'too_many_rooms'])
    const retryAfter = Number(third.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThan(86_400 - 120)
    expect(retryAfter).toBeLessThanOrEqual(86_400)
    // Another user has their own; a conversation is not a room made.
    await makeRoom(server, bia, { name: 'Bia’s', visibility: 'public' })
    expect((await call(server, ana, 'PUT', `/dms/${bia.username}`)).status).toBe(201)
  })

  it('ROOM_CREATE_PER_DAY holds against many POST /rooms at once: exactly the limit made, the rest 429 with Retry-After', async () => {
    const cara = await register(server)
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => call(server, cara, 'POST', '/rooms', { name: `Rush ${i}`, visibility: 'private' })))
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 201, ...Array<number>(10).fill(429)])
    for (const answer of answers.filter((a) => a.status === 429)) {
      expect(await errorCode(answer)).toBe('too_many_rooms')
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(86_400 - 120)
    }
    expect((await listed(server, cara)).filter((room) => room.owner === cara.username)).toHaveLength(2)
  })

  it('ROOM_MAX_MEMBERS: past it, room_full; INVITE_RATE: past it, 429 too_many_invitations', async () => {
    const [ana, ...others] = (await Promise.all(Array.from({ length: 4 }, () => register(server)))) as [Registered, ...Registered[]]
    const plans = await makeRoom(server, ana, { name: 'Small', visibility: 'private' })
    const add = (user: Registered) => call(server, ana, 'POST', `/rooms/${plans.id}/members`, { username: user.username })
    expect((await add(others[0]!)).status).toBe(201)
    expect((await add(others[1]!)).status).toBe(201)
    const full = await add(others[2]!)
    expect([full.status, await errorCode(full)]).toEqual([409, 'room_full'])
    // The fourth invitation of the minute is the last allowed; the fifth waits.
    expect((await add(others[0]!)).status).toBe(200)
    const limited = await add(others[1]!)
    expect([limited.status, await errorCode(limited)]).toEqual([429, 'too_many_invitations'])
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect((await listed(server, others[2]!)).map((room) => room.id)).not.toContain(plans.id)
  })
})
