import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Command } from '../../src/client/frames.js'
import { awaitsPage, memberCountLine, shownMembers } from '../../src/client/members.js'
import { update, type Model, type Msg } from '../../src/client/model.js'
import type { Departure, PublicUser, RoomSummary } from '../../src/core/protocol/server-frames.js'
import { fold, frame, sent } from './fold.js'

// The member list in protocol version 2 (docs/big-rooms.md): the first page `joined` gives, the pages
// `members` brings as the list is scrolled, and the `presence` frames that keep it true, with the count.

const person = (username: string): PublicUser => ({ username, name: username.toUpperCase() })
const ana = person('ana')
const bia = person('bia')
const caio = person('caio')
const dan = person('dan')
const rooms: RoomSummary[] = [
  { id: 'sala-1', name: 'Sala 1', members: 0, visibility: 'public', unread: 0, member: true },
  { id: 'sala-2', name: 'Sala 2', members: 0, visibility: 'public', unread: 0, member: true },
]

const names = (model: Model) => shownMembers(model.members).map((u) => u.username)
const membersSent = (msgs: ReadonlyArray<Msg>, from: Model) => sent(fold(msgs, from).commands).filter((c) => c.type === 'members')
const scrolled: Msg = { type: 'membersRequested' }

/** Ana, welcomed by a version-2 server, on her way into `room`. */
const joining = (room = 'sala-1'): Model =>
  fold([{ type: 'signedIn', at: 0 }, { type: 'socketOpened', at: 0 }, frame({ type: 'welcome', user: ana, rooms, protocol: 2 }), { type: 'joinRequested', room }]).model
/** Ana in Sala 1, whose `joined` lists `users` of `count`, with `cursor` when more remain. */
const inSala1 = (users: ReadonlyArray<PublicUser>, count: number, cursor?: string): Model => {
  const asked = joining()
  const joined = { type: 'joined' as const, room: 'sala-1', users: [...users], count, typing: [], history: [], ref: asked.joining?.ref ?? '' }
  return fold([frame(cursor === undefined ? joined : { ...joined, cursor })], asked).model
}
const presence = (joins: ReadonlyArray<PublicUser>, leaves: ReadonlyArray<PublicUser>, count: number, room = 'sala-1'): Msg =>
  frame({ type: 'presence', room, joins: [...joins], leaves: leaves.map((user): Departure => ({ user, reason: 'left' })), count })
/** The answer to the `members` command the page sent last. */
const page = (model: Model, users: ReadonlyArray<PublicUser>, count: number, cursor?: string): Msg => {
  const ref = model.members.more.state === 'asking' ? model.members.more.ref : 'none'
  return frame({ type: 'members', room: 'sala-1', users: [...users], count, ref, ...(cursor === undefined ? {} : { cursor }) })
}

/** A window of more changes than a page: the room's first page again, with `cursor` when more remain. */
const reset = (users: ReadonlyArray<PublicUser>, count: number, cursor?: string): Msg =>
  frame({ type: 'presence', room: 'sala-1', joins: [...users], leaves: [], count, reset: true, ...(cursor === undefined ? {} : { cursor }) })

describe('the member list, by pages', () => {
  it('keeps the first page and the count, and says the count in words', () => {
    const model = inSala1([ana, bia], 250, '7')
    expect(names(model)).toEqual(['ana', 'bia'])
    expect(model.members.count).toBe(250)
    expect(model.members.more).toEqual({ state: 'more', cursor: '7' })
    expect(memberCountLine(model.members)).toBe('250 members')
    expect(memberCountLine(inSala1([ana], 1).members)).toBe('1 member')
    expect(memberCountLine(inSala1([ana, bia], 1234, '3').members)).toBe('1,234 members')
    // Before any `joined`, there is nothing to count.
    expect(memberCountLine(joining().members)).toBe('')
  })

  it('asks for the page after the cursor, appends it, and keeps a typist listed twice once', () => {
    const first = inSala1([bia, ana, caio], 5, '2')
    const { model: asking, commands } = fold([scrolled], first)
    expect(sent(commands)).toEqual([{ type: 'members', room: 'sala-1', cursor: '2', ref: expect.stringMatching(/^members-/) }])
    // Bia, typing, came first on the first page; she is listed again at her place.
    const { model } = fold([page(asking, [bia, dan], 5)], asking)
    expect(names(model)).toEqual(['bia', 'ana', 'caio', 'dan'])
    expect(model.members.more).toEqual({ state: 'none' })
  })

  it('asks for one page at a time, and for none after the last', () => {
    const first = inSala1([ana, bia], 6, '4')
    const { model: asking, commands } = fold([scrolled, scrolled, scrolled], first)
    expect(sent(commands).filter((c) => c.type === 'members')).toHaveLength(1)
    const second = fold([page(asking, [caio], 6, '2')], asking).model
    const next = fold([scrolled, scrolled], second)
    expect(sent(next.commands)).toEqual([{ type: 'members', room: 'sala-1', cursor: '2', ref: expect.stringMatching(/^members-/) }])
    const last = fold([page(next.model, [dan], 6)], next.model).model
    expect(names(last)).toEqual(['ana', 'bia', 'caio', 'dan'])
    expect(membersSent([scrolled, scrolled], last)).toEqual([])
    // A room that fits on one page is never paged.
    expect(membersSent([scrolled], inSala1([ana, bia], 2))).toEqual([])
  })

  it('takes no page it did not ask for, nor one meant for a room it has left', () => {
    const asking = fold([scrolled], inSala1([ana, bia], 4, '3')).model
    const stray = frame({ type: 'members', room: 'sala-1', users: [caio], count: 4, ref: 'members-999' })
    expect(fold([stray], asking).model.members).toBe(asking.members)
    // Moving on resets the pages: the old answer, when it comes, is old news.
    const moved = fold([{ type: 'joinRequested', room: 'sala-2' }], asking).model
    const answer = page(asking, [caio], 4)
    const there = fold([frame({ type: 'joined', room: 'sala-2', users: [ana], count: 1, typing: [], history: [], ref: moved.joining?.ref ?? '' }), answer], moved).model
    expect(names(there)).toEqual(['ana'])
    expect(there.members.more).toEqual({ state: 'none' })
  })

  it('after a refusal asks again: silently when the user moved (its joined follows), saying so otherwise', () => {
    const asking = fold([scrolled], inSala1([ana, bia], 4, '3')).model
    const ref = asking.members.more.state === 'asking' ? asking.members.more.ref : ''
    const moved = fold([frame({ type: 'error', code: 'not_in_room', message: 'you are not in the room', ref })], asking).model
    expect(moved.members.more).toEqual({ state: 'more', cursor: '3' })
    expect(moved.notices).toEqual([])
    const limited = fold([frame({ type: 'error', code: 'rate_limited', message: 'too many commands', ref, retryAfterMs: 500 })], asking).model
    expect(limited.members.more).toEqual({ state: 'more', cursor: '3' })
    expect(limited.notices.map((n) => n.text)).toEqual(['Could not list more people: too many commands'])
    expect(membersSent([scrolled], limited)).toHaveLength(1)
  })

  it('applies presence: arrivals at the top, departures off, a departure never listed ignored, the count as said', () => {
    const first = inSala1([ana, bia], 40, '9')
    const { model } = fold([presence([caio], [bia, dan], 39)], first)
    expect(names(model)).toEqual(['caio', 'ana'])
    expect(model.members.count).toBe(39)
    expect(memberCountLine(model.members)).toBe('39 members')
    // Someone who leaves types no more.
    const typing = fold([frame({ type: 'typing', room: 'sala-1', user: caio, typing: true }), presence([], [caio], 38)], model).model
    expect(typing.typing).toEqual([])
    // Presence of another room, or before the page is in its room, changes nothing.
    expect(fold([presence([dan], [], 41, 'sala-2')], model).model.members).toBe(model.members)
    expect(fold([presence([dan], [], 41)], joining()).model.members).toBe(joining().members)
  })

  it('takes a reset as its list, pages on from its cursor, and ignores the page asked for before it', () => {
    const asking = fold([scrolled], inSala1([ana, bia], 40, '9')).model
    const stale = page(asking, [caio], 40, '8')
    const { model } = fold([reset([dan, caio], 70, '60')], asking)
    expect(names(model)).toEqual(['dan', 'caio'])
    expect(model.members.count).toBe(70)
    expect(model.members.more).toEqual({ state: 'more', cursor: '60' })
    // The answer for the old cursor comes after the reset: it would leave a gap, and is not taken.
    const after = fold([stale], model).model
    expect(after.members).toBe(model.members)
    // Nor is its refusal.
    const ref = asking.members.more.state === 'asking' ? asking.members.more.ref : ''
    const refused = fold([frame({ type: 'error', code: 'rate_limited', message: 'too many commands', ref, retryAfterMs: 500 })], model).model
    expect(refused.members).toBe(model.members)
    expect(refused.notices).toEqual([])
    // Scrolling asks from the reset's cursor.
    const { model: again, commands } = fold([scrolled], after)
    expect(sent(commands)).toEqual([{ type: 'members', room: 'sala-1', cursor: '60', ref: expect.stringMatching(/^members-/) }])
    expect(names(fold([page(again, [ana, bia], 70)], again).model)).toEqual(['dan', 'caio', 'ana', 'bia'])
    // A reset without a cursor lists the whole room.
    expect(fold([reset([bia], 1)], asking).model.members.more).toEqual({ state: 'none' })
  })

  it('after a reset, shows typing no more for a typist it does not list, when it lists every typist', () => {
    const typing = (user: PublicUser): Msg => frame({ type: 'typing', room: 'sala-1', user, typing: true })
    const typists = fold([typing(bia), typing(caio)], inSala1([ana, bia, caio], 3)).model
    // Typists come first: Caio listed after someone not typing means Bia, unlisted, has left.
    expect(fold([reset([caio, dan], 12, '5')], typists).model.typing).toEqual([caio])
    // The whole room, no cursor: the same.
    expect(fold([reset([ana], 1)], typists).model.typing).toEqual([])
    // A page of typists only, with more beyond: the others may be further on, and are kept.
    expect(fold([reset([caio], 12, '5')], typists).model.typing).toEqual([bia, caio])
  })

  it('still applies user_joined and user_left, as a version-1 server sends them', () => {
    const first = inSala1([ana, bia], 2)
    const joined = fold([frame({ type: 'user_joined', room: 'sala-1', user: caio }), frame({ type: 'user_joined', room: 'sala-1', user: caio })], first).model
    expect(names(joined)).toEqual(['caio', 'ana', 'bia'])
    expect(joined.members.count).toBe(3)
    const left = fold([frame({ type: 'user_left', room: 'sala-1', user: bia, reason: 'left' }), frame({ type: 'user_left', room: 'sala-1', user: dan, reason: 'left' })], joined).model
    expect(names(left)).toEqual(['caio', 'ana'])
    expect(left.members.count).toBe(2)
  })

  it('an own other tab leaving empties the list, as before', () => {
    const { model } = fold([frame({ type: 'user_left', room: 'sala-1', user: ana, reason: 'left' })], inSala1([ana, bia], 2))
    expect(model.room).toBeNull()
    expect(names(model)).toEqual([])
    expect(memberCountLine(model.members)).toBe('')
  })
})

// A room much simpler than the server's core: seats numbered in order of arrival, pages from the latest
// back (typists first on the first page), and changes gathered into one presence frame per window, each
// touched user as they stand at the window's end; a window of more changes than a page is sent as the first
// page again (a reset). The page's commands reach it after any other events.
interface Room {
  readonly seats: Map<string, number>
  next: number
  typing: Set<string>
  gathered: Map<string, 'arrived' | 'left'>
  /** `members` commands the page sent, not yet answered. */
  readonly inbox: Array<Extract<Command, { type: 'members' }>>
}

const PAGE = 3
const pool = ['bia', 'caio', 'dan', 'eva', 'fabio', 'gil', 'hana', 'ivo', 'joao', 'katia'].map(person)

const pageBefore = (room: Room, before: number, size: number, skip: ReadonlySet<string>): { users: PublicUser[]; cursor?: string } => {
  const older = [...room.seats].filter(([username, seat]) => seat < before && !skip.has(username)).sort((a, b) => b[1] - a[1])
  const taken = older.slice(0, size)
  const last = taken.at(-1)
  return { users: taken.map(([username]) => person(username)), ...(older.length > size && last !== undefined ? { cursor: String(last[1]) } : {}) }
}
const firstPageOf = (room: Room) => {
  const typists = [...room.typing].filter((u) => room.seats.has(u)).sort().slice(0, PAGE)
  const rest = pageBefore(room, Infinity, PAGE - typists.length, new Set(typists))
  const more = rest.cursor ?? (rest.users.length === 0 && room.seats.size > typists.length ? String(room.next) : undefined)
  return { users: [...typists.map(person), ...rest.users], ...(more === undefined ? {} : { cursor: more }) }
}

type Event =
  | { readonly type: 'arrive'; readonly user: number }
  | { readonly type: 'leave'; readonly user: number }
  | { readonly type: 'type'; readonly user: number }
  | { readonly type: 'flush' }
  | { readonly type: 'scroll' }
  | { readonly type: 'serve' }

const events: fc.Arbitrary<ReadonlyArray<Event>> = fc.array(
  fc.oneof(
    fc.nat({ max: pool.length - 1 }).map((user): Event => ({ type: 'arrive', user })),
    fc.nat({ max: pool.length - 1 }).map((user): Event => ({ type: 'leave', user })),
    fc.nat({ max: pool.length - 1 }).map((user): Event => ({ type: 'type', user })),
    fc.constant<Event>({ type: 'flush' }),
    fc.constant<Event>({ type: 'scroll' }),
    fc.constant<Event>({ type: 'serve' }),
  ),
  { maxLength: 60 },
)
const initially = fc.uniqueArray(fc.nat({ max: pool.length - 1 }), { maxLength: pool.length })

describe('the member list against a room that changes while it pages', () => {
  it('pages, presence frames and requests in any interleaving converge on who is present, and its count', () => {
    let resets = 0
    let resetsWhileAsking = 0
    fc.assert(
      fc.property(initially, events, (before, happenings) => {
        const room: Room = { seats: new Map(), next: 1, typing: new Set(), gathered: new Map(), inbox: [] }
        const arrive = (username: string) => {
          room.seats.set(username, room.next++)
          room.gathered.set(username, 'arrived')
        }
        for (const i of before) room.seats.set(pool[i]?.username ?? '', room.next++)
        let model = joining()
        const deliver = (msg: Msg) => {
          const [next, commands] = update(model, msg)
          model = next
          for (const command of sent(commands)) if (command.type === 'members') room.inbox.push(command)
          // One request awaited at a time (one asked before a reset may still be on its way, not awaited).
          expect(room.inbox.filter((command) => awaitsPage(model.members, command.ref)).length).toBeLessThanOrEqual(1)
        }
        const flush = () => {
          if (room.gathered.size === 0) return
          const joins = [...room.gathered].filter(([, change]) => change === 'arrived').map(([u]) => person(u))
          const leaves = [...room.gathered].filter(([, change]) => change === 'left').map(([u]) => person(u))
          const changes = room.gathered.size
          room.gathered = new Map()
          if (changes <= PAGE) return deliver(presence(joins, leaves, room.seats.size))
          resets++
          if (room.inbox.length > 0) resetsWhileAsking++
          deliver(reset(firstPageOf(room).users, room.seats.size, firstPageOf(room).cursor))
        }
        const serve = () => {
          const command = room.inbox.shift()
          if (command === undefined) return
          const answer = command.cursor === undefined ? firstPageOf(room) : pageBefore(room, Number(command.cursor), PAGE, new Set())
          deliver(frame({ type: 'members', room: 'sala-1', users: answer.users, count: room.seats.size, ...(command.ref === undefined ? {} : { ref: command.ref }), ...(answer.cursor === undefined ? {} : { cursor: answer.cursor }) }))
        }
        // Ana arrives (her arrival is gathered like anyone's) and gets her first page.
        arrive('ana')
        const first = firstPageOf(room)
        deliver(frame({ type: 'joined', room: 'sala-1', ...first, count: room.seats.size, typing: [], history: [], ref: model.joining?.ref ?? '' }))
        for (const event of happenings) {
          const username = 'user' in event ? (pool[event.user]?.username ?? '') : ''
          switch (event.type) {
            case 'arrive':
              if (!room.seats.has(username)) arrive(username)
              break
            case 'leave':
              if (room.seats.delete(username)) {
                room.typing.delete(username)
                room.gathered.set(username, 'left')
              }
              break
            case 'type':
              if (room.seats.has(username)) room.typing.add(username)
              break
            case 'flush':
              flush()
              break
            case 'scroll':
              deliver(scrolled)
              break
            case 'serve':
              serve()
              break
          }
        }
        // The last window closes, the answers on their way come, and the reader scrolls to the end.
        flush()
        while (room.inbox.length > 0) serve()
        for (let pages = 0; model.members.more.state === 'more' && pages <= pool.length; pages++) {
          deliver(scrolled)
          serve()
        }
        expect(model.members.more).toEqual({ state: 'none' })
        expect(new Set(names(model))).toEqual(new Set(room.seats.keys()))
        expect(model.members.count).toBe(room.seats.size)
        expect(membersSent([scrolled], model)).toEqual([])
      }),
      { numRuns: 500 },
    )
    // The runs reached resets, some while a page was on its way.
    expect(resets).toBeGreaterThan(0)
    expect(resetsWhileAsking).toBeGreaterThan(0)
  })
})
