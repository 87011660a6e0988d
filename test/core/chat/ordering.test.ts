import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import * as O from 'fp-ts/lib/Option.js'
import { formatMessageId, parseMessageId } from '../../../src/core/protocol/message-id.js'
import type { ServerFrame } from '../../../src/core/protocol/server-frames.js'
import type { Effect } from '../../../src/core/chat/effects.js'
import type { StoredMessage } from '../../../src/core/chat/state.js'
import { messageText, rooms, users } from '../../arbitraries.js'
import { UNLIMITED, World } from './harness.js'

// Issue 15's order promise, for one process among several: whatever order the other processes'
// announcements arrive in, and whichever are lost, every member here receives the room's messages in seq
// order, each once, and in the end every stored one (the lost ones from the store, after GAP_WAIT_MS).

const GAP_WAIT_MS = 100
const CLUSTER = { ...UNLIMITED, cluster: { gapWaitMs: GAP_WAIT_MS, presenceTtlMs: 15_000, processId: 'here' } }
const room = rooms[0]!.id
const SLOTS = [0, 1, 2]

const seqOf = (frame: ServerFrame): number | undefined => {
  if (frame.type !== 'message' && frame.type !== 'ack') return undefined
  const seq = parseMessageId(frame.id)
  return O.isSome(seq) ? seq.value : undefined
}

/** Three users of this process in the room; the store is shared with other processes. */
const threeInRoom = () => {
  const world = new World(CLUSTER)
  for (const slot of SLOTS) {
    world.open(slot)
    world.command(slot, { type: 'join' })
  }
  return world
}

/** Another process stores a message in the room: numbered by the store like ours. */
const storedElsewhere = (world: World, text: string): StoredMessage => {
  const seq = Math.max(0, ...world.stored.filter((m) => m.room === room).map((m) => m.seq)) + 1
  const message: StoredMessage = { seq, room, user: users[1]!, text: messageText(text), attachments: [], sentAt: world.at }
  world.stored.push(message)
  return message
}

const announce = (world: World, messages: ReadonlyArray<StoredMessage>) =>
  world.dispatch({ type: 'PeerAnnounced', origin: 'elsewhere', fact: { type: 'messages_stored', messages }, at: world.at })

const waitOut = (world: World) => {
  world.at += GAP_WAIT_MS
  world.tick()
}

type Action =
  | { readonly kind: 'post'; readonly slot: number }
  | { readonly kind: 'complete'; readonly count: number }
  | { readonly kind: 'elsewhere' }
  | { readonly kind: 'announce'; readonly pick: number; readonly lost: boolean }
  | { readonly kind: 'tick'; readonly ms: number }

const actions: fc.Arbitrary<ReadonlyArray<Action>> = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant('post' as const), slot: fc.constantFrom(...SLOTS) }),
    fc.record({ kind: fc.constant('complete' as const), count: fc.integer({ min: 1, max: 3 }) }),
    fc.record({ kind: fc.constant('elsewhere' as const) }),
    fc.record({ kind: fc.constant('announce' as const), pick: fc.nat(), lost: fc.integer({ min: 0, max: 4 }).map((n) => n === 0) }),
    fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 2 * GAP_WAIT_MS }) }),
  ),
  { maxLength: 60 },
)

describe('ordered delivery across processes', () => {
  it('every member receives the room’s messages in seq order, each once, and in the end all of them', () => {
    fc.assert(
      fc.property(actions, (plan) => {
        const world = threeInRoom()
        const unannounced: StoredMessage[] = []
        let posted = 0
        for (const action of plan) {
          switch (action.kind) {
            case 'post':
              world.command(action.slot, { type: 'message', text: messageText(`here ${posted++}`), ref: `r${posted}` })
              break
            case 'complete':
              world.completeStores(action.count, true)
              break
            case 'elsewhere':
              unannounced.push(storedElsewhere(world, `there ${world.stored.length}`))
              break
            case 'announce': {
              const [message] = unannounced.splice(action.pick % Math.max(1, unannounced.length), 1)
              if (message !== undefined && !action.lost) announce(world, [message])
              break
            }
            case 'tick':
              world.at += action.ms
              world.tick()
              break
          }
          for (const slot of SLOTS) {
            const seqs = world.framesOf(world.currentConnection(slot)).filter((f) => f.type === 'message').map(seqOf)
            expect(seqs).toEqual([...seqs].sort((a, b) => a! - b!))
            expect(new Set(seqs).size).toBe(seqs.length)
          }
        }
        // Everything settles: our stores answer, the rest is announced, or lost and the link comes back.
        world.completeStores(Infinity, true)
        announce(world, unannounced.splice(0))
        waitOut(world)
        world.dispatch({ type: 'ClusterLinkRestored', at: world.at })
        const all = world.stored.filter((m) => m.room === room).map((m) => m.seq).sort((a, b) => a - b)
        for (const slot of SLOTS) {
          const seqs = world.framesOf(world.currentConnection(slot)).map(seqOf).filter((seq) => seq !== undefined)
          expect([...seqs].sort((a, b) => a - b)).toEqual(all)
        }
        const settled = world.state.rooms.get(room)!
        expect(settled.held.size).toBe(0)
        expect(settled.gap).toEqual({ state: 'none' })
        expect(settled.lastSeq).toBe(all.at(-1) ?? 0)
      }),
      { numRuns: 300 },
    )
  })

  it('holds a message that overtook an earlier one, delivers both in order when the earlier one comes, and asks the store for nothing', () => {
    const world = threeInRoom()
    const [first, second] = [storedElsewhere(world, 'one'), storedElsewhere(world, 'two')]
    const fills: Effect[] = []
    world.observers.push(({ effects }) => fills.push(...effects.filter((e) => e.type === 'fillGap')))
    announce(world, [second!])
    expect(world.framesOf(world.currentConnection(0)).filter((f) => f.type === 'message')).toEqual([])
    announce(world, [first!])
    expect(world.framesOf(world.currentConnection(0)).filter((f) => f.type === 'message').map(seqOf)).toEqual([1, 2])
    waitOut(world)
    expect(fills).toEqual([])
  })

  it('fills a lost announcement from the store after the wait, and skips a number no message kept', () => {
    const world = threeInRoom()
    const lost = storedElsewhere(world, 'lost')
    // Seq 2 was used by a resend the store left out: no message has it.
    const third = { ...storedElsewhere(world, 'third'), seq: 3 }
    world.stored.splice(world.stored.indexOf(world.stored.at(-1)!), 1, third)
    const fills: Effect[] = []
    world.observers.push(({ effects }) => fills.push(...effects.filter((e) => e.type === 'fillGap')))
    announce(world, [third])
    world.at += GAP_WAIT_MS - 1
    world.tick()
    expect(fills).toEqual([])
    world.at += 1
    world.tick()
    expect(fills).toEqual([{ type: 'fillGap', room, after: 0, before: 4 }])
    expect(world.framesOf(world.currentConnection(0)).filter((f) => f.type === 'message').map(seqOf)).toEqual([lost.seq, 3])
  })

  it('our own message numbered after one from elsewhere waits for it, then is acked and delivered in order', () => {
    const world = threeInRoom()
    const elsewhere = storedElsewhere(world, 'first, from elsewhere')
    world.command(0, { type: 'message', text: messageText('second, from here'), ref: 'mine' })
    world.completeStores(1, true)
    expect(world.framesOf(world.currentConnection(0)).filter((f) => f.type === 'ack')).toEqual([])
    expect(world.framesOf(world.currentConnection(1)).filter((f) => f.type === 'message')).toEqual([])
    announce(world, [elsewhere])
    expect(world.framesOf(world.currentConnection(1)).filter((f) => f.type === 'message').map(seqOf)).toEqual([1, 2])
    expect(world.framesOf(world.currentConnection(0)).map(seqOf).filter((seq) => seq !== undefined)).toEqual([1, 2])
  })

  it('announces what this process stored, once per batch, only when other processes share the chat', () => {
    const announced = (world: World) => {
      const facts: Effect[] = []
      world.observers.push(({ effects }) => facts.push(...effects.filter((e) => e.type === 'announce')))
      world.command(0, { type: 'message', text: messageText('a'), ref: 'a' })
      world.command(1, { type: 'message', text: messageText('b'), ref: 'b' })
      world.completeStores(2, true)
      return facts
    }
    const clustered = announced(threeInRoom())
    expect(clustered).toHaveLength(1)
    expect(clustered[0]).toMatchObject({ type: 'announce', fact: { type: 'messages_stored', messages: [{ seq: 1 }, { seq: 2 }] } })
    const alone = new World(UNLIMITED)
    for (const slot of SLOTS) {
      alone.open(slot)
      alone.command(slot, { type: 'join' })
    }
    expect(announced(alone)).toEqual([])
  })

  it('reads every hole up to the last message it holds at once, not one hole per wait', () => {
    const world = threeInRoom()
    const messages = Array.from({ length: 6 }, (_, i) => storedElsewhere(world, `m${i}`))
    const fills: Effect[] = []
    world.observers.push(({ effects }) => fills.push(...effects.filter((e) => e.type === 'fillGap')))
    // 1, 3 and 5 lost; 2, 4 and 6 arrive.
    announce(world, [messages[1]!, messages[3]!, messages[5]!])
    waitOut(world)
    expect(fills).toEqual([{ type: 'fillGap', room, after: 0, before: 7 }])
    expect(world.framesOf(world.currentConnection(0)).filter((f) => f.type === 'message').map(seqOf)).toEqual([1, 2, 3, 4, 5, 6])
  })

  it('a read that fails with nothing held (after the link came back) is asked again after the wait', () => {
    const world = threeInRoom()
    const fills: Effect[] = []
    world.observers.push(({ effects }) => fills.push(...effects.filter((e) => e.type === 'fillGap')))
    world.dispatch({ type: 'ClusterLinkRestored', at: world.at })
    expect(fills.filter((e) => e.type === 'fillGap' && e.room === room)).toEqual([{ type: 'fillGap', room, after: 0, before: Infinity }])
    fills.length = 0
    world.dispatch({ type: 'GapNotFilled', room, error: { condition: 'busy', code: '57P01', message: 'terminating connection' }, at: world.at })
    const lost = storedElsewhere(world, 'stored while the read failed')
    waitOut(world)
    expect(fills).toEqual([{ type: 'fillGap', room, after: 0, before: Infinity }])
    expect(world.framesOf(world.currentConnection(0)).filter((f) => f.type === 'message').map(seqOf)).toEqual([lost.seq])
  })
})

// A client that moves to this process rejoins with `since` naming the last message it saw elsewhere; this
// process may not have delivered that message yet (in flight, held behind a hole, or lost with the process
// that stored it). Its `joined` waits until it has, and then holds exactly what came after, with no gap.
describe('catching up on a process that is behind the client', () => {
  const idOf = (seq: number) => formatMessageId(seq)
  const joinedOf = (world: World, slot: number) => world.framesOf(world.currentConnection(slot)).filter((f) => f.type === 'joined')
  /** What the slot received since it last joined: the joined's history, then the messages after it. */
  const viewAfterJoin = (world: World, slot: number): number[] => {
    const frames = world.framesOf(world.currentConnection(slot))
    const at = frames.findLastIndex((f) => f.type === 'joined')
    if (at < 0) return []
    const joined = frames[at] as Extract<ServerFrame, { type: 'joined' }>
    return [...joined.history.map((m) => seqOf({ type: 'message', ...m })!), ...frames.slice(at + 1).map(seqOf).filter((seq) => seq !== undefined)]
  }
  /** Slot 0 comes back (a new connection) and rejoins with `since`. */
  const rejoin = (world: World, since: number) => {
    world.close(0)
    world.open(0)
    world.framesOf(world.currentConnection(0)).length = 0
    world.command(0, { type: 'join', room, since: idOf(since), ref: 'back' })
  }

  it('reads the store when nothing brings the message, and answers with what came after it, no gap', () => {
    const world = threeInRoom()
    const lost = [storedElsewhere(world, 'one'), storedElsewhere(world, 'two'), storedElsewhere(world, 'three')]
    rejoin(world, lost[1]!.seq)
    const [joined] = joinedOf(world, 0)
    expect(joined).toMatchObject({ type: 'joined', room, ref: 'back' })
    expect(joined).not.toHaveProperty('gap')
    expect(viewAfterJoin(world, 0)).toEqual([3])
    // The others got all three as live messages, in order.
    expect(world.framesOf(world.currentConnection(1)).filter((f) => f.type === 'message').map(seqOf)).toEqual([1, 2, 3])
  })

  it('waits for an announcement in flight, hears nothing of the room meanwhile, and gets no message twice', () => {
    const world = threeInRoom()
    world.holdFills = true
    const [one, two] = [storedElsewhere(world, 'one'), storedElsewhere(world, 'two')]
    rejoin(world, two!.seq)
    expect(joinedOf(world, 0)).toEqual([])
    world.command(1, { type: 'typing_start' })
    announce(world, [one!])
    expect(world.framesOf(world.currentConnection(0))).toEqual([])
    announce(world, [two!])
    expect(joinedOf(world, 0)).toHaveLength(1)
    expect(joinedOf(world, 0)[0]).toMatchObject({ history: [], typing: [{ username: users[1]!.username }] })
    // The store's answer, late, brings nothing new; later messages come live.
    world.answerFills()
    const three = storedElsewhere(world, 'three')
    announce(world, [three])
    expect(viewAfterJoin(world, 0)).toEqual([3])
    expect(world.state.catchingUp.size).toBe(0)
  })

  it('answers a since that names no stored message as on one process: the latest, with gap: true', () => {
    const world = threeInRoom()
    storedElsewhere(world, 'one')
    rejoin(world, 999)
    expect(joinedOf(world, 0)).toEqual([expect.objectContaining({ type: 'joined', gap: true, ref: 'back' })])
    expect(world.state.catchingUp.size).toBe(0)
  })

  it('forgets a waiting join when its connection closes or its user leaves, and sends it nothing', () => {
    const world = threeInRoom()
    world.holdFills = true
    const one = storedElsewhere(world, 'one')
    rejoin(world, one.seq)
    world.command(0, { type: 'leave' })
    expect(world.state.catchingUp.size).toBe(0)
    rejoin(world, one.seq)
    world.close(0)
    expect(world.state.catchingUp.size).toBe(0)
    world.answerFills()
    expect(world.framesOf(world.currentConnection(0)).filter((f) => f.type === 'joined')).toEqual([])
  })

  it('whatever the interleaving, the mover sees exactly the messages after its since, in order, once', () => {
    type Step =
      | { readonly kind: 'elsewhere' }
      | { readonly kind: 'announce'; readonly pick: number; readonly lost: boolean }
      | { readonly kind: 'answer' }
      | { readonly kind: 'tick'; readonly ms: number }
      | { readonly kind: 'post'; readonly slot: 1 | 2 }
      | { readonly kind: 'complete' }
    const steps: fc.Arbitrary<ReadonlyArray<Step>> = fc.array(
      fc.oneof(
        fc.record({ kind: fc.constant('elsewhere' as const) }),
        fc.record({ kind: fc.constant('announce' as const), pick: fc.nat(), lost: fc.integer({ min: 0, max: 3 }).map((n) => n === 0) }),
        fc.record({ kind: fc.constant('answer' as const) }),
        fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 2 * GAP_WAIT_MS }) }),
        fc.record({ kind: fc.constant('post' as const), slot: fc.constantFrom(1 as const, 2 as const) }),
        fc.record({ kind: fc.constant('complete' as const) }),
      ),
      { maxLength: 40 },
    )
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.nat(), steps, (before, pickSince, plan) => {
        const world = threeInRoom()
        world.holdFills = true
        const unannounced: StoredMessage[] = []
        for (let i = 0; i < before; i++) unannounced.push(storedElsewhere(world, `before ${i}`))
        // Some of what came before reached this process already, in order.
        const reached = unannounced.splice(0, pickSince % (before + 1))
        if (reached.length > 0) announce(world, reached)
        // The client saw up to a message stored before it moved (maybe one this process has, maybe not).
        const since = 1 + (pickSince % before)
        rejoin(world, since)
        for (const action of plan) {
          switch (action.kind) {
            case 'elsewhere':
              unannounced.push(storedElsewhere(world, `later ${world.stored.length}`))
              break
            case 'announce': {
              const [message] = unannounced.splice(action.pick % Math.max(1, unannounced.length), 1)
              if (message !== undefined && !action.lost) announce(world, [message])
              break
            }
            case 'answer':
              world.answerFills(1)
              break
            case 'tick':
              world.at += action.ms
              world.tick()
              break
            case 'post':
              world.command(action.slot, { type: 'message', text: messageText('from here') })
              break
            case 'complete':
              world.completeStores(1, true)
              break
          }
          const seen = viewAfterJoin(world, 0)
          expect(seen).toEqual([...seen].sort((a, b) => a - b))
          expect(new Set(seen).size).toBe(seen.length)
          expect(seen.every((seq) => seq > since)).toBe(true)
        }
        // Everything settles: the rest is announced, the stores answer, the reads are answered.
        world.completeStores(Infinity, true)
        announce(world, unannounced.splice(0))
        waitOut(world)
        world.answerFills()
        world.dispatch({ type: 'ClusterLinkRestored', at: world.at })
        world.answerFills()
        expect(joinedOf(world, 0)).toHaveLength(1)
        expect(joinedOf(world, 0)[0]).not.toHaveProperty('gap')
        const after = world.stored.filter((m) => m.room === room && m.seq > since).map((m) => m.seq).sort((a, b) => a - b)
        expect(viewAfterJoin(world, 0)).toEqual(after)
      }),
      { numRuns: 300 },
    )
  })
})

// What a fresh attack on the cluster found (issue 15): a number that is wrong for the room (an announcement
// of a message the store does not have, or the store numbering below what was delivered after it lost its
// last commits) must not silence the room; and an ack must not overtake the room's order.
describe('numbers the room cannot trust', () => {
  const messagesOf = (world: World, slot: number) => world.framesOf(world.currentConnection(slot)).filter((f) => f.type === 'message').map(seqOf)
  const logsOf = (world: World) => world.steps.flatMap((record) => record.effects.filter((e) => e.type === 'log'))

  it('drops an announced message the store does not have, says so, and goes on delivering the room', () => {
    const world = threeInRoom()
    const first = storedElsewhere(world, 'one')
    announce(world, [first])
    // Forged (or from another deployment sharing the prefix): the store never numbered it.
    announce(world, [{ ...first, seq: 1_000_000_000, text: messageText('forged') }])
    waitOut(world)
    expect(logsOf(world)).toContainEqual(expect.objectContaining({ level: 'warn', message: expect.stringContaining('not in the store: dropped') }))
    const second = storedElsewhere(world, 'two')
    announce(world, [second])
    world.command(0, { type: 'message', text: messageText('three, from here'), ref: 'mine' })
    world.completeStores(1, true)
    expect(messagesOf(world, 1)).toEqual([1, 2, 3])
    expect(world.framesOf(world.currentConnection(0)).filter((f) => f.type === 'ack')).toMatchObject([{ ref: 'mine', id: formatMessageId(3) }])
    expect(world.state.rooms.get(room)!.held.size).toBe(0)
  })

  it('keeps waiting for a message held after the read was asked (it may be newer than the read), and delivers it', () => {
    const world = threeInRoom()
    world.holdFills = true
    const [one, two, three] = [storedElsewhere(world, 'one'), storedElsewhere(world, 'two'), storedElsewhere(world, 'three')]
    announce(world, [two!])
    waitOut(world)
    expect(world.heldFills).toHaveLength(1)
    announce(world, [three!])
    // The store answers what it had when asked (the harness reads it now: all three, yet only one and two
    // were asked for below the read's bound).
    world.answerFills()
    expect(messagesOf(world, 1)).toEqual([1, 2, 3])
    expect(logsOf(world).filter((log) => log.type === 'log' && log.level === 'warn')).toEqual([])
    void one
  })

  it('goes on from the store’s numbers when the database lost its last commits, and says so once', () => {
    const world = threeInRoom()
    const sent = [storedElsewhere(world, 'one'), storedElsewhere(world, 'two'), storedElsewhere(world, 'three')]
    announce(world, sent)
    // A failover to a replica behind: two and three are gone, and the next message is numbered 2 again.
    world.stored.splice(1, 2)
    world.at += 1000
    const again = storedElsewhere(world, 'two, again')
    expect(again.seq).toBe(2)
    announce(world, [again])
    expect(world.framesOf(world.currentConnection(1)).filter((f) => f.type === 'message').map((f) => (f as { text: string }).text)).toEqual(['one', 'two', 'three', 'two, again'])
    expect(logsOf(world).filter((log) => log.type === 'log' && log.level === 'error')).toHaveLength(1)
    const next = storedElsewhere(world, 'three, again')
    announce(world, [next])
    expect(messagesOf(world, 1)).toEqual([1, 2, 3, 2, 3])
  })

  it('an ack for a resend whose original another process stored waits until the original is delivered here', () => {
    const world = threeInRoom()
    // Elsewhere: seq 1 by someone, then seq 2, the original of our user's message (the same clientId).
    const before = storedElsewhere(world, 'before')
    const original: StoredMessage = { ...storedElsewhere(world, 'mine'), user: users[0]!, clientId: 'c1' }
    world.stored.splice(world.stored.length - 1, 1, original)
    world.command(0, { type: 'message', text: messageText('mine'), clientId: 'c1', ref: 'resend' })
    world.completeStores(1, true)
    // The store answered "a duplicate of 2", but 1 and 2 have not reached this process.
    expect(world.framesOf(world.currentConnection(0)).filter((f) => f.type === 'ack')).toEqual([])
    announce(world, [before])
    expect(world.framesOf(world.currentConnection(0)).filter((f) => f.type === 'ack')).toEqual([])
    announce(world, [original])
    const frames = world.framesOf(world.currentConnection(0)).filter((f) => f.type === 'ack' || f.type === 'message')
    expect(frames.map((f) => [f.type, seqOf(f)])).toEqual([['message', 1], ['ack', 2]])
  })

  it('an ack waiting for an original whose announcement was lost goes out once the store is read', () => {
    const world = threeInRoom()
    const original: StoredMessage = { ...storedElsewhere(world, 'mine'), user: users[0]!, clientId: 'c9' }
    world.stored.splice(world.stored.length - 1, 1, original)
    world.command(0, { type: 'message', text: messageText('mine'), clientId: 'c9', ref: 'resend' })
    world.completeStores(1, true)
    expect(world.framesOf(world.currentConnection(0)).filter((f) => f.type === 'ack')).toEqual([])
    waitOut(world)
    expect(world.framesOf(world.currentConnection(0)).filter((f) => f.type === 'ack')).toMatchObject([{ ref: 'resend', id: formatMessageId(1) }])
    expect(messagesOf(world, 1)).toEqual([1])
  })
})
