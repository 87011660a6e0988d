import { RoomId, type ConnectionId } from '../brands.js'
import type { JoinCommand } from '../protocol/client-commands.js'
import type { LeaveReason } from '../protocol/server-frames.js'
import { findSender, roomAudience, roomOf, send, sendTo, setPresence, setRoom, type Sender } from './audience.js'
import type { Effect } from './effects.js'
import { errorFrame, publicUser, userLeftFrame } from './frames.js'
import type { ChatState, Presence, RoomState } from './state.js'
import { unchanged, type Step } from './step-result.js'
import { forgetTyping } from './typing.js'
import { announcePresence } from './peers.js'
import { answerJoin, forgetCatchUps } from './joined.js'
import { mayKnow } from './visibility.js'

export const findRoom = (state: ChatState, id: string): RoomState | undefined =>
  RoomId.is(id) ? state.rooms.get(id) : undefined

export const joinRoom = (state: ChatState, connection: ConnectionId, command: JoinCommand): Step => {
  const sender = findSender(state, connection)
  if (sender === undefined) return unchanged(state)
  const target = findRoom(state, command.room ?? state.settings.defaultRoom)
  // A private room or a conversation is, to a non-member, a room that does not exist: the same answer.
  if (target === undefined || !mayKnow(target, sender.presence.memberships)) {
    const frame = errorFrame('unknown_room', `there is no room ${JSON.stringify(command.room)}`, command.ref)
    return unchanged(state, [sendTo(connection, frame)])
  }
  if (sender.presence.room === target.id) return answerJoin(state, target, connection, command, sender.presence.user.id)
  return moveInto(state, sender, target, command, sender.presence.moves + 1)
}

/** Moves the user (every connection of theirs here) into `target`; `move` counts it (see `Presence.moves`). */
const moveInto = (state: ChatState, sender: Sender, target: RoomState, command: JoinCommand, move: number): Step => {
  const [afterLeaving, leaveEffects] = leaveCurrentRoom(state, sender.presence, 'moved', [], move)
  const joined = target.members.add(sender.presence.user.id)
  const room: RoomState = { ...target, members: joined }
  const presence: Presence = { ...sender.presence, room: room.id, moves: move }
  const next = setPresence(setRoom(afterLeaving, room), presence)
  // Already there through another process: the room saw them arrive then.
  const announce = target.remote.has(presence.user.id)
    ? []
    : send(roomAudience(next, room, presence.user.id), { type: 'user_joined', room: room.id, user: publicUser(presence.user) })
  // Every connection of the user moves with the user; only the asking one gets its `since` and `ref`.
  let answered = next
  const welcomes: Effect[] = []
  for (const connection of presence.connections) {
    const [after, welcome] = answerJoin(answered, room, connection, connection === sender.connectionId ? command : { type: 'join' }, presence.user.id)
    answered = after
    welcomes.push(...welcome)
  }
  const log: Effect = {
    type: 'log',
    level: 'info',
    message: 'joined room',
    fields: { userId: presence.user.id, connectionId: sender.connectionId, room: room.id },
  }
  return [answered, [...leaveEffects, ...announce, ...announcePresence(next, presence, room.id), ...welcomes, log]]
}

export const leaveRoom = (state: ChatState, connection: ConnectionId, ref: string | undefined): Step => {
  const sender = findSender(state, connection)
  if (sender === undefined) return unchanged(state)
  if (sender.presence.room === null) {
    return unchanged(state, [sendTo(connection, errorFrame('not_in_room', 'you are not in a room', ref))])
  }
  // The user's other connections learn that they left too; the asking one needs no reply.
  const ownOthers = sender.presence.connections.filter((c) => c !== connection)
  return leaveCurrentRoom(state, sender.presence, 'left', ownOthers, sender.presence.moves + 1)
}

/**
 * Another process says the user moved (`room`) or left (null) with a later `move` than this process
 * knows: every connection of theirs here follows, as a second tab does on one process.
 */
export const followMove = (state: ChatState, presence: Presence, room: RoomId | null, move: number): Step => {
  const counted = setPresence(state, { ...presence, moves: move })
  const followed = { ...presence, moves: move }
  if (room === presence.room) return [counted, []]
  if (room === null) return leaveCurrentRoom(counted, followed, 'left', followed.connections, move)
  const target = state.rooms.get(room)
  const connectionId = followed.connections[0]
  const connection = connectionId === undefined ? undefined : state.connections.get(connectionId)
  if (target === undefined || connectionId === undefined || connection === undefined) return [counted, []]
  return moveInto(counted, { connectionId, connection, presence: followed }, target, { type: 'join' }, move)
}

/**
 * Takes the user out of their room (if any) and tells the remaining members. A `user_left` also means the
 * user stopped typing, so no `typing: false` goes with it.
 */
export const leaveCurrentRoom = (
  state: ChatState,
  presence: Presence,
  reason: LeaveReason,
  alsoTell: ReadonlyArray<ConnectionId>,
  move: number = presence.moves,
): Step => {
  const room = roomOf(state, presence)
  if (room === undefined) return unchanged(state)
  const remaining: RoomState = { ...room, members: room.members.remove(presence.user.id) }
  const left: Presence = { ...presence, room: null, moves: move }
  const next = forgetCatchUps(forgetTyping(setPresence(setRoom(state, remaining), left), presence.user.id), presence.connections)
  // Still there through another process: only the user's own connections here hear they left.
  const audience = remaining.remote.has(presence.user.id) ? alsoTell : [...roomAudience(next, remaining), ...alsoTell]
  const log: Effect = { type: 'log', level: 'info', message: 'left room', fields: { userId: presence.user.id, room: room.id, reason } }
  return [next, [...send(audience, userLeftFrame(remaining, presence.user, reason)), ...announcePresence(next, left, null, reason), log]]
}

/** The user's presence is gone (last connection closed): out of the room and out of the state. */
export const dropPresence = (state: ChatState, presence: Presence): Step => {
  const [left, effects] = leaveCurrentRoom(state, presence, 'disconnected', [])
  return [{ ...left, users: left.users.remove(presence.user.id) }, effects]
}
