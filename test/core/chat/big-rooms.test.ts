import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { ConnectionId, RoomId } from '../../../src/core/brands.js'
import type { ServerFrame } from '../../../src/core/protocol/server-frames.js'
import type { ChatState } from '../../../src/core/chat/state.js'
import { messageText, rooms, user } from '../../arbitraries.js'
import { UNLIMITED, World } from './harness.js'

// Big rooms (issue 17, docs/big-rooms.md): version-2 members learn who is present from a first page, the
// `members` pages after it and `presence` frames gathered per window; version-1 members from the whole list
// and a frame per change. The executable spec: whatever people do, in whatever order, and whatever other
// processes announce,
// - the pages of a room, followed to the end, list exactly who is present (each page at most MEMBER_PAGE);
// - every version-2 member's view (its `joined`, pages and `presence` frames) becomes the room as it stands
//   once the windows have closed, and every version-1 member's view is the room as it stands after every step;
// - a `presence` or `members` frame reaches only members of its room who speak version 2, and counts the room;
// - a version-1 member never hears a message or typing from a user its view does not hold (a version-2
//   one may, from someone on a page it has not read; one who just arrived is announced first: an example).

const PAGE = 3
const WINDOW = 50
const PEOPLE = Array.from({ length: 9 }, (_, n) => user(`person${n}`))
const SLOTS = 12
const [sala1, sala2] = [rooms[0]!.id, rooms[1]!.id]
const SETTINGS = { ...UNLIMITED, memberPage: PAGE, presenceWindowMs: WINDOW, cluster: { gapWaitMs: 100, presenceTtlMs: 600_000, processId: 'person0' } }

type Action =
  | { readonly kind: 'open' | 'close' | 'leave' | 'type' | 'say' | 'page'; readonly slot: number }
  | { readonly kind: 'join'; readonly slot: number; readonly room: RoomId }
  | { readonly kind: 'elsewhere'; readonly person: number; readonly room: RoomId | null }
  | { readonly kind: 'wait'; readonly ms: number }
  | { readonly kind: 'tick' }

const slot = fc.nat({ max: SLOTS - 1 })
const room = fc.constantFrom(sala1, sala2)
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('open' as const), slot }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('close' as const), slot }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('join' as const), slot, room }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('leave' as const), slot }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('type' as const), slot }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('say' as const), slot }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('page' as const), slot }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('elsewhere' as const), person: fc.nat({ max: PEOPLE.length - 1 }), room: fc.option(room, { nil: null }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.oneof(fc.nat({ max: 30 }), fc.nat({ max: 120 })) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const) }) },
)

/** Slots 0, 3, 6, 9 speak version 1; the others version 2. */
const versionOf = (slot: number): 1 | 2 => (slot % 3 === 0 ? 1 : 2)

const newWorld = (): World => {
  const world = new World(SETTINGS)
  world.people = PEOPLE
  world.protocolOf = versionOf
  return world
}

/** Who is present in `room` on any process: the truth every view must come to. */
const present = (state: ChatState, room: RoomId): Set<string> => {
  const there = state.rooms.get(room)
  const names = new Set<string>()
  for (const id of there?.members ?? []) {
    const name = state.users.get(id)?.user.username
    if (name !== undefined) names.add(name)
  }
  for (const { user: remote } of there?.remote.values() ?? []) names.add(remote.username)
  return names
}

/** The room and its members as a connection pictures them from the frames it received, and what it heard unknown people say. */
interface Picture {
  room: string
  users: Set<string>
  count: number
  cursor: string | undefined
  strangers: string[]
}

const picture = (frames: ReadonlyArray<ServerFrame>): Picture | undefined => {
  let seen: Picture | undefined
  for (const frame of frames) {
    if (frame.type === 'joined') {
      seen = { room: frame.room, users: new Set(frame.users.map((u) => u.username)), count: frame.count, cursor: frame.cursor, strangers: [] }
      continue
    }
    if (seen === undefined || !('room' in frame) || frame.room !== seen.room) continue
    if (frame.type === 'user_joined') seen.users.add(frame.user.username)
    else if (frame.type === 'user_left') seen.users.delete(frame.user.username)
    else if (frame.type === 'presence' && frame.reset === true) {
      // More changes than a page: the room's first page again, paged on from its cursor.
      seen.users = new Set(frame.joins.map((u) => u.username))
      seen.count = frame.count
      seen.cursor = frame.cursor
    } else if (frame.type === 'presence') {
      for (const joined of frame.joins) seen.users.add(joined.username)
      for (const { user: left } of frame.leaves) seen.users.delete(left.username)
      seen.count = frame.count
    } else if (frame.type === 'members') {
      for (const listed of frame.users) seen.users.add(listed.username)
      seen.count = frame.count
      seen.cursor = frame.cursor
    } else if ((frame.type === 'message' || (frame.type === 'typing' && frame.typing)) && !seen.users.has(frame.user.username)) {
      seen.strangers.push(frame.user.username)
    }
  }
  return seen
}

const run = (world: World, act: Action): void => {
  switch (act.kind) {
    case 'open':
      return world.open(act.slot)
    case 'close':
      return world.close(act.slot)
    case 'join':
      if (world.isOpen(act.slot)) world.command(act.slot, { type: 'join', room: act.room })
      return
    case 'leave':
      if (world.isOpen(act.slot)) world.command(act.slot, { type: 'leave' })
      return
    case 'type':
      if (world.isOpen(act.slot)) world.command(act.slot, { type: 'typing_start' })
      return
    case 'say':
      if (world.isOpen(act.slot)) world.command(act.slot, { type: 'message', text: messageText('hello') })
      world.completeStores(Infinity, true)
      return
    case 'page': {
      if (!world.isOpen(act.slot)) return
      const seen = picture(world.framesOf(world.currentConnection(act.slot)))
      if (seen?.cursor !== undefined) world.command(act.slot, { type: 'members', room: seen.room, cursor: seen.cursor })
      return
    }
    case 'elsewhere':
      world.dispatch({ type: 'PeerAnnounced', origin: 'person1', fact: { type: 'user_presence', user: PEOPLE[act.person]!, room: act.room, move: 0 }, at: world.at })
      return
    case 'wait':
      // Time passes; only the timer the core asked for wakes it, as in the runtime.
      world.at += act.ms
      world.runTimers()
      return
    case 'tick':
      // A tick nobody asked for (another sweep's, a timer of the past) is harmless.
      return world.tick()
  }
}

/** The open connections of members of a room, with the room they are in and the version they speak. */
const listening = (world: World, state: ChatState = world.state): Array<{ slot: number; connection: ConnectionId; room: RoomId; version: 1 | 2 }> =>
  Array.from({ length: SLOTS }, (_, slot) => slot).flatMap((slot) => {
    const connection = world.currentConnection(slot)
    const open = state.connections.get(connection)
    if (open === undefined) return []
    const room = state.users.get(open.user)?.room
    return room === null || room === undefined ? [] : [{ slot, connection, room, version: versionOf(slot) }]
  })

/** Follows the member pages of `slot`'s room from the first to the last, as a client that scrolls to the end. */
const pageToEnd = (world: World, slot: number, room: RoomId, from?: string): Array<ReadonlyArray<string>> => {
  const connection = world.currentConnection(slot)
  const pages: Array<ReadonlyArray<string>> = []
  let cursor: string | undefined = from
  for (let asked = 0; asked < 100; asked++) {
    const before = world.framesOf(connection).length
    world.command(slot, { type: 'members', room, ...(cursor === undefined ? {} : { cursor }) })
    const answer = world.framesOf(connection).slice(before).find((f) => f.type === 'members')
    if (answer?.type !== 'members') throw new Error(`no members frame: ${JSON.stringify(world.framesOf(connection).slice(before))}`)
    pages.push(answer.users.map((u) => u.username))
    cursor = answer.cursor
    if (cursor === undefined) return pages
  }
  throw new Error('the pages never end')
}

describe('big rooms: member pages and gathered presence', () => {
  it('every view comes to the room as it stands; pages list exactly who is present; frames reach only members', () => {
    fc.assert(
      fc.property(fc.array(action, { minLength: 10, maxLength: 80, size: 'max' }), fc.constantFrom(0, 1), (actions, earlyBy) => {
        const world = newWorld()
        world.earlyBy = earlyBy
        world.observers.push(({ after, effects }) => {
          for (const effect of effects) {
            if (effect.type !== 'send' || (effect.frame.type !== 'presence' && effect.frame.type !== 'members')) continue
            const frame = effect.frame
            for (const to of effect.to) {
              const user = after.connections.get(to)?.user
              expect(user === undefined ? undefined : after.users.get(user)?.room).toBe(frame.room)
              expect(after.connections.get(to)?.protocol).toBe(2)
            }
            expect(frame.count).toBe(present(after, frame.room as RoomId).size)
            if (frame.type === 'members') expect(frame.users.length).toBeLessThanOrEqual(PAGE)
            // A member reads at most a page of names a window, however many came and went.
            if (frame.type === 'presence') expect(frame.joins.length + frame.leaves.length).toBeLessThanOrEqual(PAGE)
          }
        })
        for (const act of actions) {
          run(world, act)
          // Version 1 hears each change at once: its view is the truth after every action.
          for (const { connection, room: there, version } of listening(world)) {
            if (version === 1) expect(picture(world.framesOf(connection))?.users).toEqual(present(world.state, there))
          }
        }
        // A window later, every window opened has closed: the core asked to be woken for each.
        world.at += WINDOW
        world.runTimers()
        expect(world.state.presenceWindows.size).toBe(0)
        for (const { slot, connection, room: there, version } of listening(world)) {
          const truth = present(world.state, there)
          const seen = picture(world.framesOf(connection))!
          expect(seen.room).toBe(there)
          // Version 2 may hear someone on a page it has not read yet speak; never version 1 (its list is whole).
          if (version === 1) expect(seen.strangers).toEqual([])
          if (version === 1) continue
          // Once the windows have closed, what the view holds is present, and the pages it has not read
          // yet hold the rest: read on from its cursor to the end, the view is the room.
          for (const name of seen.users) expect(truth.has(name)).toBe(true)
          if (seen.cursor !== undefined) pageToEnd(world, slot, there, seen.cursor)
          expect(picture(world.framesOf(connection))!.users).toEqual(truth)
          expect(picture(world.framesOf(connection))!.count).toBe(truth.size)
          // And the pages from the first, read now, list exactly who is present.
          const pages = pageToEnd(world, slot, there)
          expect(new Set(pages.flat())).toEqual(truth)
          for (const page of pages) expect(page.length).toBeLessThanOrEqual(PAGE)
        }
      }),
      { numRuns: 300 },
    )
  })
})

describe('big rooms: examples', () => {
  const fill = (world: World, slots: ReadonlyArray<number>) => {
    for (const slot of slots) {
      world.open(slot)
      world.command(slot, { type: 'join', room: sala1 })
    }
  }

  /** Slot 1 alone in sala-1, its window closed: what it hears from now on. */
  const watching = (world: World): (() => ServerFrame[]) => {
    fill(world, [1])
    world.at += WINDOW
    world.runTimers()
    const watcher = world.currentConnection(1)
    const before = world.framesOf(watcher).length
    return () => world.framesOf(watcher).slice(before)
  }

  it('a first page holds the typists first, then the latest arrivals, with a cursor to the rest', () => {
    const world = newWorld()
    fill(world, [1, 2, 4, 5, 7])
    world.command(2, { type: 'typing_start' })
    world.open(8)
    world.command(8, { type: 'join', room: sala1 })
    const joined = world.framesOf(world.currentConnection(8)).find((f) => f.type === 'joined')
    // p2 types; p8 arrived last, then p7, p5 ...
    expect(joined).toMatchObject({ count: 6, users: [{ username: 'person2' }, { username: 'person8' }, { username: 'person7' }] })
    expect(joined?.type === 'joined' ? joined.cursor : undefined).toBeDefined()
    expect(pageToEnd(world, 8, sala1)).toEqual([['person2', 'person8', 'person7'], ['person5', 'person4', 'person2'], ['person1']])
  })

  it('a room under the page size lists everyone, without a cursor', () => {
    const world = newWorld()
    fill(world, [1, 2])
    const joined = world.framesOf(world.currentConnection(2)).find((f) => f.type === 'joined')
    expect(joined).toMatchObject({ count: 2, users: [{ username: 'person2' }, { username: 'person1' }] })
    expect(joined).not.toHaveProperty('cursor')
  })

  it('gathers a window of arrivals into one presence frame for version 2, while version 1 hears each', () => {
    const world = newWorld()
    fill(world, [0, 1])
    world.at += WINDOW
    world.tick()
    const v1 = world.currentConnection(0)
    const v2 = world.currentConnection(1)
    const [v1Before, v2Before] = [world.framesOf(v1).length, world.framesOf(v2).length]
    fill(world, [2, 4, 5])
    expect(world.framesOf(v1).slice(v1Before).map((f) => f.type)).toEqual(['user_joined', 'user_joined', 'user_joined'])
    expect(world.framesOf(v2).slice(v2Before)).toEqual([])
    world.at += WINDOW
    world.tick()
    expect(world.framesOf(v2).slice(v2Before)).toEqual([
      { type: 'presence', room: sala1, joins: [{ username: 'person2', name: 'Person2' }, { username: 'person4', name: 'Person4' }, { username: 'person5', name: 'Person5' }], leaves: [], count: 5 },
    ])
  })

  it('a user who arrives and leaves within a window is sent as gone: a view that saw them arrive drops them', () => {
    const world = newWorld()
    const heard = watching(world)
    fill(world, [2])
    world.close(2)
    world.at += WINDOW
    world.tick()
    expect(heard()).toEqual([
      { type: 'presence', room: sala1, joins: [], leaves: [{ user: { username: 'person2', name: 'Person2' }, reason: 'disconnected' }], count: 1 },
    ])
  })

  it('sends the window before a message from someone it holds the arrival of', () => {
    const world = newWorld()
    const heard = watching(world)
    fill(world, [2])
    world.command(2, { type: 'message', text: messageText('hi') })
    world.completeStores(Infinity, true)
    expect(heard().map((f) => f.type)).toEqual(['presence', 'message'])
  })

  it('refuses a cursor beyond any the room gave with bad_request', () => {
    const world = newWorld()
    fill(world, [1, 2, 4, 5])
    world.command(1, { type: 'members', room: sala1, cursor: '999999999999999', ref: 'r' })
    expect(world.framesOf(world.currentConnection(1)).at(-1)).toMatchObject({ type: 'error', code: 'bad_request', ref: 'r' })
    const next = String(world.state.rooms.get(sala1)!.roster.next)
    world.command(1, { type: 'members', room: sala1, cursor: next, ref: 'n' })
    expect(world.framesOf(world.currentConnection(1)).at(-1)).toMatchObject({ type: 'members', count: 4, ref: 'n' })
  })

  it('answers members for another room with not_in_room', () => {
    const world = newWorld()
    fill(world, [1])
    world.command(1, { type: 'members', room: sala2, ref: 'r' })
    expect(world.framesOf(world.currentConnection(1)).at(-1)).toMatchObject({ type: 'error', code: 'not_in_room', ref: 'r' })
  })

  it('sends a window of more changes than a page as the first page again, with a cursor to the rest', () => {
    const world = newWorld()
    const heard = watching(world)
    fill(world, [2, 4, 5, 7])
    world.at += WINDOW
    world.runTimers()
    expect(heard()).toEqual([
      {
        type: 'presence',
        room: sala1,
        joins: ['person7', 'person5', 'person4'].map((name) => ({ username: name, name: `P${name.slice(1)}` })),
        leaves: [],
        count: 5,
        reset: true,
        cursor: expect.any(String),
      },
    ])
    const reset = heard().at(-1)
    const rest = reset?.type === 'presence' ? pageToEnd(world, 1, sala1, reset.cursor) : []
    expect(rest).toEqual([['person2', 'person1']])
  })

  it('keeps the roster within twice the room while people come and go', () => {
    const world = newWorld()
    fill(world, [1])
    for (let round = 0; round < 50; round++) {
      fill(world, [2, 4])
      world.close(2)
      world.close(4)
    }
    const roster = world.state.rooms.get(sala1)!.roster
    expect(roster.seatOf.size).toBe(1)
    expect(roster.seats.size).toBeLessThanOrEqual(2 * roster.seatOf.size + 1)
  })

  it('the tick that closes one room’s window asks to be woken for another’s still open, and for its own when early', () => {
    const world = newWorld()
    fill(world, [1, 2])
    world.command(2, { type: 'join', room: sala2 })
    world.at += WINDOW
    world.runTimers()
    const start = world.at
    fill(world, [4])
    world.at = start + 20
    world.open(5)
    world.command(5, { type: 'join', room: sala2 })
    world.at = start + WINDOW
    const wakes = world.dispatch({ type: 'ClockTicked', at: world.at }).flatMap((e) => (e.type === 'wakeAt' ? [e.at] : []))
    expect(Math.min(...wakes)).toBe(start + 20 + WINDOW)
    // A timer a millisecond early: nothing is due yet, and the tick asks again.
    const early = world.dispatch({ type: 'ClockTicked', at: start + 20 + WINDOW - 1 }).flatMap((e) => (e.type === 'wakeAt' ? [e.at] : []))
    expect(Math.min(...early)).toBe(start + 20 + WINDOW)
  })
})
