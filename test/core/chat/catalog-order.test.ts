import { describe, expect, it } from 'vitest'
import { RoomId } from '../../../src/core/brands.js'
import { trusted } from '../../../src/core/codecs.js'
import type { RoomEntry } from '../../../src/core/chat/state.js'
import { users } from '../../arbitraries.js'
import { UNLIMITED, World } from './harness.js'

// A connection's memberships are read from the store as it opens (src/shell/ws/connection.ts), so one may
// open holding the membership of a private room that has not reached this process's catalog yet (stored,
// its RoomSaved still on its way): the room is added for it when it arrives, once.

const PRIVATE = trusted(RoomId, 'r-early0000001')
const [ana] = users as [(typeof users)[0]]
const plans: RoomEntry = { id: PRIVATE, name: 'Plans', profile: { kind: 'private', topic: null, owner: ana, archivedAt: null, pair: [] } }

describe('a membership read before its room arrives', () => {
  it('gets room_added when the room reaches the catalog, and not again when the membership change follows', () => {
    const world = new World({ ...UNLIMITED, cluster: null })
    world.memberStore.set(ana.id, new Map([[PRIVATE, 0]]))
    world.open(0)
    const welcome = world.framesOf(world.currentConnection(0)).find((frame) => frame.type === 'welcome')
    expect(welcome?.type === 'welcome' && welcome.rooms.some((room) => room.id === PRIVATE)).toBe(false)

    world.saveRoom(plans)
    world.dispatch({ type: 'MembershipChanged', room: PRIVATE, user: ana, change: 'added', readSeq: 0, at: 0 })
    const added = world.framesOf(world.currentConnection(0)).filter((frame) => frame.type === 'room_added')
    expect(added).toEqual([{ type: 'room_added', room: { id: PRIVATE, name: 'Plans', members: 0, visibility: 'private', unread: 0, member: true, owner: ana.username } }])

    // Nobody else hears of it.
    world.open(1)
    world.saveRoom({ ...plans, name: 'Plans, renamed' })
    expect(world.framesOf(world.currentConnection(1)).some((frame) => JSON.stringify(frame).includes(PRIVATE))).toBe(false)
  })
})
