import fc from 'fast-check'
import * as I from 'immutable'
import { describe, expect, it } from 'vitest'
import { RoomId } from '../../../src/core/brands.js'
import { trusted } from '../../../src/core/codecs.js'
import type { Effect } from '../../../src/core/chat/effects.js'
import { CONFIGURED_ROOM, type RoomEntry } from '../../../src/core/chat/state.js'
import { roomsFor } from '../../../src/core/chat/visibility.js'
import type { ServerFrame } from '../../../src/core/protocol/server-frames.js'
import { messageText, users } from '../../arbitraries.js'
import { UNLIMITED, World } from './harness.js'

// Issue 16's rules, as the executable spec: membership is not presence. A private room (and a
// conversation) is, to anyone who does not belong to it, exactly a room that does not exist; nothing of
// it reaches them; a user is present in at most one room; a member removed while present is moved out.

const PRIVATE = trusted(RoomId, 'r-private00001')
const DIRECT = trusted(RoomId, 'dm-anabia00001')
const NOWHERE = trusted(RoomId, 'r-nowhere00001')
const [ana, bia, caio] = users as [(typeof users)[0], (typeof users)[0], (typeof users)[0]]

const privateRoom = (name = 'Plans', archivedAt: number | null = null): RoomEntry => ({
  id: PRIVATE,
  name,
  profile: { kind: 'private', topic: 'what we plan', owner: ana, archivedAt, pair: [] },
})
const conversation: RoomEntry = { id: DIRECT, name: 'ana and bia', profile: { kind: 'direct', topic: null, owner: null, archivedAt: null, pair: [ana, bia] } }

/** A world where ana made the private room, and ana and bia have a conversation. */
const worldWithRooms = () => {
  const world = new World({ ...UNLIMITED, cluster: null })
  world.saveRoom(privateRoom())
  world.changeMembership(PRIVATE, 0, 'added')
  world.saveRoom(conversation)
  world.changeMembership(DIRECT, 0, 'added')
  world.changeMembership(DIRECT, 1, 'added')
  return world
}

const mentions = (frame: ServerFrame, room: RoomId): boolean => JSON.stringify(frame).includes(room)
/** The answer to joining a room that does not exist names the id the client asked for: it tells nothing. */
const echoesTheAsk = (frame: ServerFrame): boolean => frame.type === 'error' && frame.code === 'unknown_room'

type Action =
  | { readonly kind: 'open' | 'close'; readonly slot: number }
  | { readonly kind: 'join'; readonly slot: number; readonly room: RoomId | undefined }
  | { readonly kind: 'leave' | 'message' | 'typing'; readonly slot: number }
  | { readonly kind: 'add' | 'remove'; readonly user: number }
  | { readonly kind: 'rename' | 'archive' }

// Slot i is user i % 3; slot 3 is ana's second tab. Weighted so that plans often add someone, bring them in
// and remove them while they are there.
const SLOTS = [0, 1, 2, 3]
let removedWhilePresent = 0
const actions: fc.Arbitrary<ReadonlyArray<Action>> = fc.array(
  fc.oneof(
    { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('open' as const, 'close' as const), slot: fc.constantFrom(...SLOTS) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('join' as const), slot: fc.constantFrom(...SLOTS), room: fc.constantFrom(PRIVATE, PRIVATE, DIRECT, NOWHERE, trusted(RoomId, 'sala-2'), undefined) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('leave' as const, 'message' as const, 'typing' as const), slot: fc.constantFrom(...SLOTS) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('add' as const, 'remove' as const), user: fc.constantFrom(1, 2) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('rename' as const, 'archive' as const) }) },
  ),
  // fast-check keeps arrays short by default; these plans need room to add, enter and remove.
  { maxLength: 60, size: 'max' },
)

const play = (world: World, action: Action, step: number): void => {
  switch (action.kind) {
    case 'open':
      return world.open(action.slot)
    case 'close':
      return world.close(action.slot)
    case 'join':
      return world.command(action.slot, action.room === undefined ? { type: 'join' } : { type: 'join', room: action.room })
    case 'leave':
      return world.command(action.slot, { type: 'leave' })
    case 'message':
      world.command(action.slot, { type: 'message', text: messageText(`m${step}`) })
      return world.completeStores(Infinity, true)
    case 'typing':
      return world.command(action.slot, { type: 'typing_start' })
    case 'add':
    case 'remove':
      if (action.kind === 'remove' && world.state.users.get(users[action.user]!.id)?.room === PRIVATE) removedWhilePresent++
      return world.changeMembership(PRIVATE, action.user, action.kind === 'add' ? 'added' : 'removed')
    case 'rename':
      return world.saveRoom(privateRoom(`Plans ${step}`, world.state.rooms.get(PRIVATE)?.profile.archivedAt ?? null))
    case 'archive':
      return world.saveRoom(privateRoom(world.state.rooms.get(PRIVATE)?.name ?? 'Plans', world.at))
  }
}

const userOfConnection = (world: World, connection: string): number => users.findIndex((u) => u.id === world.state.connections.get(connection as never)?.user)

describe('membership and visibility (issue 16)', () => {
  it('nothing of a private room or a conversation reaches anyone who does not belong to it', () => {
    fc.assert(
      fc.property(actions, (plan) => {
        const world = worldWithRooms()
        plan.forEach((action, step) => {
          const before = users.map((_, i) => [world.isMember(i, PRIVATE), world.isMember(i, DIRECT)] as const)
          const connectionsBefore = new Map([...world.state.connections].map(([id, c]) => [id as string, users.findIndex((u) => u.id === c.user)]))
          const effects: Effect[] = []
          const stop = world.observers.push(({ effects: made }) => effects.push(...made))
          play(world, action, step)
          world.observers.splice(stop - 1, 1)
          for (const effect of effects) {
            if (effect.type !== 'send' || echoesTheAsk(effect.frame)) continue
            for (const to of effect.to) {
              const user = connectionsBefore.get(to) ?? userOfConnection(world, to)
              const [wasInPrivate, wasInDirect] = before[user] ?? [false, false]
              // A member removed in this very step is told so: they belonged until it.
              if (mentions(effect.frame, PRIVATE)) expect(wasInPrivate || world.isMember(user, PRIVATE), `${users[user]?.username} got ${JSON.stringify(effect.frame)}`).toBe(true)
              if (mentions(effect.frame, DIRECT)) expect(wasInDirect, `${users[user]?.username} got ${JSON.stringify(effect.frame)}`).toBe(true)
            }
          }
          // Present in at most one room, and only in one they may enter.
          for (const presence of world.state.users.values()) {
            const present = [...world.state.rooms.values()].filter((room) => room.members.has(presence.user.id)).map((room) => room.id)
            expect(present).toEqual(presence.room === null ? [] : [presence.room])
            if (presence.room === PRIVATE || presence.room === DIRECT) expect(presence.memberships.has(presence.room)).toBe(true)
          }
        })
      }),
      { numRuns: 300 },
    )
    // The plans do reach the case that matters most: a member removed while present.
    expect(removedWhilePresent).toBeGreaterThan(0)
  })

  it('to a non-member a private room is a room that does not exist: the same lists, counts and answers', () => {
    fc.assert(
      fc.property(actions, (plan) => {
        const world = worldWithRooms()
        plan.forEach((action, step) => play(world, action, step))
        // caio belongs to neither room unless added to the private one.
        const outsider = world.isMember(2, PRIVATE) ? undefined : caio
        if (outsider === undefined) return
        const memberships = world.state.users.get(outsider.id)?.memberships ?? I.Map()
        const withoutRooms = { ...world.state, rooms: world.state.rooms.remove(PRIVATE).remove(DIRECT) }
        expect(roomsFor(world.state, outsider.id, memberships)).toEqual(roomsFor(withoutRooms, outsider.id, memberships))
        // Joining either answers as joining a room that was never made, but for the name it was asked by.
        world.open(2)
        const answer = (room: RoomId) => {
          world.command(2, { type: 'join', room, ref: 'j' })
          return JSON.stringify(world.framesOf(world.currentConnection(2)).at(-1)).replaceAll(room, '<room>')
        }
        expect(answer(PRIVATE)).toEqual(answer(NOWHERE))
        expect(answer(DIRECT)).toEqual(answer(NOWHERE))
      }),
      { numRuns: 200 },
    )
  })
})

describe('rooms people make: examples', () => {
  it('a member added while connected sees the room arrive, enters it, and is moved out when removed', () => {
    const world = worldWithRooms()
    world.open(0)
    world.open(1)
    world.command(0, { type: 'join', room: PRIVATE })
    world.changeMembership(PRIVATE, 1, 'added')
    expect(world.framesOf(world.currentConnection(1)).at(-1)).toEqual({
      type: 'room_added',
      room: { id: PRIVATE, name: 'Plans', members: 1, visibility: 'private', unread: 0, member: true, topic: 'what we plan', owner: 'ana' },
    })
    world.command(1, { type: 'join', room: PRIVATE })
    expect(world.framesOf(world.currentConnection(1)).at(-1)).toMatchObject({ type: 'joined', room: PRIVATE })
    world.changeMembership(PRIVATE, 1, 'removed')
    expect(world.framesOf(world.currentConnection(0)).at(-1)).toEqual({ type: 'user_left', room: PRIVATE, user: { username: bia.username, name: bia.name }, reason: 'removed' })
    expect(world.framesOf(world.currentConnection(1)).slice(-2)).toEqual([
      { type: 'user_left', room: PRIVATE, user: { username: bia.username, name: bia.name }, reason: 'removed' },
      { type: 'room_removed', room: PRIVATE },
    ])
    expect(world.state.users.get(bia.id)?.room).toBe(null)
  })

  it('names a conversation after the other person, for each of the two', () => {
    const world = worldWithRooms()
    world.open(0)
    world.open(1)
    const welcomeOf = (slot: number) => world.framesOf(world.currentConnection(slot)).find((f) => f.type === 'welcome')
    expect(welcomeOf(0)).toMatchObject({ rooms: expect.arrayContaining([{ id: DIRECT, name: bia.name, members: 0, visibility: 'direct', unread: 0, member: true, with: { username: bia.username, name: bia.name } }]) })
    expect(welcomeOf(1)).toMatchObject({ rooms: expect.arrayContaining([{ id: DIRECT, name: ana.name, members: 0, visibility: 'direct', unread: 0, member: true, with: { username: ana.username, name: ana.name } }]) })
  })

  it('refuses new messages in an archived room, and still lets its members in to read', () => {
    const world = worldWithRooms()
    world.open(0)
    world.command(0, { type: 'join', room: PRIVATE })
    world.saveRoom(privateRoom('Plans', world.at))
    expect(world.framesOf(world.currentConnection(0)).at(-1)).toMatchObject({ type: 'room_updated', room: { id: PRIVATE, archived: true } })
    world.command(0, { type: 'message', text: messageText('too late'), ref: 'm' })
    expect(world.framesOf(world.currentConnection(0)).at(-1)).toMatchObject({ type: 'error', code: 'room_archived', ref: 'm', room: PRIVATE })
    expect(world.storing).toEqual([])
    world.command(0, { type: 'leave' })
    world.command(0, { type: 'join', room: PRIVATE, ref: 'again' })
    expect(world.framesOf(world.currentConnection(0)).at(-1)).toMatchObject({ type: 'joined', room: PRIVATE, ref: 'again' })
  })

  it('a new public room reaches everyone connected; a new private one only its members', () => {
    const world = new World({ ...UNLIMITED, cluster: null })
    world.open(0)
    world.open(1)
    const open: RoomEntry = { id: trusted(RoomId, 'r-open00000001'), name: 'Open', profile: { ...CONFIGURED_ROOM, owner: bia } }
    world.saveRoom(open)
    expect(world.framesOf(world.currentConnection(0)).at(-1)).toMatchObject({ type: 'room_added', room: { id: open.id, visibility: 'public', owner: 'bia' } })
    world.saveRoom(privateRoom())
    world.changeMembership(PRIVATE, 0, 'added')
    expect(world.framesOf(world.currentConnection(0)).at(-1)).toMatchObject({ type: 'room_added', room: { id: PRIVATE } })
    expect(world.framesOf(world.currentConnection(1)).some((f) => mentions(f, PRIVATE))).toBe(false)
  })
})

// Found by an attack on two processes: a member removed through one process while another still had them
// in the private room (it had not heard of the removal yet) was put back into it here by following the
// other process's report of where they are — a removed member inside the room, hearing and writing.
describe('across processes, a report of where a user is never lets them into a room they may not enter', () => {
  const CLUSTER = { ...UNLIMITED, cluster: { gapWaitMs: 100, presenceTtlMs: 15_000, processId: 'here' } }
  const clusterWorld = () => {
    const world = new World(CLUSTER)
    world.saveRoom(privateRoom())
    world.changeMembership(PRIVATE, 0, 'added')
    world.changeMembership(PRIVATE, 1, 'added')
    return world
  }
  const reportedIn = (world: World, room: RoomId, move: number) =>
    world.dispatch({ type: 'PeerAnnounced', origin: 'elsewhere', fact: { type: 'user_presence', user: bia, room, move }, at: world.at })

  it('a tab here does not follow a move into it made elsewhere before the removal was heard there, and leaves where it was', () => {
    const world = clusterWorld()
    world.open(1)
    world.command(1, { type: 'join', room: trusted(RoomId, 'sala-2') })
    world.changeMembership(PRIVATE, 1, 'removed')
    reportedIn(world, PRIVATE, 10)
    expect(world.state.users.get(bia.id)?.room).toBe(null)
    expect(world.state.rooms.get(PRIVATE)?.members.has(bia.id)).toBe(false)
    expect(world.framesOf(world.currentConnection(1)).some((f) => f.type === 'joined' && f.room === PRIVATE)).toBe(false)
  })

  it('a first tab here does not land in it, though the other process still lists them there', () => {
    const world = clusterWorld()
    world.changeMembership(PRIVATE, 1, 'removed')
    reportedIn(world, PRIVATE, 10)
    world.open(1)
    const welcome = world.framesOf(world.currentConnection(1)).find((f) => f.type === 'welcome')
    expect(welcome).not.toHaveProperty('room')
    expect(world.state.users.get(bia.id)?.room).toBe(null)
    expect(world.framesOf(world.currentConnection(1)).some((f) => f.type === 'joined')).toBe(false)
  })

  it('a first tab landing in the room the user is in elsewhere lists it as read, not with the messages they read there', () => {
    const world = clusterWorld()
    reportedIn(world, PRIVATE, 10)
    const said = { seq: 1, room: PRIVATE, user: ana, text: messageText('read elsewhere'), attachments: [], sentAt: world.at }
    world.stored.push(said)
    world.dispatch({ type: 'PeerAnnounced', origin: 'elsewhere', fact: { type: 'messages_stored', messages: [said] }, at: world.at })
    world.open(1)
    const welcome = world.framesOf(world.currentConnection(1)).find((f) => f.type === 'welcome')
    expect(welcome).toMatchObject({ room: PRIVATE, rooms: expect.arrayContaining([expect.objectContaining({ id: PRIVATE, unread: 0 })]) })
  })

  it('a member still follows a move into it', () => {
    const world = clusterWorld()
    world.open(1)
    reportedIn(world, PRIVATE, 10)
    expect(world.state.users.get(bia.id)?.room).toBe(PRIVATE)
  })
})

// What another process did while this one's cluster link was down reached no one here: when the link comes
// back, the catalog and the connected users' memberships are read again from the store.
describe('after the cluster link comes back', () => {
  const CLUSTER = { ...UNLIMITED, cluster: { gapWaitMs: 100, presenceTtlMs: 15_000, processId: 'here' } }
  const linked = () => {
    const world = new World(CLUSTER)
    world.saveRoom(privateRoom())
    world.changeMembership(PRIVATE, 0, 'added')
    world.changeMembership(PRIVATE, 1, 'added')
    return world
  }
  /** Another process's routes wrote this while no announcement could reach here. */
  const removedElsewhere = (world: World, userIndex: number, room: RoomId) => world.memberStore.get(users[userIndex]!.id)?.delete(room)
  const restored = (world: World) => world.dispatch({ type: 'ClusterLinkRestored', at: world.at })

  it('a removal missed in the outage takes the member out of the room here, as if it had been announced', () => {
    const world = linked()
    world.open(1)
    world.command(1, { type: 'join', room: PRIVATE })
    removedElsewhere(world, 1, PRIVATE)
    restored(world)
    expect(world.state.users.get(bia.id)?.memberships.has(PRIVATE)).toBe(false)
    expect(world.state.users.get(bia.id)?.room).toBe(null)
    expect(world.framesOf(world.currentConnection(1)).slice(-2)).toMatchObject([{ type: 'user_left', reason: 'removed' }, { type: 'room_removed', room: PRIVATE }])
    world.command(1, { type: 'join', room: PRIVATE, ref: 'again' })
    expect(world.framesOf(world.currentConnection(1)).at(-1)).toMatchObject({ type: 'error', code: 'unknown_room', ref: 'again' })
  })

  it('a room made and a membership added in the outage arrive, and a rename', () => {
    const world = linked()
    world.open(2)
    const made: RoomEntry = { id: trusted(RoomId, 'r-madeoutage01'), name: 'Made meanwhile', profile: { kind: 'private', topic: null, owner: ana, archivedAt: null, pair: [] } }
    world.roomStore.set(made.id, made)
    world.memberStore.set(caio.id, new Map([[made.id, 0]]))
    world.roomStore.set(PRIVATE, privateRoom('Renamed meanwhile'))
    restored(world)
    expect(world.framesOf(world.currentConnection(2)).filter((f) => f.type === 'room_added')).toMatchObject([{ room: { id: made.id, name: 'Made meanwhile' } }])
    expect(world.state.rooms.get(PRIVATE)?.name).toBe('Renamed meanwhile')
    // caio does not belong to the renamed room: he hears nothing of it.
    expect(world.framesOf(world.currentConnection(2)).some((f) => mentions(f, PRIVATE))).toBe(false)
  })

  it('reads the messages of the outage only once the removals of the outage are applied: the removed member gets none', () => {
    const world = linked()
    world.open(0)
    world.open(1)
    world.command(0, { type: 'join', room: PRIVATE })
    world.command(1, { type: 'join', room: PRIVATE })
    // During the outage, another process removed bia and ana's other tab there wrote in the room.
    removedElsewhere(world, 1, PRIVATE)
    world.stored.push({ seq: 1, room: PRIVATE, user: ana, text: messageText('after bia left'), attachments: [], sentAt: world.at })
    world.holdReloads = true
    const fills: Effect[] = []
    world.observers.push(({ effects }) => fills.push(...effects.filter((e) => e.type === 'fillGap')))
    restored(world)
    expect(fills).toEqual([])
    // A message announced meanwhile waits too: it comes after the outage's.
    world.dispatch({ type: 'PeerAnnounced', origin: 'elsewhere', fact: { type: 'messages_stored', messages: [{ seq: 2, room: PRIVATE, user: ana, text: messageText('later'), attachments: [], sentAt: world.at }] }, at: world.at })
    world.at += 1000
    world.tick()
    expect(fills).toEqual([])
    world.stored.push({ seq: 2, room: PRIVATE, user: ana, text: messageText('later'), attachments: [], sentAt: world.at })
    world.answerReloads()
    expect(fills.length).toBeGreaterThan(0)
    expect(world.framesOf(world.currentConnection(1)).filter((f) => f.type === 'message')).toEqual([])
    expect(world.framesOf(world.currentConnection(0)).filter((f) => f.type === 'message').map((f) => (f as { text: string }).text)).toEqual(['after bia left', 'later'])
  })

  it('takes nothing away on the word of a read older than a change made here meanwhile, and reads again', () => {
    const world = linked()
    world.open(1)
    world.holdReloads = true
    restored(world)
    // Added here after the read was asked: a stale read would not have it.
    const later: RoomEntry = { id: trusted(RoomId, 'r-later0000001'), name: 'Later', profile: { kind: 'private', topic: null, owner: ana, archivedAt: null, pair: [] } }
    world.saveRoom(later)
    world.changeMembership(later.id, 1, 'added')
    const stale = world.heldReloads.splice(0)
    world.memberStore.get(bia.id)?.delete(later.id)
    for (const reload of stale) world.dispatch({ type: 'RoomsReloaded', rooms: [...world.roomStore.values()], memberships: [{ user: bia.id, entries: [...world.memberStore.get(bia.id)!].map(([room, readSeq]) => ({ room, readSeq })) }], asOf: reload.asOf, attempt: reload.attempt, at: world.at })
    expect(world.state.users.get(bia.id)?.memberships.has(later.id)).toBe(true)
    expect(world.heldReloads).toHaveLength(1)
  })
})
