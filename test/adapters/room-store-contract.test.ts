import { randomBytes } from 'node:crypto'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MessageText, RoomId, UserId } from '../../src/core/brands.js'
import { trusted } from '../../src/core/codecs.js'
import type { ChatUser } from '../../src/core/chat/state.js'
import { describeDatabaseFault } from '../../src/adapters/database.js'
import { openStores } from '../../src/adapters/open-store.js'
import { StoreError } from '../../src/adapters/store-failure.js'
import type { CatalogRoom, MadeRoom, NewRoom, Stores } from '../../src/adapters/stores.js'
import { user } from '../arbitraries.js'
import { STORE_ENGINES, type OpenedEngine, type StoreEngine } from './store-engines.js'

// The RoomStore contract (src/adapters/stores.ts, docs/rooms.md), the same tests for every engine in
// STORE_ENGINES: what is read back is what was written; the unique keys decide a taken id and which of two
// first asks makes a conversation; a member limit holds however many adders race (two connections, as two
// processes would be); unread counts are exact up to their cap; markers only move forward.

const T0 = 1_700_000_000_000

/** A fresh database of `engine` for the enclosing describe, and a second connection to it on demand (a second process). */
const useEngine = (engine: StoreEngine) => {
  let opened: OpenedEngine | string = 'not opened'
  let second: Promise<{ readonly stores: Stores; readonly close: () => Promise<void> }> | undefined
  beforeAll(async () => {
    opened = await engine.open()
    if (typeof opened === 'string') console.warn(`room store contract on ${engine.name} skipped: ${opened}`)
  })
  afterAll(async () => {
    if (second !== undefined) await (await second).close()
    if (typeof opened !== 'string') await opened.cleanup()
  })
  const openSecond = (location: OpenedEngine['location']) =>
    (second ??= openStores(location).then((result) => {
      if (E.isLeft(result)) throw new Error(`a second connection to ${engine.name}: ${describeDatabaseFault(result.left)}`)
      return { stores: result.right.stores, close: result.right.port.close }
    }))
  return (name: string, body: (stores: Stores, other: () => Promise<Stores>) => Promise<void>, timeout?: number) =>
    it(
      name,
      async (context) => {
        if (typeof opened === 'string') return context.skip()
        const { location } = opened
        await body(opened.stores, async () => (await openSecond(location)).stores)
      },
      timeout,
    )
}

const right = async <A>(task: () => Promise<E.Either<unknown, A>>): Promise<A> => {
  const result = await task()
  if (E.isLeft(result)) throw new Error(`store failed: ${String(result.left)} ${JSON.stringify(result.left)}`)
  return result.right
}

const run = (): string => randomBytes(3).toString('hex')
let rooms = 0
const roomId = (prefix = 'r'): RoomId => trusted(RoomId, `${prefix}-${run()}${String(++rooms).padStart(4, '0')}`)

const newUser = (u: ChatUser) => ({ id: u.id, name: u.name, username: u.username, email: `${u.username}@example.com`, passwordHash: 'x', createdAt: T0 })

describe.each(STORE_ENGINES)('the $name room store', (engine) => {
  const test = useEngine(engine)
  const [ana, bia, caio, dora, lena, nina] = ['ana', 'bia', 'caio', 'dora', 'lena', 'nina'].map(user) as [ChatUser, ChatUser, ChatUser, ChatUser, ChatUser, ChatUser]
  const crowd = Array.from({ length: 16 }, (_, i) => user(`member${i}`))
  let ready = false
  const setUp = async (stores: Stores) => {
    if (ready) return
    for (const u of [ana, bia, caio, dora, lena, nina, ...crowd]) await right(stores.users.create(newUser(u)))
    ready = true
  }
  const newRoom = (fields: Partial<NewRoom> = {}): NewRoom => ({
    id: roomId(),
    kind: 'public',
    name: 'Café ☕ talk',
    topic: 'all things coffee',
    ownerId: ana.id,
    createdAt: T0,
    ...fields,
  })
  const made = (room: NewRoom): MadeRoom => ({ ...room, archivedAt: null })
  const everyone = new Map([ana, bia, caio, dora, lena, nina, ...crowd].map((u) => [u.id, u]))
  /** A made room as the catalog reads it: with its owner. */
  const catalogued = (room: MadeRoom): CatalogRoom => ({ ...room, owner: room.ownerId === null ? null : everyone.get(room.ownerId)! })
  const post = async (stores: Stores, room: RoomId, count: number) => {
    const messages = Array.from({ length: count }, (_, i) => ({
      key: i,
      room,
      user: ana,
      text: trusted(MessageText, `message ${i}`),
      attachments: [],
      sentAt: T0 + i,
    }))
    return (await right(stores.messages.insert(messages))).stored.map((s) => s.seq)
  }
  const membership = async (stores: Stores, who: ChatUser, room: RoomId, cap = 9999) =>
    (await right(stores.rooms.memberships(who.id, cap))).find((m) => m.room === room)

  test('creates a room with its owner as its one member, finds it, lists it, and changes its name and topic', async (stores) => {
    await setUp(stores)
    const room = newRoom({ kind: 'private' })
    expect(await right(stores.rooms.create(room))).toEqual(made(room))
    expect(await right(stores.rooms.find(room.id))).toEqual(catalogued(made(room)))
    expect(await right(stores.rooms.all())).toContainEqual(catalogued(made(room)))
    expect(await right(stores.rooms.members(room.id))).toEqual([ana.id])
    expect(await membership(stores, ana, room.id)).toEqual({ room: room.id, readSeq: 0, unread: 0 })

    expect(await right(stores.rooms.update(room.id, { name: 'Chá' }))).toEqual({ ...made(room), name: 'Chá' })
    expect(await right(stores.rooms.update(room.id, { topic: null }))).toEqual({ ...made(room), name: 'Chá', topic: null })
    expect(await right(stores.rooms.update(room.id, { topic: 'leaves' }))).toEqual({ ...made(room), name: 'Chá', topic: 'leaves' })
    expect(await right(stores.rooms.update(room.id, {}))).toEqual({ ...made(room), name: 'Chá', topic: 'leaves' })
    expect(await right(stores.rooms.find(room.id))).toEqual(catalogued({ ...made(room), name: 'Chá', topic: 'leaves' }))
    expect(await right(stores.rooms.update(roomId(), { name: 'nobody' }))).toBeUndefined()
    expect(await right(stores.rooms.find(roomId()))).toBeUndefined()
  })

  test('archives a room once, keeping the first time; an unknown room is undefined', async (stores) => {
    await setUp(stores)
    const room = newRoom()
    await right(stores.rooms.create(room))
    expect(await right(stores.rooms.archive(room.id, T0 + 10))).toEqual({ ...made(room), archivedAt: T0 + 10 })
    expect(await right(stores.rooms.archive(room.id, T0 + 20))).toEqual({ ...made(room), archivedAt: T0 + 10 })
    expect(await right(stores.rooms.find(room.id))).toEqual(catalogued({ ...made(room), archivedAt: T0 + 10 }))
    expect(await right(stores.rooms.archive(roomId(), T0))).toBeUndefined()
  })

  test('refuses a taken id with room_id_taken, writing nothing, whether a made room or a conversation has it', async (stores) => {
    await setUp(stores)
    const room = newRoom()
    await right(stores.rooms.create(room))
    const before = (await right(stores.rooms.createdSince(bia.id, 0))).count
    expect(await stores.rooms.create(newRoom({ id: room.id, ownerId: bia.id, name: 'again' }))()).toEqual(E.left({ type: 'room_id_taken' }))
    expect(await right(stores.rooms.find(room.id))).toEqual(catalogued(made(room)))
    expect(await right(stores.rooms.members(room.id))).toEqual([ana.id])
    expect((await right(stores.rooms.createdSince(bia.id, 0))).count).toBe(before)

    const dm = await right(stores.rooms.direct(caio.id, dora.id, roomId('dm'), T0))
    expect(await stores.rooms.create(newRoom({ id: dm.room.id }))()).toEqual(E.left({ type: 'room_id_taken' }))
    // A pair without a conversation asking with a taken id: refused, and the pair still has none.
    expect(await stores.rooms.direct(bia.id, dora.id, room.id, T0)()).toEqual(E.left({ type: 'room_id_taken' }))
    expect((await right(stores.rooms.all())).filter((r) => r.kind === 'direct' && r.members.includes(bia.id) && r.members.includes(dora.id))).toEqual([])
    expect(await right(stores.rooms.members(room.id))).toEqual([ana.id])
  })

  test('counts the rooms a user made at or after a time, archived ones too, never conversations', async (stores) => {
    await setUp(stores)
    const maker = crowd[0]!
    for (const at of [T0 - 1, T0, T0 + 10, T0 + 20]) await right(stores.rooms.create(newRoom({ ownerId: maker.id, createdAt: at })))
    const archived = newRoom({ ownerId: maker.id, createdAt: T0 + 30 })
    await right(stores.rooms.create(archived))
    await right(stores.rooms.archive(archived.id, T0 + 40))
    await right(stores.rooms.direct(maker.id, ana.id, roomId('dm'), T0 + 50))
    expect(await right(stores.rooms.createdSince(maker.id, T0))).toEqual({ count: 4, earliest: T0 })
    expect(await right(stores.rooms.createdSince(maker.id, T0 + 11))).toEqual({ count: 2, earliest: T0 + 20 })
    expect(await right(stores.rooms.createdSince(maker.id, T0 + 31))).toEqual({ count: 0, earliest: null })
    expect(await right(stores.rooms.createdSince(crowd[1]!.id, 0))).toEqual({ count: 0, earliest: null })
  })

  test('creates within a quota: counts the owner’s rooms since its start, archived ones too, and refuses past it with the earliest, writing nothing', async (stores) => {
    await setUp(stores)
    const maker = crowd[2]!
    const mine = (fields: Partial<NewRoom> = {}) => newRoom({ ownerId: maker.id, ...fields })
    const quota = { max: 3, since: T0 }
    await right(stores.rooms.create(mine({ createdAt: T0 - 1 })))
    await right(stores.rooms.direct(maker.id, ana.id, roomId('dm'), T0 + 1))
    // Another owner's rooms are not counted.
    for (let i = 0; i < 3; i++) await right(stores.rooms.create(newRoom({ ownerId: crowd[3]!.id, createdAt: T0 + 1 }), quota))
    const first = mine({ createdAt: T0 + 5 })
    expect(await right(stores.rooms.create(first, quota))).toEqual(made(first))
    const archived = await right(stores.rooms.create(mine({ createdAt: T0 + 6 }), quota))
    await right(stores.rooms.archive(archived.id, T0 + 7))
    await right(stores.rooms.create(mine({ createdAt: T0 + 8 }), quota))
    const refused = mine({ createdAt: T0 + 9 })
    expect(await stores.rooms.create(refused, quota)()).toEqual(E.left({ type: 'too_many_rooms', earliest: T0 + 5 }))
    expect(await right(stores.rooms.find(refused.id))).toBeUndefined()
    expect(await membership(stores, maker, refused.id)).toBeUndefined()
    // A later window start lets one more in; no quota, no limit; a taken id is still room_id_taken.
    const later = mine({ createdAt: T0 + 10 })
    expect(await right(stores.rooms.create(later, { max: 3, since: T0 + 6 }))).toEqual(made(later))
    expect(await stores.rooms.create(mine({ createdAt: T0 + 11 }), { max: 3, since: T0 + 6 })()).toEqual(E.left({ type: 'too_many_rooms', earliest: T0 + 6 }))
    await right(stores.rooms.create(mine({ createdAt: T0 + 12 })))
    expect(await stores.rooms.create(mine({ id: later.id, createdAt: T0 + 13 }), { max: 99, since: T0 })()).toEqual(E.left({ type: 'room_id_taken' }))
    // A quota of none refuses every room, with no earliest to wait for.
    expect(await stores.rooms.create(newRoom({ ownerId: crowd[4]!.id }), { max: 0, since: 0 })()).toEqual(E.left({ type: 'too_many_rooms', earliest: null }))
    expect(await right(stores.rooms.createdSince(crowd[4]!.id, 0))).toEqual({ count: 0, earliest: null })
  })

  test('never passes a quota when one owner’s creates race, on one connection and on two', async (stores, other) => {
    await setUp(stores)
    const second = await other()
    const owners = [crowd[5]!, crowd[6]!, crowd[7]!]
    for (const [round, owner] of owners.entries()) {
      // One connection, then two (as two processes), then two with more creates than a pool has connections.
      const tries = [12, 12, 40][round]!
      const via = (i: number) => (round === 0 || i % 2 === 0 ? stores : second)
      const quota = { max: 5, since: T0 }
      const answers = await Promise.all(
        Array.from({ length: tries }, (_, i) => via(i).rooms.create(newRoom({ ownerId: owner.id, createdAt: T0 + i }), quota)()),
      )
      const refusals = answers.filter(E.isLeft).map((answer) => answer.left)
      expect(answers.filter(E.isRight), `round ${round}`).toHaveLength(5)
      expect(refusals.every((refusal) => typeof refusal === 'object' && refusal !== null && 'type' in refusal && refusal.type === 'too_many_rooms'), JSON.stringify(refusals)).toBe(true)
      expect((await right(second.rooms.createdSince(owner.id, 0))).count).toBe(5)
      expect((await right(stores.rooms.all())).filter((r) => r.kind !== 'direct' && r.ownerId === owner.id)).toHaveLength(5)
    }
  })

  test('gives a pair one conversation whoever asks first, with both as members; a retry with the same id finds it', async (stores) => {
    await setUp(stores)
    const id = roomId('dm')
    const first = await right(stores.rooms.direct(bia.id, ana.id, id, T0 + 5))
    const pair = [ana.id, bia.id].sort() as [UserId, UserId]
    const room = { kind: 'direct', id, members: pair, createdAt: T0 + 5, archivedAt: null }
    expect(first).toEqual({ room, created: true })
    expect(await right(stores.rooms.direct(ana.id, bia.id, roomId('dm'), T0 + 6))).toEqual({ room, created: false })
    expect(await right(stores.rooms.direct(bia.id, ana.id, id, T0 + 7))).toEqual({ room, created: false })
    // The catalog reads the pair with it, in the room's order of members.
    const withPair = { ...room, pair: pair.map((id) => everyone.get(id)!) }
    expect(await right(stores.rooms.find(id))).toEqual(withPair)
    expect(await right(stores.rooms.all())).toContainEqual(withPair)
    expect([...(await right(stores.rooms.members(id)))].sort()).toEqual(pair)
    for (const who of [ana, bia]) expect(await membership(stores, who, id)).toEqual({ room: id, readSeq: 0, unread: 0 })
    // A conversation has no name or topic to change; archiving it is the caller's call.
    expect(await right(stores.rooms.update(id, { name: 'renamed' }))).toBeUndefined()
    expect(await right(stores.rooms.archive(id, T0 + 8))).toEqual({ ...room, archivedAt: T0 + 8 })
  })

  test('refuses a conversation with oneself as a StoreError (a bug in the caller), writing nothing', async (stores) => {
    await setUp(stores)
    const id = roomId('dm')
    const alone = await stores.rooms.direct(ana.id, ana.id, id, T0)()
    expect(E.isLeft(alone) && alone.left instanceof StoreError).toBe(true)
    expect(await right(stores.rooms.find(id))).toBeUndefined()
  })

  test('settles racing first asks from two connections with one conversation per pair, made by exactly one of them', async (stores, other) => {
    await setUp(stores)
    const second = await other()
    for (const [i, a] of crowd.slice(0, 8).entries()) {
      const b = crowd[15 - i]!
      const asks = [stores, second, stores, second].map((s, n) => (n % 2 === 0 ? s.rooms.direct(a.id, b.id, roomId('dm'), T0) : s.rooms.direct(b.id, a.id, roomId('dm'), T0)))
      const answers = await Promise.all(asks.map((ask) => right(ask)))
      expect(new Set(answers.map((answer) => answer.room.id)).size).toBe(1)
      expect(answers.filter((answer) => answer.created)).toHaveLength(1)
      expect(answers.every((answer) => JSON.stringify(answer.room) === JSON.stringify(answers[0]!.room))).toBe(true)
      const conversations = (await right(second.rooms.all())).filter((r) => r.kind === 'direct' && r.members.includes(a.id) && r.members.includes(b.id))
      expect(conversations).toHaveLength(1)
      expect([...(await right(stores.rooms.members(answers[0]!.room.id)))].sort()).toEqual([a.id, b.id].sort())
    }
  })

  test('adds members up to a limit: added, already, full; a removed member makes room; no limit for a configured room', async (stores) => {
    await setUp(stores)
    const room = newRoom({ kind: 'private' })
    await right(stores.rooms.create(room))
    const add = (who: ChatUser, maxMembers?: number) =>
      right(stores.rooms.addMember({ room: room.id, user: who.id, at: T0 + 1, ...(maxMembers === undefined ? {} : { maxMembers }) }))
    expect(await add(bia, 3)).toBe('added')
    expect(await add(bia, 3)).toBe('already')
    expect(await add(ana, 3)).toBe('already')
    expect(await add(caio, 3)).toBe('added')
    expect(await add(dora, 3)).toBe('full')
    expect(await add(caio, 3)).toBe('already')
    // The owner first (added with the room), then by time, ties by id.
    expect(await right(stores.rooms.members(room.id))).toEqual([ana.id, bia.id, caio.id])
    expect(await right(stores.rooms.removeMember(room.id, caio.id))).toBe(true)
    expect(await right(stores.rooms.removeMember(room.id, caio.id))).toBe(false)
    expect(await membership(stores, caio, room.id)).toBeUndefined()
    expect(await add(dora, 3)).toBe('added')
    expect(await add(caio, 3)).toBe('full')
    expect(await add(caio)).toBe('added')

    // A configured room (ROOMS) has no `room_catalog` row, and its memberships are stored all the same.
    const configured = trusted(RoomId, `sala-${run()}`)
    expect(await right(stores.rooms.addMember({ room: configured, user: bia.id, at: T0, readSeq: 7 }))).toBe('added')
    expect(await right(stores.rooms.addMember({ room: configured, user: bia.id, at: T0, readSeq: 9 }))).toBe('already')
    expect(await membership(stores, bia, configured)).toEqual({ room: configured, readSeq: 7, unread: 0 })
    expect(await right(stores.rooms.members(configured))).toEqual([bia.id])
    expect(await right(stores.rooms.find(configured))).toBeUndefined()
    expect(await right(stores.rooms.removeMember(configured, bia.id))).toBe(true)
  })

  test('lists members in the order they were added', async (stores) => {
    await setUp(stores)
    const room = newRoom({ ownerId: dora.id, createdAt: T0 })
    await right(stores.rooms.create(room))
    for (const [i, who] of [caio, ana, bia].entries()) await right(stores.rooms.addMember({ room: room.id, user: who.id, at: T0 + 10 - i }))
    expect(await right(stores.rooms.members(room.id))).toEqual([dora.id, bia.id, ana.id, caio.id])
  })

  test('never passes the limit when adders race on two connections', async (stores, other) => {
    await setUp(stores)
    const second = await other()
    for (let round = 0; round < 3; round++) {
      const room = newRoom({ kind: 'private', ownerId: ana.id })
      await right(stores.rooms.create(room))
      const answers = await Promise.all(
        crowd.map((who, i) => right((i % 2 === 0 ? stores : second).rooms.addMember({ room: room.id, user: who.id, at: T0, maxMembers: 5 }))),
      )
      expect(answers.filter((answer) => answer === 'added')).toHaveLength(4)
      expect(answers.filter((answer) => answer === 'full')).toHaveLength(crowd.length - 4)
      expect(await right(second.rooms.members(room.id))).toHaveLength(5)
    }
  })

  test('counts unread as the stored messages after the marker, exactly, up to the cap', async (stores) => {
    await setUp(stores)
    const [busy, quiet, empty] = [newRoom(), newRoom(), newRoom()]
    for (const room of [busy, quiet, empty]) {
      await right(stores.rooms.create(room))
      await right(stores.rooms.addMember({ room: room.id, user: bia.id, at: T0 }))
    }
    const seqs = await post(stores, busy.id, 30)
    await post(stores, quiet.id, 2)
    const counts = async (cap: number) =>
      (await right(stores.rooms.memberships(bia.id, cap))).filter((m) => [busy.id, quiet.id, empty.id].includes(m.room)).map((m) => [m.room, m.unread])
    const sorted = <A extends readonly [RoomId, number]>(rows: A[]) => rows.sort(([a], [b]) => (a < b ? -1 : 1))
    expect(await counts(9999)).toEqual(sorted([[busy.id, 30], [quiet.id, 2], [empty.id, 0]]))
    expect(await counts(10)).toEqual(sorted([[busy.id, 10], [quiet.id, 2], [empty.id, 0]]))
    expect(await counts(Infinity)).toEqual(sorted([[busy.id, 30], [quiet.id, 2], [empty.id, 0]]))

    await right(stores.rooms.markRead([{ user: bia.id, room: busy.id, seq: seqs[24]! }]))
    expect(await membership(stores, bia, busy.id, 3)).toEqual({ room: busy.id, readSeq: seqs[24], unread: 3 })
    expect(await membership(stores, bia, busy.id)).toEqual({ room: busy.id, readSeq: seqs[24], unread: 5 })
    // Counted from what is stored, not from the numbers: a marker past the last seq leaves nothing unread.
    await right(stores.rooms.markRead([{ user: bia.id, room: busy.id, seq: seqs[29]! + 100 }]))
    expect(await membership(stores, bia, busy.id)).toEqual({ room: busy.id, readSeq: seqs[29]! + 100, unread: 0 })
    // The owner's count is their own.
    expect(await membership(stores, ana, busy.id)).toEqual({ room: busy.id, readSeq: 0, unread: 30 })
  })

  test('answers a user’s memberships ordered by room, and none for a user with none', async (stores) => {
    await setUp(stores)
    expect(await right(stores.rooms.memberships(nina.id, 10))).toEqual([])
    const rooms = [newRoom({ ownerId: lena.id }), newRoom({ ownerId: lena.id }), newRoom({ ownerId: lena.id })]
    for (const room of rooms) await right(stores.rooms.create(room))
    const dm = await right(stores.rooms.direct(lena.id, nina.id, roomId('dm'), T0))
    const ids = (await right(stores.rooms.memberships(lena.id, 10))).map((m) => m.room)
    expect(ids).toEqual([...rooms.map((r) => r.id), dm.room.id].sort((a, b) => (a < b ? -1 : 1)))
    expect(await right(stores.rooms.memberships(nina.id, 10))).toEqual([{ room: dm.room.id, readSeq: 0, unread: 0 }])
  })

  test('moves markers forward only, many in one batch, the highest of a batch winning; a marker without a membership does nothing', async (stores) => {
    await setUp(stores)
    const [one, two] = [newRoom(), newRoom()]
    for (const room of [one, two]) {
      await right(stores.rooms.create(room))
      await right(stores.rooms.addMember({ room: room.id, user: bia.id, at: T0 }))
    }
    await right(stores.rooms.markRead([]))
    await right(
      stores.rooms.markRead([
        { user: ana.id, room: one.id, seq: 5 },
        { user: ana.id, room: one.id, seq: 2 },
        { user: bia.id, room: one.id, seq: 4 },
        { user: ana.id, room: two.id, seq: 3 },
        { user: bia.id, room: two.id, seq: 1 },
        { user: bia.id, room: two.id, seq: 6 },
        { user: caio.id, room: one.id, seq: 8 },
      ]),
    )
    const markers = async () =>
      Object.fromEntries(
        await Promise.all(
          [ana, bia, caio].flatMap((who) => [one, two].map(async (room) => [`${who.username} ${room.id === one.id ? 'one' : 'two'}`, (await membership(stores, who, room.id))?.readSeq])),
        ),
      )
    expect(await markers()).toEqual({ 'ana one': 5, 'ana two': 3, 'bia one': 4, 'bia two': 6, 'caio one': undefined, 'caio two': undefined })
    await right(stores.rooms.markRead([{ user: ana.id, room: one.id, seq: 1 }, { user: bia.id, room: two.id, seq: 6 }, { user: bia.id, room: one.id, seq: 9 }]))
    expect(await markers()).toEqual({ 'ana one': 5, 'ana two': 3, 'bia one': 9, 'bia two': 6, 'caio one': undefined, 'caio two': undefined })
    // The ignored marker left nothing behind: caio joins with the marker he is given.
    expect(await right(stores.rooms.addMember({ room: one.id, user: caio.id, at: T0 }))).toBe('added')
    expect(await membership(stores, caio, one.id)).toEqual({ room: one.id, readSeq: 0, unread: 0 })
  })

  test('keeps the highest marker when batches touching the same markers race on two connections', async (stores, other) => {
    await setUp(stores)
    const second = await other()
    const rooms = [newRoom(), newRoom(), newRoom()]
    const readers = crowd.slice(8, 12)
    for (const room of rooms) {
      await right(stores.rooms.create(room))
      for (const who of readers) await right(stores.rooms.addMember({ room: room.id, user: who.id, at: T0 }))
    }
    const pairs = rooms.flatMap((room) => readers.map((who) => ({ user: who.id, room: room.id })))
    const batches = Array.from({ length: 10 }, (_, n) => {
      const markers = pairs.map((pair, i) => ({ ...pair, seq: ((n * 7 + i * 3) % 10) + 1 }))
      return n % 2 === 0 ? markers : [...markers].reverse()
    })
    await Promise.all(batches.map((batch, n) => right((n % 2 === 0 ? stores : second).rooms.markRead(batch))))
    for (const [i, pair] of pairs.entries()) {
      const highest = Math.max(...batches.map((batch) => batch.find((m) => m.user === pair.user && m.room === pair.room)!.seq))
      expect((await right(stores.rooms.memberships(pair.user, 10))).find((m) => m.room === pair.room)?.readSeq, `marker ${i}`).toBe(highest)
    }
  })

  test('adds many members in one call, each with its time and marker, leaving a member already there as they were; the first of two entries wins', async (stores) => {
    await setUp(stores)
    const room = newRoom({ ownerId: dora.id })
    await right(stores.rooms.create(room))
    const configured = roomId('sala')
    await post(stores, room.id, 3)
    await right(stores.rooms.addMembers([]))
    await right(
      stores.rooms.addMembers([
        { room: room.id, user: bia.id, at: T0 + 2, readSeq: 1 },
        { room: room.id, user: dora.id, at: T0 + 9, readSeq: 3 },
        { room: configured, user: bia.id, at: T0 + 1, readSeq: 7 },
        { room: room.id, user: caio.id, at: T0 + 1, readSeq: 2 },
        { room: room.id, user: bia.id, at: T0 + 3, readSeq: 3 },
      ]),
    )
    // Ordered by when each was added: the owner at T0, then caio, then bia.
    expect(await right(stores.rooms.members(room.id))).toEqual([dora.id, caio.id, bia.id])
    expect(await right(stores.rooms.members(configured))).toEqual([bia.id])
    expect(await membership(stores, bia, room.id)).toEqual({ room: room.id, readSeq: 1, unread: 2 })
    expect(await membership(stores, caio, room.id)).toEqual({ room: room.id, readSeq: 2, unread: 1 })
    expect(await membership(stores, dora, room.id)).toEqual({ room: room.id, readSeq: 0, unread: 3 })
    expect(await membership(stores, bia, configured)).toEqual({ room: configured, readSeq: 7, unread: 0 })
    // Again: nothing changes.
    await right(stores.rooms.addMembers([{ room: room.id, user: caio.id, at: T0 + 5, readSeq: 0 }]))
    expect(await membership(stores, caio, room.id)).toEqual({ room: room.id, readSeq: 2, unread: 1 })
    expect(await right(stores.rooms.members(room.id))).toEqual([dora.id, caio.id, bia.id])
  })

  test('adds a crowd of a thousand memberships in one call, and batches that overlap racing on two connections all land', async (stores, other) => {
    await setUp(stores)
    const second = await other()
    const configured = Array.from({ length: 70 }, () => roomId('sala'))
    const all = configured.flatMap((room, r) => crowd.map((who, u) => ({ room, user: who.id, at: T0 + u, readSeq: r })))
    expect(all.length).toBeGreaterThan(1000)
    await right(stores.rooms.addMembers(all.slice(0, 1000)))
    // The rest, each twice, racing in opposite orders on two connections (as two processes would).
    const rest = all.slice(1000)
    await Promise.all([right(stores.rooms.addMembers(rest)), right(second.rooms.addMembers([...rest].reverse()))])
    for (const room of [configured[0]!, configured[69]!]) expect(await right(stores.rooms.members(room))).toEqual(crowd.map((who) => who.id))
    const held = await right(stores.rooms.memberships(crowd[5]!.id, 10))
    expect(held.filter((m) => configured.includes(m.room)).map((m) => [m.room, m.readSeq])).toEqual(
      configured.map((room, r) => [room, r] as const).sort(([a], [b]) => (a < b ? -1 : 1)),
    )
  })
})
