import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { ConnectionId } from '../../../src/core/brands.js'
import { formatMessageId } from '../../../src/core/protocol/message-id.js'
import type { ServerFrame } from '../../../src/core/protocol/server-frames.js'
import { messageText, users } from '../../arbitraries.js'
import { STORE_FULL, UNLIMITED, World } from './harness.js'

// Idempotency holds whatever happened in between: the first copy left memory, the server restarted, a
// batch committed just before a crash, two resends raced. The harness's store keeps one message per
// (room, user, clientId), as the database's unique key does, and reports a later one as a duplicate.

const framesOf = (world: World, slot: number): ServerFrame[] => world.framesOf(world.currentConnection(slot))
const acksOf = (world: World, slot: number) => framesOf(world, slot).filter((f) => f.type === 'ack')
const messagesTo = (world: World, slot: number) => framesOf(world, slot).filter((f) => f.type === 'message')

const send = (world: World, slot: number, clientId: string | undefined, ref: string) =>
  world.command(slot, { type: 'message', text: messageText(`text of ${ref}`), ...(clientId === undefined ? {} : { clientId }), ref })

/** Ana (slot 0) and Bia (slot 1) in Sala 1; the harness keeps 6 recent messages per room. */
const twoInRoom = () => {
  const world = new World(UNLIMITED)
  world.open(0)
  world.open(1)
  world.command(0, { type: 'join' })
  world.command(1, { type: 'join' })
  return world
}

/** Posts and stores enough messages to push every earlier one out of memory. */
const pushOutOfMemory = (world: World, slot: number) => {
  for (let i = 0; i < UNLIMITED.recentCapacity + 1; i++) send(world, slot, undefined, `filler-${i}`)
  world.completeStores(Infinity, true)
}

const rejoin = (world: World, slots: ReadonlyArray<number>) => {
  for (const slot of slots) {
    world.open(slot)
    world.command(slot, { type: 'join' })
  }
}

describe('a resend whose first copy memory no longer knows', () => {
  it('is posted, recognised by the store, and acked with the first id; nobody hears it twice', () => {
    const world = twoInRoom()
    send(world, 0, 'x', 'first')
    world.completeStores(Infinity, true)
    pushOutOfMemory(world, 0)
    expect(world.state.rooms.get(world.state.settings.defaultRoom)?.clientIds.size).toBe(0)

    send(world, 0, 'x', 'again')
    const heardBefore = messagesTo(world, 1).length
    world.completeStores(Infinity, true)

    const [first, again] = acksOf(world, 0).filter((ack) => ack.clientId === 'x')
    expect(first).toMatchObject({ ref: 'first', id: formatMessageId(1) })
    expect(again).toEqual({ type: 'ack', id: first?.id, room: first?.room, sentAt: first?.sentAt, ref: 'again', clientId: 'x' })
    expect(messagesTo(world, 1)).toHaveLength(heardBefore)
    expect(world.stored.filter((m) => m.clientId === 'x')).toHaveLength(1)
  })

  it('is acked with the first id after a restart, from memory or from the store', () => {
    for (const evicted of [false, true]) {
      const world = twoInRoom()
      send(world, 0, 'x', 'first')
      world.completeStores(Infinity, true)
      if (evicted) pushOutOfMemory(world, 1)
      world.restart(false)
      rejoin(world, [0, 1])
      send(world, 0, 'x', 'after-restart')
      world.completeStores(Infinity, true)
      const ack = acksOf(world, 0).find((f) => f.ref === 'after-restart')
      expect(ack?.id, `evicted: ${evicted}`).toBe(formatMessageId(1))
      expect(messagesTo(world, 1).filter((m) => m.clientId === 'x')).toEqual([])
      expect(world.stored.filter((m) => m.clientId === 'x')).toHaveLength(1)
    }
  })

  it('whose first copy committed just before a crash (never acked) gets that copy’s id', () => {
    const world = twoInRoom()
    send(world, 0, 'x', 'first')
    expect(acksOf(world, 0)).toEqual([])
    world.restart(true)
    rejoin(world, [0])
    send(world, 0, 'x', 'resent')
    world.completeStores(Infinity, true)
    expect(acksOf(world, 0)).toMatchObject([{ ref: 'resent', id: formatMessageId(1) }])
  })

  it('sent twice at once: the second waits for the first, and both get the original id', () => {
    const world = twoInRoom()
    send(world, 0, 'x', 'first')
    world.completeStores(Infinity, true)
    pushOutOfMemory(world, 1)
    send(world, 0, 'x', 'race-1')
    send(world, 0, 'x', 'race-2')
    expect(world.storing).toHaveLength(1)
    world.completeStores(Infinity, true)
    const raced = acksOf(world, 0).filter((f) => f.ref?.startsWith('race') === true)
    expect(raced.map((f) => [f.ref, f.id])).toEqual([
      ['race-1', formatMessageId(1)],
      ['race-2', formatMessageId(1)],
    ])
  })

  it('leaves an unused id that history, paging and catch-up step over', () => {
    const world = twoInRoom()
    send(world, 0, 'x', 'first')
    world.completeStores(Infinity, true)
    pushOutOfMemory(world, 0)
    const lastBefore = world.state.rooms.get(world.state.settings.defaultRoom)?.lastSeq ?? 0
    send(world, 0, 'x', 'again')
    send(world, 0, undefined, 'after')
    world.completeStores(Infinity, true)
    const after = acksOf(world, 0).find((f) => f.ref === 'after')
    expect(after?.id).toBe(formatMessageId(lastBefore + 2))

    // Catch-up from the last id before the unused one: exactly the next stored message, no gap flag.
    world.command(1, { type: 'join', since: formatMessageId(lastBefore) })
    const joined = framesOf(world, 1).at(-1)
    expect(joined).toMatchObject({ type: 'joined', history: [{ id: after?.id }] })
    expect(joined?.type === 'joined' ? joined.gap : 'not joined').toBeUndefined()
    // Paging back across it, from memory and from the store.
    world.command(1, { type: 'history', before: after?.id ?? '', limit: 3, ref: 'h' })
    const page = framesOf(world, 1).at(-1)
    expect(page?.type === 'history' ? page.messages.map((m) => m.id) : []).toEqual([lastBefore - 2, lastBefore - 1, lastBefore].map(formatMessageId))
    world.command(1, { type: 'history', before: formatMessageId(3), limit: 5, ref: 'h' })
    const older = framesOf(world, 1).at(-1)
    expect(older?.type === 'history' ? older.messages.map((m) => m.id) : []).toEqual([1, 2].map(formatMessageId))
  })
})

describe('a failed write', () => {
  it('is logged once per batch with the store’s code, the count, the rooms and the senders, never the text', () => {
    const world = twoInRoom()
    world.open(2)
    world.command(2, { type: 'join', room: 'sala-2' })
    send(world, 0, 'a', 'm1')
    send(world, 0, undefined, 'm2')
    send(world, 2, undefined, 'm3')
    send(world, 1, undefined, 'm4')
    const before = world.steps.length
    world.completeStores(Infinity, false)
    const logs = world.steps.slice(before).flatMap((step) => step.effects.filter((e) => e.type === 'log'))
    expect(logs).toEqual([
      {
        type: 'log',
        level: 'error',
        message: 'messages not stored',
        fields: {
          condition: 'full',
          code: 'SQLITE_FULL',
          error: STORE_FULL.message,
          count: 4,
          rooms: ['sala-1', 'sala-2'],
          users: [users[0]!.id, users[2]!.id, users[1]!.id],
        },
      },
    ])
    expect(JSON.stringify(logs)).not.toContain('text of')
    for (const slot of [0, 1, 2]) expect(framesOf(world, slot).filter((f) => f.type === 'error')).not.toEqual([])
  })

  it('is logged even when every sender has gone', () => {
    const world = twoInRoom()
    send(world, 0, undefined, 'm1')
    world.dispatch({ type: 'ConnectionClosed', connection: world.currentConnection(0), at: world.at })
    const effects = world.dispatch({ type: 'MessagesNotStored', messages: world.storing.splice(0), error: STORE_FULL, at: world.at })
    expect(effects.filter((e) => e.type === 'log')).toHaveLength(1)
  })
})

// Random histories of sends (with a few clientIds), store answers (kept or failed), moves between rooms,
// evictions, and restarts (with the batch in flight committed or lost). The ack a (room, user, clientId)
// first got is the only one it ever gets, and no clientId reaches the room twice.

type Step =
  | { readonly kind: 'send'; readonly slot: number; readonly clientId: string | undefined }
  | { readonly kind: 'flood'; readonly slot: number; readonly count: number }
  | { readonly kind: 'store'; readonly count: number; readonly ok: boolean }
  | { readonly kind: 'move'; readonly slot: number; readonly room: string }
  | { readonly kind: 'restart'; readonly committed: boolean }

const SLOTS = 4
const slot = fc.nat({ max: SLOTS - 1 })
const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('send' as const), slot, clientId: fc.constantFrom(undefined, 'a', 'b', 'c') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('flood' as const), slot, count: fc.integer({ min: 1, max: 8 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('store' as const), count: fc.integer({ min: 1, max: 5 }), ok: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('move' as const), slot, room: fc.constantFrom('sala-1', 'sala-2') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const), committed: fc.boolean() }) },
)

describe('idempotency, over random histories', () => {
  it('every ack for a (room, user, clientId) carries the first id, and the room hears each clientId once', () => {
    fc.assert(
      fc.property(fc.array(stepArbitrary, { minLength: 5, maxLength: 80 }), (steps) => {
        const world = new World(UNLIMITED)
        // What each send was for, by its ref: the room the sender was in, who, and which clientId.
        const sent = new Map<string, string>()
        const ackedAs = new Map<string, string>()
        const heardAs = new Map<string, string>()
        let refs = 0
        world.observers.push(({ effects }) => {
          for (const effect of effects) {
            if (effect.type !== 'send') continue
            const frame = effect.frame
            if (frame.type === 'ack' && frame.ref !== undefined && sent.has(frame.ref)) {
              const key = sent.get(frame.ref)!
              const first = ackedAs.get(key) ?? frame.id
              ackedAs.set(key, first)
              expect(frame.id, `ack for ${key}`).toBe(first)
            }
            if (frame.type === 'message' && frame.clientId !== undefined) {
              const key = `${frame.room}|${frame.user.username}|${frame.clientId}`
              expect(heardAs.get(key) ?? frame.id, `${key} heard twice`).toBe(frame.id)
              heardAs.set(key, frame.id)
            }
          }
        })
        const inRoom = (s: number) => {
          if (!world.isOpen(s)) world.open(s)
          const connection: ConnectionId = world.currentConnection(s)
          const user = world.state.connections.get(connection)?.user
          const room = user === undefined ? null : (world.state.users.get(user)?.room ?? null)
          if (room === null) world.command(s, { type: 'join' })
          return world.state.users.get(world.state.connections.get(connection)!.user)!
        }
        for (const step of steps) {
          switch (step.kind) {
            case 'send': {
              const presence = inRoom(step.slot)
              const ref = `s${refs++}`
              if (step.clientId !== undefined) sent.set(ref, `${presence.room}|${presence.user.username}|${step.clientId}`)
              send(world, step.slot, step.clientId, ref)
              break
            }
            case 'flood':
              inRoom(step.slot)
              for (let i = 0; i < step.count; i++) send(world, step.slot, undefined, `f${refs++}`)
              break
            case 'store':
              world.completeStores(step.count, step.ok)
              break
            case 'move':
              inRoom(step.slot)
              world.command(step.slot, { type: 'join', room: step.room })
              break
            case 'restart':
              world.restart(step.committed)
              break
          }
        }
        world.completeStores(Infinity, true)
        // The store itself never holds a clientId twice (the harness's unique key), and every ack names a kept message.
        for (const [key, id] of ackedAs) {
          const [room, username, clientId] = key.split('|')
          const kept = world.stored.filter((m) => m.room === room && m.user.username === username && m.clientId === clientId)
          expect(kept.map((m) => formatMessageId(m.seq))).toEqual([id])
        }
      }),
      { numRuns: 300 },
    )
  })
})
