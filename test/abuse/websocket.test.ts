import { connect as tcpConnect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { ChatClient, register, settle, startTestServer, type Registered, type TestServer } from '../integration/helpers.js'
import { expectStillServes } from './still-serves.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer({ MSG_RATE: '5', MSG_BURST: '5', MAX_CONNECTIONS_PER_USER: '2', MAX_FRAME_BYTES: '8192' })
})
afterAll(async () => {
  await server.stop()
})

const connected = async (user?: Registered) => {
  const who = user ?? (await register(server))
  const client = await ChatClient.connect(server, { token: who.token })
  await client.next('welcome')
  return client
}

describe('frames the protocol refuses at the transport level', () => {
  it('a frame over MAX_FRAME_BYTES closes the connection with 1009', async () => {
    const client = await connected()
    client.send(JSON.stringify({ type: 'message', text: 'x'.repeat(9000) }))
    expect((await client.waitClosed()).code).toBe(1009)
    await expectStillServes(server)
  })

  it('a binary frame closes the connection with 1003', async () => {
    const client = await connected()
    client.socket.send(Buffer.from([0xde, 0xad, 0xbe, 0xef]), { binary: true })
    expect((await client.waitClosed()).code).toBe(1003)
    await expectStillServes(server)
  })

  it('a text frame that is not UTF-8 closes the connection with 1007 (ws validates it)', async () => {
    const user = await register(server)
    // Hand-built frame: FIN + text opcode, masked, with the bytes 0xff 0xfe (never valid UTF-8).
    const url = new URL(server.wsUrl)
    const socket = tcpConnect(Number(url.port), url.hostname)
    const received: Buffer[] = []
    socket.on('data', (chunk) => received.push(chunk))
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
    socket.write(
      `GET /ws HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer ${user.token}\r\n\r\n`,
    )
    await settle(200)
    const mask = [1, 2, 3, 4]
    const payload = [0xff, 0xfe].map((b, i) => b ^ mask[i % 4]!)
    socket.write(Buffer.from([0x81, 0x80 | payload.length, ...mask, ...payload]))
    await new Promise<void>((resolve) => socket.once('close', () => resolve()))
    const all = Buffer.concat(received)
    const closeFrame = all.subarray(all.lastIndexOf(Buffer.from([0x88])))
    expect(closeFrame.readUInt16BE(2)).toBe(1007)
    await expectStillServes(server)
  })
})

describe('malformed commands get an error frame; the socket and the state stay as they were', () => {
  it.each([
    ['not JSON', '{"type":'],
    ['null', 'null'],
    ['an array', '[{"type":"join"}]'],
    ['a number', '42'],
    ['a wrong type', '{"type":"join","room":["sala-1"]}'],
    ['a missing field', '{"type":"message"}'],
    ['an unknown type', '{"type":"shutdown"}'],
    ['an extra key', '{"type":"leave","admin":true}'],
    ['a __proto__ key', '{"type":"join","__proto__":{"polluted":"yes"}}'],
    ['a constructor key', '{"type":"join","constructor":{"prototype":{"polluted":"yes"}}}'],
    ['a huge number', '{"type":"history","limit":1e309}'],
    ['deep nesting', `${'['.repeat(2000)}${']'.repeat(2000)}`],
  ])('%s', async (_label, frame) => {
    const client = await connected()
    client.send({ type: 'join', room: 'sala-2' })
    const before = await client.next('joined')
    client.send(frame)
    expect(await client.next('error')).toMatchObject({ code: 'bad_request' })
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined()
    expect(Object.prototype).not.toHaveProperty('polluted')
    client.send({ type: 'join', room: 'sala-2', ref: 'again' })
    const after = await client.next('joined')
    expect(after.users).toEqual(before.users)
    expect(client.closed).toBeUndefined()
    client.close()
  })
})

describe('rate limits', () => {
  it('answers rate_limited with retryAfterMs past the burst, and closes 1008 under sustained abuse', async () => {
    const client = await connected()
    client.send({ type: 'join', room: 'sala-1' })
    await client.next('joined')
    for (let i = 0; i < 6; i++) client.send({ type: 'message', text: `m${i}`, ref: `r${i}` })
    const limited = await client.next('error', (f) => f.code === 'rate_limited')
    expect(limited.ref).toBe('r5')
    expect(limited.retryAfterMs).toBeGreaterThan(0)
    expect(limited.retryAfterMs).toBeLessThanOrEqual(200)
    // 5/s allowed; a burst of ~3x5x10 refusals fills the abuse meter at once.
    for (let i = 0; i < 200; i++) client.send({ type: 'typing_stop' })
    for (let i = 0; i < 200; i++) client.send({ type: 'message', text: 'spam' })
    expect(await client.waitClosed()).toEqual({ code: 1008, reason: 'rate limit exceeded repeatedly' })
    await expectStillServes(server)
  })

  it('caps connections per user (1008 for the one too many)', async () => {
    const user = await register(server)
    const first = await connected(user)
    const second = await connected(user)
    const third = await ChatClient.connect(server, { token: user.token })
    expect(await third.waitClosed()).toEqual({ code: 1008, reason: 'at most 2 connections per user' })
    expect(first.closed).toBeUndefined()
    expect(second.closed).toBeUndefined()
    first.close()
    second.close()
  })
})

describe('dead and slow connections', () => {
  it('a client that stops answering pings is cut and its user leaves as disconnected', async () => {
    const own = await startTestServer({ HEARTBEAT_MS: '150' })
    try {
      const [ana, ghost] = [await register(own), await register(own)]
      const watcher = await ChatClient.connect(own, { token: ana.token })
      await watcher.next('welcome')
      watcher.send({ type: 'join' })
      await watcher.next('joined')
      const silent = new WebSocket(own.wsUrl, { headers: { Authorization: `Bearer ${ghost.token}` }, autoPong: false })
      await new Promise((resolve) => silent.once('open', resolve))
      silent.send(JSON.stringify({ type: 'join' }))
      await watcher.next('user_joined', (f) => f.user.username === ghost.username)
      const left = await watcher.next('user_left', (f) => f.user.username === ghost.username, 3000)
      expect(left.reason).toBe('disconnected')
      // The watcher answers pings (ws does by default) and stays.
      await settle(400)
      expect(watcher.closed).toBeUndefined()
      watcher.close()
    } finally {
      await own.stop()
    }
  })

  it('a client that never reads is closed (1013) before its buffer grows without bound; the others are unaffected', async () => {
    const own = await startTestServer({ MAX_BUFFERED_BYTES: String(256 * 1024), MSG_RATE: '10000', MSG_BURST: '100000' })
    try {
      const [talker, reader, sleeper] = [await register(own), await register(own), await register(own)]
      const talk = await ChatClient.connect(own, { token: talker.token })
      const sleep = await ChatClient.connect(own, { token: sleeper.token })
      for (const client of [talk, sleep]) {
        await client.next('welcome')
        client.send({ type: 'join', room: 'sala-2' })
        await client.next('joined')
      }
      // The well-behaved reader only counts, so that the test's own memory stays flat.
      let delivered = 0
      const read = new WebSocket(own.wsUrl, { headers: { Authorization: `Bearer ${reader.token}` } })
      read.on('message', (data) => {
        if (data.toString().startsWith('{"type":"message"')) delivered++
      })
      await new Promise((resolve) => read.once('open', resolve))
      read.send(JSON.stringify({ type: 'join', room: 'sala-2' }))
      await talk.next('user_joined', (f) => f.user.username === reader.username)
      // The sleeper's socket stops reading: the server's writes to it pile up.
      const sleeperSocket = (sleep.socket as unknown as { _socket: { pause: () => void; resume: () => void } })._socket
      sleeperSocket.pause()
      // The server cuts a slow reader 5 s after closing it (1013); on a loaded machine sending the rest
      // can take longer than that, so the sleeper wakes as soon as the server has decided, and reads.
      const decided = () => own.logLines.some((line) => line.includes('closing a connection that does not read'))
      let awake = false
      const wakeOnceDecided = () => {
        if (awake || !decided()) return
        awake = true
        sleeperSocket.resume()
      }
      const retained = () => {
        global.gc?.()
        const usage = process.memoryUsage()
        return usage.heapUsed + usage.external
      }
      const before = retained()
      const text = 'x'.repeat(3900)
      const total = 6000
      for (let i = 0; i < total; i++) {
        talk.send({ type: 'message', text, ref: `t${i}` })
        if (i % 200 === 199) {
          await talk.next('ack', (f) => f.ref === `t${i}`, 10_000)
          talk.frames.length = 0
          wakeOnceDecided()
          // What the woken sleeper reads is not what this test measures.
          sleep.frames.length = 0
        }
      }
      sleep.frames.length = 0
      const grown = retained() - before
      const broadcast = (total * 3900) / 2 ** 20
      console.log(`slow reader: ${broadcast.toFixed(1)} MiB broadcast to each member, retained memory grew ${(grown / 2 ** 20).toFixed(1)} MiB`)
      // Unbounded buffering retains about twice the broadcast (44 MiB measured); with the bound it is
      // ~5 MiB alone and ~9 MiB when the suite runs beside it (the recent-message ring, caches, noise).
      expect(grown).toBeLessThan((broadcast / 2) * 2 ** 20)
      expect(decided()).toBe(true)
      wakeOnceDecided()
      expect((await sleep.waitClosed(8000)).code).toBe(1013)
      // Every message reaches the reader: wait for the count rather than for a fixed time.
      const deadline = Date.now() + 10_000
      while (delivered < total && Date.now() < deadline) await settle(20)
      expect(delivered).toBe(total)
      expect(read.readyState).toBe(WebSocket.OPEN)
      talk.close()
      read.close()
    } finally {
      await own.stop()
    }
  })
})
