import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { reconnectDelay, typingLine, update, type Cmd, type Model, type Msg } from '../../src/client/model.js'
import { CONNECT_TIMEOUT_MS, PING_IDLE_MS, PONG_TIMEOUT_MS } from '../../src/client/heartbeat.js'
import { LANDING_WAIT_MS } from '../../src/client/on-frame.js'
import type { Frame } from '../../src/client/frames.js'
import { shownMembers } from '../../src/client/members.js'
import { mergeMessages } from '../../src/client/timeline.js'
import type { ChatMessage } from '../../src/core/protocol/server-frames.js'
import { fold, frame, sent } from './fold.js'

const ana = { username: 'ana', name: 'Ana' }
const bia = { username: 'bia', name: 'Bia' }
const rooms = [
  { id: 'sala-1', name: 'Sala 1', members: 0, visibility: 'public' as const, unread: 0, member: true },
  { id: 'sala-2', name: 'Sala 2', members: 0, visibility: 'public' as const, unread: 0, member: true },
  { id: 'sala-3', name: 'Sala 3', members: 0, visibility: 'public' as const, unread: 0, member: true },
]
const id = (n: number) => String(n).padStart(12, '0')
const message = (n: number, room = 'sala-1', user = bia): ChatMessage => ({ id: id(n), room, user, text: `${room} m${n}`, sentAt: '2026-11-24T12:00:00.000Z' })

const joinSent = (commands: ReadonlyArray<Cmd>) => sent(commands).filter((c) => c.type === 'join')
const shown = (model: Model) => (model.shown === null ? [] : (model.timelines.get(model.shown)?.messages ?? []))
const texts = (model: Model, room: string) => (model.timelines.get(room)?.messages ?? []).map((m) => m.text)
/** The ref the page put on its last join, which the server echoes on `joined`. */
const lastJoinRef = (model: Model) => model.joining?.ref ?? ''
const joined = (model: Model, room: string, history: ReadonlyArray<ChatMessage>, extra: { gap?: boolean } = {}): Msg =>
  frame({ type: 'joined', room, users: [ana, bia], count: 2, typing: [], history: [...history], ref: lastJoinRef(model), ...extra })
const typedMessage = (text: string, clientId: string): Msg => ({ type: 'sendRequested', text, attachments: [], clientId })

/** Signed in, welcomed and in Sala 1 with two messages. */
const welcomedAt0 = (): Msg[] => [{ type: 'signedIn', at: 0 }, { type: 'socketOpened', at: 0 }, frame({ type: 'welcome', user: ana, rooms, protocol: 1 })]
/** Welcomed by a server that does not say the user's room, and no `joined` came in the wait: the default room is joined. */
const landed = (): Model => fold([...welcomedAt0(), { type: 'tick', at: LANDING_WAIT_MS, random: 0.5 }]).model
const inSala1 = (): Model => {
  const welcomed = landed()
  return fold([joined(welcomed, 'sala-1', [message(1), message(2)])], welcomed).model
}
/** Switches rooms and gets the answer, with `history` as the room's messages. */
const moveTo = (model: Model, room: string, history: ReadonlyArray<ChatMessage>): Model => {
  const asked = fold([{ type: 'joinRequested', room }], model).model
  return fold([joined(asked, room, history)], asked).model
}
const reconnectFrom = (model: Model): { model: Model; commands: Cmd[] } =>
  fold([{ type: 'retryDue', at: 1 }, { type: 'socketOpened', at: 1 }, frame({ type: 'welcome', user: ana, rooms, protocol: 1 })], model)

describe('the web client model', () => {
  it('joins the default room on the first welcome, once an older server has had a moment to say the user is elsewhere', () => {
    const { commands } = fold(welcomedAt0())
    expect(joinSent(commands)).toEqual([])
    expect(commands.at(-1)).toEqual({ type: 'wakeAt', at: LANDING_WAIT_MS })
    expect(joinSent(fold([{ type: 'tick', at: LANDING_WAIT_MS - 1, random: 0.5 }], fold(welcomedAt0()).model).commands)).toEqual([])
    const { commands: after } = fold([...welcomedAt0(), { type: 'tick', at: LANDING_WAIT_MS, random: 0.5 }])
    expect(joinSent(after)).toEqual([{ type: 'join', room: 'sala-1', ref: 'join-1' }])
    // The heartbeat's deadline is the next wake-up again.
    expect(after.at(-1)).toEqual({ type: 'wakeAt', at: PING_IDLE_MS })
  })

  it('keeps who is here and who is typing, and says it in words', () => {
    const { model } = fold([frame({ type: 'typing', room: 'sala-1', user: bia, typing: true }), frame({ type: 'typing', room: 'sala-2', user: ana, typing: true })], inSala1())
    expect(typingLine(model.typing)).toBe('Bia is typing…')
    expect(typingLine([ana, bia])).toBe('Ana and Bia are typing…')
    expect(typingLine([ana, bia, { username: 'c', name: 'Caio' }])).toBe('3 people are typing…')
    const left = fold([frame({ type: 'user_left', room: 'sala-1', user: bia, reason: 'moved' })], model).model
    expect(shownMembers(left.members)).toEqual([ana])
    expect(left.members.count).toBe(1)
    expect(left.typing).toEqual([])
  })

  it('shows who is already typing when it arrives in a room', () => {
    const asked = fold([{ type: 'joinRequested', room: 'sala-2' }], inSala1()).model
    const { model } = fold([frame({ type: 'joined', room: 'sala-2', users: [ana, bia], count: 2, typing: [bia], history: [], ref: lastJoinRef(asked) })], asked)
    expect(typingLine(model.typing)).toBe('Bia is typing…')
  })

  it('shows a sent message as pending until its ack, then as a message with the server’s id', () => {
    const { model, commands } = fold([typedMessage('oi', 'c1')], inSala1())
    expect(sent(commands)).toEqual([{ type: 'message', text: 'oi', clientId: 'c1', ref: 'c1', room: 'sala-1' }])
    expect(model.outbox).toMatchObject([{ room: 'sala-1', clientId: 'c1', delivery: { state: 'sent' } }])
    const acked = fold([frame({ type: 'ack', id: id(3), room: 'sala-1', sentAt: '2026-11-24T12:00:01.000Z', clientId: 'c1', ref: 'c1' })], model).model
    expect(acked.outbox).toEqual([])
    expect(shown(acked).at(-1)).toMatchObject({ id: id(3), room: 'sala-1', text: 'oi', user: ana })
  })

  describe('an ack that arrives after a switch to another room (issue 13, 4a)', () => {
    // Sala 2 holds 1-2; Sala 3 already has a message with id 3, the id Sala 2 gives the message sent there.
    const sentInSala2ThenSala3 = () => {
      const inSala2 = moveTo(inSala1(), 'sala-2', [message(1, 'sala-2'), message(2, 'sala-2')])
      const written = fold([typedMessage('para a Sala 2', 'c2')], inSala2).model
      return moveTo(written, 'sala-3', [message(1, 'sala-3'), message(2, 'sala-3'), message(3, 'sala-3')])
    }

    it('does not send the message again in the room it switched to', () => {
      const inSala2 = moveTo(inSala1(), 'sala-2', [])
      const written = fold([typedMessage('para a Sala 2', 'c2'), { type: 'joinRequested', room: 'sala-3' }], inSala2).model
      const { model, commands } = fold([joined(written, 'sala-3', [])], written)
      expect(sent(commands).filter((c) => c.type === 'message')).toEqual([])
      expect(model.outbox).toMatchObject([{ room: 'sala-2', clientId: 'c2', delivery: { state: 'sent' } }])
    })

    it.each([
      ['says its room', { room: 'sala-2' }],
      ['comes from an older server that does not say the room', {}],
    ])('files the message under the room it was written in when the ack %s', (_, room) => {
      const before = sentInSala2ThenSala3()
      expect(before.shown).toBe('sala-3')
      const { model } = fold([frame({ type: 'ack', id: id(3), sentAt: '2026-11-24T12:00:01.000Z', clientId: 'c2', ref: 'c2', ...room })], before)
      expect(texts(model, 'sala-3')).toEqual(['sala-3 m1', 'sala-3 m2', 'sala-3 m3'])
      expect(texts(model, 'sala-2')).toEqual(['sala-2 m1', 'sala-2 m2', 'para a Sala 2'])
      expect(model.outbox).toEqual([])
      // Back in Sala 2 the message is there, and the join asks only for what came after the last
      // message received from others (our own may follow messages we never got).
      const { commands } = fold([{ type: 'joinRequested', room: 'sala-2' }], model)
      expect(joinSent(commands)).toEqual([{ type: 'join', room: 'sala-2', since: id(2), ref: expect.any(String) }])
    })

    it('a message sent while a join is on its way waits for that room and goes to it', () => {
      const asked = fold([{ type: 'joinRequested', room: 'sala-2' }], inSala1()).model
      const written = fold([typedMessage('cedo', 'c3')], asked)
      expect(sent(written.commands)).toEqual([])
      expect(written.model.outbox).toMatchObject([{ room: 'sala-2', delivery: { state: 'queued' } }])
      const { model, commands } = fold([joined(written.model, 'sala-2', [])], written.model)
      expect(sent(commands)).toEqual([{ type: 'message', text: 'cedo', clientId: 'c3', ref: 'c3', room: 'sala-2' }])
      expect(model.outbox).toMatchObject([{ room: 'sala-2', delivery: { state: 'sent' } }])
    })
  })

  describe('a reconnect after a switch made while offline (issue 13, 4b)', () => {
    const offlineInSala1 = () => fold([{ type: 'socketClosed', code: 1006, reason: '', random: 0.5 }], inSala1()).model

    it('joins the room on screen without the since of another room, so it shows all its recent messages', () => {
      const switched = fold([typedMessage('escrito offline', 'c9'), { type: 'joinRequested', room: 'sala-2' }], offlineInSala1()).model
      expect(switched.shown).toBe('sala-2')
      const { model, commands } = reconnectFrom(switched)
      expect(joinSent(commands)).toEqual([{ type: 'join', room: 'sala-2', ref: expect.any(String) }])
      const history = [1, 2, 3, 4].map((n) => message(n, 'sala-2'))
      const { model: there, commands: after } = fold([joined(model, 'sala-2', history)], model)
      expect(shown(there).map((m) => m.text)).toEqual(history.map((m) => m.text))
      // The message written in Sala 1 cannot go to Sala 2: it fails, with a notice saying where it waits.
      expect(sent(after).filter((c) => c.type === 'message')).toEqual([])
      expect(there.outbox).toMatchObject([{ room: 'sala-1', clientId: 'c9', delivery: { state: 'failed' } }])
      expect(there.notices.at(-1)?.text).toContain('Open Sala 1 to retry')
      // Back in Sala 1, Retry sends it with the same clientId, so a copy the server already has is not doubled.
      const back = moveTo(there, 'sala-1', [])
      const { commands: retried, model: retrying } = fold([{ type: 'retryRequested', room: 'sala-1', clientId: 'c9' }], back)
      expect(sent(retried)).toEqual([{ type: 'message', text: 'escrito offline', clientId: 'c9', ref: 'c9', room: 'sala-1' }])
      expect(retrying.outbox).toMatchObject([{ delivery: { state: 'sent' } }])
      expect(fold([{ type: 'discardRequested', room: 'sala-1', clientId: 'c9' }], there).model.outbox).toEqual([])
    })

    it('sends a message written offline once the connection is back, with the same clientId', () => {
      const written = fold([typedMessage('lost?', 'c9')], offlineInSala1())
      expect(sent(written.commands)).toEqual([])
      const { model, commands } = reconnectFrom(written.model)
      expect(joinSent(commands)).toEqual([{ type: 'join', room: 'sala-1', since: id(2), ref: expect.any(String) }])
      const caughtUp = fold([joined(model, 'sala-1', [message(3)])], model)
      expect(sent(caughtUp.commands)).toContainEqual({ type: 'message', text: 'lost?', clientId: 'c9', ref: 'c9', room: 'sala-1' })
      expect(shown(caughtUp.model).map((m) => m.id)).toEqual([1, 2, 3].map(id))
    })

    it('resends what was on the wire when the link dropped, unless the catch-up shows it stored', () => {
      const onTheWire = fold([typedMessage('um', 'c1'), typedMessage('dois', 'c2')], inSala1()).model
      const back = reconnectFrom(fold([{ type: 'socketClosed', code: 1006, reason: '', random: 0.5 }], onTheWire).model).model
      const storedOne: ChatMessage = { ...message(3, 'sala-1', ana), text: 'um', clientId: 'c1' }
      const { model, commands } = fold([joined(back, 'sala-1', [storedOne])], back)
      expect(sent(commands).filter((c) => c.type === 'message')).toEqual([{ type: 'message', text: 'dois', clientId: 'c2', ref: 'c2', room: 'sala-1' }])
      expect(model.outbox.map((m) => m.clientId)).toEqual(['c2'])
    })

    it('keeps each room’s own since: a room visited before is caught up from its own last id', () => {
      const visited = moveTo(moveTo(inSala1(), 'sala-2', [message(7, 'sala-2')]), 'sala-1', [])
      const offline = fold([{ type: 'socketClosed', code: 1006, reason: '', random: 0.5 }, { type: 'joinRequested', room: 'sala-2' }], visited).model
      expect(joinSent(reconnectFrom(offline).commands)).toEqual([{ type: 'join', room: 'sala-2', since: id(7), ref: expect.any(String) }])
    })
  })

  describe('two tabs of one user: a message written in Sala 2 while the other tab moves the user to Sala 3 (issue 13, client fix 1)', () => {
    /** Tab A, in Sala 2, sends c2; then the server's `joined` for Sala 3 (the other tab's move, no ref of ours) arrives. */
    const sentThenMoved = () => {
      const inSala2 = moveTo(inSala1(), 'sala-2', [message(1, 'sala-2')])
      const written = fold([typedMessage('para a Sala 2', 'c2')], inSala2)
      expect(sent(written.commands)).toEqual([{ type: 'message', text: 'para a Sala 2', clientId: 'c2', ref: 'c2', room: 'sala-2' }])
      return fold([frame({ type: 'joined', room: 'sala-3', users: [ana], count: 1, typing: [], history: [message(1, 'sala-3')] })], written.model).model
    }
    const refusal: Frame = { type: 'error', code: 'not_in_room', message: 'you are in sala-3 now, not in sala-2: the message was not sent', ref: 'c2', room: 'sala-2' }

    it('a not_in_room refusal marks it failed with a notice, and it is not resent after a reconnect', () => {
      const { model } = fold([frame(refusal)], sentThenMoved())
      expect(model.shown).toBe('sala-3')
      expect(model.outbox).toMatchObject([{ room: 'sala-2', clientId: 'c2', delivery: { state: 'failed', reason: expect.stringContaining('another tab') } }])
      expect(model.notices.at(-1)?.text).toBe('A message written in Sala 2 could not be sent: you had moved to another room in another tab. Open Sala 2 to retry.')
      const back = reconnectFrom(fold([{ type: 'socketClosed', code: 1006, reason: '', random: 0.5 }], model).model)
      const after = fold([joined(back.model, 'sala-3', [])], back.model)
      expect(sent([...back.commands, ...after.commands]).filter((c) => c.type === 'message')).toEqual([])
      expect(after.model.outbox).toMatchObject([{ clientId: 'c2', delivery: { state: 'failed' } }])
    })

    it('Retry goes back to Sala 2 first and sends it there; once stored, the notice goes', () => {
      const refused = fold([frame(refusal)], sentThenMoved()).model
      const retry = fold([{ type: 'retryRequested', room: 'sala-2', clientId: 'c2' }], refused)
      expect(sent(retry.commands)).toEqual([{ type: 'join', room: 'sala-2', since: id(1), ref: expect.any(String) }])
      const there = fold([joined(retry.model, 'sala-2', [message(2, 'sala-2')])], retry.model)
      expect(sent(there.commands)).toEqual([{ type: 'message', text: 'para a Sala 2', clientId: 'c2', ref: 'c2', room: 'sala-2' }])
      const { model } = fold([frame({ type: 'ack', id: id(3), room: 'sala-2', sentAt: '2026-11-24T12:00:01.000Z', clientId: 'c2', ref: 'c2' })], there.model)
      expect(model.outbox).toEqual([])
      expect(texts(model, 'sala-2')).toEqual(['sala-2 m1', 'sala-2 m2', 'para a Sala 2'])
      expect(model.notices.map((n) => n.text).join('\n')).not.toContain('could not be sent')
    })

    it('Retry in the room sends at once', () => {
      const refused = fold([frame(refusal)], sentThenMoved()).model
      const inSala2 = moveTo(refused, 'sala-2', [])
      const { commands } = fold([{ type: 'retryRequested', room: 'sala-2', clientId: 'c2' }], inSala2)
      expect(sent(commands)).toEqual([{ type: 'message', text: 'para a Sala 2', clientId: 'c2', ref: 'c2', room: 'sala-2' }])
    })

    it('an older server’s ack from the room it stored it in settles it there, and it is never resent', () => {
      const ack: Frame = { type: 'ack', id: id(2), room: 'sala-3', sentAt: '2026-11-24T12:00:01.000Z', clientId: 'c2', ref: 'c2' }
      const { model } = fold([frame(ack)], sentThenMoved())
      expect(model.outbox).toEqual([])
      expect(texts(model, 'sala-3')).toEqual(['sala-3 m1', 'para a Sala 2'])
      expect(model.timelines.get('sala-3')?.messages.at(-1)).toMatchObject({ id: id(2), room: 'sala-3', user: ana })
      expect(texts(model, 'sala-2')).toEqual(['sala-2 m1'])
      expect(model.notices.at(-1)?.text).toBe('A message written in Sala 2 went to Sala 3: you had moved there in another tab.')
      const back = reconnectFrom(fold([{ type: 'socketClosed', code: 1006, reason: '', random: 0.5 }], model).model)
      const after = fold([joined(back.model, 'sala-3', [])], back.model)
      expect(sent([...back.commands, ...after.commands]).filter((c) => c.type === 'message')).toEqual([])
    })

    it('towards a server too old to know `room`, sends again without it (until the next welcome)', () => {
      const written = fold([typedMessage('oi', 'c1')], inSala1()).model
      const old: Frame = { type: 'error', code: 'bad_request', message: 'invalid message command', ref: 'c1', details: [{ path: 'room', message: 'is not a known field' }] }
      const { model, commands } = fold([frame(old)], written)
      expect(sent(commands)).toEqual([{ type: 'message', text: 'oi', clientId: 'c1', ref: 'c1' }])
      expect(model.outbox).toMatchObject([{ clientId: 'c1', delivery: { state: 'sent' } }])
      expect(model.notices).toEqual([])
      expect(sent(fold([typedMessage('de novo', 'c3')], model).commands)).toEqual([{ type: 'message', text: 'de novo', clientId: 'c3', ref: 'c3' }])
      const back = reconnectFrom(fold([{ type: 'socketClosed', code: 1006, reason: '', random: 0.5 }], model).model).model
      const there = fold([joined(back, 'sala-1', [])], back).model
      expect(sent(fold([typedMessage('novo servidor', 'c4')], there).commands)).toContainEqual(expect.objectContaining({ clientId: 'c4', room: 'sala-1' }))
    })
  })

  describe('a second tab, or a reload, while the user is in a room (issue 13, client fix 2)', () => {
    const opened = (): Msg[] => [{ type: 'signedIn', at: 0 }, { type: 'socketOpened', at: 0 }]

    it('goes where the user is when welcome says so, without a join of its own', () => {
      const { model, commands } = fold([...opened(), frame({ type: 'welcome', user: ana, rooms, protocol: 1, room: 'sala-3' })])
      expect(joinSent(commands)).toEqual([])
      expect(model.shown).toBe('sala-3')
      const there = fold([frame({ type: 'joined', room: 'sala-3', users: [ana], count: 1, typing: [], history: [message(4, 'sala-3')] }), { type: 'tick', at: LANDING_WAIT_MS, random: 0.5 }], model)
      expect(joinSent(there.commands)).toEqual([])
      expect(there.model.room).toBe('sala-3')
      expect(texts(there.model, 'sala-3')).toEqual(['sala-3 m4'])
    })

    it('with an older server, takes the joined that follows its welcome and never joins the default room', () => {
      const { model, commands } = fold([
        ...opened(),
        frame({ type: 'welcome', user: ana, rooms, protocol: 1 }, 5),
        frame({ type: 'joined', room: 'sala-3', users: [ana], count: 1, typing: [], history: [] }, 6),
        { type: 'tick', at: 5 + LANDING_WAIT_MS, random: 0.5 },
      ])
      expect(joinSent(commands)).toEqual([])
      expect(model.shown).toBe('sala-3')
      expect(model.room).toBe('sala-3')
    })

    it('a room picked during the wait is the one joined', () => {
      const { commands } = fold([...opened(), frame({ type: 'welcome', user: ana, rooms, protocol: 1 }), { type: 'joinRequested', room: 'sala-2' }, { type: 'tick', at: LANDING_WAIT_MS, random: 0.5 }])
      expect(joinSent(commands)).toEqual([{ type: 'join', room: 'sala-2', ref: expect.any(String) }])
    })

    it('a reconnecting tab already in the room the welcome names does not join it again; one in another room goes back to its own', () => {
      const offline = fold([{ type: 'socketClosed', code: 1006, reason: '', random: 0.5 }], inSala1()).model
      const reopened = fold([{ type: 'retryDue', at: 1 }, { type: 'socketOpened', at: 1 }], offline).model
      expect(joinSent(fold([frame({ type: 'welcome', user: ana, rooms, protocol: 1, room: 'sala-1' })], reopened).commands)).toEqual([])
      expect(joinSent(fold([frame({ type: 'welcome', user: ana, rooms, protocol: 1, room: 'sala-2' })], reopened).commands)).toMatchObject([{ room: 'sala-1' }])
    })
  })

  describe('notices that stay true (issue 13, client fix 3)', () => {
    it('a message whose ack was lost, written in a room left while offline, is not reported as not sent; its room’s catch-up settles it', () => {
      const onTheWire = fold([typedMessage('talvez', 'c1')], inSala1()).model
      const offline = fold([{ type: 'socketClosed', code: 1006, reason: '', random: 0.5 }, { type: 'joinRequested', room: 'sala-2' }], onTheWire).model
      const back = reconnectFrom(offline).model
      const inSala2 = fold([joined(back, 'sala-2', [])], back)
      expect(sent(inSala2.commands).filter((c) => c.type === 'message')).toEqual([])
      expect(inSala2.model.notices).toEqual([])
      expect(inSala2.model.outbox).toMatchObject([{ room: 'sala-1', clientId: 'c1', delivery: { state: 'unconfirmed' } }])
      const asked = fold([{ type: 'joinRequested', room: 'sala-1' }], inSala2.model).model
      const stored: ChatMessage = { ...message(3, 'sala-1', ana), text: 'talvez', clientId: 'c1' }
      const { model, commands } = fold([joined(asked, 'sala-1', [stored])], asked)
      expect(sent(commands).filter((c) => c.type === 'message')).toEqual([])
      expect(model.outbox).toEqual([])
      expect(model.notices).toEqual([])
      expect(texts(model, 'sala-1')).toEqual(['sala-1 m1', 'sala-1 m2', 'talvez'])
    })

    it('…and one the catch-up does not show is sent again, with the same clientId', () => {
      const onTheWire = fold([typedMessage('talvez', 'c1')], inSala1()).model
      const offline = fold([{ type: 'socketClosed', code: 1006, reason: '', random: 0.5 }, { type: 'joinRequested', room: 'sala-2' }], onTheWire).model
      const inSala2 = moveTo(reconnectFrom(offline).model, 'sala-2', [])
      const { commands } = fold([{ type: 'joinRequested', room: 'sala-1' }], inSala2)
      const back = fold([{ type: 'joinRequested', room: 'sala-1' }], inSala2).model
      expect(joinSent(commands)).toHaveLength(1)
      expect(sent(fold([joined(back, 'sala-1', [])], back).commands)).toContainEqual({ type: 'message', text: 'talvez', clientId: 'c1', ref: 'c1', room: 'sala-1' })
    })

    it('the notice about a failed message goes once a Retry has sent it, or it was discarded', () => {
      const offline = fold([{ type: 'socketClosed', code: 1006, reason: '', random: 0.5 }], inSala1()).model
      const switched = fold([typedMessage('escrito offline', 'c9'), { type: 'joinRequested', room: 'sala-2' }], offline).model
      const back = reconnectFrom(switched).model
      const there = fold([joined(back, 'sala-2', [])], back).model
      expect(there.notices.map((n) => n.text)).toEqual(['A message written in Sala 1 could not be sent: you left the room while offline. Open Sala 1 to retry.'])
      const inSala1Again = moveTo(there, 'sala-1', [])
      const retried = fold([{ type: 'retryRequested', room: 'sala-1', clientId: 'c9' }, frame({ type: 'ack', id: id(3), room: 'sala-1', sentAt: '2026-11-24T12:00:01.000Z', clientId: 'c9', ref: 'c9' })], inSala1Again).model
      expect(retried.outbox).toEqual([])
      expect(retried.notices).toEqual([])
      expect(fold([{ type: 'discardRequested', room: 'sala-1', clientId: 'c9' }], there).model.notices).toEqual([])
      // An unrelated notice stays.
      expect(fold([{ type: 'problem', text: 'Upload failed' }, { type: 'discardRequested', room: 'sala-1', clientId: 'c9' }], there).model.notices.map((n) => n.text)).toEqual(['Upload failed'])
    })
  })

  it('starts a room afresh on a gap, and on a join it did not ask from its cursor', () => {
    const back = reconnectFrom(fold([{ type: 'socketClosed', code: 1006, reason: '', random: 0.5 }], inSala1()).model).model
    const gap = fold([joined(back, 'sala-1', [message(60), message(61)], { gap: true })], back).model
    expect(shown(gap).map((m) => m.id)).toEqual([id(60), id(61)])
    // Another tab of ours moved us (a `joined` without our ref): the screen follows with the room's latest.
    const moved = fold([frame({ type: 'joined', room: 'sala-2', users: [ana], count: 1, typing: [], history: [message(5, 'sala-2')] })], gap).model
    expect(moved.shown).toBe('sala-2')
    expect(texts(moved, 'sala-2')).toEqual(['sala-2 m5'])
  })

  it('when the answer to an earlier join arrives after a later one was sent, it keeps showing the later room', () => {
    const asked = fold([{ type: 'joinRequested', room: 'sala-2' }], inSala1()).model
    const firstRef = lastJoinRef(asked)
    const again = fold([{ type: 'joinRequested', room: 'sala-3' }], asked).model
    const early = fold([frame({ type: 'joined', room: 'sala-2', users: [], count: 0, typing: [], history: [], ref: firstRef })], again).model
    expect(early.shown).toBe('sala-3')
    expect(fold([typedMessage('x', 'c1')], early).commands).toEqual([])
    const { model } = fold([joined(early, 'sala-3', [message(1, 'sala-3')])], early)
    expect(model.shown).toBe('sala-3')
    expect(model.room).toBe('sala-3')
  })

  it('a refused join goes back to the room the server has us in', () => {
    const asked = fold([{ type: 'joinRequested', room: 'sala-9' }], inSala1()).model
    const { model, commands } = fold([frame({ type: 'error', code: 'unknown_room', message: 'no such room', ref: lastJoinRef(asked) })], asked)
    expect(joinSent(commands)).toMatchObject([{ type: 'join', room: 'sala-1', since: id(2) }])
    expect(model.shown).toBe('sala-1')
    expect(model.notices.at(-1)?.text).toBe('no such room')
  })

  it('backs off exponentially with jitter, capped at 30 s', () => {
    expect(reconnectDelay(0, 1)).toBe(500)
    expect(reconnectDelay(3, 1)).toBe(4000)
    expect(reconnectDelay(20, 1)).toBe(30_000)
    fc.assert(
      fc.property(fc.nat({ max: 40 }), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, random) => {
        const delay = reconnectDelay(attempt, random)
        const base = Math.min(30_000, 500 * 2 ** attempt)
        return delay >= Math.floor(base / 2) && delay <= base
      }),
    )
    const { model } = fold([{ type: 'socketClosed', code: 1006, reason: '', random: 0 }], inSala1())
    expect(model.connection).toEqual({ state: 'reconnecting', attempt: 0, delayMs: 250 })
    // A socket closed before its welcome (a server refusing one connection too many) counts as a failed attempt.
    const refused = fold([{ type: 'retryDue', at: 1 }, { type: 'socketOpened', at: 1 }, { type: 'socketClosed', code: 1008, reason: 'too many connections', random: 0 }], model).model
    expect(refused.connection).toEqual({ state: 'reconnecting', attempt: 1, delayMs: 500 })
  })

  it('asks to sign in again when the session ended (4001), without reconnecting', () => {
    const { model, commands } = fold([{ type: 'socketClosed', code: 4001, reason: 'session revoked', random: 0 }], inSala1())
    expect(commands).toEqual([{ type: 'showSignIn' }])
    expect(model.me).toBeNull()
    expect(model.notices.at(-1)?.text).toContain('sign in again')
  })

  it('turns every error frame into a notice, and a refused message into a failed one that can be retried', () => {
    const { model } = fold(
      [typedMessage('x', 'c2'), frame({ type: 'error', code: 'rate_limited', message: 'too many message commands; wait 100 ms', ref: 'c2', retryAfterMs: 100 })],
      inSala1(),
    )
    expect(model.outbox).toMatchObject([{ clientId: 'c2', delivery: { state: 'failed', reason: 'too many message commands; wait 100 ms' } }])
    expect(model.notices.at(-1)?.text).toBe('too many message commands; wait 100 ms')
    expect(sent(fold([{ type: 'retryRequested', room: 'sala-1', clientId: 'c2' }], model).commands)).toEqual([{ type: 'message', text: 'x', clientId: 'c2', ref: 'c2', room: 'sala-1' }])
  })

  it('sends typing_start at most every few seconds and typing_stop once idle', () => {
    const start = inSala1()
    const { model, commands } = fold([{ type: 'typed', at: 1000 }, { type: 'typed', at: 1500 }, { type: 'typed', at: 4500 }], start)
    expect(sent(commands)).toEqual([{ type: 'typing_start' }, { type: 'typing_start' }])
    expect(fold([{ type: 'typingIdle', at: 6000 }], model).commands).toEqual([])
    expect(sent(fold([{ type: 'typingIdle', at: 8600 }], model).commands)).toEqual([{ type: 'typing_stop' }])
    // Still typing (no new announcement needed yet): the idle check of an older keystroke does not stop it.
    const busy = fold([{ type: 'typed', at: 10_000 }, { type: 'typed', at: 12_900 }], start).model
    expect(fold([{ type: 'typingIdle', at: 14_000 }], busy).commands).toEqual([])
  })

  it('asks for older messages from the oldest it has, once at a time', () => {
    const full = moveTo(inSala1(), 'sala-2', Array.from({ length: 50 }, (_, i) => message(i + 51, 'sala-2')))
    const { model, commands } = fold([{ type: 'olderRequested' }, { type: 'olderRequested' }], full)
    expect(sent(commands)).toEqual([{ type: 'history', before: id(51), limit: 50 }])
    const loaded = fold([frame({ type: 'history', room: 'sala-2', messages: [message(50, 'sala-2')] })], model).model
    expect(shown(loaded)[0]?.id).toBe(id(50))
    expect(loaded.timelines.get('sala-2')?.hasOlder).toBe(false)
  })

  describe('the heartbeat', () => {
    const online = () => inSala1() // welcomed at 0: the first ping is due at PING_IDLE_MS
    const tick = (at: number): Msg => ({ type: 'tick', at, random: 0.5 })

    it('pings a link that has been quiet, and not one that has been talking', () => {
      expect(fold([tick(PING_IDLE_MS - 1)], online()).commands).toEqual([{ type: 'wakeAt', at: PING_IDLE_MS }])
      const { commands } = fold([tick(PING_IDLE_MS)], online())
      expect(commands).toEqual([send({ type: 'ping', ref: expect.stringMatching(/^ping-/) }), { type: 'wakeAt', at: PING_IDLE_MS + PONG_TIMEOUT_MS }])
      const talking = fold([frame({ type: 'typing', room: 'sala-1', user: bia, typing: true }, 15_000), tick(PING_IDLE_MS)], online())
      expect(talking.commands).toEqual([{ type: 'wakeAt', at: 15_000 + PING_IDLE_MS }])
    })

    it('declares a link dead when nothing answers a ping in time, drops it and reconnects', () => {
      const pinged = fold([typedMessage('no ar', 'c1'), tick(PING_IDLE_MS)], online()).model
      expect(fold([tick(PING_IDLE_MS + PONG_TIMEOUT_MS - 1)], pinged).commands).toEqual([{ type: 'wakeAt', at: PING_IDLE_MS + PONG_TIMEOUT_MS }])
      const { model, commands } = fold([tick(PING_IDLE_MS + PONG_TIMEOUT_MS)], pinged)
      expect(commands).toEqual([{ type: 'disconnect', reason: 'no answer to ping' }, { type: 'retryAfter', ms: reconnectDelay(0, 0.5) }])
      expect(model.connection.state).toBe('reconnecting')
      expect(model.outbox).toMatchObject([{ clientId: 'c1', delivery: { state: 'unconfirmed' } }])
    })

    it('takes a pong, any frame, or an older server’s refusal of ping as an answer', () => {
      const pinged = fold([tick(PING_IDLE_MS)], online())
      const ref = sent(pinged.commands)[0]?.ref ?? ''
      const answers: ReadonlyArray<Msg> = [
        frame({ type: 'pong', ref }, PING_IDLE_MS + 5),
        { type: 'heard', at: PING_IDLE_MS + 5 },
        frame({ type: 'error', code: 'bad_request', message: 'unknown command type "ping"', ref }, PING_IDLE_MS + 5),
      ]
      for (const answer of answers) {
        const { model, commands } = fold([answer, tick(PING_IDLE_MS + PONG_TIMEOUT_MS)], pinged.model)
        expect(model.connection.state).toBe('online')
        expect(commands).toEqual([{ type: 'wakeAt', at: PING_IDLE_MS + 5 + PING_IDLE_MS }])
        expect(model.notices).toEqual([])
      }
    })

    it('gives up on a socket that does not open in time', () => {
      const { commands } = fold([{ type: 'signedIn', at: 0 }])
      expect(commands).toEqual([{ type: 'connect' }, { type: 'wakeAt', at: CONNECT_TIMEOUT_MS }])
      const { model, commands: after } = fold([{ type: 'signedIn', at: 0 }, tick(CONNECT_TIMEOUT_MS)])
      expect(after.slice(-2)).toEqual([{ type: 'disconnect', reason: 'the server did not answer' }, { type: 'retryAfter', ms: reconnectDelay(1, 0.5) }])
      expect(model.connection).toMatchObject({ state: 'reconnecting', attempt: 1 })
    })
  })

  it('merges messages in id order without duplicates', () => {
    expect(mergeMessages([message(2), message(5)], [message(1), message(5), message(3)]).map((m) => Number(m.id))).toEqual([1, 2, 3, 5])
  })

  it('whatever happens, a room’s timeline holds only its own messages, in order, and nothing is on the wire of a closed link', () => {
    const roomId = fc.constantFrom('sala-1', 'sala-2', 'sala-3')
    const n = fc.integer({ min: 1, max: 8 })
    // Events as data; `ours` is resolved against the model when the event happens (the ref of the join on its way).
    type Event = Msg | { readonly type: 'joinedFrame'; readonly room: string; readonly ids: number[]; readonly ours: boolean; readonly gap: boolean }
    const event: fc.Arbitrary<Event> = fc.oneof(
      roomId.map((room): Event => ({ type: 'joinRequested', room })),
      fc.record({ type: fc.constant('joinedFrame' as const), room: roomId, ids: fc.array(n, { maxLength: 4 }), ours: fc.boolean(), gap: fc.boolean() }),
      fc.tuple(roomId, n).map(([room, i]) => frame({ type: 'message', ...message(i, room) })),
      fc.tuple(fc.option(roomId, { nil: undefined }), n, fc.nat({ max: 3 })).map(([room, i, c]) =>
        frame({ type: 'ack', id: id(i), sentAt: '2026-11-24T12:00:01.000Z', clientId: `c${c}`, ...(room === undefined ? {} : { room }) }),
      ),
      fc.nat({ max: 3 }).map((c) => typedMessage('t', `c${c}`)),
      fc.constant<Event>({ type: 'socketClosed', code: 1006, reason: '', random: 0.5 }),
      fc.constant<Event>({ type: 'retryDue', at: 1 }),
      fc.constant<Event>({ type: 'socketOpened', at: 1 }),
      fc.constant(frame({ type: 'welcome', user: ana, rooms, protocol: 1 })),
      roomId.map((room) => frame({ type: 'welcome', user: ana, rooms, protocol: 1, room })),
      fc.tuple(roomId, fc.nat({ max: 3 })).map(([room, c]) => frame({ type: 'error', code: 'not_in_room', message: 'moved', ref: `c${c}`, room })),
      fc.tuple(roomId, fc.nat({ max: 3 })).map(([room, c]): Event => ({ type: 'retryRequested', room, clientId: `c${c}` })),
      fc.nat({ max: 3000 }).map((at): Event => ({ type: 'tick', at, random: 0.5 })),
    )
    const toMsg = (e: Event, model: Model): Msg =>
      e.type !== 'joinedFrame'
        ? e
        : frame({ type: 'joined', room: e.room, users: [], count: 0, typing: [], history: e.ids.map((i) => message(i, e.room)), ...(e.ours ? { ref: lastJoinRef(model) } : {}), ...(e.gap ? { gap: true } : {}) })
    fc.assert(
      fc.property(fc.array(event, { maxLength: 40 }), (events) => {
        let model = inSala1()
        for (const e of events) {
          model = update(model, toMsg(e, model))[0]
          for (const [room, timeline] of model.timelines) {
            const ids = timeline.messages.map((m) => m.id)
            if (timeline.messages.some((m) => m.room !== room)) return false
            if (ids.some((x, i) => i > 0 && (ids[i - 1] ?? '') >= x)) return false
          }
          if (model.connection.state !== 'online' && model.outbox.some((m) => m.delivery.state === 'sent')) return false
        }
        return true
      }),
      { numRuns: 300 },
    )
  })
})

const send = (command: unknown) => ({ type: 'send', command })
