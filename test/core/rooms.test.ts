import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { UserId } from '../../src/core/brands.js'
import { trusted } from '../../src/core/codecs.js'
import { describeProblems } from '../../src/core/codecs.js'
import {
  changesOf,
  DAY_MS,
  MadeRoomName,
  mayArchive,
  mayChange,
  mayInvite,
  mayKnowRoom,
  mayRemove,
  AddMemberRequest,
  CreateRoomRequest,
  UpdateRoomRequest,
  roomCreationWait,
  RoomTopic,
  standingOf,
  topicOf,
  storedRoomName,
  storedTopic,
  type Asker,
  type RoomRefusal,
  type RoomStanding,
} from '../../src/core/rooms.js'
import { CONFIGURED_ROOM, type RoomKind } from '../../src/core/chat/state.js'
import { checkName, codePointLength, hasVisibleContent } from '../../src/core/text.js'
import { user } from '../arbitraries.js'

// The rules of rooms people make (src/core/rooms.ts, docs/rooms.md): request bodies decoded at the edge,
// who may rename, archive, add and remove, and how many rooms a day.

const ana = trusted(UserId, 'id-ana')
const bia = trusted(UserId, 'id-bia')

const problems = (decoded: E.Either<unknown, unknown>) => (E.isLeft(decoded) ? describeProblems(decoded.left as never) : [])

describe('request bodies', () => {
  it('a room name is 1-80 characters under the text rules, kept in NFC', () => {
    expect(CreateRoomRequest.decode({ name: 'Cafe\u0301 ☕', visibility: 'public' })).toEqual(E.right({ name: 'Café ☕', visibility: 'public' }))
    expect(E.isRight(MadeRoomName.decode('x'.repeat(80)))).toBe(true)
    // 80 code points, not UTF-16 units: emoji count once.
    expect(E.isRight(MadeRoomName.decode('🎉'.repeat(80)))).toBe(true)
    for (const bad of ['', ' padded ', 'x'.repeat(81), 'two\nlines', 'bidi \u202e', 'zero\u200bwidth', '\u200b']) {
      expect(E.isLeft(MadeRoomName.decode(bad)), JSON.stringify(bad)).toBe(true)
    }
    expect(problems(CreateRoomRequest.decode({ name: 'x'.repeat(81), visibility: 'public' }))).toEqual([
      { path: 'name', message: 'must be 1-80 characters, without control, bidirectional or invisible characters or surrounding spaces' },
    ])
  })

  it('a decoded name is what checkName keeps with the rule of 80, and decodes to itself', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 90 }), (raw) => {
        const decoded = MadeRoomName.decode(raw)
        const checked = checkName(raw, { max: 80 })
        expect(E.isRight(decoded)).toBe(E.isRight(checked))
        if (E.isLeft(decoded) || E.isLeft(checked)) return
        expect(decoded.right).toBe(checked.right)
        expect(codePointLength(decoded.right)).toBeLessThanOrEqual(80)
        expect(hasVisibleContent(decoded.right)).toBe(true)
        expect(MadeRoomName.decode(decoded.right)).toEqual(E.right(decoded.right))
      }),
      { numRuns: 500 },
    )
  })

  it('a topic is 0-250 characters on one line; empty or null is none', () => {
    expect(RoomTopic.decode('')).toEqual(E.right(''))
    expect(E.isRight(RoomTopic.decode('t'.repeat(250)))).toBe(true)
    for (const bad of ['t'.repeat(251), 'line\nbreak', 'tab\there', ' spaced', '\u2028', '   ']) {
      expect(E.isLeft(RoomTopic.decode(bad)), JSON.stringify(bad)).toBe(true)
    }
    expect(topicOf(trusted(RoomTopic, ''))).toBeNull()
    expect(topicOf(null)).toBeNull()
    expect(topicOf(trusted(RoomTopic, 'beans'))).toBe('beans')
  })

  it('a new room needs a name and a visibility of public or private; unknown fields are refused, each problem named', () => {
    expect(CreateRoomRequest.decode({ name: 'Plans', visibility: 'private', topic: 'what next' })).toEqual(
      E.right({ name: 'Plans', visibility: 'private', topic: 'what next' }),
    )
    expect(problems(CreateRoomRequest.decode({ visibility: 'direct', owner: 'me' }))).toEqual([
      { path: 'owner', message: 'is not a known field' },
      { path: 'name', message: 'is required' },
      { path: 'visibility', message: 'must be "public" or "private"' },
    ])
    expect(problems(CreateRoomRequest.decode(undefined))).toEqual([{ path: '', message: 'must be a JSON object' }])
  })

  it('a change may rename, set or clear the topic (null at the field’s own path when bad)', () => {
    expect(UpdateRoomRequest.decode({})).toEqual(E.right({}))
    expect(UpdateRoomRequest.decode({ topic: null })).toEqual(E.right({ topic: null }))
    expect(UpdateRoomRequest.decode({ name: 'New', topic: 'new topic' })).toEqual(E.right({ name: 'New', topic: 'new topic' }))
    expect(problems(UpdateRoomRequest.decode({ topic: 'a\nb', name: 7 }))).toEqual([
      { path: 'name', message: 'must be a string' },
      { path: 'topic', message: 'must not contain control characters or line breaks' },
    ])
    expect(problems(UpdateRoomRequest.decode({ topic: 't'.repeat(251) }))).toEqual([
      { path: 'topic', message: expect.stringContaining('at most 250 characters on one line') },
    ])
  })

  it('what a change changes: only what differs from the room as it is', () => {
    const current = { name: 'Plans', topic: 'what next' }
    const request = (body: unknown) => trusted(UpdateRoomRequest, body)
    expect(changesOf(request({}), current)).toEqual({})
    expect(changesOf(request({ name: 'Plans', topic: 'what next' }), current)).toEqual({})
    expect(changesOf(request({ name: 'Later' }), current)).toEqual({ name: 'Later' })
    expect(changesOf(request({ topic: null }), current)).toEqual({ topic: null })
    expect(changesOf(request({ topic: '' }), current)).toEqual({ topic: null })
    expect(changesOf(request({ topic: '' }), { name: 'Plans', topic: null })).toEqual({})
  })

  it('a member is named by a username', () => {
    expect(AddMemberRequest.decode({ username: 'bia' })).toEqual(E.right({ username: 'bia' }))
    expect(problems(AddMemberRequest.decode({ username: 'b' }))).toEqual([{ path: 'username', message: expect.stringContaining('3-32 characters') }])
  })
})

const room = (kind: RoomKind, owner: UserId | null, archived = false): RoomStanding => ({ kind, owner, archived })
const member = (id: UserId): Asker => ({ id, member: true })
const stranger = (id: UserId): Asker => ({ id, member: false })
const refusal = (type: RoomRefusal['type']) => E.left({ type })

describe('who may do what', () => {
  it('the owner renames and archives their room; another member is not_owner; nobody owns a configured room or a conversation', () => {
    const plans = room('private', ana)
    expect(mayChange(plans, member(ana))).toEqual(E.right(plans))
    expect(mayArchive(plans, member(ana))).toEqual(E.right(plans))
    expect(mayChange(plans, member(bia))).toEqual(refusal('not_owner'))
    expect(mayArchive(room('public', ana), stranger(bia))).toEqual(refusal('not_owner'))
    expect(mayChange(standingOf(CONFIGURED_ROOM), member(ana))).toEqual(refusal('not_owner'))
    expect(mayArchive(room('direct', null), member(ana))).toEqual(refusal('not_owner'))
  })

  it('an archived room is archived again with the same answer, but no longer renamed or given members', () => {
    const archived = room('private', ana, true)
    expect(mayArchive(archived, member(ana))).toEqual(E.right(archived))
    expect(mayChange(archived, member(ana))).toEqual(refusal('room_archived'))
    expect(mayInvite(archived, member(ana))).toEqual(refusal('room_archived'))
    // Leaving stays possible.
    expect(mayRemove(archived, member(bia), 'self')).toEqual(E.right('leave'))
  })

  it('members are added to private rooms only, by their owner', () => {
    expect(mayInvite(room('private', ana), member(ana))).toEqual(E.right(room('private', ana)))
    expect(mayInvite(room('private', ana), member(bia))).toEqual(refusal('not_owner'))
    expect(mayInvite(room('public', ana), member(ana))).toEqual(refusal('not_private'))
    expect(mayInvite(room('direct', null), member(ana))).toEqual(refusal('not_private'))
    expect(mayInvite(standingOf(CONFIGURED_ROOM), stranger(ana))).toEqual(refusal('not_private'))
  })

  it('anyone leaves a room but its owner (who archives) and a conversation’s two; the owner removes others from a private room', () => {
    expect(mayRemove(room('private', ana), member(bia), 'self')).toEqual(E.right('leave'))
    expect(mayRemove(room('public', ana), member(bia), 'self')).toEqual(E.right('leave'))
    expect(mayRemove(standingOf(CONFIGURED_ROOM), stranger(bia), 'self')).toEqual(E.right('leave'))
    expect(mayRemove(room('private', ana), member(ana), 'self')).toEqual(refusal('owner_cannot_leave'))
    expect(mayRemove(room('direct', null), member(ana), 'self')).toEqual(refusal('direct_conversation'))
    expect(mayRemove(room('direct', null), member(ana), 'other')).toEqual(refusal('direct_conversation'))
    expect(mayRemove(room('private', ana), member(ana), 'other')).toEqual(E.right('remove'))
    expect(mayRemove(room('private', ana), member(bia), 'other')).toEqual(refusal('not_owner'))
    expect(mayRemove(room('public', ana), member(ana), 'other')).toEqual(refusal('not_private'))
  })

  it('to a non-member, a private room or a conversation is a missing room: every rule answers as for none, whoever owns it', () => {
    const asks = [mayChange, mayArchive, mayInvite, (r: RoomStanding | undefined, a: Asker) => mayRemove(r, a, 'self'), (r: RoomStanding | undefined, a: Asker) => mayRemove(r, a, 'other')]
    const standing = fc.record({
      kind: fc.constantFrom<RoomKind>('private', 'direct'),
      owner: fc.constantFrom<UserId | null>(ana, bia, null),
      archived: fc.boolean(),
    })
    fc.assert(
      fc.property(standing, fc.constantFrom(ana, bia), (hidden, asker) => {
        // Owners are members; the rules are asked about non-members only with rooms they do not own.
        fc.pre(hidden.owner !== asker)
        for (const ask of asks) expect(ask(hidden, stranger(asker))).toEqual(ask(undefined, stranger(asker)))
        expect(mayKnowRoom(hidden, stranger(asker))).toBe(false)
      }),
    )
  })

  it('a public room may be known by anyone; the answers never depend on membership there but for leaving', () => {
    fc.assert(
      fc.property(fc.constantFrom<UserId | null>(ana, bia, null), fc.boolean(), fc.constantFrom(ana, bia), (owner, archived, asker) => {
        const open = room('public', owner, archived)
        expect(mayKnowRoom(open, stranger(asker))).toBe(true)
        for (const ask of [mayChange, mayArchive, mayInvite]) expect(ask(open, stranger(asker))).toEqual(ask(open, member(asker)))
      }),
    )
  })

  it('the configured rooms stand as public, ownerless, never archived', () => {
    expect(standingOf(CONFIGURED_ROOM)).toEqual({ kind: 'public', owner: null, archived: false })
    const bias = user('bia')
    expect(standingOf({ kind: 'private', topic: null, owner: bias, archivedAt: 5, pair: [] })).toEqual({ kind: 'private', owner: bias.id, archived: true })
  })
})

describe('rooms per day', () => {
  const at = 10 * DAY_MS
  it('below the limit: no wait', () => {
    expect(roomCreationWait({ count: 0, earliest: null }, 10, at)).toBe(0)
    expect(roomCreationWait({ count: 9, earliest: at - 5 }, 10, at)).toBe(0)
  })

  it('at the limit: until the earliest of the day is a day old', () => {
    expect(roomCreationWait({ count: 10, earliest: at - DAY_MS + 60_000 }, 10, at)).toBe(60_000)
    expect(roomCreationWait({ count: 3, earliest: at - 1000 }, 3, at)).toBe(DAY_MS - 1000)
    // Never 0 once refused, so a client told to wait does.
    expect(roomCreationWait({ count: 3, earliest: at - DAY_MS }, 3, at)).toBe(1)
  })

  it('refuses exactly when the count reaches the limit, and then waits at most a day', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: DAY_MS }), (count, perDay, age) => {
        const wait = roomCreationWait({ count, earliest: count === 0 ? null : at - age }, perDay, at)
        expect(wait === 0).toBe(count < perDay)
        expect(wait).toBeLessThanOrEqual(DAY_MS)
      }),
    )
  })
})

describe('room names and topics read back from the store', () => {
  it('are shown without what today’s rules refuse, cut to length; nothing left is the fallback, or no topic', () => {
    expect(storedRoomName('Plans', 'r-x')).toBe('Plans')
    expect(storedRoomName('Pla\u0301'.normalize('NFD'), 'r-x')).toBe('Plá')
    expect(storedRoomName(`Z${'\u0301'.repeat(40)}algo`, 'r-x')).not.toContain('\u0301'.repeat(5))
    expect(storedRoomName('\ue000', 'r-x')).toBe('r-x')
    expect(storedRoomName('a'.repeat(200), 'r-x')).toHaveLength(80)
    expect(storedTopic('\ue000\uffff')).toBe(null)
    expect(storedTopic(null)).toBe(null)
    expect(storedTopic('what we plan')).toBe('what we plan')
  })

  it('always come out as today’s rules accept them', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 120 }), (raw) => {
        const name = storedRoomName(raw, 'fallback')
        expect(E.isRight(MadeRoomName.decode(name)) || name === 'fallback').toBe(true)
        const topic = storedTopic(raw)
        if (topic !== null) expect(E.isRight(RoomTopic.decode(topic))).toBe(true)
      }),
    )
  })
})
