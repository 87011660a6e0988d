import * as E from 'fp-ts/lib/Either.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { describe, expect, it } from 'vitest'
import { RoomId, type UserId } from '../../src/core/brands.js'
import { trusted } from '../../src/core/codecs.js'
import type { ChatUser } from '../../src/core/chat/state.js'
import type { CatalogRoom, RoomStore } from '../../src/adapters/stores.js'
import { createRoomLookup, decide } from '../../src/shell/http/room-lookup.js'
import { mayChange } from '../../src/core/rooms.js'
import { user } from '../arbitraries.js'

// A route's room lookup (src/shell/http/room-lookup.ts) must not tell, by the work it does, whether a room
// the asker may not know exists: a free id and a hidden room's id make the same store calls, in the same
// order (the timing itself is for benchmarks). Here the calls are recorded with their arguments.

const ana = user('ana')
const bia = user('bia')
const id = (s: string) => trusted(RoomId, s)
const HIDDEN = id('r-hidden000001')
const MINE = id('r-mine00000001')
const OPEN = id('r-open00000001')
const FREE = id('r-free00000001')
const DM = id('dm-convo000001')
const CONFIGURED = id('sala-1')

const made = (room: RoomId, kind: 'public' | 'private', owner = ana): CatalogRoom => ({
  id: room,
  kind,
  name: 'Room',
  topic: null,
  ownerId: owner.id,
  owner,
  createdAt: 0,
  archivedAt: null,
})
const pair = [ana, user('caio')].sort((a, b) => (a.id < b.id ? -1 : 1)) as [ChatUser, ChatUser]
const catalog = new Map<RoomId, CatalogRoom>([
  [HIDDEN, made(HIDDEN, 'private')],
  [MINE, made(MINE, 'private')],
  [OPEN, made(OPEN, 'public')],
  [DM, { id: DM, kind: 'direct', members: pair.map((u) => u.id) as [UserId, UserId], pair, createdAt: 0, archivedAt: null }],
])

const recordingStore = (calls: string[]): RoomStore =>
  ({
    find: (room) => {
      calls.push(`find ${room}`)
      return TE.right(catalog.get(room))
    },
    memberships: (who, cap) => {
      calls.push(`memberships ${who} ${cap}`)
      return TE.right(who === bia.id ? [{ room: MINE, readSeq: 0, unread: 0 }] : [])
    },
  }) as Pick<RoomStore, 'find' | 'memberships'> as RoomStore

const ask = async (room: string, asker = bia) => {
  const calls: string[] = []
  const answer = await createRoomLookup({ rooms: recordingStore(calls), configured: [CONFIGURED] }).ask(room, asker)()
  if (E.isLeft(answer)) throw new Error(answer.left.message)
  return { calls, asked: answer.right }
}

describe('the room lookup of the room routes', () => {
  it('makes the same store calls for a free id as for a private room the asker may not know, and both are unknown_room', async () => {
    const free = await ask(FREE)
    const hidden = await ask(HIDDEN)
    expect(free.calls).toEqual([`find ${FREE}`, `memberships ${bia.id} 0`])
    expect(hidden.calls).toEqual([`find ${HIDDEN}`, `memberships ${bia.id} 0`])
    for (const { asked } of [free, hidden]) {
      expect(asked.asker).toEqual({ id: bia.id, member: false })
      const refused = decide(asked, mayChange)
      expect(E.isLeft(refused) && refused.left.status).toBe(404)
    }
  })

  it('makes those calls for every stored room too (public, a conversation, one the asker belongs to), deciding membership as before', async () => {
    const answers = await Promise.all([OPEN, DM, MINE].map(async (room) => ({ room, ...(await ask(room)) })))
    for (const { room, calls } of answers) expect(calls).toEqual([`find ${room}`, `memberships ${bia.id} 0`])
    expect(answers.map(({ asked }) => asked.asker.member)).toEqual([false, false, true])
    expect((await ask(DM, ana)).asked.asker.member).toBe(true)
    expect((await ask(HIDDEN, ana)).asked.asker.member).toBe(true)
  })

  it('asks the store nothing for a configured room or an id not shaped like a room’s: neither is a secret', async () => {
    const configured = await ask(CONFIGURED)
    expect(configured.calls).toEqual([])
    expect(configured.asked.room?.id).toBe(CONFIGURED)
    const misshapen = await ask('not a room id')
    expect(misshapen.calls).toEqual([])
    expect(misshapen.asked.room).toBeUndefined()
  })
})
