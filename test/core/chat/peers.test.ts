import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { RoomId } from '../../../src/core/brands.js'
import type { ClusterFact } from '../../../src/core/cluster/facts.js'
import type { Effect } from '../../../src/core/chat/effects.js'
import type { ServerFrame } from '../../../src/core/protocol/server-frames.js'
import { rooms, users } from '../../arbitraries.js'
import { UNLIMITED, World } from './harness.js'

// Presence across processes (issue 15): a user is in a room when they are there on any process. Each
// connection's picture of its room (its `joined` list, then every user_joined / user_left) must always
// equal that truth, whatever the processes announce, in whatever order, and whichever of them dies.

const TTL = 15_000
const CLUSTER = { ...UNLIMITED, cluster: { gapWaitMs: 100, presenceTtlMs: TTL, processId: 'p0' } }
const [sala1, sala2] = [rooms[0]!.id, rooms[1]!.id]
const PEERS = ['p1', 'p2'] as const

const fromPeer = (world: World, origin: string, fact: ClusterFact) => world.dispatch({ type: 'PeerAnnounced', origin, fact, at: world.at })
// Moves counted 0 by default: earlier than any move here, so the tabs here never follow them.
const place = (world: World, origin: string, userIndex: number, room: RoomId | null, move = 0, reason?: 'left' | 'disconnected') =>
  fromPeer(world, origin, { type: 'user_presence', user: users[userIndex]!, room, move, ...(reason === undefined ? {} : { reason }) })
const frames = (world: World, slot: number): ServerFrame[] => world.framesOf(world.currentConnection(slot))
const last = (world: World, slot: number, type: ServerFrame['type']) => frames(world, slot).filter((f) => f.type === type).at(-1)
const announced = (world: World) => {
  const facts: ClusterFact[] = []
  world.observers.push(({ effects }) => facts.push(...effects.flatMap((e: Effect) => (e.type === 'announce' ? [e.fact] : []))))
  return facts
}

/** The room as a connection pictures it: the last `joined` list, then each user_joined / user_left after it. */
const pictured = (world: World, slot: number): { room: string; users: Set<string> } | undefined => {
  let picture: { room: string; users: Set<string> } | undefined
  for (const frame of frames(world, slot)) {
    if (frame.type === 'joined') picture = { room: frame.room, users: new Set(frame.users.map((u) => u.username)) }
    else if (frame.type === 'user_joined' && frame.room === picture?.room) picture.users.add(frame.user.username)
    else if (frame.type === 'user_left' && frame.room === picture?.room) picture.users.delete(frame.user.username)
  }
  return picture
}

describe('presence across processes', () => {
  it('a user on another process is in the room for everyone here: user_joined, the joined list and the counts', () => {
    const world = new World(CLUSTER)
    world.open(0)
    world.command(0, { type: 'join', room: sala1 })
    place(world, 'p1', 1, sala1)
    expect(last(world, 0, 'user_joined')).toEqual({ type: 'user_joined', room: sala1, user: { username: users[1]!.username, name: users[1]!.name } })
    world.open(2)
    world.command(2, { type: 'join', room: sala1 })
    expect(pictured(world, 2)?.users).toEqual(new Set([users[0]!.username, users[1]!.username, users[2]!.username]))
    world.open(3)
    const welcome = last(world, 3, 'welcome')
    expect(welcome?.type === 'welcome' && welcome.rooms.find((r) => r.id === sala1)?.members).toBe(3)
  })

  it('a user with a tab here and one elsewhere leaves the room only when the last one does', () => {
    const world = new World(CLUSTER)
    world.open(0)
    world.command(0, { type: 'join', room: sala1 })
    world.open(1)
    world.command(1, { type: 'join', room: sala1 })
    place(world, 'p1', 1, sala1)
    expect(frames(world, 0).filter((f) => f.type === 'user_joined')).toHaveLength(1)
    world.close(1)
    expect(frames(world, 0).filter((f) => f.type === 'user_left')).toEqual([])
    place(world, 'p1', 1, null)
    expect(last(world, 0, 'user_left')).toMatchObject({ room: sala1, user: { username: users[1]!.username }, reason: 'left' })
  })

  it('asks to be woken when it first hears a process, so a silent one is declared gone in time with no other timer running', () => {
    const world = new World(CLUSTER)
    const wakes: Effect[] = []
    world.observers.push(({ effects }) => wakes.push(...effects.filter((e) => e.type === 'wakeAt')))
    place(world, 'p1', 1, sala1)
    expect(wakes).toContainEqual({ type: 'wakeAt', at: world.at + TTL })
  })

  it('a process not heard from for PRESENCE_TTL is gone, and its users with it; a heartbeat keeps it', () => {
    const world = new World(CLUSTER)
    world.open(0)
    world.command(0, { type: 'join', room: sala1 })
    place(world, 'p1', 1, sala1)
    place(world, 'p2', 2, sala1)
    world.at += TTL - 1
    fromPeer(world, 'p2', { type: 'heartbeat' })
    world.tick()
    expect(frames(world, 0).filter((f) => f.type === 'user_left')).toEqual([])
    world.at += 1
    world.tick()
    expect(frames(world, 0).filter((f) => f.type === 'user_left')).toEqual([
      { type: 'user_left', room: sala1, user: { username: users[1]!.username, name: users[1]!.name }, reason: 'disconnected' },
    ])
    expect(world.state.peers.has('p1')).toBe(false)
    expect(world.state.peers.has('p2')).toBe(true)
  })

  it('a process that says it is stopping is gone at once, its users with it, without the warning meant for crashes', () => {
    const world = new World(CLUSTER)
    world.open(0)
    world.command(0, { type: 'join', room: sala1 })
    place(world, 'p1', 1, sala1)
    const effects = fromPeer(world, 'p1', { type: 'process_stopping' })
    expect(frames(world, 0).filter((f) => f.type === 'user_left')).toMatchObject([{ reason: 'disconnected', user: { username: users[1]!.username } }])
    expect(world.state.peers.has('p1')).toBe(false)
    expect(effects).toContainEqual(expect.objectContaining({ type: 'log', level: 'info', message: 'process stopped' }))
    world.at += TTL
    world.tick()
    expect(world.steps.flatMap((step) => step.effects).filter((e) => e.type === 'log' && e.level === 'warn')).toEqual([])
  })

  it('asks a process it had not heard for its view, answers one that asks, not one that answers', () => {
    const world = new World(CLUSTER)
    world.open(0)
    world.command(0, { type: 'join', room: sala2 })
    const facts = announced(world)
    fromPeer(world, 'p1', { type: 'heartbeat' })
    expect(facts).toEqual([{ type: 'presence_snapshot', users: [{ user: users[0], room: sala2, move: 1 }], answer: false }])
    fromPeer(world, 'p1', { type: 'presence_snapshot', users: [], answer: true })
    expect(facts).toHaveLength(1)
    fromPeer(world, 'p1', { type: 'presence_snapshot', users: [], answer: false })
    expect(facts.at(-1)).toMatchObject({ type: 'presence_snapshot', answer: true })
  })

  it('reads what it missed when a process asks (it started, or its link came back) and when one is declared gone', () => {
    const world = new World(CLUSTER)
    const fills: Effect[] = []
    world.observers.push(({ effects }) => fills.push(...effects.filter((e) => e.type === 'fillGap')))
    fromPeer(world, 'p1', { type: 'heartbeat' })
    expect(fills).toEqual([])
    fromPeer(world, 'p1', { type: 'presence_snapshot', users: [], answer: false })
    expect(fills.map((e) => e.type === 'fillGap' && e.room)).toEqual(rooms.map((r) => r.id))
    fills.length = 0
    world.at += TTL
    world.tick()
    expect(fills.map((e) => e.type === 'fillGap' && e.room)).toEqual(rooms.map((r) => r.id))
  })

  it('a snapshot replaces what was known of its process: whoever it leaves out is gone (disconnected)', () => {
    const world = new World(CLUSTER)
    world.open(0)
    world.command(0, { type: 'join', room: sala1 })
    place(world, 'p1', 1, sala1)
    fromPeer(world, 'p1', { type: 'presence_snapshot', users: [{ user: users[2]!, room: sala1, move: 0 }], answer: true })
    expect(pictured(world, 0)?.users).toEqual(new Set([users[0]!.username, users[2]!.username]))
    expect(last(world, 0, 'user_left')).toMatchObject({ user: { username: users[1]!.username }, reason: 'disconnected' })
  })

  it('tells the other processes where its users are, only when there are any', () => {
    const clustered = new World(CLUSTER)
    const facts = announced(clustered)
    clustered.open(0)
    clustered.command(0, { type: 'join', room: sala1 })
    clustered.command(0, { type: 'join', room: sala2 })
    clustered.close(0)
    // Entering a public room the first time makes a membership, announced like an invitation.
    expect(facts).toEqual([
      { type: 'user_presence', user: users[0], room: sala1, move: 1 },
      { type: 'membership_changed', room: sala1, user: users[0], change: 'added', readSeq: 0 },
      { type: 'user_presence', user: users[0], room: null, reason: 'moved', move: 2 },
      { type: 'user_presence', user: users[0], room: sala2, move: 2 },
      { type: 'membership_changed', room: sala2, user: users[0], change: 'added', readSeq: 0 },
      { type: 'user_presence', user: users[0], room: null, reason: 'disconnected', move: 2 },
    ])
    const alone = new World(UNLIMITED)
    const none = announced(alone)
    alone.open(0)
    alone.command(0, { type: 'join', room: sala1 })
    expect(none).toEqual([])
  })

  it('typing crosses processes both ways, never to the typist’s own connections', () => {
    const world = new World(CLUSTER)
    const facts = announced(world)
    world.open(0)
    world.command(0, { type: 'join', room: sala1 })
    world.open(1)
    world.command(1, { type: 'join', room: sala1 })
    fromPeer(world, 'p1', { type: 'typing', user: users[1]!, room: sala1, typing: true })
    expect(last(world, 0, 'typing')).toMatchObject({ room: sala1, user: { username: users[1]!.username }, typing: true })
    expect(frames(world, 1).filter((f) => f.type === 'typing')).toEqual([])
    world.command(0, { type: 'typing_start' })
    expect(facts.filter((f) => f.type === 'typing')).toEqual([{ type: 'typing', user: users[0], room: sala1, typing: true, forMs: CLUSTER.typingTimeoutMs }])
  })

  it('a newcomer here sees another process’s typists; their typing ends when told, when they leave, or when its time runs out', () => {
    const world = new World(CLUSTER)
    world.open(0)
    world.command(0, { type: 'join', room: sala1 })
    place(world, 'p1', 1, sala1)
    place(world, 'p1', 2, sala1)
    fromPeer(world, 'p1', { type: 'typing', user: users[1]!, room: sala1, typing: true, forMs: 1000 })
    fromPeer(world, 'p1', { type: 'typing', user: users[2]!, room: sala1, typing: true, forMs: 60_000 })
    world.open(3)
    expect(last(world, 3, 'joined')).toMatchObject({ typing: [{ username: users[1]!.username }, { username: users[2]!.username }] })
    // The typing:false for users[1] is lost: its time runs out here instead.
    world.at += 1000
    world.tick()
    expect(last(world, 0, 'typing')).toMatchObject({ user: { username: users[1]!.username }, typing: false })
    // users[2] leaves the room there: user_left says it, no typing:false.
    const typingFrames = frames(world, 0).filter((f) => f.type === 'typing').length
    place(world, 'p1', 2, null, 0, 'left')
    expect(frames(world, 0).filter((f) => f.type === 'typing')).toHaveLength(typingFrames)
    expect(world.state.remoteTypists.size).toBe(0)
  })

  it('a typist here who goes on typing is announced again once half of the announced time has passed, not on every start', () => {
    const world = new World(CLUSTER)
    const facts = announced(world)
    world.open(0)
    world.command(0, { type: 'join', room: sala1 })
    const typing = () => facts.filter((f) => f.type === 'typing')
    world.command(0, { type: 'typing_start' })
    world.at += CLUSTER.typingTimeoutMs / 2 - 1
    world.command(0, { type: 'typing_start' })
    expect(typing()).toHaveLength(1)
    world.at += 1
    world.command(0, { type: 'typing_start' })
    expect(typing()).toHaveLength(2)
    world.command(0, { type: 'typing_stop' })
    expect(typing().at(-1)).toEqual({ type: 'typing', user: users[0], room: sala1, typing: false })
  })

  it('tells its revocations again when its link is back and to a process that asks, so one made during an outage closes everywhere', () => {
    const world = new World(CLUSTER)
    const facts = announced(world)
    world.open(0)
    world.revoke(0)
    const revoked = facts.filter((f) => f.type === 'session_revoked')
    expect(revoked).toHaveLength(1)
    world.dispatch({ type: 'ClusterLinkRestored', at: world.at })
    expect(facts.filter((f) => f.type === 'session_revoked')).toEqual([revoked[0], revoked[0]])
    fromPeer(world, 'p1', { type: 'presence_snapshot', users: [], answer: false })
    expect(facts.filter((f) => f.type === 'session_revoked')).toHaveLength(3)
    // Once the session would have expired anyway, it is forgotten and no longer told.
    world.at += 3_600_001
    world.tick()
    world.dispatch({ type: 'ClusterLinkRestored', at: world.at })
    expect(facts.filter((f) => f.type === 'session_revoked')).toHaveLength(3)
  })

  it('a session revoked on another process closes its connections here; one revoked here is announced', () => {
    const world = new World(CLUSTER)
    const facts = announced(world)
    world.open(0)
    world.open(1)
    fromPeer(world, 'p1', { type: 'session_revoked', session: world.sessionOf(0), expiresAt: world.at + 60_000 })
    expect(world.isOpen(0)).toBe(false)
    expect(world.isOpen(1)).toBe(true)
    world.revoke(1)
    expect(world.isOpen(1)).toBe(false)
    expect(facts.filter((f) => f.type === 'session_revoked')).toEqual([{ type: 'session_revoked', session: world.sessionOf(1).replace('-g1', '-g0'), expiresAt: world.at + 3_600_000 }])
  })

  it('a tab here follows a later move made on another process; an earlier one does not move it', () => {
    const world = new World(CLUSTER)
    world.open(0)
    world.command(0, { type: 'join', room: sala1 })
    place(world, 'p1', 0, sala2, 1)
    // Counted alike (1 and 1): the greater process id wins, and 'p1' > 'p0'.
    expect(last(world, 0, 'joined')).toMatchObject({ room: sala2 })
    place(world, 'p2', 0, sala1, 0)
    expect(last(world, 0, 'joined')).toMatchObject({ room: sala2 })
    place(world, 'p1', 0, null, 2, 'left')
    expect(world.state.users.get(users[0]!.id)?.room).toBeNull()
    expect(last(world, 0, 'user_left')).toMatchObject({ room: sala2, reason: 'left' })
    place(world, 'p1', 0, sala1, 3)
    place(world, 'p1', 0, null, 3, 'disconnected')
    expect(world.state.users.get(users[0]!.id)?.room).toBe(sala1)
  })

  it('a first tab here of a user who is in a room on another process lands in that room', () => {
    const world = new World(CLUSTER)
    place(world, 'p1', 0, sala2, 4)
    world.open(0)
    expect(last(world, 0, 'welcome')).toMatchObject({ room: sala2 })
    expect(last(world, 0, 'joined')).toMatchObject({ room: sala2 })
    expect(world.state.users.get(users[0]!.id)).toMatchObject({ room: sala2, moves: 4 })
  })

  it('two processes agree on the room of a user with tabs on both, whatever the users do and in whatever order the facts cross', () => {
    type Op =
      | { readonly kind: 'open' | 'close' | 'leave'; readonly side: number; readonly slot: number }
      | { readonly kind: 'join'; readonly side: number; readonly slot: number; readonly room: RoomId }
      | { readonly kind: 'deliver'; readonly side: number; readonly count: number }
    const side = fc.integer({ min: 0, max: 1 })
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constantFrom('open' as const, 'close' as const, 'leave' as const), side, slot: fc.integer({ min: 0, max: 2 }) }),
      fc.record({ kind: fc.constant('join' as const), side, slot: fc.integer({ min: 0, max: 2 }), room: fc.constantFrom(sala1, sala2, rooms[2]!.id) }),
      fc.record({ kind: fc.constant('deliver' as const), side, count: fc.integer({ min: 1, max: 4 }) }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const ids = ['a', 'b'] as const
        const worlds = ids.map((processId) => new World({ ...CLUSTER, cluster: { ...CLUSTER.cluster, processId } }))
        // What each process published, waiting to reach the other, in publishing order (as one Redis channel keeps it).
        const inFlight: ClusterFact[][] = [[], []]
        worlds.forEach((world, i) => world.observers.push(({ effects }) => inFlight[i]!.push(...effects.flatMap((e) => (e.type === 'announce' ? [e.fact] : [])))))
        const deliver = (from: number, count: number) => {
          for (const fact of inFlight[from]!.splice(0, count)) fromPeer(worlds[1 - from]!, ids[from]!, fact)
        }
        for (const o of ops) {
          const world = worlds[o.side]!
          if (o.kind === 'open') world.open(o.slot)
          else if (o.kind === 'close') world.close(o.slot)
          else if (o.kind === 'leave' && world.isOpen(o.slot)) world.command(o.slot, { type: 'leave' })
          else if (o.kind === 'join' && world.isOpen(o.slot)) world.command(o.slot, { type: 'join', room: o.room })
          else if (o.kind === 'deliver') deliver(o.side, o.count)
        }
        while (inFlight[0]!.length > 0 || inFlight[1]!.length > 0) {
          deliver(0, Infinity)
          deliver(1, Infinity)
        }
        for (const user of users) {
          const [a, b] = worlds.map((world) => world.state.users.get(user.id))
          if (a !== undefined && b !== undefined) expect(a.room).toBe(b.room)
        }
      }),
      { numRuns: 300 },
    )
  })

  type Action =
    | { readonly kind: 'open' | 'close' | 'leave'; readonly slot: number }
    | { readonly kind: 'join'; readonly slot: number; readonly room: RoomId }
    | { readonly kind: 'remote'; readonly peer: number; readonly user: number; readonly room: RoomId | null; readonly move: number }
    | { readonly kind: 'snapshot'; readonly peer: number; readonly entries: ReadonlyArray<{ readonly user: number; readonly room: RoomId; readonly move: number }> }
    | { readonly kind: 'heartbeat'; readonly peer: number }
    | { readonly kind: 'tick'; readonly ms: number }

  const slot = fc.integer({ min: 0, max: 3 })
  const room = fc.constantFrom(sala1, sala2)
  const peer = fc.integer({ min: 0, max: PEERS.length - 1 })
  const user = fc.integer({ min: 0, max: users.length - 1 })
  const action: fc.Arbitrary<Action> = fc.oneof(
    fc.record({ kind: fc.constantFrom('open' as const, 'close' as const, 'leave' as const), slot }),
    fc.record({ kind: fc.constant('join' as const), slot, room }),
    fc.record({ kind: fc.constant('remote' as const), peer, user, room: fc.option(room, { nil: null }), move: fc.nat({ max: 6 }) }),
    fc.record({ kind: fc.constant('snapshot' as const), peer, entries: fc.uniqueArray(fc.record({ user, room, move: fc.nat({ max: 6 }) }), { selector: (e) => e.user, maxLength: 3 }) }),
    fc.record({ kind: fc.constant('heartbeat' as const), peer }),
    fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: TTL }) }),
  )

  it('every connection’s picture of its room is who is there on any process, after every step', () => {
    fc.assert(
      fc.property(fc.array(action, { maxLength: 50 }), (plan) => {
        const world = new World(CLUSTER)
        // The model: what each live process last said about each user, and when it was last heard.
        const views = new Map<string, Map<number, RoomId>>()
        const heardAt = new Map<string, number>()
        const hear = (origin: string) => {
          heardAt.set(origin, world.at)
          if (!views.has(origin)) views.set(origin, new Map())
          return views.get(origin)!
        }
        for (const step of plan) {
          switch (step.kind) {
            case 'open':
              world.open(step.slot)
              break
            case 'close':
              if (world.isOpen(step.slot)) world.close(step.slot)
              break
            case 'leave':
              if (world.isOpen(step.slot)) world.command(step.slot, { type: 'leave' })
              break
            case 'join':
              if (world.isOpen(step.slot)) world.command(step.slot, { type: 'join', room: step.room })
              break
            case 'remote': {
              const origin = PEERS[step.peer]!
              const view = hear(origin)
              if (step.room === null) view.delete(step.user)
              else view.set(step.user, step.room)
              place(world, origin, step.user, step.room, step.move)
              break
            }
            case 'snapshot': {
              const origin = PEERS[step.peer]!
              hear(origin)
              views.set(origin, new Map(step.entries.map((e) => [e.user, e.room])))
              fromPeer(world, origin, { type: 'presence_snapshot', users: step.entries.map((e) => ({ user: users[e.user]!, room: e.room, move: e.move })), answer: true })
              break
            }
            case 'heartbeat':
              hear(PEERS[step.peer]!)
              fromPeer(world, PEERS[step.peer]!, { type: 'heartbeat' })
              break
            case 'tick':
              world.at += step.ms
              world.tick()
              for (const [origin, at] of heardAt) {
                if (world.at - at < TTL) continue
                views.delete(origin)
                heardAt.delete(origin)
              }
              break
          }
          const truth = (r: string) => {
            const present = new Set<string>()
            for (const presence of world.state.users.values()) if (presence.room === r) present.add(presence.user.username)
            for (const view of views.values()) for (const [u, at] of view) if (at === r) present.add(users[u]!.username)
            return present
          }
          for (const s of [0, 1, 2, 3]) {
            if (!world.isOpen(s)) continue
            const inRoom = world.state.users.get(users[s % users.length]!.id)?.room
            if (inRoom === null || inRoom === undefined) continue
            const picture = pictured(world, s)
            expect(picture?.room).toBe(inRoom)
            expect(picture?.users).toEqual(truth(inRoom))
          }
        }
      }),
      { numRuns: 300 },
    )
  })
})
