import type { ConnectionId, UserId } from '../brands.js'
import { findSender, roomAudience, roomOf, send, sendTo } from './audience.js'
import type { Effect } from './effects.js'
import { errorFrame, typingFrame } from './frames.js'
import type { ChatState, Presence } from './state.js'
import { unchanged, type Step } from './step-result.js'

/**
 * Typing is announced to the other users only, never to the typist's own other connections; other
 * processes hear of it and tell theirs.
 */
const announce = (state: ChatState, presence: Presence, typing: boolean): ReadonlyArray<Effect> => {
  const room = roomOf(state, presence)
  if (room === undefined) return []
  const here = send(roomAudience(state, room, presence.user.id), typingFrame(room, presence.user, typing))
  if (state.settings.cluster === null) return here
  return [...here, { type: 'announce', fact: { type: 'typing', user: presence.user, room: room.id, typing } }]
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
  // A repeated start only pushes the deadline back: the others already know.
  return [next, wasTyping ? [wake] : [...announce(next, sender.presence, true), wake]]
}

export const stopTypingCommand = (state: ChatState, connection: ConnectionId, ref: string | undefined): Step => {
  const sender = findSender(state, connection)
  if (sender === undefined) return unchanged(state)
  if (sender.presence.room === null) {
    return unchanged(state, [sendTo(connection, errorFrame('not_in_room', 'join a room before typing', ref))])
  }
  return stopTyping(state, sender.presence)
}

export const stopTyping = (state: ChatState, presence: Presence): Step => {
  if (!state.typing.has(presence.user.id)) return unchanged(state)
  const next = forgetTyping(state, presence.user.id)
  return [next, announce(next, presence, false)]
}

/** Ends typing without a word: for a user who leaves, whose `user_left` says it already. */
export const forgetTyping = (state: ChatState, user: UserId): ChatState =>
  state.typing.has(user) ? { ...state, typing: state.typing.remove(user) } : state

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
    const [stopped, stopEffects] = stopTyping(next, presence)
    next = stopped
    effects.push(...stopEffects)
  }
  return [next, effects, earliest]
}
