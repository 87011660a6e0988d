import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { ConnectionId } from '../../../src/core/brands.js'
import { clientIdKey, type ChatState, type ClientIdHolder } from '../../../src/core/chat/state.js'
import { formatMessageId } from '../../../src/core/protocol/message-id.js'
import { forgetAt } from '../../../src/core/chat/limits.js'
import { actionArbitrary, run, SLOTS } from './actions.js'
import { SETTINGS, World, withoutLimits, type StepRecord } from './harness.js'
import { applyFrame, emptyView, type ClientView, type Views } from './views.js'

// The executable spec of the chat: random histories of connects, joins, messages, typing, store results,
// ticks, revocations and garbage, with every invariant checked after every single step.

const histories = fc.array(actionArbitrary, { minLength: 10, maxLength: 120, size: 'large' })
const runs = { numRuns: 200 }

const usernameOf = (state: ChatState, connection: ConnectionId): string | undefined => {
  const user = state.connections.get(connection)?.user
  return user === undefined ? undefined : state.users.get(user)?.user.username
}

/** An invariant that must hold; cheaper than `expect` in checks run after every single step. */
const holds = (condition: boolean, failure: string): void => {
  if (!condition) throw new Error(failure)
}

/** Runs a history, calling `check` after every step. */
const play = (actions: ReadonlyArray<Parameters<typeof run>[1]>, check: (record: StepRecord, world: World) => void) => {
  const world = new World()
  world.observers.push((record) => check(record, world))
  for (const action of actions) run(world, action)
  return world
}

describe('chat core invariants', () => {
  it('a user is in at most one room, and membership and presence agree', () => {
    fc.assert(
      fc.property(histories, (actions) => {
        // Checked after every step of every history: plain comparisons, since an `expect` per check made
        // this property the slowest test of the suite (18 s); `holds` names the one that failed.
        play(actions, ({ after }) => {
          for (const [userId, presence] of after.users) {
            const containing = [...after.rooms.values()].filter((room) => room.members.has(userId))
            holds(containing.length <= 1, `${userId} is in ${containing.length} rooms`)
            holds((containing[0]?.id ?? null) === presence.room, `${userId}'s presence says ${presence.room}, membership ${containing[0]?.id}`)
            holds(presence.connections.length > 0, `${userId} is present with no connection`)
            for (const connection of presence.connections) holds(after.connections.get(connection)?.user === userId, `${connection} is not ${userId}'s`)
          }
          for (const room of after.rooms.values()) {
            for (const member of room.members) holds(after.users.get(member)?.room === room.id, `${member} is a member of ${room.id} but present elsewhere`)
          }
          for (const [connection, info] of after.connections) {
            holds(after.users.get(info.user)?.connections.includes(connection) === true, `${connection} is missing from its user's presence`)
          }
        })
      }),
      runs,
    )
  })

  it('no room frame reaches a non-member, and every client sees exactly who is in its room and who types there', () => {
    fc.assert(
      fc.property(histories, (actions) => {
        const views: Views = new Map()
        play(actions, ({ before, event, after, effects }) => {
          if (event.type === 'CommandReceived' && event.command.type === 'leave') {
            const answered = effects.some((e) => e.type === 'send' && e.to.includes(event.connection))
            if (!answered) views.set(event.connection, emptyView())
          }
          for (const effect of effects) {
            if (effect.type !== 'send') continue
            for (const to of effect.to) {
              const self = usernameOf(after, to) ?? usernameOf(before, to)
              expect(self, 'frames go to known connections').toBeDefined()
              const view = views.get(to) ?? emptyView()
              views.set(to, view)
              const complaint = applyFrame(view, self!, effect.frame)
              expect(complaint).toBeUndefined()
            }
          }
          for (const [connection, info] of after.connections) {
            const presence = after.users.get(info.user)!
            const view: ClientView = views.get(connection) ?? emptyView()
            const room = presence.room === null ? undefined : after.rooms.get(presence.room)
            expect(view.room).toBe(room?.id ?? null)
            if (room === undefined) continue
            const members = [...room.members].map((id) => after.users.get(id)!.user.username)
            expect([...view.users].sort()).toEqual(members.sort())
            // Exactly the others typing there, whether the client saw them start or arrived meanwhile.
            const typists = [...room.members].filter((id) => id !== info.user && after.typing.has(id)).map((id) => after.users.get(id)!.user.username)
            const seen = [...view.typing].sort().join(',')
            holds(seen === typists.sort().join(','), `${connection} sees ${seen} typing, not ${typists.join(',')}`)
          }
        })
      }),
      runs,
    )
  })

  it('typing never outlives membership or its timeout, nor ends early', () => {
    fc.assert(
      fc.property(histories, (actions) => {
        play(actions, ({ before, event, after }) => {
          for (const [user, until] of after.typing) {
            expect(after.users.get(user)?.room ?? null).not.toBeNull()
            expect(until).toBeLessThanOrEqual(event.at + SETTINGS.typingTimeoutMs)
            if (event.type === 'ClockTicked') expect(until).toBeGreaterThan(event.at)
          }
          // ...nor ends before it: a tick leaves every deadline still ahead alone.
          if (event.type !== 'ClockTicked') return
          for (const [user, until] of before.typing) if (until > event.at) expect(after.typing.get(user)).toBe(until)
        })
      }),
      runs,
    )
  })

  it('a rejected command changes nothing but its sender’s rate-limit bookkeeping', () => {
    fc.assert(
      fc.property(histories, (actions) => {
        play(actions, ({ before, event, after, effects }) => {
          if (event.type !== 'CommandReceived' && event.type !== 'FrameRejected') return
          const rejected = effects.some(
            (e) => e.type === 'send' && e.frame.type === 'error' && e.to.includes(event.connection),
          )
          if (!rejected) return
          expect(withoutLimits(after)).toEqual(withoutLimits(before))
          const sender = before.connections.get(event.connection)?.user
          for (const [user, limits] of after.limits) if (user !== sender) expect(limits).toBe(before.limits.get(user))
        })
      }),
      runs,
    )
  })

  it('rate-limit bookkeeping is dropped in the batch after it has fully rested, and a wake is always due for it', () => {
    fc.assert(
      fc.property(histories, (actions) => {
        // The earliest wake asked for and not yet reached, as the runtime keeps it.
        let wake: number | undefined
        play(actions, ({ event, after, effects }) => {
          if (event.type === 'ClockTicked' && wake !== undefined && wake <= event.at) wake = undefined
          for (const effect of effects) if (effect.type === 'wakeAt') wake = Math.min(wake ?? Infinity, effect.at)
          for (const limits of after.limits.values()) expect(wake).toBeLessThanOrEqual(forgetAt(limits, after.settings))
          if (event.type !== 'ClockTicked') return
          for (const limits of after.limits.values()) expect(forgetAt(limits, after.settings)).toBeGreaterThan(event.at)
        })
      }),
      runs,
    )
  })

  it('a clock tick’s sweeps are never due later than the first thing they have to do', () => {
    fc.assert(
      fc.property(histories, (actions) => {
        play(actions, ({ event, after }) => {
          const due = after.sweepsDueAt
          // Sessions that ran out at this very step are being closed; the rest are ahead of the sweep.
          for (const info of after.connections.values()) if (info.sessionExpiresAt > event.at) expect(due.sessions).toBeLessThanOrEqual(info.sessionExpiresAt)
          for (const expiresAt of after.revokedSessions.values()) if (expiresAt > event.at) expect(due.revoked).toBeLessThanOrEqual(expiresAt)
          for (const limits of after.limits.values()) expect(due.limits).toBeLessThanOrEqual(forgetAt(limits, after.settings))
        })
      }),
      runs,
    )
  })

  it('rate limits hold: no user gets more of a kind of command through than its burst plus its rate allows', () => {
    fc.assert(
      fc.property(histories, (actions) => {
        const admitted = new Map<string, Array<number>>()
        play(actions, ({ before, event, effects }) => {
          if (event.type !== 'CommandReceived' || event.command.type !== 'message') return
          const limited = effects.some((e) => e.type === 'send' && e.frame.type === 'error' && e.frame.code === 'rate_limited')
          const user = before.connections.get(event.connection)?.user
          if (limited || user === undefined) return
          const times = admitted.get(user) ?? []
          times.push(event.at)
          admitted.set(user, times)
        })
        const { perSecond, burst } = SETTINGS.rates.message
        for (const times of admitted.values()) {
          // Any window of the history admits at most burst + rate * its length.
          for (let i = 0; i < times.length; i++) {
            for (let j = i; j < times.length; j++) {
              expect(j - i + 1).toBeLessThanOrEqual(burst + (perSecond * (times[j]! - times[i]!)) / 1000 + 1e-9)
            }
          }
        }
      }),
      runs,
    )
  })

  it('the clientId index is exactly what the recent and pending messages say', () => {
    fc.assert(
      fc.property(histories, (actions) => {
        play(actions, ({ after }) => {
          for (const room of after.rooms.values()) {
            const derived = new Map<string, ClientIdHolder>()
            const held = [
              ...room.recent.map((message) => ({ message, holder: { stored: message.seq } })),
              ...[...room.pending.values()].map(({ message }) => ({ message, holder: { pending: message.key } })),
            ]
            for (const { message, holder } of held) {
              if (message.clientId === undefined) continue
              const key = clientIdKey(message.user.id, message.clientId)
              expect(derived.has(key), `${room.id} holds ${message.clientId} twice`).toBe(false)
              derived.set(key, holder)
            }
            expect(new Map(room.clientIds)).toEqual(derived)
          }
        })
      }),
      runs,
    )
  })

  it('every answer to a message names the room it was written in, whatever the sender did since', () => {
    fc.assert(
      fc.property(histories, (actions) => {
        // Each message has its own ref (actions.ts), so an answer leads back to where it was written.
        const writtenIn = new Map<string, string | null>()
        play(actions, ({ before, event, effects }) => {
          if (event.type === 'CommandReceived' && event.command.type === 'message' && event.command.ref !== undefined) {
            const user = before.connections.get(event.connection)?.user
            writtenIn.set(event.command.ref, user === undefined ? null : (before.users.get(user)?.room ?? null))
          }
          for (const effect of effects) {
            if (effect.type !== 'send') continue
            const frame = effect.frame
            if (frame.type !== 'ack' && frame.type !== 'error') continue
            const room = frame.ref === undefined ? undefined : writtenIn.get(frame.ref)
            if (room === undefined) continue
            if (frame.type === 'ack') holds(frame.room === room, `ack ${frame.ref} says ${frame.room}, written in ${room}`)
            else if (frame.room !== undefined || frame.code !== 'not_in_room') {
              holds(frame.room === (room ?? undefined), `error ${frame.code} ${frame.ref} says ${frame.room}, written in ${room}`)
            }
          }
        })
      }),
      runs,
    )
  })

  it('every ping is answered once, to the asking connection only, by its pong or a refusal', () => {
    fc.assert(
      fc.property(histories, (actions) => {
        play(actions, ({ before, event, effects }) => {
          if (event.type !== 'CommandReceived' || event.command.type !== 'ping' || !before.connections.has(event.connection)) return
          const ref = event.command.ref
          const answers = effects.flatMap((e) => (e.type === 'send' ? e.to.map((to) => [to, e.frame] as const) : []))
          holds(answers.length === 1, `ping ${ref} got ${answers.length} answers`)
          const [to, frame] = answers[0]!
          holds(to === event.connection, `ping ${ref} answered to ${to}`)
          holds(
            (frame.type === 'pong' || (frame.type === 'error' && frame.code === 'rate_limited')) && frame.ref === ref,
            `ping ${ref} answered ${JSON.stringify(frame)}`,
          )
        })
      }),
      runs,
    )
  })

  it('messages are delivered only once stored, in id order, and every send is answered once', () => {
    fc.assert(
      fc.property(histories, (actions) => {
        const sentBy = new Map<ConnectionId, number>()
        const world = play(actions, ({ event, effects }, world) => {
          if (event.type === 'CommandReceived' && event.command.type === 'message') {
            sentBy.set(event.connection, (sentBy.get(event.connection) ?? 0) + 1)
          }
          for (const effect of effects) {
            if (effect.type !== 'send') continue
            const frame = effect.frame
            if (frame.type === 'message') expect(event.type).toBe('MessagesStored')
            if (frame.type === 'message' || frame.type === 'ack') {
              const stored = world.stored.some((m) => formatMessageId(m.seq) === frame.id && m.room === frame.room)
              expect(stored, `${frame.type} ${frame.id} names a stored message`).toBe(true)
            }
          }
        })
        world.completeStores(Infinity, true)
        for (const slot of Array.from({ length: SLOTS }, (_, i) => i)) {
          if (!world.isOpen(slot)) continue
          const connection = world.currentConnection(slot)
          const answers = world.framesOf(connection).filter((f) => (f.type === 'ack' || f.type === 'error') && f.ref?.startsWith('m') === true)
          expect(answers.length).toBe(sentBy.get(connection) ?? 0)
        }
        const ids = world.stored.map((m) => `${m.room}/${m.seq}`)
        expect(new Set(ids).size).toBe(ids.length)
      }),
      runs,
    )
  })
})
