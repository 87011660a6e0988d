import { describe, expect, it } from 'vitest'
import { formatMessageId } from '../../../src/core/protocol/message-id.js'
import type { ServerFrame } from '../../../src/core/protocol/server-frames.js'
import { messageText, users } from '../../arbitraries.js'
import { trusted } from '../../../src/core/codecs.js'
import { UploadName, uploadUrl, type Upload } from '../../../src/core/uploads.js'
import fc from 'fast-check'
import { FORGET_EVERY_MS, forgetAt, type SharedAdmission } from '../../../src/core/chat/limits.js'
import type { ChatCommand } from '../../../src/core/protocol/client-commands.js'
import { UNLIMITED, World, withoutLimits } from './harness.js'

// Given / when / then for the rules that random histories reach only rarely.

const lastFrame = (world: World, slot: number): ServerFrame | undefined => world.framesOf(world.currentConnection(slot)).at(-1)

const postAndStore = (world: World, slot: number, count: number) => {
  for (let i = 0; i < count; i++) world.command(slot, { type: 'message', text: messageText(`m${i}`) })
  world.completeStores(Infinity, true)
}

const joinedWith = (world: World, slot: number, since?: string) => {
  world.command(slot, { type: 'join', ...(since === undefined ? {} : { since }) })
  const frame = lastFrame(world, slot)
  if (frame?.type !== 'joined') throw new Error(`expected joined, got ${JSON.stringify(frame)}`)
  return frame
}

describe('joining with since (catch-up after a reconnect)', () => {
  // The harness keeps 6 recent messages, sends 3 on a plain join and at most 5 on a catch-up.
  const world = new World(UNLIMITED)
  world.open(0)
  world.open(1)
  world.command(0, { type: 'join' })
  postAndStore(world, 0, 10)

  it('a plain join gets the latest messages and no gap flag', () => {
    const joined = joinedWith(world, 1)
    expect(joined.history.map((m) => m.id)).toEqual([8, 9, 10].map(formatMessageId))
    expect(joined.gap).toBeUndefined()
  })

  it('gets exactly what was missed when it fits', () => {
    const joined = joinedWith(world, 1, formatMessageId(7))
    expect(joined.history.map((m) => m.id)).toEqual([8, 9, 10].map(formatMessageId))
    expect(joined.gap).toBeUndefined()
  })

  it('gets nothing, without a gap, when nothing was missed', () => {
    const joined = joinedWith(world, 1, formatMessageId(10))
    expect(joined.history).toEqual([])
    expect(joined.gap).toBeUndefined()
  })

  it('gets the latest catch-up page with gap: true when more were missed', () => {
    const joined = joinedWith(world, 1, formatMessageId(2))
    expect(joined.history.map((m) => m.id)).toEqual([6, 7, 8, 9, 10].map(formatMessageId))
    expect(joined.gap).toBe(true)
  })

  it.each(['garbage', formatMessageId(99)])('an id it cannot place (%s) gets the latest messages with gap: true', (since) => {
    const joined = joinedWith(world, 1, since)
    expect(joined.history.map((m) => m.id)).toEqual([8, 9, 10].map(formatMessageId))
    expect(joined.gap).toBe(true)
  })
})

describe('one user, two tabs', () => {
  it('tells a new tab the room the user is in, and sends it that room’s joined without being asked', () => {
    const world = new World(UNLIMITED)
    const other = users.length
    world.open(0)
    world.command(0, { type: 'join', room: 'sala-2' })
    world.open(other)
    const frames = world.framesOf(world.currentConnection(other))
    expect(frames[0]).toMatchObject({ type: 'welcome', room: 'sala-2' })
    expect(frames[1]).toMatchObject({ type: 'joined', room: 'sala-2' })
  })

  it('stores nothing of a message written in a room another tab has left since, and says which room', () => {
    const world = new World(UNLIMITED)
    const other = users.length
    world.open(0)
    world.open(other)
    world.command(0, { type: 'join', room: 'sala-2' })
    world.command(other, { type: 'join', room: 'sala-3' })
    world.command(0, { type: 'message', text: messageText('for sala 2'), room: 'sala-2', clientId: 'k1', ref: 'k1' })
    expect(world.storing).toEqual([])
    expect(lastFrame(world, 0)).toMatchObject({ type: 'error', code: 'not_in_room', ref: 'k1', room: 'sala-2' })
    // Written in the room the user is in, or without a room (older clients), it is sent as ever.
    world.command(0, { type: 'message', text: messageText('for sala 3'), room: 'sala-3', ref: 'k2' })
    world.command(0, { type: 'message', text: messageText('no room said'), ref: 'k3' })
    expect(world.storing.map((message) => [message.room, message.text])).toEqual([
      ['sala-3', 'for sala 3'],
      ['sala-3', 'no room said'],
    ])
  })
})

describe('sending', () => {
  it('acks the sender once stored, delivers to the others, and a resend is not posted again', () => {
    const world = new World(UNLIMITED)
    world.open(0)
    world.open(1)
    world.command(0, { type: 'join' })
    world.command(1, { type: 'join' })
    world.command(0, { type: 'message', text: messageText('oi'), clientId: 'x', ref: 'first' })
    expect(lastFrame(world, 0)?.type).toBe('user_joined')
    world.command(0, { type: 'message', text: messageText('oi'), clientId: 'x', ref: 'again' })
    world.completeStores(Infinity, true)
    const acks = world.framesOf(world.currentConnection(0)).filter((f) => f.type === 'ack')
    expect(acks).toEqual([
      { type: 'ack', id: formatMessageId(1), room: 'sala-1', sentAt: expect.any(String), ref: 'first', clientId: 'x' },
      { type: 'ack', id: formatMessageId(1), room: 'sala-1', sentAt: expect.any(String), ref: 'again', clientId: 'x' },
    ])
    const received = world.framesOf(world.currentConnection(1)).filter((f) => f.type === 'message')
    expect(received).toHaveLength(1)
    expect(world.stored).toHaveLength(1)
  })

  it('tells the sender when the store fails, and a retry with the same clientId is posted anew', () => {
    const world = new World(UNLIMITED)
    world.open(0)
    world.command(0, { type: 'join' })
    world.command(0, { type: 'message', text: messageText('oi'), clientId: 'x', ref: 'r' })
    world.completeStores(1, false)
    expect(lastFrame(world, 0)).toMatchObject({ type: 'error', code: 'internal_error', ref: 'r' })
    world.command(0, { type: 'message', text: messageText('oi'), clientId: 'x', ref: 'retry' })
    world.completeStores(1, true)
    // The store numbers what it keeps: the failed write used no number.
    expect(lastFrame(world, 0)).toMatchObject({ type: 'ack', ref: 'retry', id: formatMessageId(1) })
  })
})

describe('presence across tabs', () => {
  it('a second tab joins the user’s room and the others see the user once', () => {
    const world = new World(UNLIMITED)
    world.open(0) // ana, tab 1
    world.open(1) // bia
    world.command(0, { type: 'join', room: 'sala-2' })
    world.command(1, { type: 'join', room: 'sala-2' })
    world.open(3) // ana, tab 2
    expect(lastFrame(world, 3)).toMatchObject({ type: 'joined', room: 'sala-2' })
    expect(world.framesOf(world.currentConnection(1)).filter((f) => f.type === 'user_joined')).toHaveLength(0)
    world.dispatch({ type: 'ConnectionClosed', connection: world.currentConnection(0), at: world.at })
    expect(lastFrame(world, 1)?.type).toBe('joined')
    world.dispatch({ type: 'ConnectionClosed', connection: world.currentConnection(3), at: world.at })
    expect(lastFrame(world, 1)).toMatchObject({ type: 'user_left', reason: 'disconnected', user: { username: 'ana' } })
  })
})

describe('sessions', () => {
  it('a revoked session closes its sockets with 4001 and cannot open new ones', () => {
    const world = new World(UNLIMITED)
    world.open(0)
    const session = world.sessionOf(0)
    const effects = world.dispatch({ type: 'SessionRevoked', session, expiresAt: world.at + 1000, at: world.at })
    expect(effects).toEqual([{ type: 'close', connection: world.currentConnection(0), code: 4001, reason: 'session revoked' }])
    const reopened = world.dispatch({
      type: 'ConnectionOpened',
      connection: world.currentConnection(9),
      user: users[0]!,
      session,
      sessionExpiresAt: world.at + 1000,
      at: world.at,
    })
    expect(reopened).toMatchObject([{ type: 'close', code: 4001 }])
  })
})

describe('session expiry', () => {
  it('closes a connection with 4001 when its session runs out, and asks to be woken for it', () => {
    const world = new World(UNLIMITED)
    const opened = world.dispatch({
      type: 'ConnectionOpened',
      connection: world.currentConnection(0),
      user: users[0]!,
      session: world.sessionOf(0),
      sessionExpiresAt: world.at + 1000,
      at: world.at,
    })
    expect(opened).toContainEqual({ type: 'wakeAt', at: world.at + 1000 })
    world.at += 999
    expect(world.dispatch({ type: 'ClockTicked', at: world.at })).toEqual([{ type: 'wakeAt', at: world.at + 1 }])
    world.at += 1
    expect(world.dispatch({ type: 'ClockTicked', at: world.at })).toContainEqual({
      type: 'close',
      connection: world.currentConnection(0),
      code: 4001,
      reason: 'session expired',
    })
    expect(world.state.connections.size).toBe(0)
  })
})

describe('attachments', () => {
  const upload = (owner: (typeof users)[number]): Upload => ({
    name: trusted(UploadName, 'B'.repeat(22)),
    owner: owner.id,
    originalName: 'foto.png',
    type: 'image/png',
    size: 42,
  })

  it.each([
    ['another user’s upload', new Map([[uploadUrl(upload(users[1]!).name), upload(users[1]!)]])],
    ['an upload nobody made', new Map<string, Upload>()],
  ])('refuses %s with invalid_attachment and changes nothing', (_label, uploads) => {
    const world = new World(UNLIMITED)
    world.open(0)
    world.command(0, { type: 'join' })
    const before = world.state
    world.command(0, { type: 'message', attachments: [uploadUrl(upload(users[1]!).name)], ref: 'x' }, uploads)
    expect(withoutLimits(world.state)).toEqual(withoutLimits(before))
    expect(lastFrame(world, 0)).toMatchObject({ type: 'error', code: 'invalid_attachment', ref: 'x' })
  })

  it('stores the sender’s own upload with the message', () => {
    const world = new World(UNLIMITED)
    world.open(0)
    world.command(0, { type: 'join' })
    const own = upload(users[0]!)
    world.command(0, { type: 'message', attachments: [uploadUrl(own.name)] }, new Map([[uploadUrl(own.name), own]]))
    expect(world.storing[0]).toMatchObject({ text: '', attachments: [{ url: uploadUrl(own.name), name: 'foto.png', type: 'image/png', size: 42 }] })
  })
})

describe('rate limits', () => {
  // The harness allows 2 messages a second with a burst of 4.
  const flood = (world: World, perSecond: number, seconds: number) => {
    const effects = []
    for (let i = 0; i < perSecond * seconds && world.isOpen(0); i++) {
      world.at += 1000 / perSecond
      effects.push(...world.dispatch({ type: 'CommandReceived', connection: world.currentConnection(0), command: { type: 'typing_stop' }, at: world.at }))
    }
    return effects
  }

  it('answers rate_limited with how long to wait, and lets the command through after that', () => {
    const world = new World()
    world.open(0)
    world.command(0, { type: 'join' })
    for (let i = 0; i < 4; i++) world.command(0, { type: 'message', text: messageText(`m${i}`), ref: `r${i}` })
    world.command(0, { type: 'message', text: messageText('one too many'), ref: 'over' })
    const refusal = lastFrame(world, 0)
    expect(refusal).toMatchObject({ type: 'error', code: 'rate_limited', ref: 'over', retryAfterMs: 500 })
    world.at += 500
    world.command(0, { type: 'message', text: messageText('now fine'), ref: 'later' })
    expect(world.storing.map((m) => m.text)).toContain('now fine')
  })

  describe('with the cluster’s allowance (several processes)', () => {
    const sharedCommand = (world: World, command: ChatCommand, shared: SharedAdmission) =>
      world.dispatch({ type: 'CommandReceived', connection: world.currentConnection(0), command, shared, at: world.at })

    it('refuses what the cluster refuses, with the cluster’s wait, and spends none of this process’s allowance on it', () => {
      const world = new World()
      world.open(0)
      world.command(0, { type: 'join' })
      sharedCommand(world, { type: 'message', text: messageText('spent elsewhere'), ref: 'r1' }, { admitted: false, retryAfterMs: 1200 })
      expect(lastFrame(world, 0)).toMatchObject({ type: 'error', code: 'rate_limited', ref: 'r1', retryAfterMs: 1200, room: 'sala-1' })
      expect(world.storing).toEqual([])
      // This process's burst of 4 is still whole.
      for (let i = 0; i < 4; i++) sharedCommand(world, { type: 'message', text: messageText(`m${i}`) }, { admitted: true })
      expect(world.storing).toHaveLength(4)
    })

    it('still refuses past this process’s own allowance when the cluster admits (the two must agree)', () => {
      const world = new World()
      world.open(0)
      world.command(0, { type: 'join' })
      for (let i = 0; i < 5; i++) sharedCommand(world, { type: 'message', text: messageText(`m${i}`), ref: `r${i}` }, { admitted: true })
      expect(world.storing).toHaveLength(4)
      expect(lastFrame(world, 0)).toMatchObject({ type: 'error', code: 'rate_limited', ref: 'r4', retryAfterMs: 500 })
    })

    it('closes a client the cluster keeps refusing, as it closes one refused here', () => {
      const world = new World()
      world.open(0)
      const effects = []
      for (let i = 0; i < 150 && world.isOpen(0); i++) {
        world.at += 100
        effects.push(...sharedCommand(world, { type: 'typing_stop' }, { admitted: false, retryAfterMs: 100 }))
      }
      expect(effects).toContainEqual({ type: 'close', connection: world.currentConnection(0), code: 1008, reason: 'rate limit exceeded repeatedly' })
    })

    it('never admits a command the cluster refused, whatever this process’s buckets hold', () => {
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 2000 })), { maxLength: 40 }), (answers) => {
          const world = new World()
          world.open(0)
          world.command(0, { type: 'join' })
          for (const [admitted, pause] of answers) {
            world.at += pause
            const before = world.storing.length
            sharedCommand(world, { type: 'message', text: messageText('x') }, admitted ? { admitted: true } : { admitted: false, retryAfterMs: 10 })
            if (!admitted && world.storing.length !== before) return false
          }
          return true
        }),
      )
    })
  })

  it('closes (1008) a client that keeps sending five times its limit, after about ten seconds', () => {
    const world = new World()
    world.open(0)
    const effects = flood(world, 10, 15)
    const closedAt = world.at
    expect(effects).toContainEqual({ type: 'close', connection: world.currentConnection(0), code: 1008, reason: 'rate limit exceeded repeatedly' })
    expect(closedAt - 1_700_000_000_000).toBeGreaterThan(8000)
    expect(closedAt - 1_700_000_000_000).toBeLessThan(13000)
  })

  it('refuses (1008) the reconnections of a user just closed for abuse until its meter has drained halfway', () => {
    const world = new World()
    world.open(0)
    flood(world, 10, 15)
    expect(world.isOpen(0)).toBe(false)
    world.open(0)
    expect(world.isOpen(0)).toBe(false)
    expect(world.steps.find((record) => record.event.type === 'ConnectionOpened' && record.event.connection === world.currentConnection(0))?.effects).toContainEqual({ type: 'close', connection: world.currentConnection(0), code: 1008, reason: 'too many refused commands: wait before reconnecting' })
    // The meter drains at the message rate (10/s): from the threshold (300) to half of it in 15 s.
    world.at += 16_000
    world.open(0)
    expect(world.isOpen(0)).toBe(true)
  })

  it('never closes a client that hovers at twice its limit', () => {
    const world = new World()
    world.open(0)
    const effects = flood(world, 4, 30)
    expect(effects.filter((e) => e.type === 'close')).toEqual([])
    expect(world.isOpen(0)).toBe(true)
  })

  it('does not refill an allowance when the user reconnects', () => {
    const world = new World()
    world.open(0)
    world.command(0, { type: 'join' })
    for (let i = 0; i < 4; i++) world.command(0, { type: 'message', text: messageText(`m${i}`) })
    world.dispatch({ type: 'ConnectionClosed', connection: world.currentConnection(0), at: world.at })
    world.open(0)
    world.command(0, { type: 'join' })
    world.command(0, { type: 'message', text: messageText('one more'), ref: 'again' })
    expect(lastFrame(world, 0)).toMatchObject({ type: 'error', code: 'rate_limited', ref: 'again' })
  })

  it('forgets an allowance once it has fully come back, so idle users keep no bookkeeping', () => {
    const world = new World()
    world.open(0)
    expect(world.state.limits.size).toBe(0)
    const joined = world.dispatch({ type: 'CommandReceived', connection: world.currentConnection(0), command: { type: 'join' }, at: world.at })
    const entry = world.state.limits.get(users[0]!.id)
    expect(entry).toBeDefined()
    const wakes = joined.flatMap((e) => (e.type === 'wakeAt' ? [e.at] : []))
    expect(wakes).toEqual([forgetAt(entry!, world.state.settings)])
    expect(wakes[0]! % FORGET_EVERY_MS).toBe(0)
    world.at = wakes[0]!
    world.tick()
    expect(world.state.limits.size).toBe(0)
    expect(world.isOpen(0)).toBe(true)
  })

  it('refuses a connection past the per-user cap with 1008', () => {
    const world = new World()
    world.open(0)
    world.open(3)
    const third = world.dispatch({
      type: 'ConnectionOpened',
      connection: world.currentConnection(6),
      user: users[0]!,
      session: world.sessionOf(0),
      sessionExpiresAt: world.at + 60_000,
      at: world.at,
    })
    expect(third).toEqual([{ type: 'close', connection: world.currentConnection(6), code: 1008, reason: 'at most 2 connections per user' }])
  })
})
