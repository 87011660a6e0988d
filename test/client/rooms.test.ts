import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { update, type Cmd, type Model, type Msg } from '../../src/client/model.js'
import { LANDING_WAIT_MS } from '../../src/client/on-frame.js'
import { later, type ActionAnswer, type RoomAction } from '../../src/client/room-actions.js'
import { shownMembers } from '../../src/client/members.js'
import { displayName, manages, mayLeave } from '../../src/client/rooms.js'
import type { ChatMessage, RoomSummary } from '../../src/core/protocol/server-frames.js'
import { fold, frame, sent } from './fold.js'

// Rooms people make, private rooms and conversations in the web client's model (docs/rooms.md): the list
// kept live by frames, and the requests to the rooms routes with their answers.

const ana = { username: 'ana', name: 'Ana Souza' }
const bia = { username: 'bia', name: 'Bia Lima' }
const sala1: RoomSummary = { id: 'sala-1', name: 'Sala 1', members: 1, visibility: 'public', unread: 0, member: true }
const sala2: RoomSummary = { id: 'sala-2', name: 'Sala 2', members: 0, visibility: 'public', unread: 0, member: false }
const secret: RoomSummary = { id: 'r-aaaaaaaaaaaa', name: 'Segredo', members: 0, visibility: 'private', owner: 'ana', unread: 0, member: true }
const withBia: RoomSummary = { id: 'dm-bbbbbbbbbbbb', name: 'Bia Lima', members: 0, visibility: 'direct', with: bia, unread: 0, member: true }

const requests = (commands: ReadonlyArray<Cmd>) => commands.flatMap((c) => (c.type === 'roomAction' ? [c] : []))
const ids = (model: Model) => model.rooms.map((r) => r.id)
const texts = (model: Model) => model.notices.map((n) => n.text)
const message = (n: number, room: string): ChatMessage => ({ id: String(n).padStart(12, '0'), room, user: bia, text: `m${n}`, sentAt: '2026-11-24T12:00:00.000Z' })

/** Ana, welcomed with Sala 1, Sala 2 and her private room, and in `room`. */
const anaIn = (room: string, rooms: ReadonlyArray<RoomSummary> = [sala1, sala2, secret]): Model => {
  const welcomed = fold([{ type: 'signedIn', at: 0 }, { type: 'socketOpened', at: 0 }, frame({ type: 'welcome', user: ana, rooms: [...rooms], protocol: 1 })]).model
  const asked = fold([{ type: 'joinRequested', room }], welcomed).model
  return fold([frame({ type: 'joined', room, users: [ana, bia], count: 2, typing: [], history: [message(1, room)], ref: asked.joining?.ref ?? '' })], asked).model
}
const ask = (model: Model, action: RoomAction) => fold([{ type: 'roomActionRequested', action }], model)
/** Asks, and answers the request with `answer`. */
const asked = (model: Model, action: RoomAction, answer: ActionAnswer) => {
  const requested = ask(model, action)
  const [request] = requests(requested.commands)
  if (request === undefined) throw new Error('no request was made')
  return fold([{ type: 'roomActionAnswered', id: request.id, answer }], requested.model)
}
const refused = (status: number, code: string, message = 'refused', extra: { retryAfterSeconds?: number; fields?: Record<string, string> } = {}): ActionAnswer => ({
  type: 'refused',
  status,
  code,
  message,
  fields: extra.fields ?? {},
  ...(extra.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: extra.retryAfterSeconds }),
})

describe('the room list, kept live by frames', () => {
  it('adds a room made or shared, updates it in place, and never lists one twice', () => {
    const start = anaIn('sala-1')
    const added = fold([frame({ type: 'room_added', room: withBia }), frame({ type: 'room_added', room: withBia })], start).model
    expect(ids(added)).toEqual(['sala-1', 'sala-2', secret.id, withBia.id])
    const renamed = { ...secret, name: 'Segredo de Estado', topic: 'planos' }
    const updated = fold([frame({ type: 'room_updated', room: renamed }), frame({ type: 'room_updated', room: { ...renamed, archived: true } })], added).model
    expect(updated.rooms[2]).toEqual({ ...renamed, archived: true })
    expect(ids(updated)).toEqual(ids(added))
    // An update for a room the page missed the addition of lists it.
    const late = { ...sala2, id: 'r-cccccccccccc', name: 'Nova' }
    expect(ids(fold([frame({ type: 'room_updated', room: late })], updated).model).at(-1)).toBe('r-cccccccccccc')
  })

  it('names a conversation after the other person, and says who may manage or leave what', () => {
    expect(displayName(withBia)).toBe('Bia Lima')
    expect(displayName({ ...withBia, name: 'x' })).toBe('Bia Lima')
    expect(manages(ana, secret)).toBe(true)
    expect(manages(bia, secret)).toBe(false)
    expect(manages(ana, { ...secret, archived: true })).toBe(false)
    expect(manages(ana, sala1)).toBe(false)
    expect(mayLeave(bia, secret)).toBe(true)
    expect(mayLeave(ana, secret)).toBe(false)
    expect(mayLeave(ana, withBia)).toBe(false)
    // A public room one belongs to may be left too (it stops counting unread); not one's own, nor one not joined.
    expect(mayLeave(ana, sala1)).toBe(true)
    expect(mayLeave(ana, sala2)).toBe(false)
    expect(mayLeave(ana, { ...sala2, member: true, owner: 'ana' })).toBe(false)
  })

  it('a room removed that the user is not in vanishes from the list, with what the page held of it', () => {
    const visited = fold([{ type: 'joinRequested', room: secret.id }], anaIn('sala-1')).model
    const there = fold([frame({ type: 'joined', room: secret.id, users: [ana], count: 1, typing: [], history: [message(1, secret.id)], ref: visited.joining?.ref ?? '' })], visited).model
    const back = fold([{ type: 'joinRequested', room: 'sala-1' }], there).model
    const inSala1 = fold([frame({ type: 'joined', room: 'sala-1', users: [ana], count: 1, typing: [], history: [], ref: back.joining?.ref ?? '' })], back).model
    expect(inSala1.timelines.has(secret.id)).toBe(true)
    const { model } = fold([frame({ type: 'room_removed', room: secret.id })], inSala1)
    expect(ids(model)).toEqual(['sala-1', 'sala-2'])
    expect(model.timelines.has(secret.id)).toBe(false)
    expect(model.shown).toBe('sala-1')
    expect(model.room).toBe('sala-1')
    expect(model.notices).toEqual([])
    // A removal the page already knows of (its own answer came first) changes nothing on screen.
    const again = fold([frame({ type: 'room_removed', room: secret.id })], model).model
    expect({ ...again, listing: model.listing }).toEqual(model)
  })

  it('a member removed while in the room is out of it (user_left removed), then it vanishes, said once', () => {
    const inSecret = anaIn(secret.id)
    const out = fold([frame({ type: 'user_left', room: secret.id, user: ana, reason: 'removed' })], inSecret).model
    expect(out.room).toBeNull()
    expect(out.shown).toBeNull()
    expect(shownMembers(out.members)).toEqual([])
    expect(texts(out)).toEqual(['You are no longer a member of Segredo.'])
    const { model } = fold([frame({ type: 'room_removed', room: secret.id })], out)
    expect(ids(model)).toEqual(['sala-1', 'sala-2'])
    expect(texts(model)).toEqual(['You are no longer a member of Segredo.'])
    // Writing now asks for a room first; nothing goes to the room that is gone.
    const written = fold([{ type: 'sendRequested', text: 'olá?', attachments: [], clientId: 'c1' }], model)
    expect(sent(written.commands)).toEqual([])
    expect(texts(written.model).at(-1)).toBe('Pick a room first.')
  })

  it('another member removed leaves the people here, and the room stays', () => {
    const { model } = fold([frame({ type: 'user_left', room: secret.id, user: bia, reason: 'removed' })], anaIn(secret.id))
    expect(shownMembers(model.members)).toEqual([ana])
    expect(model.members.count).toBe(1)
    expect(model.shown).toBe(secret.id)
    expect(ids(model)).toContain(secret.id)
  })

  it('messages written in a room that is gone are dropped with a notice (they can no longer be sent)', () => {
    const offline = fold([{ type: 'socketClosed', code: 1006, reason: '', random: 0.5 }, { type: 'sendRequested', text: 'depois', attachments: [], clientId: 'c1' }], anaIn(secret.id)).model
    const back = fold([{ type: 'retryDue', at: 1 }, { type: 'socketOpened', at: 1 }, frame({ type: 'welcome', user: ana, rooms: [sala1, sala2, secret], protocol: 1 })], offline).model
    const { model } = fold([frame({ type: 'room_removed', room: secret.id })], back)
    expect(model.outbox).toEqual([])
    expect(texts(model)).toContain('A message written in Segredo could not be sent: you are no longer a member.')
  })
})

describe('an archived room', () => {
  it('refuses new messages on the page, with a note', () => {
    const archived = fold([frame({ type: 'room_updated', room: { ...secret, archived: true } })], anaIn(secret.id)).model
    const { model, commands } = fold([{ type: 'sendRequested', text: 'alguém?', attachments: [], clientId: 'c1' }], archived)
    expect(sent(commands)).toEqual([])
    expect(model.outbox).toEqual([])
    expect(texts(model)).toEqual(['Segredo is archived: it takes no new messages.'])
  })

  it('an error room_archived answering a message fails it, says why, and marks the room archived', () => {
    const written = fold([{ type: 'sendRequested', text: 'tarde demais', attachments: [], clientId: 'c1' }], anaIn(secret.id)).model
    const { model } = fold([frame({ type: 'error', code: 'room_archived', message: 'room r-aaaaaaaaaaaa is archived', ref: 'c1', room: secret.id })], written)
    expect(model.outbox).toMatchObject([{ clientId: 'c1', delivery: { state: 'failed', reason: 'Not sent: the room is archived.' } }])
    expect(texts(model)).toEqual(['Segredo is archived: it takes no new messages.'])
    expect(model.rooms.find((r) => r.id === secret.id)?.archived).toBe(true)
    // Discarding the message takes its notice with it.
    expect(fold([{ type: 'discardRequested', room: secret.id, clientId: 'c1' }], model).model.notices).toEqual([])
  })
})

describe('requests to the rooms routes', () => {
  it('creating a room asks once, and on its answer lists the room, empties the form and goes in', () => {
    const start = anaIn('sala-1')
    const action: RoomAction = { type: 'create', name: '  Clube do livro ', visibility: 'private', topic: '' }
    const requested = fold([{ type: 'roomActionRequested', action }, { type: 'roomActionRequested', action }], start)
    expect(requests(requested.commands)).toEqual([{ type: 'roomAction', id: expect.any(String), action: { type: 'create', name: 'Clube do livro', visibility: 'private', topic: '' } }])
    const made: RoomSummary = { id: 'r-dddddddddddd', name: 'Clube do livro', members: 0, visibility: 'private', owner: 'ana', unread: 0, member: true }
    const id = requests(requested.commands)[0]?.id ?? ''
    // Its room_added may come before the answer: the room is listed once.
    const { model, commands } = fold([frame({ type: 'room_added', room: made }), { type: 'roomActionAnswered', id, answer: { type: 'room', room: made } }], requested.model)
    expect(ids(model)).toEqual(['sala-1', 'sala-2', secret.id, made.id])
    expect(model.actions).toEqual([])
    expect(commands).toContainEqual({ type: 'clearForm', form: 'new-room' })
    expect(sent(commands)).toEqual([{ type: 'join', room: made.id, ref: expect.any(String) }])
    expect(model.shown).toBe(made.id)
    // An answer nobody waits for (signed out meanwhile) changes nothing.
    expect(fold([{ type: 'roomActionAnswered', id, answer: { type: 'room', room: made } }], model).model).toBe(model)
  })

  it('renaming, a topic and archiving update the room from the answer', () => {
    const renamed = asked(anaIn(secret.id), { type: 'rename', room: secret.id, name: 'Cofre' }, { type: 'room', room: { ...secret, name: 'Cofre' } }).model
    expect(renamed.rooms.find((r) => r.id === secret.id)?.name).toBe('Cofre')
    const topic = ask(renamed, { type: 'setTopic', room: secret.id, topic: '  ' })
    expect(requests(topic.commands)[0]?.action).toEqual({ type: 'setTopic', room: secret.id, topic: '' })
    const archived = asked(renamed, { type: 'archive', room: secret.id }, { type: 'room', room: { ...secret, name: 'Cofre', archived: true } })
    expect(archived.model.rooms.find((r) => r.id === secret.id)?.archived).toBe(true)
    expect(sent(archived.commands)).toEqual([])
  })

  it('opens a conversation from a name and goes into it; not with oneself', () => {
    const { model, commands } = asked(anaIn('sala-1'), { type: 'converse', username: 'bia' }, { type: 'room', room: withBia })
    expect(ids(model)).toContain(withBia.id)
    expect(sent(commands)).toEqual([{ type: 'join', room: withBia.id, ref: expect.any(String) }])
    const self = ask(anaIn('sala-1'), { type: 'converse', username: 'ana' })
    expect(requests(self.commands)).toEqual([])
    expect(texts(self.model)).toEqual(['A conversation needs someone else.'])
  })

  it('says plainly what was done: someone added, someone removed; leaving takes the room off the list', () => {
    const added = asked(anaIn(secret.id), { type: 'invite', room: secret.id, username: '@bia ' }, { type: 'member', user: bia, added: true })
    expect(added.model.notices).toEqual([{ id: expect.any(Number), text: 'Bia Lima (@bia) is now a member of Segredo.', tone: 'info' }])
    expect(added.commands).toContainEqual({ type: 'clearForm', form: 'invite' })
    const again = asked(anaIn(secret.id), { type: 'invite', room: secret.id, username: 'bia' }, { type: 'member', user: bia, added: false })
    expect(texts(again.model)).toEqual(['Bia Lima (@bia) was already a member of Segredo.'])
    const removed = asked(anaIn(secret.id), { type: 'remove', room: secret.id, username: 'bia' }, { type: 'done' })
    expect(texts(removed.model)).toEqual(['@bia is no longer a member of Segredo.'])
    const shared = { ...secret, owner: 'bia' }
    const left = asked(anaIn('sala-1', [sala1, shared]), { type: 'leave', room: shared.id }, { type: 'done' })
    expect(ids(left.model)).toEqual(['sala-1'])
    expect(left.model.notices).toEqual([])
  })

  it.each<[string, RoomAction, ActionAnswer, string]>([
    ['an unknown user', { type: 'invite', room: secret.id, username: 'zé' }, refused(404, 'unknown_user'), 'Could not add @zé to Segredo: there is no one called @zé.'],
    ['an unknown user, for a conversation', { type: 'converse', username: 'zé' }, refused(404, 'unknown_user'), 'Could not open a conversation with @zé: there is no one called @zé.'],
    ['a full room', { type: 'invite', room: secret.id, username: 'bia' }, refused(409, 'room_full'), 'Could not add @bia to Segredo: Segredo is full: it has as many members as a room may have.'],
    [
      'too many rooms, with Retry-After',
      { type: 'create', name: 'Mais uma', visibility: 'public', topic: '' },
      refused(429, 'too_many_rooms', 'too many rooms', { retryAfterSeconds: 7000 }),
      'Could not create the room “Mais uma”: you have made as many rooms as you may for now; try again in 2 hours.',
    ],
    [
      'too many invitations',
      { type: 'invite', room: secret.id, username: 'bia' },
      refused(429, 'too_many_invitations', 'slow down', { retryAfterSeconds: 30 }),
      'Could not add @bia to Segredo: you have added too many people for now; try again in 30 seconds.',
    ],
    ['not the owner', { type: 'rename', room: 'sala-1', name: 'Minha' }, refused(403, 'not_owner'), 'Could not rename Sala 1: only the owner of Sala 1 can do that.'],
    ['an archived room', { type: 'setTopic', room: secret.id, topic: 'x' }, refused(409, 'room_archived'), 'Could not change the topic of Segredo: Segredo is archived: it does not change any more.'],
    ['the owner leaving', { type: 'leave', room: secret.id }, refused(409, 'owner_cannot_leave'), 'Could not leave Segredo: you own it; archive it instead.'],
    ['not a member', { type: 'remove', room: secret.id, username: 'caio' }, refused(404, 'not_a_member'), 'Could not remove @caio from Segredo: @caio is not a member of Segredo.'],
    [
      'a bad body, with the server’s field details',
      { type: 'create', name: 'x'.repeat(90), visibility: 'public', topic: '' },
      refused(400, 'bad_request', 'invalid room', { fields: { name: 'must be 1-80 characters' } }),
      `Could not create the room “${'x'.repeat(90)}”: invalid room: name must be 1-80 characters.`.replace(/\.$/, ''),
    ],
    ['a 429 of another kind', { type: 'archive', room: secret.id }, refused(429, 'rate_limited', 'too many requests', { retryAfterSeconds: 90 }), 'Could not archive Segredo: too many requests; try again in 2 minutes.'],
    ['an unreachable server', { type: 'archive', room: secret.id }, { type: 'unreachable' }, 'Could not archive Segredo: the server cannot be reached; try again in a moment.'],
  ])('says a refusal plainly: %s', (_, action, answer, text) => {
    const { model, commands } = asked(anaIn('sala-1'), action, answer)
    expect(texts(model)).toEqual([text])
    expect(model.notices[0]?.tone).toBeUndefined()
    expect(model.actions).toEqual([])
    expect(commands.filter((c) => c.type === 'clearForm')).toEqual([])
  })

  it('says obvious mistakes without asking the server', () => {
    for (const action of [
      { type: 'create', name: '  ', visibility: 'public', topic: '' },
      { type: 'rename', room: secret.id, name: '' },
      { type: 'invite', room: secret.id, username: ' @ ' },
    ] satisfies RoomAction[]) {
      const { model, commands } = ask(anaIn('sala-1'), action)
      expect(commands).toEqual([])
      expect(texts(model)).toHaveLength(1)
    }
  })

  it('a sign-out forgets requests on their way', () => {
    const requested = ask(anaIn('sala-1'), { type: 'archive', room: secret.id }).model
    expect(requested.actions).toHaveLength(1)
    expect(fold([{ type: 'signedOut' }], requested).model.actions).toEqual([])
  })

  it('puts Retry-After in words', () => {
    expect(later(undefined)).toBe('later')
    expect(later(0.2)).toBe('in 1 second')
    expect(later(59)).toBe('in 59 seconds')
    expect(later(60)).toBe('in 1 minute')
    expect(later(3599)).toBe('in 60 minutes')
    expect(later(3600)).toBe('in 1 hour')
    expect(later(86_400)).toBe('in 24 hours')
  })
})

it('whatever frames and answers come, in any order, the list holds each room once and the screen no room that is gone', () => {
  const room = fc.constantFrom<RoomSummary>(sala2, secret, withBia, { ...secret, name: 'Outro nome', archived: true })
  const event = fc.oneof(
    room.map((r) => frame({ type: 'room_added', room: r })),
    room.map((r) => frame({ type: 'room_updated', room: r })),
    room.map((r) => frame({ type: 'room_removed', room: r.id })),
    room.map((r): Msg => ({ type: 'joinRequested', room: r.id })),
    room.map((r) => frame({ type: 'user_left', room: r.id, user: ana, reason: 'removed' })),
    fc.tuple(room, fc.nat({ max: 3 })).map(([r, n]): Msg => ({ type: 'roomActionAnswered', id: `action-${n}`, answer: { type: 'room', room: r } })),
    room.map((r): Msg => ({ type: 'roomActionRequested', action: { type: 'leave', room: r.id } })),
    fc.constant<Msg>({ type: 'tick', at: LANDING_WAIT_MS, random: 0.5 }),
  )
  fc.assert(
    fc.property(fc.array(event, { maxLength: 30 }), (events) => {
      let model = anaIn('sala-1')
      for (const e of events) {
        model = update(model, e)[0]
        if (new Set(ids(model)).size !== model.rooms.length) return false
        const last = e.type === 'frame' && e.frame.type === 'room_removed' ? e.frame.room : null
        if (last !== null && (ids(model).includes(last) || model.timelines.has(last) || model.outbox.some((m) => m.room === last))) return false
        if (last !== null && model.shown === last && model.joining === null) return false
      }
      return true
    }),
    { numRuns: 300 },
  )
})
