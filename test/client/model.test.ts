import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { initialModel, mergeMessages, reconnectDelay, typingLine, update, type Model, type Msg } from '../../src/client/model.js'
import type { ChatMessage, ServerFrame } from '../../src/core/protocol/server-frames.js'

const ana = { username: 'ana', name: 'Ana' }
const bia = { username: 'bia', name: 'Bia' }
const rooms = [
  { id: 'sala-1', name: 'Sala 1', members: 0 },
  { id: 'sala-2', name: 'Sala 2', members: 0 },
]
const message = (id: number, room = 'sala-1', user = bia): ChatMessage => ({
  id: String(id).padStart(12, '0'),
  room,
  user,
  text: `m${id}`,
  sentAt: '2026-11-24T12:00:00.000Z',
})

const fold = (msgs: ReadonlyArray<Msg>, from: Model = initialModel) => {
  let model = from
  const commands = []
  for (const msg of msgs) {
    const [next, cmds] = update(model, msg)
    model = next
    commands.push(...cmds)
  }
  return { model, commands }
}
const frame = (f: ServerFrame): Msg => ({ type: 'frame', frame: f })

const online: ReadonlyArray<Msg> = [
  { type: 'signedIn' },
  { type: 'socketOpened' },
  frame({ type: 'welcome', user: ana, rooms, protocol: 1 }),
  frame({ type: 'joined', room: 'sala-1', users: [ana, bia], typing: [], history: [message(1), message(2)] }),
]

describe('the web client model', () => {
  it('joins the default room on the first welcome', () => {
    const { commands } = fold(online.slice(0, 3))
    expect(commands).toContainEqual({ type: 'send', command: { type: 'join', room: 'sala-1' } })
  })

  it('keeps who is here and who is typing, and says it in words', () => {
    const { model } = fold([
      ...online,
      frame({ type: 'typing', room: 'sala-1', user: bia, typing: true }),
      frame({ type: 'typing', room: 'sala-2', user: ana, typing: true }),
    ])
    expect(typingLine(model.typing)).toBe('Bia is typing…')
    expect(typingLine([ana, bia])).toBe('Ana and Bia are typing…')
    expect(typingLine([ana, bia, { username: 'c', name: 'Caio' }])).toBe('3 people are typing…')
    const left = fold([frame({ type: 'user_left', room: 'sala-1', user: bia, reason: 'moved' })], model).model
    expect(left.users).toEqual([ana])
    expect(left.typing).toEqual([])
  })

  it('shows a sent message as pending until its ack, then as a message with the server’s id', () => {
    const { model, commands } = fold([...online, { type: 'sendRequested', text: 'oi', attachments: [], clientId: 'c1' }])
    expect(commands).toContainEqual({ type: 'send', command: { type: 'message', text: 'oi', clientId: 'c1', ref: 'c1' } })
    expect(model.pending).toHaveLength(1)
    const acked = fold([frame({ type: 'ack', id: '000000000003', room: 'sala-1', sentAt: '2026-11-24T12:00:01.000Z', clientId: 'c1', ref: 'c1' })], model).model
    expect(acked.pending).toEqual([])
    expect(acked.messages.at(-1)).toMatchObject({ id: '000000000003', text: 'oi', user: ana })
  })

  it('after a reconnect rejoins its room with since, merges the catch-up and resends what was not acknowledged', () => {
    const before = fold([...online, { type: 'sendRequested', text: 'lost?', attachments: [], clientId: 'c9' }]).model
    const { model, commands } = fold(
      [
        { type: 'socketClosed', code: 1006, reason: '', random: 0.5 },
        { type: 'retryDue' },
        { type: 'socketOpened' },
        frame({ type: 'welcome', user: ana, rooms, protocol: 1 }),
        frame({ type: 'joined', room: 'sala-1', users: [ana], typing: [], history: [message(3)] }),
      ],
      before,
    )
    expect(commands).toContainEqual({ type: 'send', command: { type: 'join', room: 'sala-1', since: '000000000002' } })
    expect(commands).toContainEqual({ type: 'send', command: { type: 'message', text: 'lost?', clientId: 'c9', ref: 'c9' } })
    expect(model.messages.map((m) => m.id)).toEqual([1, 2, 3].map((n) => String(n).padStart(12, '0')))
  })

  it('starts a room afresh on a gap or another room', () => {
    const before = fold(online).model
    const moved = fold([{ type: 'joinRequested', room: 'sala-2' }, frame({ type: 'joined', room: 'sala-2', users: [ana], typing: [], history: [message(7, 'sala-2')] })], before).model
    expect(moved.messages.map((m) => m.room)).toEqual(['sala-2'])
  })

  it('backs off exponentially with jitter, capped at 30 s', () => {
    expect(reconnectDelay(0, 1)).toBe(500)
    expect(reconnectDelay(3, 1)).toBe(4000)
    expect(reconnectDelay(20, 1)).toBe(30_000)
    fc.assert(
      fc.property(fc.nat({ max: 40 }), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, random) => {
        const delay = reconnectDelay(attempt, random)
        const base = Math.min(30_000, 500 * 2 ** attempt)
        expect(delay).toBeGreaterThanOrEqual(Math.floor(base / 2))
        expect(delay).toBeLessThanOrEqual(base)
      }),
    )
    const { model } = fold([...online, { type: 'socketClosed', code: 1006, reason: '', random: 0 }])
    expect(model.connection).toEqual({ state: 'reconnecting', attempt: 0, delayMs: 250 })
  })

  it('asks to sign in again when the session ended (4001), without reconnecting', () => {
    const { model, commands } = fold([{ type: 'socketClosed', code: 4001, reason: 'session revoked', random: 0 }], fold(online).model)
    expect(commands).toEqual([{ type: 'showSignIn' }])
    expect(model.me).toBeNull()
    expect(model.notices.at(-1)?.text).toContain('sign in again')
  })

  it('turns every error frame into a notice, dropping the refused pending message', () => {
    const { model } = fold([
      ...online,
      { type: 'sendRequested', text: 'x', attachments: [], clientId: 'c2' },
      frame({ type: 'error', code: 'rate_limited', message: 'too many message commands; wait 100 ms', ref: 'c2', retryAfterMs: 100 }),
    ])
    expect(model.pending).toEqual([])
    expect(model.notices.at(-1)?.text).toBe('too many message commands; wait 100 ms')
  })

  it('sends typing_start at most every few seconds and typing_stop once idle', () => {
    const start = fold(online).model
    const { model, commands } = fold([{ type: 'typed', at: 1000 }, { type: 'typed', at: 1500 }, { type: 'typed', at: 4500 }], start)
    expect(commands.filter((c) => c.type === 'send')).toEqual([
      { type: 'send', command: { type: 'typing_start' } },
      { type: 'send', command: { type: 'typing_start' } },
    ])
    expect(fold([{ type: 'typingIdle', at: 6000 }], model).commands).toEqual([])
    expect(fold([{ type: 'typingIdle', at: 8600 }], model).commands).toEqual([{ type: 'send', command: { type: 'typing_stop' } }])
    // Still typing (no new announcement needed yet): the idle check of an older keystroke does not stop it.
    const busy = fold([{ type: 'typed', at: 10_000 }, { type: 'typed', at: 12_900 }], start).model
    expect(fold([{ type: 'typingIdle', at: 14_000 }], busy).commands).toEqual([])
  })

  it('merges messages in id order without duplicates', () => {
    expect(mergeMessages([message(2), message(5)], [message(1), message(5), message(3)]).map((m) => Number(m.id))).toEqual([1, 2, 3, 5])
  })
})
