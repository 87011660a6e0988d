import type { RoomId, UserId } from '../brands.js'
import { roomAudience, send } from './audience.js'
import { flushArrivalOf } from './presence.js'
import type { Effect } from './effects.js'
import { typingFrame } from './frames.js'
import { dueNoLaterThan, type ChatState, type ChatUser } from './state.js'
import { unchanged, type Step } from './step-result.js'

// Typists on other processes (issue 15). Their process says when they start, go on and stop; this process
// tells its members of the room, lists them to a newcomer (`joined.typing`), and ends their typing itself
// once the time they were announced for runs out: a `typing: false` lost with the link must not leave a
// user typing here for good.

/** Another process says `user` started, goes on, or stopped typing in `room`, for `forMs`. */
export const remoteTyping = (state: ChatState, user: ChatUser, room: RoomId, typing: boolean, forMs: number | undefined, at: number): Step => {
  const known = state.remoteTypists.get(user.id)
  if (!typing) return known === undefined ? unchanged(state) : endRemoteTyping(state, user.id)
  const target = state.rooms.get(room)
  if (target === undefined) return unchanged(state)
  const until = at + (forMs ?? state.settings.typingTimeoutMs)
  const next = dueNoLaterThan({ ...state, remoteTypists: state.remoteTypists.set(user.id, { user, room, until }) }, 'remoteTypists', until)
  const wake: Effect = { type: 'wakeAt', at: until }
  // Going on in the same room: the members here know already.
  if (known?.room === room) return [next, [wake]]
  const moved = known === undefined ? [] : send(audienceOf(state, known.room, user.id), typingFrame(state.rooms.get(known.room)!, user, false))
  // A typist whose arrival is still gathered is announced first (presence.ts).
  const [flushed, arrival] = flushArrivalOf(next, room, user.id)
  return [flushed, [...moved, ...arrival, ...send(roomAudience(flushed, target, user.id), typingFrame(target, user, true)), wake]]
}

/** Ends a remote typist's typing here, telling the room. */
export const endRemoteTyping = (state: ChatState, user: UserId): Step => {
  const known = state.remoteTypists.get(user)
  if (known === undefined) return unchanged(state)
  const next = { ...state, remoteTypists: state.remoteTypists.remove(user) }
  const room = next.rooms.get(known.room)
  return [next, room === undefined ? [] : send(roomAudience(next, room, user), typingFrame(room, known.user, false))]
}

/** Forgets a remote typist without a word: they left the room, and `user_left` says it already. */
export const forgetRemoteTyping = (state: ChatState, user: UserId, room: RoomId): ChatState =>
  state.remoteTypists.get(user)?.room === room ? { ...state, remoteTypists: state.remoteTypists.remove(user) } : state

/** Ends the remote typing whose time has run out (part of a clock tick); answers the next end, or Infinity. */
export const expireRemoteTyping = (state: ChatState, at: number): readonly [ChatState, ReadonlyArray<Effect>, number] => {
  if (at < state.sweepsDueAt.remoteTypists) return [state, [], state.sweepsDueAt.remoteTypists]
  let next = state
  let dueAt = Infinity
  const effects: Effect[] = []
  for (const [user, typist] of state.remoteTypists) {
    if (typist.until > at) {
      dueAt = Math.min(dueAt, typist.until)
      continue
    }
    const [ended, said] = endRemoteTyping(next, user)
    next = ended
    effects.push(...said)
  }
  return [{ ...next, sweepsDueAt: { ...next.sweepsDueAt, remoteTypists: dueAt } }, effects, dueAt]
}

const audienceOf = (state: ChatState, room: RoomId, except: UserId) => {
  const target = state.rooms.get(room)
  return target === undefined ? [] : roomAudience(state, target, except)
}
