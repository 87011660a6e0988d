import type { ConnectionId, UserId } from '../brands.js'
import { findSender, roomAudience, roomOf, send, sendTo } from './audience.js'
import type { Effect } from './effects.js'
import { errorFrame, typingFrame } from './frames.js'
import { flushArrivalOf } from './presence.js'
import type { ChatState, Presence } from './state.js'
import { unchanged, type Step } from './step-result.js'

/**
 * Typing is announced to the other users only, never to the typist's own other connections; other
 * processes hear of it and tell theirs.
 */
const announce = (before: ChatState, presence: Presence, typing: boolean, at: number): Step => {
  if (presence.room === null) return unchanged(before)
  // A typist whose arrival is still gathered is announced first (presence.ts).
  const [state, arrival] = flushArrivalOf(before, presence.room, presence.user.id)
  const room = roomOf(state, presence)
  if (room === undefined) return unchanged(before)
  const here = [...arrival, ...send(roomAudience(state, room, presence.user.id), typingFrame(room, presence.user, typing))]
  if (state.settings.cluster === null) return [state, here]
  const [told, fact] = tellOthers(state, presence, typing, at)
  return [told, [...here, ...fact]]
}

/**
 * The typing fact for the other processes; a start says for how long (TYPING_TIMEOUT), so a `false` lost
 * with the link ends there anyway, and is remembered so a typist who goes on is announced again in time.
 */
const tellOthers = (state: ChatState, presence: Presence, typing: boolean, at: number): readonly [ChatState, ReadonlyArray<Effect>] => {
  const room = presence.room
  if (state.settings.cluster === null || room === null) return [state, []]
  const forMs = state.settings.typingTimeoutMs
  const typingAnnounced = typing ? state.typingAnnounced.set(presence.user.id, at + forMs) : state.typingAnnounced.remove(presence.user.id)
  const fact: Effect = { type: 'announce', fact: { type: 'typing', user: presence.user, room, typing, ...(typing ? { forMs } : {}) } }
  return [{ ...state, typingAnnounced }, [fact]]
}

export const startTyping = (state: ChatState, connection: ConnectionId, ref: string | undefined, at: number): Step => {
  const sender = findSender(state, connection)
  if (sender === undefined) return unchanged(state)
  if (sender.presence.room === null) {
    return unchanged(state, [sendTo(connection, errorFrame('not_in_room', 'join a room before typing', ref))])
  }
  const user = sender.presence.user.id
  const until = at + state.settings.typingTimeoutMs
  const wasTyping = state.typing.has(user)
  const next: ChatState = { ...state, typing: state.typing.set(user, until) }
  const wake: Effect = { type: 'wakeAt', at: until }
  if (!wasTyping) {
    const [announced, effects] = announce(next, sender.presence, true, at)
    return [announced, [...effects, wake]]
  }
  // A repeated start only pushes the deadline back: the others here already know; the other processes
  // are told again once half of what they were told has passed.
  const told = next.typingAnnounced.get(user)
  if (told === undefined || told - at > state.settings.typingTimeoutMs / 2) return [next, [wake]]
  const [retold, fact] = tellOthers(next, sender.presence, true, at)
  return [retold, [...fact, wake]]
}

export const stopTypingCommand = (state: ChatState, connection: ConnectionId, ref: string | undefined, at: number): Step => {
  const sender = findSender(state, connection)
  if (sender === undefined) return unchanged(state)
  if (sender.presence.room === null) {
    return unchanged(state, [sendTo(connection, errorFrame('not_in_room', 'join a room before typing', ref))])
  }
  return stopTyping(state, sender.presence, at)
}

export const stopTyping = (state: ChatState, presence: Presence, at: number): Step => {
  if (!state.typing.has(presence.user.id)) return unchanged(state)
  const next = forgetTyping(state, presence.user.id)
  return announce(next, presence, false, at)
}

/** Ends typing without a word: for a user who leaves, whose `user_left` says it already. */
export const forgetTyping = (state: ChatState, user: UserId): ChatState =>
  state.typing.has(user) ? { ...state, typing: state.typing.remove(user), typingAnnounced: state.typingAnnounced.remove(user) } : state

/** Ends every typing whose deadline has passed; answers the earliest deadline still ahead. */
export const expireTyping = (state: ChatState, at: number): readonly [ChatState, ReadonlyArray<Effect>, number] => {
  let next = state
  let earliest = Infinity
  const effects: Effect[] = []
  for (const [user, until] of state.typing) {
    if (until > at) {
      earliest = Math.min(earliest, until)
      continue
    }
    const presence = next.users.get(user)
    if (presence === undefined) {
      next = forgetTyping(next, user)
      continue
    }
    const [stopped, stopEffects] = stopTyping(next, presence, at)
    next = stopped
    effects.push(...stopEffects)
  }
  return [next, effects, earliest]
}
