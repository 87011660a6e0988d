import { describe, expect, it } from 'vitest'
import type { ServerFrame } from '../../../src/core/protocol/server-frames.js'
import { formatMessageId } from '../../../src/core/protocol/message-id.js'
import { trusted } from '../../../src/core/codecs.js'
import { UploadName, uploadUrl, type Upload } from '../../../src/core/uploads.js'
import { messageText, users } from '../../arbitraries.js'
import { SETTINGS, UNLIMITED, World, withoutLimits } from './harness.js'

// Given / when / then for the protocol additions: heartbeat, version, typing on arrival, replies that say
// their room. Slots: 0, 3 and 6 are ana's tabs, 1 and 4 bia's, 2 and 5 caio's.

const framesOf = (world: World, slot: number): ServerFrame[] => world.framesOf(world.currentConnection(slot))
const lastFrame = (world: World, slot: number): ServerFrame | undefined => framesOf(world, slot).at(-1)
const lastOf = <T extends ServerFrame['type']>(world: World, slot: number, type: T): Extract<ServerFrame, { type: T }> | undefined =>
  framesOf(world, slot)
    .filter((f): f is Extract<ServerFrame, { type: T }> => f.type === type)
    .at(-1)
const publicOf = (index: number) => ({ username: users[index]!.username, name: users[index]!.name })

describe('ping', () => {
  it('is answered by pong with the same ref, or none without one, in a room or not', () => {
    const world = new World(UNLIMITED)
    world.open(0)
    world.command(0, { type: 'ping', ref: 'p1' })
    expect(lastFrame(world, 0)).toEqual({ type: 'pong', ref: 'p1' })
    world.command(0, { type: 'ping' })
    expect(lastFrame(world, 0)).toEqual({ type: 'pong' })
    world.command(0, { type: 'join' })
    world.command(0, { type: 'ping', ref: 'p2' })
    expect(lastFrame(world, 0)).toEqual({ type: 'pong', ref: 'p2' })
  })

  it('is heard only by the asking connection and changes nothing but its allowance', () => {
    const world = new World(UNLIMITED)
    world.open(0)
    world.open(3)
    world.open(1)
    world.command(0, { type: 'join' })
    world.command(1, { type: 'join' })
    const before = world.state
    const effects = world.dispatch({ type: 'CommandReceived', connection: world.currentConnection(0), command: { type: 'ping', ref: 'x' }, at: world.at })
    expect(effects.filter((e) => e.type === 'send')).toEqual([{ type: 'send', to: [world.currentConnection(0)], frame: { type: 'pong', ref: 'x' } }])
    expect(withoutLimits(world.state)).toEqual(withoutLimits(before))
  })

  it('draws on the join/leave allowance: past it, rate_limited with its ref', () => {
    // The harness allows join/leave/ping at 2 a second with a burst of 4.
    const world = new World()
    world.open(0)
    for (let i = 0; i < SETTINGS.rates.presence.burst; i++) world.command(0, { type: 'ping', ref: `p${i}` })
    expect(framesOf(world, 0).filter((f) => f.type === 'pong')).toHaveLength(SETTINGS.rates.presence.burst)
    world.command(0, { type: 'ping', ref: 'over' })
    expect(lastFrame(world, 0)).toEqual({ type: 'error', code: 'rate_limited', message: expect.any(String), ref: 'over', retryAfterMs: 500 })
    world.command(0, { type: 'join', ref: 'j' })
    expect(lastFrame(world, 0)).toMatchObject({ type: 'error', code: 'rate_limited', ref: 'j' })
    world.at += 500
    world.command(0, { type: 'ping', ref: 'later' })
    expect(lastFrame(world, 0)).toEqual({ type: 'pong', ref: 'later' })
  })

  it('a ping flood at five times the limit is closed 1008 like any other', () => {
    const world = new World()
    world.open(0)
    const effects = []
    for (let i = 0; i < 150 && world.isOpen(0); i++) {
      world.at += 100
      effects.push(...world.dispatch({ type: 'CommandReceived', connection: world.currentConnection(0), command: { type: 'ping' }, at: world.at }))
    }
    expect(effects).toContainEqual({ type: 'close', connection: world.currentConnection(0), code: 1008, reason: 'rate limit exceeded repeatedly' })
  })
})

describe('the protocol version', () => {
  it('welcome says protocol 1', () => {
    const world = new World(UNLIMITED)
    world.open(0)
    expect(framesOf(world, 0)[0]).toMatchObject({ type: 'welcome', protocol: 1 })
  })
})

describe('auth on a connection that is already signed in', () => {
  it('is refused bad_request, never repeating the token, and the connection goes on', () => {
    const world = new World(UNLIMITED)
    world.open(0)
    world.frame(0, '{"type":"auth","token":"secret.token.value"}')
    const refusal = lastFrame(world, 0)
    expect(refusal).toMatchObject({ type: 'error', code: 'bad_request' })
    expect(JSON.stringify(refusal)).not.toContain('secret.token.value')
    world.command(0, { type: 'ping', ref: 'still' })
    expect(lastFrame(world, 0)).toEqual({ type: 'pong', ref: 'still' })
  })
})

describe('who is typing, on arrival', () => {
  it('joined lists the users typing in the room right now', () => {
    const world = new World(UNLIMITED)
    world.open(1) // bia
    world.open(2) // caio
    world.command(1, { type: 'join' })
    world.command(2, { type: 'join' })
    world.command(1, { type: 'typing_start' })
    world.command(2, { type: 'typing_start' })
    world.open(0) // ana arrives
    world.command(0, { type: 'join' })
    expect(lastOf(world, 0, 'joined')?.typing).toEqual([publicOf(1), publicOf(2)])
  })

  it('lists nobody from another room or whose typing has ended; one whose time ran out until the tick tells everyone', () => {
    const world = new World(UNLIMITED)
    world.open(1)
    world.open(2)
    world.command(1, { type: 'join', room: 'sala-2' })
    world.command(2, { type: 'join' })
    world.command(1, { type: 'typing_start' })
    world.command(2, { type: 'typing_start' })
    world.command(2, { type: 'typing_stop' })
    world.open(0)
    world.command(0, { type: 'join' })
    expect(lastOf(world, 0, 'joined')?.typing).toEqual([])
    // Bia's indicator has run out, but until a tick ends it the others still see it, and so does a newcomer:
    // if bia starts again before the tick, nobody is told again.
    world.at += SETTINGS.typingTimeoutMs
    world.command(0, { type: 'join', room: 'sala-2' })
    expect(lastOf(world, 0, 'joined')).toMatchObject({ room: 'sala-2', typing: [publicOf(1)] })
    world.tick()
    expect(lastFrame(world, 0)).toEqual({ type: 'typing', room: 'sala-2', user: publicOf(1), typing: false })
  })

  it('never lists the joining user, not even to a new tab of a user typing in another', () => {
    const world = new World(UNLIMITED)
    world.open(0) // ana, tab 1
    world.open(1) // bia
    world.command(0, { type: 'join' })
    world.command(1, { type: 'join' })
    world.command(0, { type: 'typing_start' })
    world.command(1, { type: 'typing_start' })
    world.open(3) // ana, tab 2: joins the room she is in, while she types in tab 1
    expect(lastOf(world, 3, 'joined')).toMatchObject({ room: 'sala-1', typing: [publicOf(1)] })
    // Joining the room one is already in answers joined again, still without oneself.
    world.command(0, { type: 'join', ref: 'again' })
    expect(lastOf(world, 0, 'joined')).toMatchObject({ ref: 'again', typing: [publicOf(1)] })
  })

  it('a user who moves stops typing, and each of their tabs hears who types in the new room', () => {
    const world = new World(UNLIMITED)
    world.open(0)
    world.open(3)
    world.open(1)
    world.command(0, { type: 'join' })
    world.command(1, { type: 'join', room: 'sala-2' })
    world.command(1, { type: 'typing_start' })
    world.command(0, { type: 'typing_start' })
    world.command(0, { type: 'join', room: 'sala-2' })
    for (const slot of [0, 3]) expect(lastOf(world, slot, 'joined')).toMatchObject({ room: 'sala-2', typing: [publicOf(1)] })
    expect(world.state.typing.has(users[0]!.id)).toBe(false)
    // And bia, already there, hears ana arrive, not ana typing.
    expect(framesOf(world, 1).filter((f) => f.type === 'typing')).toEqual([])
  })
})

describe('replies that arrive after their connection moved say their room', () => {
  const inSala2 = () => {
    const world = new World(UNLIMITED)
    world.open(0)
    world.open(1)
    world.command(0, { type: 'join', room: 'sala-2' })
    world.command(1, { type: 'join', room: 'sala-3' })
    world.command(1, { type: 'message', text: messageText('already in sala 3'), clientId: 'x' })
    world.completeStores(Infinity, true)
    return world
  }

  it('an ack names the room the message was stored in, even when it arrives after a move', () => {
    const world = inSala2()
    world.command(0, { type: 'message', text: messageText('for sala 2'), clientId: 'c1', ref: 'm1' })
    world.command(0, { type: 'join', room: 'sala-3' })
    world.completeStores(Infinity, true)
    expect(lastOf(world, 0, 'ack')).toEqual({ type: 'ack', id: formatMessageId(1), room: 'sala-2', sentAt: expect.any(String), ref: 'm1', clientId: 'c1' })
  })

  it('the ack of a resend, from memory or from the store, names the room too', () => {
    const world = inSala2()
    world.command(0, { type: 'message', text: messageText('once'), clientId: 'c1', ref: 'm1' })
    world.completeStores(Infinity, true)
    world.command(0, { type: 'message', text: messageText('once'), clientId: 'c1', ref: 'm2' })
    expect(lastOf(world, 0, 'ack')).toMatchObject({ ref: 'm2', room: 'sala-2', id: formatMessageId(1) })
  })

  it('an error for a message the store lost names its room, even after a move', () => {
    const world = inSala2()
    world.command(0, { type: 'message', text: messageText('lost'), ref: 'm1' })
    world.command(0, { type: 'join', room: 'sala-3' })
    world.completeStores(Infinity, false)
    expect(lastOf(world, 0, 'error')).toMatchObject({ code: 'internal_error', ref: 'm1', room: 'sala-2' })
  })

  it('a refused attachment and a rate-limited message name the room they were written in', () => {
    const world = new World()
    world.open(0)
    world.command(0, { type: 'join', room: 'sala-2' })
    const foreign: Upload = { name: trusted(UploadName, 'C'.repeat(22)), owner: users[1]!.id, originalName: 'a.png', type: 'image/png', size: 1 }
    world.command(0, { type: 'message', attachments: [uploadUrl(foreign.name)], ref: 'a' }, new Map([[uploadUrl(foreign.name), foreign]]))
    expect(lastFrame(world, 0)).toMatchObject({ type: 'error', code: 'invalid_attachment', ref: 'a', room: 'sala-2' })
    for (let i = 0; i < SETTINGS.rates.message.burst; i++) world.command(0, { type: 'message', text: messageText(`m${i}`) })
    world.command(0, { type: 'message', text: messageText('over'), ref: 'over' })
    expect(lastFrame(world, 0)).toMatchObject({ type: 'error', code: 'rate_limited', ref: 'over', room: 'sala-2' })
  })

  it('errors that belong to no room say none', () => {
    const world = new World()
    world.open(0)
    world.command(0, { type: 'message', text: messageText('nowhere'), ref: 'n' })
    expect(lastFrame(world, 0)).toEqual({ type: 'error', code: 'not_in_room', message: expect.any(String), ref: 'n' })
    for (let i = 0; i <= SETTINGS.rates.typing.burst; i++) world.command(0, { type: 'typing_start', ref: `t${i}` })
    const limited = lastFrame(world, 0)
    expect(limited).toMatchObject({ type: 'error', code: 'rate_limited' })
    expect(limited).not.toHaveProperty('room')
  })
})
