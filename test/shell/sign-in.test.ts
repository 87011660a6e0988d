import type { Duplex } from 'node:stream'
import * as E from 'fp-ts/lib/Either.js'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Authenticated } from '../../src/shell/accounts.js'
import type { ChatSocket, SocketPeer } from '../../src/shell/ws/chat-socket.js'
import { createSignIn, MAX_FRAMES_BEHIND_AUTH, SIGN_IN_TIMEOUT_MS } from '../../src/shell/ws/sign-in.js'
import type { AccountError } from '../../src/core/accounts.js'
import { jsonLogger } from '../../src/adapters/logger.js'

// The sign-in sequencing with its edges made deterministic: the token check answers when the test says.

const OPEN = 1
const CLOSING = 2

/** What the sign-in uses of a ws socket: its state, `close`, and the peer it hands events to. */
class FakeSocket {
  readonly OPEN = OPEN
  readyState = OPEN
  peer: SocketPeer | undefined
  readonly closes: Array<{ code: number; reason: string }> = []
  close(code: number, reason: string): void {
    this.closes.push({ code, reason })
    this.readyState = CLOSING
  }
  /** The close handshake completed: ws emits 'close' to the peer. */
  finishClose(): void {
    this.peer?.closed(this.closes[0]?.code ?? 1006)
  }
  receive(text: string): void {
    this.peer?.frame(Buffer.from(text), false)
  }
}

const signedIn = { record: { user: { id: 'u1' } }, session: { id: 's1' } } as unknown as Authenticated

const setUp = (options: { timeoutMs?: number } = {}) => {
  let answer: (result: E.Either<AccountError | Error, Authenticated>) => void = () => undefined
  const tokens: string[] = []
  const released: string[] = []
  const refused: string[] = []
  const opened: Array<{ frames: string[] }> = []
  let accepting = true
  const signIn = createSignIn({
    accounts: {
      authenticate: (token) => () => {
        tokens.push(token)
        return new Promise((resolve) => (answer = resolve))
      },
    },
    addresses: { take: () => true, release: (address) => released.push(address) },
    refusals: { refused: (kind) => refused.push(kind), flush: () => undefined },
    log: jsonLogger('silent'),
    onOpen: (socket) => {
      // The connection takes over as the socket's peer and records what reaches it.
      const received = { frames: [] as string[] }
      opened.push(received)
      socket.peer = { frame: (data) => received.frames.push(data.toString()), closed: () => undefined, failed: () => undefined }
    },
    accepting: () => accepting,
    ...options,
  })
  const socket = new FakeSocket()
  signIn.start(socket as unknown as ChatSocket, {} as Duplex, '203.0.113.9')
  return {
    signIn,
    socket,
    tokens,
    released,
    refused,
    opened,
    answer: (result: E.Either<AccountError | Error, Authenticated>) => answer(result),
    stopAccepting: () => (accepting = false),
  }
}

/** Lets the promise callbacks of an answered check run. */
const flush = () => new Promise((resolve) => setImmediate(resolve))

afterEach(() => {
  vi.useRealTimers()
})

describe('signing in over the socket', () => {
  it('checks the token of the auth frame, then hands the socket and what came behind auth to the connection, in order', async () => {
    const world = setUp()
    world.socket.receive('{"type":"auth","token":"t.o.k"}')
    world.socket.receive('{"type":"join"}')
    world.socket.receive('{"type":"ping","ref":"p"}')
    expect(world.tokens).toEqual(['t.o.k'])
    expect(world.opened).toEqual([])
    world.answer(E.right(signedIn))
    await flush()
    expect(world.opened).toEqual([{ frames: ['{"type":"join"}', '{"type":"ping","ref":"p"}'] }])
    // The slot is the connection's now: the sign-in gives nothing back.
    expect(world.released).toEqual([])
  })

  it(`closes 1008 a client that sends more than ${MAX_FRAMES_BEHIND_AUTH} frames before the check answers`, () => {
    const world = setUp()
    world.socket.receive('{"type":"auth","token":"t"}')
    for (let i = 0; i <= MAX_FRAMES_BEHIND_AUTH; i++) world.socket.receive('{"type":"ping"}')
    expect(world.socket.closes).toEqual([{ code: 1008, reason: 'too many frames before sign-in completed' }])
  })

  it('closes 4001 on a bad token and gives the slot back once closed', async () => {
    const world = setUp()
    world.socket.receive('{"type":"auth","token":"t"}')
    world.answer(E.left({ type: 'unauthenticated' }))
    await flush()
    expect(world.socket.closes).toEqual([{ code: 4001, reason: 'the session is not valid (expired, revoked or unknown)' }])
    expect(world.refused).toEqual(['websocket_sign_in_unauthenticated'])
    world.socket.finishClose()
    expect(world.released).toEqual(['203.0.113.9'])
  })

  it('closes 1011 when the check itself fails', async () => {
    const world = setUp()
    world.socket.receive('{"type":"auth","token":"t"}')
    world.answer(E.left(new Error('SQLITE_BUSY')))
    await flush()
    expect(world.socket.closes).toEqual([{ code: 1011, reason: 'something went wrong on our side; reconnect' }])
  })

  it('opens nothing for a client that left while its token was checked, and gives its slot back once', async () => {
    const world = setUp()
    world.socket.receive('{"type":"auth","token":"t"}')
    world.socket.readyState = 3
    world.socket.finishClose()
    world.answer(E.right(signedIn))
    await flush()
    expect(world.opened).toEqual([])
    expect(world.released).toEqual(['203.0.113.9'])
  })

  it('closes 1001 instead of opening when the server began to shut down during the check', async () => {
    const world = setUp()
    world.socket.receive('{"type":"auth","token":"t"}')
    world.stopAccepting()
    world.answer(E.right(signedIn))
    await flush()
    expect(world.opened).toEqual([])
    expect(world.socket.closes).toEqual([{ code: 1001, reason: 'server shutting down' }])
  })

  it(`closes 4001 after ${SIGN_IN_TIMEOUT_MS} ms without a frame, and not before`, () => {
    vi.useFakeTimers()
    const world = setUp()
    vi.advanceTimersByTime(SIGN_IN_TIMEOUT_MS - 1)
    expect(world.socket.closes).toEqual([])
    vi.advanceTimersByTime(1)
    expect(world.socket.closes).toEqual([{ code: 4001, reason: 'sign in within 5 s: send {"type":"auth","token":"…"} first' }])
    expect(world.refused).toEqual(['websocket_sign_in_timeout'])
  })

  it('a first frame in time stops the clock, however long the check takes', () => {
    vi.useFakeTimers()
    const world = setUp()
    vi.advanceTimersByTime(SIGN_IN_TIMEOUT_MS - 1)
    world.socket.receive('{"type":"auth","token":"t"}')
    vi.advanceTimersByTime(60_000)
    expect(world.socket.closes).toEqual([])
  })

  it('closes every socket still signing in at shutdown', () => {
    const world = setUp()
    world.signIn.closeAll(1001, 'server shutting down')
    expect(world.socket.closes).toEqual([{ code: 1001, reason: 'server shutting down' }])
    world.socket.finishClose()
    expect(world.released).toEqual(['203.0.113.9'])
  })
})
