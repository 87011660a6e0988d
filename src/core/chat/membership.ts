import { RoomId, type ConnectionId, type UserId } from '../brands.js'
import type { JoinCommand } from '../protocol/client-commands.js'
import type { LeaveReason, PublicUser, ServerFrame } from '../protocol/server-frames.js'
import { findSender, roomAudience, roomOf, send, sendTo, setPresence, setRoom, type Sender } from './audience.js'
import type { Effect } from './effects.js'
import { chatMessage, errorFrame, publicUser, userLeftFrame, withRef } from './frames.js'
import { catchUp, latestMessages } from './recent-history.js'
import type { ChatState, Presence, RoomState } from './state.js'
import { unchanged, type Step } from './step-result.js'
import { forgetTyping } from './typing.js'
import { announcePresence } from './peers.js'

export const findRoom = (state: ChatState, id: string): RoomState | undefined =>
  RoomId.is(id) ? state.rooms.get(id) : undefined

export const joinRoom = (state: ChatState, connection: ConnectionId, command: JoinCommand): Step => {
  const sender = findSender(state, connection)
  if (sender === undefined) return unchanged(state)
  const target = findRoom(state, command.room ?? state.settings.defaultRoom)
  if (target === undefined) {
    const frame = errorFrame('unknown_room', `there is no room ${JSON.stringify(command.room)}`, command.ref)
    return unchanged(state, [sendTo(connection, frame)])
  }
  if (sender.presence.room === target.id) {
    return unchanged(state, [sendTo(connection, joinedFrame(state, target, command, sender.presence.user.id))])
  }
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
  const welcomes = presence.connections.map((connection) =>
    sendTo(
      connection,
      connection === sender.connectionId
        ? joinedFrame(next, room, command, presence.user.id)
        : joinedFrame(next, room, { type: 'join' }, presence.user.id),
    ),
  )
  const log: Effect = {
    type: 'log',
    level: 'info',
    message: 'joined room',
    fields: { userId: presence.user.id, connectionId: sender.connectionId, room: room.id },
  }
  return [next, [...leaveEffects, ...announce, ...announcePresence(next, presence, room.id), ...welcomes, log]]
}

const joinedFrame = (state: ChatState, room: RoomState, command: JoinCommand, joiner: UserId): ServerFrame => {
  const users = [...room.members].flatMap((id) => {
    const member = state.users.get(id)
    return member === undefined ? [] : [publicUser(member.user)]
  })
  for (const [id, { user }] of room.remote) if (!room.members.has(id)) users.push(publicUser(user))
  const history =
    command.since === undefined
      ? { messages: latestMessages(room, state.settings.joinHistory), gap: false }
      : catchUp(room, command.since, state.settings)
  return withRef(
    {
      type: 'joined',
      room: room.id,
      users,
      typing: typistsIn(state, room, joiner),
      history: history.messages.map(chatMessage).toArray(),
      ...(history.gap ? { gap: true } : {}),
    },
    command.ref,
  )
}

/**
 * Who is typing in the room, by username, so that someone who arrives mid-sentence sees it. Never the
 * joining user: typing is not shown to the typist's own connections, a new tab included. A typist whose
 * deadline has passed but whom no tick has ended yet is listed, as the others still see them: the tick
 * tells everyone at once, and a typist who starts again meanwhile is not announced again.
 * Walks the typists, not the members: there are few of them.
 */
const typistsIn = (state: ChatState, room: RoomState, joiner: UserId): PublicUser[] => {
  const typists: PublicUser[] = []
  for (const user of state.typing.keys()) {
    if (user === joiner) continue
    const presence = state.users.get(user)
    if (presence?.room === room.id) typists.push(publicUser(presence.user))
  }
  // Typists on other processes too (the same user typing here and there is listed once).
  for (const [user, typist] of state.remoteTypists) {
    if (user !== joiner && typist.room === room.id && !(state.typing.has(user) && state.users.get(user)?.room === room.id)) typists.push(publicUser(typist.user))
  }
  return typists.sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0))
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
  const next = forgetTyping(setPresence(setRoom(state, remaining), left), presence.user.id)
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
