import type { ConnectionId } from '../brands.js'
import { findSender, roomAudience, roomOf, send, sendTo, setPresence } from './audience.js'
import type { Effect } from './effects.js'
import { errorFrame, typingFrame } from './frames.js'
import { idle, type ChatState, type Presence } from './state.js'
import { unchanged, type Step } from './step-result.js'

/** Typing is announced to the other users only, never to the typist's own other connections. */
const announce = (state: ChatState, presence: Presence, typing: boolean): ReadonlyArray<Effect> => {
  const room = roomOf(state, presence)
  return room === undefined ? [] : send(roomAudience(state, room, presence.user.id), typingFrame(room, presence.user, typing))
}

export const startTyping = (state: ChatState, connection: ConnectionId, ref: string | undefined, at: number): Step => {
  const sender = findSender(state, connection)
  if (sender === undefined) return unchanged(state)
  if (sender.presence.room === null) {
    return unchanged(state, [sendTo(connection, errorFrame('not_in_room', 'join a room before typing', ref))])
  }
  const until = at + state.settings.typingTimeoutMs
  const wasTyping = sender.presence.typing.state === 'typing'
  const next = setPresence(state, { ...sender.presence, typing: { state: 'typing', until } })
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
  if (presence.typing.state === 'idle') return unchanged(state)
  const next = setPresence(state, { ...presence, typing: idle })
  return [next, announce(next, presence, false)]
}

/** Ends every typing whose deadline has passed; answers the earliest deadline still ahead. */
export const expireTyping = (state: ChatState, at: number): readonly [ChatState, ReadonlyArray<Effect>, number] => {
  let next = state
  let earliest = Infinity
  const effects: Effect[] = []
  for (const presence of state.users.values()) {
    if (presence.typing.state === 'idle') continue
    if (presence.typing.until > at) {
      earliest = Math.min(earliest, presence.typing.until)
      continue
    }
    const [stopped, stopEffects] = stopTyping(next, presence)
    next = stopped
    effects.push(...stopEffects)
  }
  return [next, effects, earliest]
}
