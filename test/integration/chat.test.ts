import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RoomId } from '../../src/core/brands.js'
import { trusted } from '../../src/core/codecs.js'
import { DEFAULT_SETTINGS } from '../../src/core/chat/state.js'
import { ChatClient, postJson, register, settle, startTestServer, uniqueName, type Registered, type TestServer } from './helpers.js'

let server: TestServer
beforeAll(async () => {
  // These tests are about ordering and history; rate limits have their own tests.
  server = await startTestServer({ TYPING_TIMEOUT_MS: '600', MSG_RATE: '1000', MSG_BURST: '1000' })
})
afterAll(async () => {
  await server.stop()
})

const connect = async (user: Registered) => {
  const client = await ChatClient.connect(server, { token: user.token })
  await client.next('welcome')
  return client
}

/** Two new users in one room. Rooms are shared between tests, so frames are matched by these users' names. */
const pair = async (room = 'sala-1') => {
  const ana = await register(server)
  const bia = await register(server)
  const anaSocket = await connect(ana)
  const biaSocket = await connect(bia)
  anaSocket.send({ type: 'join', room })
  await anaSocket.next('joined')
  biaSocket.send({ type: 'join', room })
  await biaSocket.next('joined')
  await anaSocket.next('user_joined', (f) => f.user.username === bia.username)
  return { ana, bia, anaSocket, biaSocket }
}

describe('the WebSocket upgrade', () => {
  it('is refused with 401 and no socket when its credentials are not a valid session', async () => {
    await expect(ChatClient.connect(server, { token: 'not.a.token' })).rejects.toThrow('401')
  })

  it('welcomes the user with who they are and the rooms', async () => {
    const user = await register(server)
    const client = await ChatClient.connect(server, { token: user.token })
    const welcome = await client.next('welcome')
    expect(welcome.user).toEqual({ username: user.username, name: user.username.toUpperCase() })
    expect(welcome.rooms.map((r) => r.id)).toEqual(['sala-1', 'sala-2', 'sala-3'])
    expect(welcome.protocol).toBe(1)
    client.close()
  })
})

describe('rooms and presence', () => {
  it('join without a room enters Sala 1 and lists everyone present, the joiner included', async () => {
    const user = await register(server)
    const client = await connect(user)
    client.send({ type: 'join', ref: 'j1' })
    const joined = await client.next('joined')
    expect(joined.room).toBe('sala-1')
    expect(joined.ref).toBe('j1')
    expect(joined.users).toContainEqual({ username: user.username, name: user.username.toUpperCase() })
    client.close()
  })

  it('announces joins, moves and disconnects to the others, and each room sees nothing of another', async () => {
    const { bia, anaSocket, biaSocket } = await pair('sala-2')
    biaSocket.send({ type: 'join', room: 'sala-3' })
    const moved = await anaSocket.next('user_left', (f) => f.user.username === bia.username)
    expect(moved).toMatchObject({ room: 'sala-2', reason: 'moved' })
    await biaSocket.next('joined', (f) => f.room === 'sala-3')

    anaSocket.send({ type: 'message', text: 'only for sala-2' })
    await anaSocket.next('ack')
    await settle()
    expect(biaSocket.pending('message').filter((m) => 'text' in m && m.text === 'only for sala-2')).toEqual([])

    biaSocket.send({ type: 'join', room: 'sala-2' })
    await anaSocket.next('user_joined', (f) => f.user.username === bia.username)
    biaSocket.close()
    const gone = await anaSocket.next('user_left', (f) => f.user.username === bia.username)
    expect(gone.reason).toBe('disconnected')
    anaSocket.close()
  })

  it('shows a user with two tabs once; both tabs follow the user; leaving is announced once the last tab closes', async () => {
    const { bia, anaSocket, biaSocket } = await pair('sala-1')
    const secondTab = await connect(bia)
    const joined = await secondTab.next('joined')
    expect(joined.room).toBe('sala-1')
    expect(joined.users.filter((u) => u.username === bia.username)).toHaveLength(1)
    await settle()
    expect(anaSocket.pending('user_joined').filter((f) => f.type === 'user_joined' && f.user.username === bia.username)).toEqual([])

    biaSocket.send({ type: 'join', room: 'sala-3' })
    await secondTab.next('joined', (f) => f.room === 'sala-3')
    await biaSocket.next('joined', (f) => f.room === 'sala-3')

    biaSocket.close()
    await settle()
    expect(anaSocket.pending('user_left').filter((f) => f.type === 'user_left' && f.reason === 'disconnected')).toEqual([])
    secondTab.close()
    anaSocket.close()
  })

  it('GET /rooms counts distinct users present', async () => {
    const { ana, bia, anaSocket, biaSocket } = await pair('sala-3')
    const secondTab = await connect(bia)
    await secondTab.next('joined')
    const rooms = (await (await fetch(`${server.url}/rooms`, { headers: { Authorization: `Bearer ${ana.token}` } })).json()) as Array<{ id: string; members: number }>
    const state = server.server.runtime.state()
    expect(rooms.find((r) => r.id === 'sala-3')?.members).toBe(state.rooms.find((r) => r.id === 'sala-3')?.members.size)
    for (const socket of [anaSocket, biaSocket, secondTab]) socket.close()
  })
})

describe('messages', () => {
  it('acks the sender once stored and delivers to every other connection in the room', async () => {
    const { ana, anaSocket, biaSocket } = await pair('sala-1')
    const anaTab2 = await connect(ana)
    await anaTab2.next('joined')
    anaSocket.send({ type: 'message', text: '  olá, bia!  ', clientId: 'c-1', ref: 'm1' })
    const ack = await anaSocket.next('ack')
    expect(ack).toEqual({ type: 'ack', ref: 'm1', clientId: 'c-1', id: expect.stringMatching(/^\d+$/), room: 'sala-1', sentAt: expect.any(String) })
    const received = await biaSocket.next('message', (m) => m.id === ack.id)
    expect(received).toEqual({
      type: 'message',
      id: ack.id,
      room: 'sala-1',
      user: { username: ana.username, name: ana.username.toUpperCase() },
      text: 'olá, bia!',
      sentAt: ack.sentAt,
      clientId: 'c-1',
    })
    await anaTab2.next('message', (m) => m.id === ack.id)
    await settle()
    expect(anaSocket.pending('message').filter((m) => m.type === 'message' && m.id === ack.id)).toEqual([])
    for (const socket of [anaSocket, biaSocket, anaTab2]) socket.close()
  })

  it('a resend with the same clientId is not posted again and gets the first ack', async () => {
    const { anaSocket, biaSocket } = await pair('sala-1')
    anaSocket.send({ type: 'message', text: 'once', clientId: 'dup-1', ref: 'a' })
    const first = await anaSocket.next('ack', (f) => f.ref === 'a')
    anaSocket.send({ type: 'message', text: 'once', clientId: 'dup-1', ref: 'b' })
    const second = await anaSocket.next('ack', (f) => f.ref === 'b')
    expect(second.id).toBe(first.id)
    await biaSocket.next('message', (m) => m.id === first.id)
    await settle()
    expect(biaSocket.pending('message').filter((m) => m.type === 'message' && m.clientId === 'dup-1')).toEqual([])
    anaSocket.close()
    biaSocket.close()
  })

  it('every member receives a room’s messages in id order', async () => {
    const { anaSocket, biaSocket } = await pair('sala-2')
    for (let i = 0; i < 30; i++) {
      anaSocket.send({ type: 'message', text: `a${i}` })
      biaSocket.send({ type: 'message', text: `b${i}` })
    }
    for (let i = 0; i < 30; i++) {
      await anaSocket.next('ack')
      await biaSocket.next('ack')
    }
    await settle()
    for (const socket of [anaSocket, biaSocket]) {
      const ids = socket.pending('message').map((m) => (m.type === 'message' ? m.id : ''))
      expect(ids.length).toBe(30)
      expect([...ids].sort()).toEqual(ids)
    }
    anaSocket.close()
    biaSocket.close()
  })
})

describe('typing', () => {
  it('is announced to the others only, not re-announced, and ends on stop, on send and on timeout', async () => {
    const { ana, anaSocket, biaSocket } = await pair('sala-3')
    anaSocket.send({ type: 'typing_start' })
    expect(await biaSocket.next('typing', (f) => f.user.username === ana.username)).toMatchObject({ typing: true, room: 'sala-3' })
    anaSocket.send({ type: 'typing_start' })
    anaSocket.send({ type: 'typing_stop' })
    expect(await biaSocket.next('typing', (f) => f.user.username === ana.username)).toMatchObject({ typing: false })
    await settle()
    expect(biaSocket.pending('typing')).toEqual([])
    expect(anaSocket.pending('typing')).toEqual([])

    anaSocket.send({ type: 'typing_start' })
    await biaSocket.next('typing', (f) => f.typing)
    anaSocket.send({ type: 'message', text: 'done typing' })
    expect(await biaSocket.next('typing', (f) => f.user.username === ana.username)).toMatchObject({ typing: false })

    anaSocket.send({ type: 'typing_start' })
    await biaSocket.next('typing', (f) => f.typing)
    const started = Date.now()
    expect(await biaSocket.next('typing', (f) => !f.typing, 2000)).toMatchObject({ typing: false })
    expect(Date.now() - started).toBeGreaterThanOrEqual(400)
    anaSocket.close()
    biaSocket.close()
  })
})

describe('history and catch-up', () => {
  it('join sends the latest 50 oldest first; history pages back; since catches up', async () => {
    const { anaSocket, biaSocket, bia } = await pair('sala-2')
    const ids: string[] = []
    for (let i = 0; i < 60; i++) {
      anaSocket.send({ type: 'message', text: `h${i}` })
      ids.push((await anaSocket.next('ack')).id)
    }
    const late = await connect(await register(server))
    late.send({ type: 'join', room: 'sala-2' })
    const joined = await late.next('joined')
    expect(joined.history).toHaveLength(50)
    expect(joined.history.map((m) => m.id)).toEqual(ids.slice(10))

    late.send({ type: 'history', before: ids[10], limit: 5, ref: 'h' })
    const page = await late.next('history')
    expect(page).toMatchObject({ room: 'sala-2', ref: 'h' })
    expect(page.messages.map((m) => m.id)).toEqual(ids.slice(5, 10))

    biaSocket.close()
    await anaSocket.next('user_left', (f) => f.user.username === bia.username)
    anaSocket.send({ type: 'message', text: 'while bia was away' })
    const missed = await anaSocket.next('ack')
    const back = await connect(bia)
    back.send({ type: 'join', room: 'sala-2', since: ids[59] })
    const caughtUp = await back.next('joined')
    expect(caughtUp.history.map((m) => m.id)).toEqual([missed.id])
    expect(caughtUp.gap).toBeUndefined()
    back.send({ type: 'join', room: 'sala-2', since: 'garbage' })
    expect((await back.next('joined')).gap).toBe(true)
    for (const socket of [anaSocket, late, back]) socket.close()
  })
})

describe('errors', () => {
  it('answers bad frames with error frames carrying the ref, and keeps the socket open', async () => {
    const user = await register(server)
    const client = await connect(user)
    client.send('not json')
    expect(await client.next('error')).toMatchObject({ code: 'bad_request', message: 'frame is not valid JSON' })
    client.send({ type: 'dance', ref: 'r1' })
    expect(await client.next('error')).toMatchObject({ code: 'bad_request', ref: 'r1' })
    client.send({ type: 'message', text: 'x'.repeat(4001), ref: 'r2' })
    expect(await client.next('error')).toMatchObject({ code: 'bad_request', ref: 'r2', details: [{ path: 'text' }] })
    client.send({ type: 'message', text: 'hello?', ref: 'r3' })
    expect(await client.next('error')).toMatchObject({ code: 'not_in_room', ref: 'r3' })
    client.send({ type: 'typing_start', ref: 'r4' })
    expect(await client.next('error')).toMatchObject({ code: 'not_in_room', ref: 'r4' })
    client.send({ type: 'history', ref: 'r5' })
    expect(await client.next('error')).toMatchObject({ code: 'not_in_room', ref: 'r5' })
    client.send({ type: 'join', room: 'sala-9', ref: 'r6' })
    expect(await client.next('error')).toMatchObject({ code: 'unknown_room', ref: 'r6' })
    client.send({ type: 'join', ref: 'ok' })
    expect(await client.next('joined')).toMatchObject({ ref: 'ok' })
    expect(client.closed).toBeUndefined()
    expect(client.invalid).toEqual([])
    client.close()
  })

  it('closes a connection whose frame exceeds the payload limit, and keeps serving others', async () => {
    const user = await register(server)
    const client = await connect(user)
    client.send('x'.repeat(70 * 1024))
    expect((await client.waitClosed()).code).toBe(1009)
    const again = await connect(user)
    again.close()
  })
})

describe('persistence across restarts', () => {
  it('keeps messages, ids and sessions: a reconnecting client catches up', async () => {
    const own = await startTestServer()
    const user = await register(own)
    const first = await ChatClient.connect(own, { token: user.token })
    await first.next('welcome')
    first.send({ type: 'join', room: 'sala-3' })
    await first.next('joined')
    first.send({ type: 'message', text: 'before restart' })
    const ack = await first.next('ack')
    const restarted = await own.restart()
    try {
      expect((await first.waitClosed()).code).toBe(1001)
      const second = await ChatClient.connect(restarted, { token: user.token })
      await second.next('welcome')
      second.send({ type: 'join', room: 'sala-3' })
      const joined = await second.next('joined')
      expect(joined.history.map((m) => [m.id, m.text])).toEqual([[ack.id, 'before restart']])
      second.send({ type: 'message', text: 'after restart' })
      const next = await second.next('ack')
      expect(next.id > ack.id).toBe(true)
      second.close()
    } finally {
      await restarted.stop()
    }
  })
})

describe('idempotent resends, whatever happened in between', () => {
  /** Every message of a room, paging back from the newest with `history`. */
  const wholeHistory = async (client: ChatClient, room: string) => {
    const messages: Array<{ id: string; clientId?: string }> = []
    let before: string | undefined
    for (;;) {
      client.send({ type: 'history', limit: 100, ref: `page-${before ?? 'first'}`, ...(before === undefined ? {} : { before }) })
      const page = await client.next('history', (f) => f.room === room && f.ref === `page-${before ?? 'first'}`)
      if (page.messages.length === 0) return messages
      messages.unshift(...page.messages)
      before = page.messages[0]?.id
    }
  }

  it('a resend after its first copy left memory, and after a restart, gets the first ack and posts nothing', async () => {
    // Rate limits are not the subject: memory keeps 501 messages a room, and this sends more than that.
    let own = await startTestServer({ MSG_RATE: '10000', MSG_BURST: '100000' })
    try {
      const ana = await register(own)
      const bia = await register(own)
      const connectTo = async (user: Registered) => {
        const client = await ChatClient.connect(own, { token: user.token })
        await client.next('welcome')
        client.send({ type: 'join', room: 'sala-3' })
        await client.next('joined')
        return client
      }
      let anaSocket = await connectTo(ana)
      let biaSocket = await connectTo(bia)
      anaSocket.send({ type: 'message', text: 'the one and only', clientId: 'keep-1', ref: 'first' })
      const first = await anaSocket.next('ack', (f) => f.ref === 'first')
      const capacity = DEFAULT_SETTINGS.recentCapacity
      for (let i = 0; i < capacity + 1; i++) anaSocket.send({ type: 'message', text: `filler ${i}`, ref: `f${i}` })
      for (let i = 0; i < capacity + 1; i++) await anaSocket.next('ack', (f) => f.ref === `f${i}`, 10_000)
      expect(own.server.runtime.state().rooms.get(trusted(RoomId, 'sala-3'))?.recent.some((m) => m.clientId === 'keep-1')).toBe(false)

      anaSocket.send({ type: 'message', text: 'the one and only', clientId: 'keep-1', ref: 'again' })
      const again = await anaSocket.next('ack', (f) => f.ref === 'again')
      expect(again).toEqual({ ...first, ref: 'again' })
      anaSocket.send({ type: 'message', text: 'after the resend', ref: 'next' })
      const next = await anaSocket.next('ack', (f) => f.ref === 'next')
      await biaSocket.next('message', (m) => m.id === next.id)
      expect(biaSocket.pending('message').filter((m) => m.type === 'message' && m.clientId === 'keep-1' && m.id !== first.id)).toEqual([])
      const history = await wholeHistory(biaSocket, 'sala-3')
      expect(history.filter((m) => m.clientId === 'keep-1').map((m) => m.id)).toEqual([first.id])
      expect(history).toHaveLength(capacity + 3)
      expect(new Set(history.map((m) => m.id)).size).toBe(history.length)

      own = await own.restart()
      anaSocket = await connectTo(ana)
      biaSocket = await connectTo(bia)
      anaSocket.send({ type: 'message', text: 'the one and only', clientId: 'keep-1', ref: 'after-restart' })
      expect(await anaSocket.next('ack', (f) => f.ref === 'after-restart')).toEqual({ ...first, ref: 'after-restart' })
      anaSocket.send({ type: 'message', text: 'after the restart', ref: 'next-2' })
      const next2 = await anaSocket.next('ack', (f) => f.ref === 'next-2')
      await biaSocket.next('message', (m) => m.id === next2.id)
      expect(next2.id > next.id).toBe(true)
      const afterRestart = await wholeHistory(biaSocket, 'sala-3')
      expect(afterRestart.filter((m) => m.clientId === 'keep-1').map((m) => m.id)).toEqual([first.id])
      expect(afterRestart).toHaveLength(capacity + 4)
      anaSocket.close()
      biaSocket.close()
    } finally {
      await own.stop()
    }
  })
})

describe('text people give us', () => {
  it('is what every client gets, live and from history after a restart, byte for byte (NFC, emoji joiners kept)', async () => {
    let own = await startTestServer()
    try {
      const ana = await register(own)
      const bia = await register(own)
      const join = async (user: Registered) => {
        const client = await ChatClient.connect(own, { token: user.token })
        await client.next('welcome')
        client.send({ type: 'join', room: 'sala-1' })
        return { client, joined: await client.next('joined') }
      }
      const anaSide = await join(ana)
      const biaSide = await join(bia)
      // Decomposed accents, a family emoji made with joiners, a right-to-left mark, a line break.
      const typed = '  Cafe\u0301 com a fami\u0301lia 👨‍👩‍👧 \u200fשלום\nfim  '
      anaSide.client.send({ type: 'message', text: typed, clientId: 'nfc-1' })
      const ack = await anaSide.client.next('ack')
      const live = await biaSide.client.next('message', (m) => m.id === ack.id)
      expect(live.text).toBe(typed.normalize('NFC').trim())
      expect(live.text).toContain('👨‍👩‍👧')
      biaSide.client.send({ type: 'history', ref: 'h' })
      const page = await biaSide.client.next('history', (f) => f.ref === 'h')
      const { type: _, ...liveMessage } = live
      expect(page.messages.find((m) => m.id === ack.id)).toEqual(liveMessage)

      own = await own.restart()
      const after = await join(bia)
      const fromHistory = after.joined.history.find((m) => m.id === ack.id)
      expect(fromHistory).toEqual(liveMessage)
      expect(Buffer.from(JSON.stringify(fromHistory))).toEqual(Buffer.from(JSON.stringify(liveMessage)))
      after.client.close()
    } finally {
      await own.stop()
    }
  })

  it('is, with every optional field (attachments, clientId), what history gives back byte for byte, before and after a restart', async () => {
    // Each engine stores what it is given in its own way (PostgreSQL's jsonb reorders an object's keys);
    // what a client reads back must still be the bytes it got live.
    let own = await startTestServer()
    try {
      const ana = await register(own)
      const bia = await register(own)
      const form = new FormData()
      // A PNG signature, so the served type is sniffed, and a text file with a name to keep.
      form.append('files', new Blob([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex')], { type: 'image/png' }), 'foto 1.png')
      form.append('files', new Blob(['notas']), 'Notas açaí.txt')
      const uploaded = await fetch(`${own.url}/uploads`, { method: 'POST', headers: { Authorization: `Bearer ${ana.token}` }, body: form })
      expect(uploaded.status).toBe(201)
      const { files } = (await uploaded.json()) as { files: Array<{ url: string }> }
      const join = async (user: Registered) => {
        const client = await ChatClient.connect(own, { token: user.token })
        await client.next('welcome')
        client.send({ type: 'join', room: 'sala-2' })
        return { client, joined: await client.next('joined') }
      }
      const anaSide = await join(ana)
      const biaSide = await join(bia)
      anaSide.client.send({ type: 'message', text: 'fotos e notas', attachments: files.map((f) => f.url), clientId: 'bytes-1' })
      const ack = await anaSide.client.next('ack')
      const { type: _, ...live } = await biaSide.client.next('message', (m) => m.id === ack.id)
      expect(live.attachments).toHaveLength(2)
      // The JSON text itself: key order included, which toEqual on objects would not see.
      const bytesOf = (message: unknown) => JSON.stringify(message)
      const readBack = async (client: ChatClient, ref: string) => {
        client.send({ type: 'history', ref })
        const page = await client.next('history', (f) => f.ref === ref)
        return page.messages.find((m) => m.id === ack.id)
      }
      expect(bytesOf(await readBack(biaSide.client, 'before-restart'))).toEqual(bytesOf(live))

      own = await own.restart()
      const after = await join(bia)
      expect(bytesOf(after.joined.history.find((m) => m.id === ack.id))).toEqual(bytesOf(live))
      expect(bytesOf(await readBack(after.client, 'after-restart'))).toEqual(bytesOf(live))
      after.client.close()
      anaSide.client.close()
      biaSide.client.close()
    } finally {
      await own.stop()
    }
  })

  it('refuses a message with nothing visible and any lone surrogate, over the wire, as bad_request', async () => {
    const { anaSocket, biaSocket } = await pair('sala-2')
    // The example: spaces and a zero-width space were acked.
    anaSocket.send({ type: 'message', text: '   \u200b  ', ref: 'blank' })
    expect(await anaSocket.next('error', (f) => f.ref === 'blank')).toMatchObject({ code: 'bad_request', details: [{ path: 'text' }] })
    // JSON's escape is valid UTF-8, so ws lets it through; it decodes to a lone surrogate.
    anaSocket.send('{"type":"message","text":"oi \\ud800","ref":"surrogate"}')
    expect(await anaSocket.next('error', (f) => f.ref === 'surrogate')).toMatchObject({ code: 'bad_request', details: [{ path: 'text' }] })
    anaSocket.send('{"type":"message","text":"oi","clientId":"\\udc00","ref":"client-id"}')
    expect(await anaSocket.next('error', (f) => f.ref === 'client-id')).toMatchObject({ code: 'bad_request', details: [{ path: 'clientId' }] })
    anaSocket.send('{"type":"join","room":"sala-\\ud800","ref":"room"}')
    expect(await anaSocket.next('error', (f) => f.ref === 'room')).toMatchObject({ code: 'bad_request', details: [{ path: 'room' }] })
    await settle()
    expect(biaSocket.pending('message')).toEqual([])
    expect(anaSocket.closed).toBeUndefined()
    anaSocket.close()
    biaSocket.close()
  })

  it('refuses names that disguise themselves, and compares e-mail after NFC and case folding', async () => {
    const refused = async (fields: Record<string, string>, path: string) => {
      const username = uniqueName()
      const body = { name: 'Ana', username, email: `${username}@example.com`, password: 'long enough pw', ...fields }
      const response = await postJson(`${server.url}/auth/register`, body)
      expect(response.status, JSON.stringify(fields)).toBe(400)
      const error = ((await response.json()) as { error: { code: string; details: Array<{ path: string }> } }).error
      expect(error.code).toBe('validation_failed')
      expect(error.details.map((d) => d.path)).toContain(path)
    }
    // The example: shown as "admin".
    await refused({ name: '\u202enimda' }, 'name')
    await refused({ name: 'ad\u200bmin' }, 'name')
    await refused({ name: 'Ana \ud800' }, 'name')
    await refused({ name: '\u200b' }, 'name')
    await refused({ email: 'ana\u200b@example.com' }, 'email')
    await refused({ username: 'ana\ud800' }, 'username')
    await refused({ password: 'long enough \udc00' }, 'password')

    const username = uniqueName()
    const response = await postJson(`${server.url}/auth/register`, {
      name: 'Jose\u0301 🏳️‍🌈',
      username,
      email: `jose\u0301.${username}@example.com`,
      password: 'long enough pw',
    })
    expect(response.status).toBe(201)
    const account = ((await response.json()) as { user: { name: string; email: string } }).user
    expect(account.name).toBe('José 🏳️‍🌈')
    expect(account.email).toBe(`josé.${username}@example.com`)
    const login = await postJson(`${server.url}/auth/login`, { username: `JOSÉ.${username.toUpperCase()}@EXAMPLE.COM`, password: 'long enough pw' })
    expect(login.status).toBe(200)
    const clash = await postJson(`${server.url}/auth/register`, { name: 'Other', username: uniqueName(), email: `JOSE\u0301.${username}@example.com`, password: 'long enough pw' })
    expect(clash.status).toBe(409)
  })
})
