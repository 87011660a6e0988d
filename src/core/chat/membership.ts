import { RoomId, type ConnectionId } from '../brands.js'
import type { JoinCommand } from '../protocol/client-commands.js'
import type { LeaveReason } from '../protocol/server-frames.js'
import { findSender, roomOf, send, sendTo, setPresence, setRoom, type Sender } from './audience.js'
import type { Effect } from './effects.js'
import { errorFrame, userLeftFrame } from './frames.js'
import { announceArrival, announceDeparture } from './presence.js'
import { reseat } from './roster.js'
import type { ChatState, Presence, RoomState } from './state.js'
import { unchanged, type Step } from './step-result.js'
import { forgetTyping } from './typing.js'
import { announcePresence } from './peers.js'
import { answerJoin, forgetCatchUps } from './joined.js'
import { mayKnow } from './visibility.js'
import { enterRoom, leftRoom, unfollowAll } from './unread.js'

export const findRoom = (state: ChatState, id: string): RoomState | undefined =>
  RoomId.is(id) ? state.rooms.get(id) : undefined

/** `at`: when (ms), for a membership the join makes (a public room entered the first time). */
export const joinRoom = (state: ChatState, connection: ConnectionId, command: JoinCommand, at: number): Step => {
  const sender = findSender(state, connection)
  if (sender === undefined) return unchanged(state)
  const target = findRoom(state, command.room ?? state.settings.defaultRoom)
  // A private room or a conversation is, to a non-member, a room that does not exist: the same answer.
  if (target === undefined || !mayKnow(target, sender.presence.memberships)) {
    const frame = errorFrame('unknown_room', `there is no room ${JSON.stringify(command.room)}`, command.ref)
    return unchanged(state, [sendTo(connection, frame)])
  }
  if (sender.presence.room === target.id) return answerJoin(state, target, connection, command, sender.presence.user.id)
  return moveInto(state, sender, target, command, sender.presence.moves + 1, at)
}

/**
 * Moves the user (every connection of theirs here) into `target`; `move` counts it (see `Presence.moves`).
 * `makeMemberAt`: the join was asked here, at that time, so entering a public room makes a membership here.
 */
const moveInto = (state: ChatState, sender: Sender, target: RoomState, command: JoinCommand, move: number, makeMemberAt?: number): Step => {
  const [afterLeaving, leaveEffects] = leaveCurrentRoom(state, sender.presence, 'moved', [], move)
  // Leaving may have changed the user's memberships (the marker of the room left): the latest presence.
  const stillThere = afterLeaving.users.get(sender.presence.user.id) ?? sender.presence
  const current = afterLeaving.rooms.get(target.id) ?? target
  const room: RoomState = reseat({ ...current, members: current.members.add(sender.presence.user.id) }, sender.presence.user.id)
  const moved: Presence = { ...stillThere, room: room.id, moves: move }
  const [next, reading] = enterRoom(setPresence(setRoom(afterLeaving, room), moved), moved, room, makeMemberAt)
  const presence = next.users.get(moved.user.id) ?? moved
  // Already there through another process: the room saw them arrive then.
  const [announced, announce] = target.remote.has(presence.user.id) ? [next, []] : announceArrival(next, next.rooms.get(room.id) ?? room, presence.user)
  const entered = announced.rooms.get(room.id) ?? room
  // Every connection of the user moves with the user; only the asking one gets its `since` and `ref`.
  let answered = announced
  const welcomes: Effect[] = []
  for (const connection of presence.connections) {
    const [after, welcome] = answerJoin(answered, entered, connection, connection === sender.connectionId ? command : { type: 'join' }, presence.user.id)
    answered = after
    welcomes.push(...welcome)
  }
  const log: Effect = {
    type: 'log',
    level: 'info',
    message: 'joined room',
    fields: { userId: presence.user.id, connectionId: sender.connectionId, room: room.id },
  }
  // What entering changed of the user's rooms (read, a membership made) comes just before the `joined`.
  return [answered, [...leaveEffects, ...announce, ...announcePresence(next, presence, room.id), ...reading, ...welcomes, log]]
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
  // A room this process does not let the user into (a private room they were just removed from, whose
  // removal the other process has not heard yet): the tabs here do not follow, and leave where they were,
  // as the move took the user away from it.
  if (target === undefined || !mayKnow(target, presence.memberships)) return leaveCurrentRoom(counted, followed, 'moved', followed.connections, move)
  const connectionId = followed.connections[0]
  const connection = connectionId === undefined ? undefined : state.connections.get(connectionId)
  if (connectionId === undefined || connection === undefined) return [counted, []]
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
  const left: Presence = { ...presence, room: null, moves: move }
  const out: RoomState = reseat({ ...room, members: room.members.remove(presence.user.id) }, presence.user.id)
  const [marked, marking] = leftRoom(setPresence(setRoom(state, out), left), left, out)
  const forgotten = forgetCatchUps(forgetTyping(marked, presence.user.id), presence.connections)
  const remaining = forgotten.rooms.get(room.id) ?? out
  // Still there through another process: only the user's own connections here hear they left.
  const [next, announce] = remaining.remote.has(presence.user.id)
    ? [forgotten, send(alsoTell, userLeftFrame(remaining, presence.user, reason))]
    : announceDeparture(forgotten, remaining, presence.user, reason, alsoTell)
  const log: Effect = { type: 'log', level: 'info', message: 'left room', fields: { userId: presence.user.id, room: room.id, reason } }
  return [next, [...announce, ...announcePresence(next, left, null, reason), ...marking, log]]
}

/** The user's presence is gone (last connection closed): out of the room and out of the state. */
export const dropPresence = (state: ChatState, presence: Presence): Step => {
  const [left, effects] = leaveCurrentRoom(state, presence, 'disconnected', [])
  const gone = left.users.get(presence.user.id) ?? presence
  const unfollowed = unfollowAll(left, gone)
  return [{ ...unfollowed, users: unfollowed.users.remove(presence.user.id) }, effects]
}
