import { connect as tcpConnect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { ServerFrame } from '../../src/core/protocol/server-frames.js'
import { SIGN_IN_TIMEOUT_MS } from '../../src/shell/ws/sign-in.js'
import { ChatClient, register, settle, startTestServer, type Registered, type TestServer } from './helpers.js'

// The protocol additions over real sockets: heartbeat, version (subprotocol and welcome), sign-in with
// the first frame instead of headers, who is typing on arrival, and replies that name their room.

// A short sign-in deadline, so the test of the deadline waits a second, not five; long enough that a
// client on a loaded machine sends its auth frame in time.
const SIGN_IN_TEST_TIMEOUT_MS = 1000


let server: TestServer
beforeAll(async () => {
  server = await startTestServer({ TYPING_TIMEOUT_MS: '5000', MSG_RATE: '1000', MSG_BURST: '1000' }, undefined, { signInTimeoutMs: SIGN_IN_TEST_TIMEOUT_MS })
})
afterAll(async () => {
  await server.stop()
})

/** A socket opened as any client may open one: chosen headers and subprotocols; frames and the close recorded. */
class Socket {
  readonly frames: ServerFrame[] = []
  closed: { code: number; reason: string } | undefined
  private readonly events: Array<() => void> = []

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (!isBinary) this.frames.push(JSON.parse(data.toString()) as ServerFrame)
      this.wake()
    })
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() }
      this.wake()
    })
  }

  /** Resolves once open, or rejects with the refusal's status and JSON body. */
  static open(url: string, options: { protocols?: string | string[]; headers?: Record<string, string> } = {}): Promise<Socket> {
    const ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers ?? {} })
    const socket = new Socket(ws)
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(socket))
      ws.once('unexpected-response', (_req, res) => {
        let body = ''
        res.on('data', (chunk: Buffer) => (body += chunk.toString()))
        res.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode, body: JSON.parse(body) as unknown })))
      })
      ws.once('error', reject)
    })
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame))
  }

  async next<T extends ServerFrame['type']>(type: T, match: (frame: Extract<ServerFrame, { type: T }>) => boolean = () => true, timeoutMs = 3000): Promise<Extract<ServerFrame, { type: T }>> {
    const found = await this.until(() => this.frames.find((f): f is Extract<ServerFrame, { type: T }> => f.type === type && match(f as Extract<ServerFrame, { type: T }>)), timeoutMs, `a ${type} frame`)
    this.frames.splice(this.frames.indexOf(found), 1)
    return found
  }

  waitClosed(timeoutMs = 3000): Promise<{ code: number; reason: string }> {
    return this.until(() => this.closed, timeoutMs, 'the close')
  }

  private async until<T>(found: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs
    for (let value = found(); ; value = found()) {
      if (value !== undefined) return value
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms; frames: ${JSON.stringify(this.frames).slice(0, 300)}; closed: ${JSON.stringify(this.closed)}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.events.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  private wake(): void {
    for (const wake of this.events.splice(0)) wake()
  }
}

const refusalOf = async (opening: Promise<unknown>): Promise<{ status: number; body: unknown }> => {
  try {
    await opening
  } catch (error) {
    return error as { status: number; body: unknown }
  }
  throw new Error('the upgrade was accepted')
}

/** Signed in with the first frame, no headers at all. */
const signedInByFrame = async (user: Registered, protocols?: string): Promise<Socket> => {
  const socket = await Socket.open(server.wsUrl, protocols === undefined ? {} : { protocols })
  socket.send({ type: 'auth', token: user.token })
  await socket.next('welcome')
  return socket
}

const connect = async (user: Registered) => {
  const client = await ChatClient.connect(server, { token: user.token })
  await client.next('welcome')
  return client
}

describe('the heartbeat', () => {
  it('answers ping with pong and the same ref, or no ref, before and after joining', async () => {
    const client = await connect(await register(server))
    client.send({ type: 'ping', ref: 'hb-1' })
    expect(await client.next('pong')).toEqual({ type: 'pong', ref: 'hb-1' })
    client.send({ type: 'ping' })
    expect(await client.next('pong')).toEqual({ type: 'pong' })
    client.send({ type: 'join', room: 'sala-2' })
    await client.next('joined')
    client.send({ type: 'ping', ref: 'hb-2' })
    expect(await client.next('pong')).toEqual({ type: 'pong', ref: 'hb-2' })
    client.close()
  })

  it('refuses a flood of pings with rate_limited and the ref, and answers again once the allowance is back', async () => {
    // TYPING_RATE is 5 a second with a burst of 10, shared with join and leave.
    const client = await connect(await register(server))
    for (let i = 0; i < 20; i++) client.send({ type: 'ping', ref: `f${i}` })
    const refusal = await client.next('error', (f) => f.code === 'rate_limited')
    expect(refusal).toMatchObject({ ref: expect.stringMatching(/^f\d+$/), retryAfterMs: expect.any(Number) })
    expect(client.closed).toBeUndefined()
    await settle(refusal.retryAfterMs ?? 0)
    client.send({ type: 'ping', ref: 'after' })
    expect(await client.next('pong', (f) => f.ref === 'after')).toEqual({ type: 'pong', ref: 'after' })
    client.close()
  })
})

describe('the protocol version', () => {
  it('chooses sala.v2 when it is offered, alone or beside others, and welcome says protocol 2', async () => {
    const user = await register(server)
    for (const protocols of ['sala.v2', ['sala.v2', 'sala.v1'], ['sala.v1', 'sala.v2'], ['graphql-ws', 'sala.v2']]) {
      const socket = await Socket.open(server.wsUrl, { protocols, headers: { Authorization: `Bearer ${user.token}` } })
      expect(socket.ws.protocol, JSON.stringify(protocols)).toBe('sala.v2')
      expect(await socket.next('welcome')).toMatchObject({ protocol: 2 })
      socket.ws.close()
    }
  })

  it('echoes sala.v1 when it is the only version offered, and welcome says protocol 1', async () => {
    const user = await register(server)
    for (const protocols of ['sala.v1', ['graphql-ws', 'sala.v1']]) {
      const socket = await Socket.open(server.wsUrl, { protocols, headers: { Authorization: `Bearer ${user.token}` } })
      expect(socket.ws.protocol, JSON.stringify(protocols)).toBe('sala.v1')
      expect(await socket.next('welcome')).toMatchObject({ protocol: 1 })
      socket.ws.close()
    }
  })

  it('works without a subprotocol, as before versions existed', async () => {
    const user = await register(server)
    const socket = await Socket.open(server.wsUrl, { headers: { Authorization: `Bearer ${user.token}` } })
    expect(socket.ws.protocol).toBe('')
    expect(await socket.next('welcome')).toMatchObject({ protocol: 1 })
    socket.ws.close()
  })

  it('speaks the version chosen when signed in by the first frame too', async () => {
    const user = await register(server)
    const socket = await Socket.open(server.wsUrl, { protocols: ['sala.v2', 'sala.v1'] })
    expect(socket.ws.protocol).toBe('sala.v2')
    socket.send({ type: 'auth', token: user.token })
    expect(await socket.next('welcome')).toMatchObject({ protocol: 2 })
    socket.ws.close()
  })

  it('refuses an offer without sala.v2 or sala.v1 with 400 unsupported_protocol naming both, before anything else', async () => {
    const user = await register(server)
    for (const headers of [{ Authorization: `Bearer ${user.token}` }, {}]) {
      const refusal = await refusalOf(Socket.open(server.wsUrl, { protocols: ['sala.v3', 'graphql-ws'], headers }))
      expect(refusal).toMatchObject({ status: 400, body: { error: { code: 'unsupported_protocol', message: expect.stringContaining('sala.v2') } } })
      expect(refusal).toMatchObject({ body: { error: { message: expect.stringContaining('sala.v1') } } })
    }
    // Subprotocol names are compared exactly (RFC 6455 §4.1).
    for (const protocols of ['SALA.V1', 'Sala.v2']) expect((await refusalOf(Socket.open(server.wsUrl, { protocols }))).status).toBe(400)
  })
})

describe('signing in with the first frame, without headers or cookies', () => {
  it('welcomes a connection whose first frame is a valid auth, and it chats like any other', async () => {
    const [ana, bia] = [await register(server), await register(server)]
    const anaSocket = await signedInByFrame(ana, 'sala.v1')
    expect(anaSocket.ws.protocol).toBe('sala.v1')
    const biaSocket = await connect(bia)
    anaSocket.send({ type: 'join', room: 'sala-3' })
    await anaSocket.next('joined')
    biaSocket.send({ type: 'join', room: 'sala-3' })
    await biaSocket.next('joined')
    anaSocket.send({ type: 'message', text: 'oi sem cabeçalhos', ref: 'm1' })
    expect(await anaSocket.next('ack')).toMatchObject({ ref: 'm1', room: 'sala-3' })
    expect(await biaSocket.next('message', (m) => m.text === 'oi sem cabeçalhos')).toMatchObject({ user: { username: ana.username } })
    anaSocket.ws.close()
    biaSocket.close()
  })

  it('answers the frames sent right behind auth after its welcome, in order', async () => {
    const user = await register(server)
    const socket = await Socket.open(server.wsUrl)
    socket.send({ type: 'auth', token: user.token })
    socket.send({ type: 'join', room: 'sala-2', ref: 'j' })
    socket.send({ type: 'ping', ref: 'p' })
    await socket.next('pong')
    // Entering sala-2 the first time makes the user a member: its listing says so just before the joined.
    expect(socket.frames.map((f) => [f.type, 'ref' in f ? f.ref : undefined])).toEqual([
      ['welcome', undefined],
      ['room_updated', undefined],
      ['joined', 'j'],
    ])
    socket.ws.close()
  })

  it.each([
    ['a command other than auth', (_user: Registered) => ({ type: 'join', room: 'sala-1' })],
    ['a ping', (_user: Registered) => ({ type: 'ping', ref: 'p' })],
    ['text that is not JSON', (_user: Registered) => 'hello'],
    ['an auth frame with an unknown field', (user: Registered) => ({ type: 'auth', token: user.token, user: 'x' })],
  ])('closes 4001, with no welcome, on %s', async (label, first) => {
    const user = await register(server)
    const socket = await Socket.open(server.wsUrl)
    socket.send(first(user))
    const closed = await socket.waitClosed()
    const reason = label.startsWith('an auth frame')
      ? 'the auth frame must be exactly {"type":"auth","token":"…"} with the token from sign-in'
      : 'the first frame must be {"type":"auth","token":"…"}'
    expect(closed).toEqual({ code: 4001, reason })
    expect(socket.frames).toEqual([])
  })

  it('closes 4001 on a bad token, saying the session is not valid', async () => {
    const user = await register(server)
    const logout = await fetch(`${server.url}/auth/logout`, { method: 'POST', headers: { Authorization: `Bearer ${user.token}` } })
    expect(logout.status).toBe(204)
    for (const token of ['not.a.token', user.token]) {
      const socket = await Socket.open(server.wsUrl)
      socket.send({ type: 'auth', token })
      expect(await socket.waitClosed()).toEqual({ code: 4001, reason: 'the session is not valid (expired, revoked or unknown)' })
      expect(socket.frames).toEqual([])
    }
  })

  it('closes 4001 on a binary first frame', async () => {
    const socket = await Socket.open(server.wsUrl)
    socket.ws.send(Buffer.from('{"type":"auth","token":"x"}'), { binary: true })
    expect((await socket.waitClosed()).code).toBe(4001)
  })

  it('closes 4001 when no frame comes within the deadline (5 s unless a test shortens it)', async () => {
    expect(SIGN_IN_TIMEOUT_MS).toBe(5000)
    const started = Date.now()
    const socket = await Socket.open(server.wsUrl)
    const closed = await socket.waitClosed(SIGN_IN_TEST_TIMEOUT_MS + 3000)
    expect(closed).toEqual({ code: 4001, reason: 'sign in within 1 s: send {"type":"auth","token":"…"} first' })
    expect(Date.now() - started).toBeGreaterThanOrEqual(SIGN_IN_TEST_TIMEOUT_MS - 50)
  })

  it('lets nothing reach the chat before the token is checked', async () => {
    const connections = () => server.server.runtime.state().connections.size
    const before = connections()
    const waiting = await Socket.open(server.wsUrl)
    const refused = await Socket.open(server.wsUrl)
    refused.send({ type: 'join', room: 'sala-1' })
    await refused.waitClosed()
    expect(connections()).toBe(before)
    waiting.send({ type: 'auth', token: (await register(server)).token })
    await waiting.next('welcome')
    expect(connections()).toBe(before + 1)
    waiting.ws.close()
  })

  it('accepts any Origin without credentials (nothing ambient to abuse), and still refuses a cookie from a foreign one', async () => {
    const user = await register(server)
    const socket = await Socket.open(server.wsUrl, { headers: { Origin: 'https://elsewhere.example' } })
    socket.send({ type: 'auth', token: user.token })
    await socket.next('welcome')
    socket.ws.close()
    const cookie = await refusalOf(Socket.open(server.wsUrl, { headers: { Origin: 'https://elsewhere.example', Cookie: user.cookie } }))
    expect(cookie.status).toBe(403)
  })

  it('answers auth on a connection that signed in with its headers with bad_request, and keeps it open', async () => {
    const user = await register(server)
    const client = await connect(user)
    client.send({ type: 'auth', token: user.token })
    expect(await client.next('error')).toMatchObject({ code: 'bad_request', message: expect.stringContaining('already signed in') })
    client.send({ type: 'ping', ref: 'still-here' })
    await client.next('pong')
    client.close()
  })

  it('never logs a token sent in an auth frame', async () => {
    const user = await register(server)
    const good = await signedInByFrame(user)
    good.send({ type: 'auth', token: user.token })
    await good.next('error')
    const bad = await Socket.open(server.wsUrl)
    bad.send({ type: 'auth', token: `${user.token}x`, extra: user.token })
    await bad.waitClosed()
    good.ws.close()
    await good.waitClosed()
    const signature = user.token.split('.').at(-1)!
    expect(server.logLines.filter((line) => line.includes(signature))).toEqual([])
  })

  it('logs failed sign-ins as refused connections, with the client address', async () => {
    const socket = await Socket.open(server.wsUrl)
    socket.send({ type: 'auth', token: 'not.a.token' })
    await socket.waitClosed()
    await until(() => server.logLines.some((line) => line.includes('websocket_sign_in_unauthenticated')))
    const line = JSON.parse(server.logLines.find((l) => l.includes('websocket_sign_in_unauthenticated'))!) as Record<string, unknown>
    expect(line).toMatchObject({ level: 'warn', msg: 'connection refused', kind: 'websocket_sign_in_unauthenticated', code: 4001, address: '127.0.0.1' })
    const other = await Socket.open(server.wsUrl)
    other.send({ type: 'join' })
    await other.waitClosed()
    await until(() => server.logLines.some((l) => l.includes('"kind":"websocket_sign_in_refused"')))
  })
})

describe('sockets signing in hold their address’s slot', () => {
  let capped: TestServer
  beforeAll(async () => {
    capped = await startTestServer({ MAX_CONNECTIONS_PER_ADDRESS: '2' })
  })
  afterAll(async () => {
    await capped.stop()
  })

  it('counts them against MAX_CONNECTIONS_PER_ADDRESS and gives the slot back when they close', async () => {
    const first = await Socket.open(capped.wsUrl)
    const second = await Socket.open(capped.wsUrl)
    expect((await refusalOf(Socket.open(capped.wsUrl))).status).toBe(429)
    // One refused by its first frame, one signed in: the refused one's slot comes back.
    first.send({ type: 'join' })
    await first.waitClosed()
    second.send({ type: 'auth', token: (await register(capped)).token })
    await second.next('welcome')
    const third = await waitForUpgrade(capped.wsUrl)
    expect((await refusalOf(Socket.open(capped.wsUrl))).status).toBe(429)
    third.ws.close()
    second.ws.close()
  })
})

/** The slot is given back when the server sees the close, a moment after the client does. */
const waitForUpgrade = async (url: string): Promise<Socket> => {
  const deadline = Date.now() + 3000
  for (;;) {
    try {
      return await Socket.open(url)
    } catch (error) {
      if ((error as { status?: number }).status !== 429 || Date.now() > deadline) throw error
      await settle(20)
    }
  }
}

describe('shutdown', () => {
  it('closes sockets still signing in with 1001 at once', async () => {
    const own = await startTestServer()
    const socket = await Socket.open(own.wsUrl)
    const started = Date.now()
    await own.stop()
    expect((await socket.waitClosed()).code).toBe(1001)
    // Well before the 5 s sign-in deadline would have closed it.
    expect(Date.now() - started).toBeLessThan(SIGN_IN_TIMEOUT_MS)
  })
})

describe('who is typing, on arrival', () => {
  it('joined lists the others typing in the room, never the joiner, not even to the joiner’s new tab', async () => {
    const [ana, bia] = [await register(server), await register(server)]
    const anaSocket = await connect(ana)
    anaSocket.send({ type: 'join', room: 'sala-2' })
    await anaSocket.next('joined')
    anaSocket.send({ type: 'typing_start' })
    const biaSocket = await connect(bia)
    // The typing_start was sent before bia joined, on another socket: wait until the server has it.
    await until(() => [...server.server.runtime.state().typing.keys()].some((id) => server.server.runtime.state().users.get(id)?.user.username === ana.username))
    biaSocket.send({ type: 'join', room: 'sala-2' })
    const joined = await biaSocket.next('joined')
    expect(joined.typing).toContainEqual({ username: ana.username, name: ana.username.toUpperCase() })
    const anaTab2 = await connect(ana)
    const tabJoined = await anaTab2.next('joined')
    expect(tabJoined.room).toBe('sala-2')
    expect(tabJoined.typing.map((u) => u.username)).not.toContain(ana.username)
    for (const socket of [anaSocket, biaSocket, anaTab2]) socket.close()
  })
})

describe('replies after a move say their room', () => {
  it('an ack that arrives after the sender moved names the room the message was stored in', async () => {
    const user = await register(server)
    const client = await connect(user)
    client.send({ type: 'join', room: 'sala-2' })
    await client.next('joined')
    client.send({ type: 'message', text: 'escrito na sala 2', clientId: 'x1', ref: 'm1' })
    client.send({ type: 'join', room: 'sala-3' })
    const ack = await client.next('ack')
    expect(ack).toMatchObject({ ref: 'm1', clientId: 'x1', room: 'sala-2' })
    await client.next('joined', (f) => f.room === 'sala-3')
    client.close()
  })

  it('an error answering a message names its room; one that belongs to no room names none', async () => {
    const user = await register(server)
    const client = await connect(user)
    client.send({ type: 'message', text: 'nowhere', ref: 'n' })
    const notInRoom = await client.next('error', (f) => f.ref === 'n')
    expect(notInRoom.code).toBe('not_in_room')
    expect(notInRoom).not.toHaveProperty('room')
    client.send({ type: 'join', room: 'sala-2' })
    await client.next('joined')
    client.send({ type: 'message', attachments: ['/static/AAAAAAAAAAAAAAAAAAAAAA'], ref: 'a' })
    expect(await client.next('error', (f) => f.ref === 'a')).toMatchObject({ code: 'invalid_attachment', room: 'sala-2' })
    client.close()
  })
})

const until = async (condition: () => boolean, timeoutMs = 3000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await settle(10)
  }
}

describe('refused upgrades are ordinary JSON answers of ours', () => {
  /** A raw upgrade request with these headers replacing the good ones; the answer's status line, headers and body. */
  const upgradeWith = (headers: Record<string, string | undefined>): Promise<{ status: number; head: string; body: string }> =>
    new Promise((resolve, reject) => {
      const url = new URL(server.wsUrl)
      const socket = tcpConnect(Number(url.port), url.hostname, () => {
        const all: Record<string, string | undefined> = {
          Host: url.host,
          Upgrade: 'websocket',
          Connection: 'Upgrade',
          'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
          'Sec-WebSocket-Version': '13',
          ...headers,
        }
        const lines = Object.entries(all).flatMap(([name, value]) => (value === undefined ? [] : [`${name}: ${value}`]))
        socket.write(`GET /ws HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`)
      })
      let text = ''
      socket.on('data', (chunk) => (text += chunk.toString()))
      socket.on('error', reject)
      socket.on('close', () => {
        const [head = '', body = ''] = text.split('\r\n\r\n')
        resolve({ status: Number(head.split(' ')[1]), head: head.toLowerCase(), body })
      })
    })

  it.each([
    ['a version other than 13', { 'Sec-WebSocket-Version': '7' }],
    ['no key', { 'Sec-WebSocket-Key': undefined }],
    ['a malformed key', { 'Sec-WebSocket-Key': 'not base64' }],
    ['a protocol list with a space in a name', { 'Sec-WebSocket-Protocol': 'sala.v1, x y' }],
    ['an empty protocol list', { 'Sec-WebSocket-Protocol': '' }],
  ])('answers %s with 400 bad_handshake as JSON, with the security headers and a request id', async (_, headers) => {
    const answer = await upgradeWith(headers)
    expect(answer.status).toBe(400)
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'bad_handshake' } })
    expect(answer.head).toContain('content-type: application/json')
    expect(answer.head).toContain('x-content-type-options: nosniff')
    expect(answer.head).toContain('x-frame-options: deny')
    expect(answer.head).toMatch(/x-request-id: [0-9a-f-]{36}/)
  })

  it('gives a refusal for bad credentials the same headers', async () => {
    const answer = await upgradeWith({ Authorization: 'Bearer not-a-token' })
    expect(answer.status).toBe(401)
    expect(answer.head).toContain('x-content-type-options: nosniff')
    expect(answer.head).toContain('content-security-policy:')
  })
})
