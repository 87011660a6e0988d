import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Frame } from '../../src/client/frames.js'
import { MAX_PENDING } from '../../src/client/listing.js'
import { update, type Cmd, type Model, type Msg } from '../../src/client/model.js'
import type { RoomSummary } from '../../src/core/protocol/server-frames.js'
import { fold, frame } from './fold.js'

// The room list's refresh (GET /rooms every ~20 s, over HTTP) against its live changes (frames, over the
// WebSocket): an answer the server gave before a change, arriving after it, must not undo it.

const ana = { username: 'ana', name: 'Ana Souza' }
const sala1: RoomSummary = { id: 'sala-1', name: 'Sala 1', members: 1, visibility: 'public', unread: 0, member: true }
const secret: RoomSummary = { id: 'r-aaaaaaaaaaaa', name: 'Segredo', members: 0, visibility: 'private', owner: 'bia', unread: 0, member: true }
const other: RoomSummary = { id: 'r-cccccccccccc', name: 'Outra', members: 0, visibility: 'private', owner: 'bia', unread: 0, member: true }

const ids = (model: Model) => model.rooms.map((r) => r.id)
const loads = (commands: ReadonlyArray<Cmd>) => commands.flatMap((c) => (c.type === 'loadRooms' ? [c.ref] : []))

/** Ana, welcomed with `rooms` (landing: she stays put, so nothing but the refresh asks for the list). */
const welcomed = (rooms: ReadonlyArray<RoomSummary> = [sala1, secret]): Model =>
  fold([{ type: 'signedIn', at: 0 }, { type: 'socketOpened', at: 0 }, frame({ type: 'welcome', user: ana, rooms: [...rooms], protocol: 2 })]).model
/** The refresh is due: the page asks for GET /rooms. */
const refresh = (model: Model) => {
  const { model: next, commands } = fold([{ type: 'refreshDue' }], model)
  const [ref] = loads(commands)
  if (ref === undefined) throw new Error('no GET /rooms was asked for')
  return { model: next, ref }
}
const loaded = (model: Model, ref: number, rooms: ReadonlyArray<RoomSummary>) => fold([{ type: 'roomsLoaded', ref, rooms }], model).model

describe('a late GET /rooms', () => {
  it('does not bring back a room removed after it was asked for', () => {
    const { model: asking, ref } = refresh(welcomed())
    const removed = fold([frame({ type: 'room_removed', room: secret.id })], asking).model
    expect(ids(loaded(removed, ref, [sala1, secret]))).toEqual(['sala-1'])
  })

  it('does not drop a room added after it was asked for, and keeps its newer shape', () => {
    const { model: asking, ref } = refresh(welcomed())
    const renamed = { ...secret, name: 'Cofre' }
    const changed = fold([frame({ type: 'room_added', room: other }), frame({ type: 'room_updated', room: renamed })], asking).model
    const model = loaded(changed, ref, [sala1, secret])
    expect(ids(model)).toEqual(['sala-1', secret.id, other.id])
    expect(model.rooms.find((r) => r.id === secret.id)?.name).toBe('Cofre')
  })

  it('does not show an older count than the frames said, nor one a Mark as read or a join cleared', () => {
    const { model: asking, ref } = refresh(welcomed())
    const counted = fold([frame({ type: 'unread', room: secret.id, count: 7 })], asking).model
    expect(loaded(counted, ref, [sala1, { ...secret, unread: 6 }]).rooms.find((r) => r.id === secret.id)?.unread).toBe(7)
    const read = fold([{ type: 'readRequested', room: secret.id }], counted).model
    expect(loaded(read, ref, [sala1, { ...secret, unread: 7 }]).rooms.find((r) => r.id === secret.id)?.unread).toBe(0)
  })

  it('is taken as it is for what changed before it was asked for: it is newer (fresh member counts)', () => {
    const counted = fold([frame({ type: 'unread', room: secret.id, count: 7 })], welcomed()).model
    const { model: asking, ref } = refresh(counted)
    const model = loaded(asking, ref, [{ ...sala1, members: 5 }, { ...secret, unread: 2 }])
    expect(model.rooms.map((r) => [r.id, r.members, r.unread])).toEqual([
      ['sala-1', 5, 0],
      [secret.id, 0, 2],
    ])
  })

  it('an answer older than the list shown is dropped: a later answer’s, or welcome’s after a reconnect', () => {
    const { model: first, ref: one } = refresh(welcomed())
    const { model: both, ref: two } = refresh(first)
    const newer = loaded(both, two, [sala1])
    expect(ids(loaded(newer, one, [sala1, secret, other]))).toEqual(['sala-1'])
    const { model: asking, ref } = refresh(welcomed())
    const back = fold([{ type: 'socketClosed', code: 1006, reason: '', random: 0.5 }, { type: 'retryDue', at: 1 }, { type: 'socketOpened', at: 1 }, frame({ type: 'welcome', user: ana, rooms: [sala1], protocol: 2 })], asking).model
    expect(ids(loaded(back, ref, [sala1, secret]))).toEqual(['sala-1'])
    // So is one from before a sign-out, in the next session.
    const { model: out, ref: old } = refresh(welcomed())
    const again = fold([{ type: 'signedOut' }, { type: 'signedIn', at: 2 }, { type: 'socketOpened', at: 2 }, frame({ type: 'welcome', user: ana, rooms: [sala1], protocol: 2 })], out).model
    expect(ids(loaded(again, old, [sala1, secret]))).toEqual(['sala-1'])
  })

  it('is not asked for while offline; what it remembers is let go once nothing is on its way', () => {
    const offline = fold([{ type: 'socketClosed', code: 1006, reason: '', random: 0.5 }], welcomed()).model
    expect(loads(fold([{ type: 'refreshDue' }], offline).commands)).toEqual([])
    const { model: asking, ref } = refresh(welcomed())
    const changed = fold([frame({ type: 'unread', room: secret.id, count: 1 }), frame({ type: 'room_added', room: other })], asking).model
    expect(changed.listing.log).toHaveLength(2)
    expect(loaded(changed, ref, [sala1, secret]).listing.log).toEqual([])
    expect(fold([{ type: 'roomsFailed', ref }], changed).model.listing.log).toEqual([])
    // Requests that hang are given up past MAX_PENDING: the changes remembered stay bounded.
    let model = welcomed()
    for (let i = 0; i < MAX_PENDING + 3; i++) model = fold([{ type: 'refreshDue' }, frame({ type: 'unread', room: secret.id, count: i })], model).model
    expect(model.listing.pending).toHaveLength(MAX_PENDING)
    expect(model.listing.log.length).toBeLessThanOrEqual(MAX_PENDING)
  })
})

/**
 * The server as the property sees it: private rooms (removing one takes it off the list) with a name and
 * an unread count; every change is a frame on its way, in order; a GET /rooms is answered with the rooms
 * as they are at some moment after it was asked for, and arrives whenever.
 */
type Op =
  | { readonly t: 'add' | 'remove' | 'rename'; readonly room: number }
  | { readonly t: 'count'; readonly room: number; readonly count: number }
  | { readonly t: 'deliverFrame' }
  | { readonly t: 'ask' }
  | { readonly t: 'answer' | 'deliverAnswer'; readonly pick: number }

const ROOM_IDS = ['r-aaaaaaaaaaaa', 'r-bbbbbbbbbbbb', 'r-cccccccccccc'] as const
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ t: fc.constantFrom('add' as const, 'remove' as const, 'rename' as const), room: fc.nat({ max: 2 }) }),
  fc.record({ t: fc.constant('count' as const), room: fc.nat({ max: 2 }), count: fc.nat({ max: 600 }) }),
  fc.constant({ t: 'deliverFrame' as const }),
  fc.constant({ t: 'ask' as const }),
  fc.record({ t: fc.constantFrom('answer' as const, 'deliverAnswer' as const), pick: fc.nat() }),
)

it('whatever the interleaving, once every frame and answer has arrived the list is the server’s', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
      const truth = new Map<string, RoomSummary>([[ROOM_IDS[0], { ...secret, id: ROOM_IDS[0] }]])
      const snapshot = () => [...truth.values()]
      let model = welcomed(snapshot())
      const frames: Frame[] = []
      let asked: number[] = []
      let answered: Array<{ ref: number; rooms: RoomSummary[] }> = []
      let names = 0
      const step = (msg: Msg) => {
        const [next, commands] = update(model, msg)
        model = next
        asked = [...asked, ...loads(commands)]
        if (new Set(ids(model)).size !== model.rooms.length) throw new Error('a room is listed twice')
      }
      const run = (o: Op) => {
        switch (o.t) {
          case 'add':
          case 'rename': {
            const id = ROOM_IDS[o.room] ?? ROOM_IDS[0]
            const known = truth.get(id)
            if (o.t === 'rename' && known === undefined) return
            const room: RoomSummary = { ...(known ?? { ...other, id }), name: `n${++names}` }
            truth.set(id, room)
            return frames.push({ type: known === undefined ? 'room_added' : 'room_updated', room })
          }
          case 'remove': {
            const id = ROOM_IDS[o.room] ?? ROOM_IDS[0]
            if (truth.delete(id)) frames.push({ type: 'room_removed', room: id })
            return
          }
          case 'count': {
            const id = ROOM_IDS[o.room] ?? ROOM_IDS[0]
            const known = truth.get(id)
            if (known === undefined || known.unread === Math.min(500, o.count)) return
            truth.set(id, { ...known, unread: Math.min(500, o.count) })
            return frames.push({ type: 'unread', room: id, count: Math.min(500, o.count) })
          }
          case 'deliverFrame': {
            const next = frames.shift()
            if (next !== undefined) step(frame(next))
            return
          }
          case 'ask':
            return step({ type: 'refreshDue' })
          case 'answer': {
            // The server reads the rooms for a request it has received: as they are now.
            if (asked.length === 0) return
            const ref = asked[o.pick % asked.length] ?? 0
            asked = asked.filter((r) => r !== ref)
            answered = [...answered, { ref, rooms: snapshot() }]
            return
          }
          case 'deliverAnswer': {
            if (answered.length === 0) return
            const answer = answered[o.pick % answered.length]
            if (answer === undefined) return
            answered = answered.filter((a) => a !== answer)
            return step({ type: 'roomsLoaded', ref: answer.ref, rooms: answer.rooms })
          }
        }
      }
      for (const o of ops) run(o)
      // Everything arrives: the answers still to give (as the rooms are now), the frames, the answers.
      for (const ref of asked) answered.push({ ref, rooms: snapshot() })
      asked = []
      while (frames.length > 0) run({ t: 'deliverFrame' })
      for (const answer of answered) step({ type: 'roomsLoaded', ref: answer.ref, rooms: answer.rooms })
      const byId = (rooms: ReadonlyArray<RoomSummary>) => [...rooms].sort((a, b) => a.id.localeCompare(b.id))
      expect(byId(model.rooms)).toEqual(byId(snapshot()))
      expect(model.listing.log).toEqual([])
    }),
    { numRuns: 500 },
  )
})
