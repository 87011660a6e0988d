import { connect as tcpConnect, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ChatClient, postJson, register, startTestServer, type Registered, type TestServer } from '../integration/helpers.js'

/**
 * A client that does not play by the closing handshake: it never answers the server's close frame and
 * keeps sending commands, as a buggy or hostile client may for up to 30 s.
 */
class DeafClient {
  private received = Buffer.alloc(0)
  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk) => {
      this.received = Buffer.concat([this.received, chunk])
    })
    socket.on('error', () => undefined)
  }

  static async connect(server: TestServer, token: string, expectWelcome = true): Promise<DeafClient> {
    const url = new URL(server.wsUrl)
    const socket = tcpConnect(Number(url.port), url.hostname)
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
    const client = new DeafClient(socket)
    socket.write(
      `GET /ws HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer ${token}\r\n\r\n`,
    )
    await client.until(() => client.text().includes(expectWelcome ? '"type":"welcome"' : 'HTTP/1.1 101'))
    return client
  }

  text(): string {
    return this.received.toString('latin1')
  }

  /** The close code of the server's close frame, once it has sent one. */
  closeCode(): number | undefined {
    const at = this.received.lastIndexOf(Buffer.from([0x88]))
    return at === -1 || this.received.length < at + 4 ? undefined : this.received.readUInt16BE(at + 2)
  }

  send(command: unknown): void {
    const payload = Buffer.from(typeof command === 'string' ? command : JSON.stringify(command))
    const mask = Buffer.from([7, 1, 3, 9])
    const masked = payload.map((byte, i) => byte ^ mask[i % 4]!)
    const header = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 255])
    if (!this.socket.destroyed) this.socket.write(Buffer.concat([header, mask, masked]))
  }

  /**
   * Answers the close at last and waits for the server to end the TCP connection: it reads frames in
   * order, so by then every frame sent before this one has been handled.
   */
  async answerClose(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.socket.once('close', () => resolve()))
    this.socket.write(Buffer.from([0x88, 0x80, 0, 0, 0, 0]))
    await closed
  }

  sendBinary(): void {
    this.socket.write(Buffer.from([0x82, 0x82, 0, 0, 0, 0, 0xde, 0xad]))
  }

  async until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`condition not met; received: ${this.text().slice(-300)}`)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }

  onceClosed(listener: () => void): void {
    this.socket.once('close', listener)
  }

  destroy(): void {
    this.socket.destroy()
  }
}

let server: TestServer
beforeAll(async () => {
  server = await startTestServer({ MSG_RATE: '2', MSG_BURST: '2', MAX_CONNECTIONS_PER_USER: '2' })
})
afterAll(async () => {
  await server.stop()
})

/** An observer in `room`: every `message` it gets, and the room's history as a newcomer would read it. */
const observe = async (room: string) => {
  const user = await register(server)
  const client = await ChatClient.connect(server, { token: user.token })
  await client.next('welcome')
  client.send({ type: 'join', room })
  await client.next('joined')
  return client
}

/** Sends 15 messages after the close, then proves none of them was posted, acked or heard. */
const sendAfterClose = async (deaf: DeafClient, observer: ChatClient, marker: string) => {
  for (let i = 0; i < 15; i++) deaf.send({ type: 'message', text: `${marker} ${i}`, ref: `late${i}` })
  await deaf.answerClose()
  // Messages are stored one batch after another, in order: once the observer's own message is acked,
  // any late message handled before it would be stored and broadcast too.
  observer.send({ type: 'message', text: `${marker} barrier`, ref: 'barrier' })
  await observer.next('ack', (ack) => ack.ref === 'barrier')
  observer.send({ type: 'history', limit: 50 })
  const history = await observer.next('history')
  const late = (text: string) => text.startsWith(`${marker} `) && !text.endsWith('barrier')
  expect(history.messages.filter((message) => late(message.text))).toEqual([])
  expect(observer.pending('message').filter((frame) => frame.type === 'message' && late(frame.text))).toEqual([])
  console.log("LOGS", server.logLines.slice(-8).map(l => l.slice(0,300)).join(""))
  expect(deaf.text()).not.toContain('"ref":"late')
}

describe('a connection the server is closing takes no more commands', () => {
  const joined = async (user: Registered, room: string) => {
    const deaf = await DeafClient.connect(server, user.token)
    deaf.send({ type: 'join', room })
    await deaf.until(() => deaf.text().includes('"type":"joined"'))
    // Proof that this client's frames do reach the chat while the connection is open.
    deaf.send({ type: 'message', text: 'before the close', ref: 'early' })
    await deaf.until(() => deaf.text().includes('"ref":"early"'))
    return deaf
  }

  it('after logout (4001), the issue’s case: 15 messages sent by a client that ignores the close are not posted', async () => {
    const observer = await observe('sala-2')
    const user = await register(server)
    const deaf = await joined(user, 'sala-2')
    const logout = await postJson(`${server.url}/auth/logout`, {}, { Authorization: `Bearer ${user.token}` })
    expect(logout.status).toBe(204)
    await deaf.until(() => deaf.closeCode() !== undefined)
    expect(deaf.closeCode()).toBe(4001)
    await sendAfterClose(deaf, observer, 'after-logout')
    deaf.destroy()
    observer.close()
  })

  it('cuts a client that never answers the close within the grace period, instead of ws’s 30 s', async () => {
    const user = await register(server)
    const deaf = await joined(user, 'sala-1')
    const cut = new Promise<number>((resolve) => deaf.onceClosed(() => resolve(Date.now())))
    const loggedOutAt = Date.now()
    await postJson(`${server.url}/auth/logout`, {}, { Authorization: `Bearer ${user.token}` })
    const at = await cut
    expect(deaf.closeCode()).toBe(4001)
    // CLOSE_GRACE_MS is 5 s; the bound is loose for a loaded machine, and far below ws's 30 s.
    expect(at - loggedOutAt).toBeLessThan(20_000)
  }, 30_000)

  it('after a rate-limit close (1008)', async () => {
    const observer = await observe('sala-3')
    const user = await register(server)
    const deaf = await joined(user, 'sala-3')
    // Far past the limit until the abuse meter closes the connection.
    for (let i = 0; i < 400 && deaf.closeCode() === undefined; i++) {
      deaf.send({ type: 'typing_start' })
      if (i % 20 === 19) await new Promise((resolve) => setTimeout(resolve, 50))
    }
    await deaf.until(() => deaf.closeCode() !== undefined, 30_000)
    expect(deaf.closeCode()).toBe(1008)
    await sendAfterClose(deaf, observer, 'after-abuse')
    deaf.destroy()
    observer.close()
  })

  it('after a binary frame (1003)', async () => {
    const observer = await observe('sala-1')
    const user = await register(server)
    const deaf = await joined(user, 'sala-1')
    deaf.sendBinary()
    await deaf.until(() => deaf.closeCode() !== undefined)
    expect(deaf.closeCode()).toBe(1003)
    await sendAfterClose(deaf, observer, 'after-binary')
    deaf.destroy()
    observer.close()
  })

  it('past the per-user cap (1008 on open)', async () => {
    const observer = await observe('sala-1')
    const user = await register(server)
    const first = await ChatClient.connect(server, { token: user.token })
    const second = await ChatClient.connect(server, { token: user.token })
    await first.next('welcome')
    await second.next('welcome')
    // The third connection opens and is closed at once, before any welcome.
    const deaf = await DeafClient.connect(server, user.token, false)
    await deaf.until(() => deaf.closeCode() !== undefined)
    expect(deaf.closeCode()).toBe(1008)
    expect(deaf.text()).not.toContain('"type":"welcome"')
    deaf.send({ type: 'join', room: 'sala-1' })
    await sendAfterClose(deaf, observer, 'after-cap')
    deaf.destroy()
    first.close()
    second.close()
    observer.close()
  })

  it('after a shutdown close (1001): what arrives during the drain is not stored', async () => {
    const own = await startTestServer()
    const user = await register(own)
    const deaf = await DeafClient.connect(own, user.token)
    deaf.send({ type: 'join', room: 'sala-1' })
    await deaf.until(() => deaf.text().includes('"type":"joined"'))
    const stopping = own.server.close()
    await deaf.until(() => deaf.closeCode() !== undefined)
    expect(deaf.closeCode()).toBe(1001)
    for (let i = 0; i < 15; i++) deaf.send({ type: 'message', text: `during shutdown ${i}`, ref: `late${i}` })
    await deaf.answerClose()
    await stopping
    const again = await startTestServer({}, own.dataDir)
    try {
      const reader = await register(again)
      const client = await ChatClient.connect(again, { token: reader.token })
      await client.next('welcome')
      client.send({ type: 'join', room: 'sala-1' })
      expect((await client.next('joined')).history).toEqual([])
      client.close()
    } finally {
      await again.stop()
    }
  })
})
