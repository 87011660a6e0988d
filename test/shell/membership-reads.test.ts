import * as E from 'fp-ts/lib/Either.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { describe, expect, it } from 'vitest'
import { RoomId } from '../../src/core/brands.js'
import { trusted } from '../../src/core/codecs.js'
import type { RoomStore } from '../../src/adapters/stores.js'
import { createMembershipReads } from '../../src/shell/ws/membership-reads.js'
import { user } from '../arbitraries.js'

// A connection reads its user's memberships as it opens (src/shell/ws/connection.ts); a change of them that
// reaches the runtime meanwhile makes the read stale, so the connection reads again.

const ana = user('ana')
const bia = user('bia')
const ROOM = trusted(RoomId, 'r-room00000001')

const store = (unreadCaps: number[] = []): RoomStore =>
  ({
    memberships: (_user, unreadCap) => {
      unreadCaps.push(unreadCap)
      return TE.right([{ room: ROOM, readSeq: 4, unread: 0 }])
    },
  }) as Pick<RoomStore, 'memberships'> as RoomStore

describe('membership reads', () => {
  it('answer the memberships as the core takes them, without counting unread', async () => {
    const caps: number[] = []
    const reads = createMembershipReads(store(caps))
    const read = reads.read(ana.id)
    expect(await read.answer).toEqual(E.right([{ room: ROOM, readSeq: 4 }]))
    expect(caps).toEqual([0])
    read.done()
  })

  it('are stale once a change of that user’s memberships is dispatched meanwhile, here or from another process', () => {
    const reads = createMembershipReads(store())
    const here = reads.read(ana.id)
    const fromPeer = reads.read(bia.id)
    reads.observe({ type: 'MembershipChanged', room: ROOM, user: bia, change: 'added', readSeq: 0, at: 0 })
    expect(here.stale()).toBe(false)
    expect(fromPeer.stale()).toBe(true)
    reads.observe({ type: 'PeerAnnounced', origin: 'p', fact: { type: 'membership_changed', room: ROOM, user: ana, change: 'removed', readSeq: 0 }, at: 0 })
    expect(here.stale()).toBe(true)
    // A read begun after the change is not stale.
    const later = reads.read(ana.id)
    expect(later.stale()).toBe(false)
    reads.observe({ type: 'ClockTicked', at: 1 })
    expect(later.stale()).toBe(false)
    for (const read of [here, fromPeer, later]) read.done()
  })

  it('watch nobody once every read is done (done twice is harmless)', () => {
    const reads = createMembershipReads(store())
    const first = reads.read(ana.id)
    const second = reads.read(ana.id)
    first.done()
    first.done()
    reads.observe({ type: 'MembershipChanged', room: ROOM, user: ana, change: 'added', readSeq: 0, at: 0 })
    expect(second.stale()).toBe(true)
    second.done()
    const third = reads.read(ana.id)
    expect(third.stale()).toBe(false)
    third.done()
  })
})
