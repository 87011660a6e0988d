import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { RoomId, type ConnectionId, type UserId } from '../../../src/core/brands.js'
import { trusted } from '../../../src/core/codecs.js'
import { unreadCap, type ChatState, type RoomEntry } from '../../../src/core/chat/state.js'
import { formatMessageId } from '../../../src/core/protocol/message-id.js'
import type { ServerFrame } from '../../../src/core/protocol/server-frames.js'
import { messageText, users } from '../../arbitraries.js'
import { UNLIMITED, World, type StepRecord } from './harness.js'

// Unread counts and read markers (docs/rooms.md): for every connected user and every room they belong to,
// the count is min(cap, stored messages of the room after the effective marker) — the room's last message
// while they are present there, their marker otherwise — whatever the interleaving; no count reaches
// anyone who does not belong to the room; every client's counts, built only from its frames, agree; and
// the follower index is what it derives from. The harness keeps 6 messages per room: the cap is 5.

const SALA1 = trusted(RoomId, 'sala-1')
const SALA2 = trusted(RoomId, 'sala-2')
const PRIVATE = trusted(RoomId, 'r-private00001')
const DIRECT = trusted(RoomId, 'dm-anabia00001')
const NOWHERE = trusted(RoomId, 'r-nowhere00001')
const [ana, bia] = users as [(typeof users)[0], (typeof users)[0]]

const privateRoom: RoomEntry = { id: PRIVATE, name: 'Plans', profile: { kind: 'private', topic: null, owner: ana, archivedAt: null, pair: [] } }
const conversation: RoomEntry = { id: DIRECT, name: 'Conversation', profile: { kind: 'direct', topic: null, owner: null, archivedAt: null, pair: [ana, bia] } }

const worldWithRooms = (): World => {
  const world = new World({ ...UNLIMITED, cluster: null })
  world.saveRoom(privateRoom)
  world.changeMembership(PRIVATE, 0, 'added')
  world.saveRoom(conversation)
  world.changeMembership(DIRECT, 0, 'added')
  world.changeMembership(DIRECT, 1, 'added')
  return world
}

type Action =
  | { readonly kind: 'open' | 'close' | 'leave'; readonly slot: number }
  | { readonly kind: 'join'; readonly slot: number; readonly room: RoomId | undefined }
  | { readonly kind: 'message'; readonly slot: number; readonly stored: boolean }
  | { readonly kind: 'store' }
  | { readonly kind: 'read'; readonly slot: number; readonly room: RoomId; readonly back: number }
  | { readonly kind: 'add' | 'remove'; readonly user: number; readonly room: RoomId }

// Slot i is user i % 3; slot 3 is ana's second tab. Messages come often, so counts reach the cap.
const ROOMS = [SALA1, SALA2, PRIVATE, DIRECT]
const slot = fc.constantFrom(0, 1, 2, 3)
const actions: fc.Arbitrary<ReadonlyArray<Action>> = fc.array(
  fc.oneof(
    { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('open' as const, 'close' as const, 'leave' as const), slot }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('join' as const), slot, room: fc.constantFrom(...ROOMS, NOWHERE, undefined) }) },
    { weight: 8, arbitrary: fc.record({ kind: fc.constant('message' as const), slot, stored: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('store' as const) }) },
    // `back`: how far below the room's last message the id read up to is; negative: beyond the end; 9: no
    // `upTo` at all (everything so far).
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('read' as const), slot, room: fc.constantFrom(...ROOMS, NOWHERE), back: fc.integer({ min: -3, max: 9 }) }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constantFrom('add' as const, 'remove' as const), user: fc.constantFrom(1, 2), room: fc.constantFrom(PRIVATE, SALA1) }),
    },
  ),
  { maxLength: 100, size: 'max' },
)

const play = (world: World, action: Action, step: number): void => {
  switch (action.kind) {
    case 'open':
      return world.open(action.slot)
    case 'close':
      return world.close(action.slot)
    case 'leave':
      return world.command(action.slot, { type: 'leave' })
    case 'join':
      return world.command(action.slot, action.room === undefined ? { type: 'join' } : { type: 'join', room: action.room })
    case 'message':
      world.command(action.slot, { type: 'message', text: messageText(`m${step}`) })
      return action.stored ? world.completeStores(Infinity, true) : undefined
    case 'store':
      return world.completeStores(Infinity, true)
    case 'read': {
      const last = world.state.rooms.get(action.room)?.lastSeq ?? 3
      if (action.back === 9) return world.command(action.slot, { type: 'read', room: action.room })
      return world.command(action.slot, { type: 'read', room: action.room, upTo: formatMessageId(Math.max(1, last - action.back)) })
    }
    case 'add':
    case 'remove':
      // A public room's membership is added only by entering it; removing it is leaving it (DELETE .../members/<you>).
      if (action.room === SALA1 && action.kind === 'add') return
      return world.changeMembership(action.room, action.user, action.kind === 'add' ? 'added' : 'removed')
  }
}

const cap = unreadCap(UNLIMITED)

/** What the store counts: its messages of the room after the marker, at most the cap. */
const storedAfter = (world: World, room: RoomId, marker: number): number =>
  Math.min(cap, world.stored.filter((m) => m.room === room && m.seq > marker).length)

/** The follower index as it derives from presence and memberships. */
const derivedFollowers = (state: ChatState, room: RoomId): UserId[] =>
  [...state.users.values()].filter((p) => p.memberships.has(room) && p.room !== room).map((p) => p.user.id).sort()

/** The counts a client believes, built only from its frames: welcome, room_added/updated/removed, unread. */
const applyCounts = (counts: Map<string, number>, frame: ServerFrame): void => {
  switch (frame.type) {
    case 'welcome':
      counts.clear()
      for (const room of frame.rooms) counts.set(room.id, room.unread)
      return
    case 'room_added':
    case 'room_updated':
      counts.set(frame.room.id, frame.room.unread)
      return
    case 'room_removed':
      counts.delete(frame.room)
      return
    case 'unread':
      counts.set(frame.room, frame.count)
      return
    default:
      return
  }
}

const check = (world: World, clientCounts: Map<ConnectionId, Map<string, number>>, { before, event, after, effects }: StepRecord): void => {
  for (const effect of effects) {
    if (effect.type !== 'send') continue
    for (const to of effect.to) {
      const counts = clientCounts.get(to) ?? new Map<string, number>()
      clientCounts.set(to, counts)
      applyCounts(counts, effect.frame)
      if (effect.frame.type !== 'unread') continue
      const user = after.connections.get(to)?.user ?? before.connections.get(to)?.user
      const presence = user === undefined ? undefined : after.users.get(user)
      if (presence?.memberships.has(effect.frame.room as RoomId) !== true) throw new Error(`an unread frame of ${effect.frame.room} reached ${to}, not a member`)
    }
  }
  // A read of a room one does not belong to answers as a room that does not exist, and changes nothing.
  if (event.type === 'CommandReceived' && event.command.type === 'read') {
    const user = before.connections.get(event.connection)?.user
    const room = event.command.room as RoomId
    if (user !== undefined && before.users.get(user)?.memberships.has(room) !== true) {
      expect(effects.filter((e) => e.type !== 'wakeAt')).toEqual([{ type: 'send', to: [event.connection], frame: { type: 'error', code: 'unknown_room', message: `there is no room ${JSON.stringify(room)}` } }])
      expect(after.users).toBe(before.users)
    }
  }
  for (const presence of after.users.values()) {
    for (const [roomId, membership] of presence.memberships) {
      const room = after.rooms.get(roomId)
      if (room === undefined) continue
      const marker = presence.room === roomId ? room.lastSeq : membership.readSeq
      const expected = storedAfter(world, roomId, marker)
      if (membership.unread !== expected) throw new Error(`${presence.user.username} counts ${membership.unread} in ${roomId}, the store ${expected} after ${marker}`)
      if (presence.room === roomId && membership.unread !== 0) throw new Error(`${presence.user.username} is in ${roomId} with ${membership.unread} unread`)
      for (const connection of presence.connections) {
        const believed = clientCounts.get(connection)?.get(roomId) ?? 0
        if (believed !== membership.unread) throw new Error(`${connection} believes ${believed} unread in ${roomId}, not ${membership.unread}`)
      }
    }
  }
  for (const room of after.rooms.values()) {
    const followers = [...room.followers].sort()
    const derived = derivedFollowers(after, room.id)
    if (followers.join() !== derived.join()) throw new Error(`${room.id} follows ${followers.join()}, derived ${derived.join()}`)
  }
}

let reachedCap = 0
let readBeyond = 0

describe('unread counts and read markers (issue 16)', () => {
  it('every count is what the store holds after the effective marker, capped; frames agree; followers derive', () => {
    fc.assert(
      fc.property(actions, (plan) => {
        const world = worldWithRooms()
        const clientCounts = new Map<ConnectionId, Map<string, number>>()
        world.observers.push((record) => {
          check(world, clientCounts, record)
          for (const p of record.after.users.values()) for (const m of p.memberships.values()) if (m.unread === cap) reachedCap++
          if (record.event.type === 'CommandReceived' && record.event.command.type === 'read') {
            const room = record.before.rooms.get(record.event.command.room as RoomId)
            if (room !== undefined && Number(record.event.command.upTo) > room.lastSeq) readBeyond++
          }
        })
        plan.forEach((action, step) => play(world, action, step))
      }),
      { numRuns: 300 },
    )
    // The plans reach the edges: counts at the cap, reads beyond the end.
    expect(reachedCap).toBeGreaterThan(0)
    expect(readBeyond).toBeGreaterThan(0)
  })
})

describe('unread counts: examples', () => {
  const frames = (world: World, slot: number) => world.framesOf(world.currentConnection(slot))

  it('counts messages while away, clears on entering, and writes the marker on leaving', () => {
    const world = worldWithRooms()
    world.open(0)
    world.open(1)
    world.command(0, { type: 'join', room: DIRECT })
    world.command(1, { type: 'join', room: SALA1 })
    world.command(0, { type: 'message', text: messageText('hi') })
    world.command(0, { type: 'message', text: messageText('there') })
    world.completeStores(Infinity, true)
    expect(frames(world, 1).filter((f) => f.type === 'unread')).toEqual([
      { type: 'unread', room: DIRECT, count: 1 },
      { type: 'unread', room: DIRECT, count: 2 },
    ])
    world.command(1, { type: 'join', room: DIRECT })
    expect(frames(world, 1).filter((f) => f.type === 'unread').at(-1)).toEqual({ type: 'unread', room: DIRECT, count: 0 })
    expect(world.memberStore.get(bia.id)?.get(SALA1)).toBe(0)
    world.close(1)
    expect(world.memberStore.get(bia.id)?.get(DIRECT)).toBe(2)
  })

  it('entering a public room the first time makes a membership at its last message', () => {
    const world = worldWithRooms()
    world.open(0)
    world.open(2)
    world.command(0, { type: 'join', room: SALA2 })
    world.command(0, { type: 'message', text: messageText('one') })
    world.completeStores(Infinity, true)
    expect(world.memberStore.get(users[2]!.id)?.has(SALA2) ?? false).toBe(false)
    world.command(2, { type: 'join', room: SALA2 })
    expect(world.memberStore.get(users[2]!.id)?.get(SALA2)).toBe(1)
    world.command(2, { type: 'join', room: SALA1 })
    world.command(0, { type: 'message', text: messageText('two') })
    world.completeStores(Infinity, true)
    expect(frames(world, 2).at(-1)).toEqual({ type: 'unread', room: SALA2, count: 1 })
    const welcome = (() => {
      world.open(5)
      return frames(world, 5).find((f) => f.type === 'welcome')
    })()
    expect(welcome?.type === 'welcome' && welcome.rooms.find((r) => r.id === SALA2)).toMatchObject({ unread: 1, member: true })
    expect(welcome?.type === 'welcome' && welcome.rooms.find((r) => r.id === 'sala-3')).toMatchObject({ unread: 0, member: false })
  })

  it('read moves the marker forward only, clamps beyond the end, and answers unknown_room for a room one does not belong to', () => {
    const world = worldWithRooms()
    world.open(0)
    world.open(1)
    world.command(0, { type: 'join', room: DIRECT })
    for (const text of ['a', 'b', 'c', 'd']) world.command(0, { type: 'message', text: messageText(text) })
    world.completeStores(Infinity, true)
    expect(world.state.users.get(bia.id)?.memberships.get(DIRECT)).toEqual({ readSeq: 0, unread: 4 })
    world.frame(1, JSON.stringify({ type: 'read', room: DIRECT, upTo: formatMessageId(3) }))
    expect(frames(world, 1).at(-1)).toEqual({ type: 'unread', room: DIRECT, count: 1 })
    world.command(1, { type: 'read', room: DIRECT, upTo: formatMessageId(1) })
    expect(world.state.users.get(bia.id)?.memberships.get(DIRECT)).toEqual({ readSeq: 3, unread: 1 })
    world.command(1, { type: 'read', room: DIRECT, upTo: formatMessageId(99) })
    expect(world.state.users.get(bia.id)?.memberships.get(DIRECT)).toEqual({ readSeq: 4, unread: 0 })
    expect(world.memberStore.get(bia.id)?.get(DIRECT)).toBe(4)
    world.command(1, { type: 'read', room: PRIVATE, upTo: formatMessageId(1), ref: 'r' })
    world.command(1, { type: 'read', room: NOWHERE, upTo: formatMessageId(1), ref: 'r' })
    const [hidden, missing] = frames(world, 1).slice(-2)
    expect(JSON.stringify(hidden).replace(PRIVATE, '<room>')).toEqual(JSON.stringify(missing).replace(NOWHERE, '<room>'))
    expect(missing).toMatchObject({ type: 'error', code: 'unknown_room', ref: 'r' })
    world.frame(1, JSON.stringify({ type: 'read', room: DIRECT, upTo: 'nonsense', ref: 'bad' }))
    expect(frames(world, 1).at(-1)).toMatchObject({ type: 'error', code: 'bad_request', ref: 'bad' })
  })

  it('saturates at the cap', () => {
    const world = worldWithRooms()
    world.open(0)
    world.open(1)
    world.command(0, { type: 'join', room: DIRECT })
    for (let i = 0; i < cap + 3; i++) world.command(0, { type: 'message', text: messageText(`m${i}`) })
    world.completeStores(Infinity, true)
    expect(frames(world, 1).filter((f) => f.type === 'unread').map((f) => f.type === 'unread' && f.count)).toEqual([1, 2, 3, 4, 5])
    world.close(1)
    world.open(1)
    const welcome = frames(world, 1).findLast((f) => f.type === 'welcome')
    expect(welcome?.type === 'welcome' && welcome.rooms.find((r) => r.id === DIRECT)?.unread).toBe(cap)
  })
})
