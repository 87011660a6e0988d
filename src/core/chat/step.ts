import { findSender, sendTo } from './audience.js'
import { clockTicked, closeConnection, openConnection } from './connections.js'
import type { ChatEvent } from './events.js'
import { errorFrame, withRef } from './frames.js'
import { historyLoaded, requestHistory } from './history.js'
import { admit, limitKindOf } from './limits.js'
import { membershipChanged, roomSaved, roomsReloaded } from './catalog.js'
import { joinRoom, leaveRoom } from './membership.js'
import { messagesNotStored, messagesStored, postMessage } from './messages.js'
import { gapFilled, gapNotFilled } from './ordering.js'
import { linkRestored, peerAnnounced, sessionRevoked } from './peers.js'
import type { ChatState } from './state.js'
import { unchanged, type Step } from './step-result.js'
import { startTyping, stopTypingCommand } from './typing.js'
import { readUpTo } from './unread.js'
import { listMembers } from './joined.js'
import { timePresenceWindows } from './presence.js'

/**
 * The whole chat: one pure transition per event. The presence windows an event opened are timed from its
 * `at` once it has run (presence.ts).
 */
export const step = (state: ChatState, event: ChatEvent): Step => {
  const [next, effects] = transition(state, event)
  if (next.presenceWindows.size === 0) return [next, effects]
  const [timed, wake] = timePresenceWindows(next, event.at)
  return wake.length === 0 ? [timed, effects] : [timed, [...effects, ...wake]]
}

const transition = (state: ChatState, event: ChatEvent): Step => {
  switch (event.type) {
    case 'ConnectionOpened':
      return openConnection(state, event)
    case 'ConnectionClosed':
      return closeConnection(state, event.connection)
    case 'CommandReceived':
      return handleCommand(state, event)
    case 'FrameRejected':
      return rejectFrame(state, event)
    case 'MessagesStored':
      return messagesStored(state, event.stored, event.duplicates ?? [], event.at)
    case 'MessagesNotStored':
      return messagesNotStored(state, event.messages, event.error)
    case 'HistoryLoaded':
      return historyLoaded(state, event.connection, event.room, event.messages, event.ref)
    case 'CommandFailed':
      return state.connections.has(event.connection)
        ? unchanged(state, [sendTo(event.connection, errorFrame('internal_error', event.message, event.ref))])
        : unchanged(state)
    case 'SessionRevoked':
      return sessionRevoked(state, event.session, event.expiresAt)
    case 'ClockTicked':
      return clockTicked(state, event.at)
    case 'PeerAnnounced':
      return peerAnnounced(state, event.origin, event.fact, event.at)
    case 'GapFilled':
      return gapFilled(state, event.room, event.before, event.messages, event.at)
    case 'GapNotFilled':
      return gapNotFilled(state, event.room, event.at)
    case 'ClusterLinkRestored':
      return linkRestored(state)
    case 'RoomSaved':
      return roomSaved(state, event.room, event.fromPeer ?? false)
    case 'RoomsReloaded':
      return roomsReloaded(state, event.rooms, event.memberships, event.asOf, event.attempt, event.failed ?? false)
    case 'MembershipChanged':
      return membershipChanged(state, event.room, event.user, event.change, event.readSeq ?? 0, event.fromPeer ?? false)
  }
}

const rejectFrame = (state: ChatState, event: Extract<ChatEvent, { type: 'FrameRejected' }>): Step => {
  if (!state.connections.has(event.connection)) return unchanged(state)
  const admission = admit(state, event.connection, limitKindOf('rejected_frame'), event.ref, event.at)
  if (!admission.admitted) return [admission.state, admission.effects]
  return [admission.state, [...admission.effects, sendTo(event.connection, errorFrame('bad_request', event.message, event.ref, event.details))]]
}

const handleCommand = (state: ChatState, event: Extract<ChatEvent, { type: 'CommandReceived' }>): Step => {
  // A refused message's error names the room it was written in, as its ack would have.
  const room = event.command.type === 'message' ? (findSender(state, event.connection)?.presence.room ?? undefined) : undefined
  const admission = admit(state, event.connection, limitKindOf(event.command.type), event.command.ref, event.at, room, event.shared)
  if (!admission.admitted) return [admission.state, admission.effects]
  const [next, effects] = runCommand(admission.state, event)
  return admission.effects.length === 0 ? [next, effects] : [next, [...admission.effects, ...effects]]
}

const runCommand = (state: ChatState, event: Extract<ChatEvent, { type: 'CommandReceived' }>): Step => {
  const { connection, command, at } = event
  switch (command.type) {
    case 'join':
      return joinRoom(state, connection, command, at)
    case 'leave':
      return leaveRoom(state, connection, command.ref)
    case 'message':
      return postMessage(state, connection, command, event.uploads ?? new Map(), at)
    case 'typing_start':
      return startTyping(state, connection, command.ref, at)
    case 'typing_stop':
      return stopTypingCommand(state, connection, command.ref, at)
    case 'history':
      return requestHistory(state, connection, command)
    case 'read':
      return readUpTo(state, connection, command)
    case 'members':
      return listMembers(state, connection, command)
    case 'ping':
      return state.connections.has(connection) ? unchanged(state, [sendTo(connection, withRef({ type: 'pong' }, command.ref))]) : unchanged(state)
  }
}
