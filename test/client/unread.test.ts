import { describe, expect, it } from 'vitest'
import type { Model } from '../../src/client/model.js'
import { type ActionAnswer, type RoomAction } from '../../src/client/room-actions.js'
import { unreadBadge, unreadOf, UNREAD_CAP } from '../../src/client/rooms.js'
import { shownUnread } from '../../src/client/unread.js'
import type { RoomSummary } from '../../src/core/protocol/server-frames.js'
import { fold, frame, sent } from './fold.js'

// Unread counts in the web client's model (docs/rooms.md, "Unread counts and read markers"): the counts the
// lists give, kept by `unread` frames, cleared by entering a room or marking it read; the badge's words; a
// public room left.

const ana = { username: 'ana', name: 'Ana Souza' }
const bia = { username: 'bia', name: 'Bia Lima' }
const sala1: RoomSummary = { id: 'sala-1', name: 'Sala 1', members: 1, visibility: 'public', unread: 0, member: true }
const sala2: RoomSummary = { id: 'sala-2', name: 'Sala 2', members: 0, visibility: 'public', unread: 4, member: true }
const sala3: RoomSummary = { id: 'sala-3', name: 'Sala 3', members: 0, visibility: 'public', unread: 0, member: false }
const secret: RoomSummary = { id: 'r-aaaaaaaaaaaa', name: 'Segredo', members: 0, visibility: 'private', owner: 'bia', unread: 0, member: true }
const withBia: RoomSummary = { id: 'dm-bbbbbbbbbbbb', name: 'Bia Lima', members: 0, visibility: 'direct', with: bia, unread: 2, member: true }

const counts = (model: Model) => Object.fromEntries(model.rooms.map((r) => [r.id, r.unread]))
const texts = (model: Model) => model.notices.map((n) => n.text)

/** Ana, welcomed with `rooms`, and in `room`. */
const anaIn = (room: string, rooms: ReadonlyArray<RoomSummary> = [sala1, sala2, sala3, secret, withBia]): Model => {
  const welcomed = fold([{ type: 'signedIn', at: 0 }, { type: 'socketOpened', at: 0 }, frame({ type: 'welcome', user: ana, rooms: [...rooms], protocol: 2 })]).model
  return entered(welcomed, room)
}
const entered = (model: Model, room: string): Model => {
  const asked = fold([{ type: 'joinRequested', room }], model).model
  return fold([frame({ type: 'joined', room, users: [ana], count: 1, typing: [], history: [], ref: asked.joining?.ref ?? '' })], asked).model
}
const asked = (model: Model, action: RoomAction, answer: ActionAnswer) => {
  const requested = fold([{ type: 'roomActionRequested', action }], model)
  const request = requested.commands.find((c) => c.type === 'roomAction')
  if (request?.type !== 'roomAction') throw new Error('no request was made')
  return fold([{ type: 'roomActionAnswered', id: request.id, answer }], requested.model)
}

describe('unread counts', () => {
  it('come with the list, and `unread` frames keep them', () => {
    const start = anaIn('sala-1')
    expect(counts(start)).toEqual({ 'sala-1': 0, 'sala-2': 4, 'sala-3': 0, [secret.id]: 0, [withBia.id]: 2 })
    const { model, commands } = fold(
      [frame({ type: 'unread', room: 'sala-2', count: 5 }), frame({ type: 'unread', room: secret.id, count: 1 }), frame({ type: 'unread', room: withBia.id, count: 0 })],
      start,
    )
    expect(counts(model)).toEqual({ 'sala-1': 0, 'sala-2': 5, 'sala-3': 0, [secret.id]: 1, [withBia.id]: 0 })
    expect(commands).toEqual([])
    // A count for a room the page does not list changes nothing on screen.
    expect(fold([frame({ type: 'unread', room: 'r-zzzzzzzzzzzz', count: 3 })], model).model.rooms).toBe(model.rooms)
  })

  it('entering a room reads it, and makes the user a member of a public one', () => {
    const there = entered(anaIn('sala-1'), 'sala-2')
    expect(unreadOf(there.rooms, 'sala-2')).toBe(0)
    const joinedSala3 = entered(there, 'sala-3')
    expect(joinedSala3.rooms.find((r) => r.id === 'sala-3')?.member).toBe(true)
    // A move made in another tab reads the room too.
    const moved = fold([frame({ type: 'joined', room: withBia.id, users: [ana, bia], count: 2, typing: [], history: [] })], joinedSala3).model
    expect(unreadOf(moved.rooms, withBia.id)).toBe(0)
  })

  it('the badge shows nothing at 0 and for the room on screen, and "500+" at the cap', () => {
    expect(unreadBadge(0)).toBe('')
    expect(unreadBadge(1)).toBe('1')
    expect(unreadBadge(UNREAD_CAP - 1)).toBe('499')
    expect(unreadBadge(UNREAD_CAP)).toBe('500+')
    const start = anaIn('sala-1')
    const counted = fold([frame({ type: 'unread', room: 'sala-2', count: 500 })], start).model
    const sala2Now = counted.rooms.find((r) => r.id === 'sala-2')
    if (sala2Now === undefined) throw new Error('Sala 2 is not listed')
    expect(unreadBadge(shownUnread(counted, sala2Now))).toBe('500+')
    // Asking for it puts it on screen at once: no badge while the join is on its way.
    const going = fold([{ type: 'joinRequested', room: 'sala-2' }], counted).model
    expect(shownUnread(going, sala2Now)).toBe(0)
  })
})

describe('Mark as read', () => {
  it('sends `read` up to the room’s end, and the badge goes at once; the server’s recount has the last word', () => {
    const start = anaIn('sala-1')
    const { model, commands } = fold([{ type: 'readRequested', room: 'sala-2' }], start)
    expect(sent(commands)).toEqual([{ type: 'read', room: 'sala-2', ref: expect.stringMatching(/^read-/) }])
    expect(unreadOf(model.rooms, 'sala-2')).toBe(0)
    // A message came meanwhile: the recount says so.
    expect(unreadOf(fold([frame({ type: 'unread', room: 'sala-2', count: 1 })], model).model.rooms, 'sala-2')).toBe(1)
  })

  it('asks nothing for a room with nothing unread, and says why it cannot while offline', () => {
    expect(fold([{ type: 'readRequested', room: 'sala-3' }], anaIn('sala-1')).commands).toEqual([])
    const offline = fold([{ type: 'socketClosed', code: 1006, reason: '', random: 0.5 }], anaIn('sala-1')).model
    const { model, commands } = fold([{ type: 'readRequested', room: 'sala-2' }], offline)
    expect(sent(commands)).toEqual([])
    expect(unreadOf(model.rooms, 'sala-2')).toBe(4)
    expect(texts(model)).toEqual(['Sala 2 cannot be marked read while the page is not connected.'])
  })
})

describe('leaving a public room', () => {
  it('keeps it listed (and open), no longer a member and counting nothing, and says so', () => {
    const start = anaIn('sala-2')
    const counting = fold([frame({ type: 'unread', room: 'sala-1', count: 3 })], start).model
    const { model } = asked(counting, { type: 'leave', room: 'sala-1' }, { type: 'done' })
    expect(model.rooms.find((r) => r.id === 'sala-1')).toMatchObject({ member: false, unread: 0 })
    expect(model.shown).toBe('sala-2')
    expect(model.notices).toEqual([{ id: expect.any(Number), tone: 'info', text: 'You left Sala 1: its new messages no longer count as unread for you. Entering it again makes you a member again.' }])
    // Left while in it: the page stays there (the server keeps the user present).
    const inside = asked(anaIn('sala-2'), { type: 'leave', room: 'sala-2' }, { type: 'done' }).model
    expect(inside.shown).toBe('sala-2')
    expect(inside.room).toBe('sala-2')
    expect(inside.rooms.find((r) => r.id === 'sala-2')?.member).toBe(false)
  })

  it('a private room left still leaves the list', () => {
    const { model } = asked(anaIn('sala-1'), { type: 'leave', room: secret.id }, { type: 'done' })
    expect(model.rooms.map((r) => r.id)).not.toContain(secret.id)
  })
})
