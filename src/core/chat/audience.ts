import type { ConnectionId, RoomId, UserId } from '../brands.js'
import type { Effect } from './effects.js'
import type { ServerFrame } from '../protocol/server-frames.js'
import type { ChatState, Connection, Presence, RoomState } from './state.js'
import type { ProtocolVersion } from '../protocol/version.js'

// Who hears what. Every room frame is addressed through here, so "nothing of a room reaches a connection
// outside it" is decided in one place.

type Listener = readonly [UserId, ConnectionId]

// Who is listening in a room changes only when its members or the open connections change, not when a
// message is sent: the list is computed once per (members, connections) pair. Both are persistent values,
// so identity says "unchanged", and entries go away with them. Pure: the same inputs, the same answer.
const listenersCache = new WeakMap<object, WeakMap<object, ReadonlyArray<Listener>>>()

const listeners = (state: ChatState, room: RoomState): ReadonlyArray<Listener> => {
  const byConnections = listenersCache.get(room.members) ?? new WeakMap<object, ReadonlyArray<Listener>>()
  listenersCache.set(room.members, byConnections)
  const cached = byConnections.get(state.connections)
  if (cached !== undefined) return cached
  const computed: Listener[] = []
  for (const member of room.members) {
    const presence = state.users.get(member)
    if (presence !== undefined) for (const connection of presence.connections) computed.push([member, connection])
  }
  byConnections.set(state.connections, computed)
  return computed
}

/**
 * Every connection of every member of the room, except those of `exceptUser` and those whose `joined` is
 * waiting for a catch-up (they hear the room from their `joined` on; see joined.ts).
 */
export const roomAudience = (state: ChatState, room: RoomState, exceptUser?: UserId): ConnectionId[] => {
  const audience: ConnectionId[] = []
  const waiting = state.catchingUp
  for (const [member, connection] of listeners(state, room)) {
    if (member !== exceptUser && (waiting.size === 0 || !waiting.has(connection))) audience.push(connection)
  }
  return audience
}

/**
 * The connections of the room's members (but `exceptUser`'s) that speak protocol `version`, as
 * `roomAudience` picks them. For version 1 in a room of many version-2 members it walks the version-1
 * connections, not the members, so an arrival there costs nothing per member (presence.ts).
 */
export const listenersSpeaking = (state: ChatState, room: RoomState, version: ProtocolVersion, exceptUser?: UserId): ConnectionId[] => {
  const legacy = state.legacyConnections.size
  // Everyone speaks version 1 (the whole audience) or no one does: as cheap as it was before versions.
  if (legacy === state.connections.size) return version === 1 ? roomAudience(state, room, exceptUser) : []
  if (legacy === 0) return version === 2 ? roomAudience(state, room, exceptUser) : []
  // Mixed: walk the room's cached listeners (a lookup each), unless the version-1 connections, at several
  // lookups each, are the fewer.
  if (version === 2 || legacy * 4 > room.members.size) {
    return roomAudience(state, room, exceptUser).filter((connection) => state.connections.get(connection)?.protocol === version)
  }
  const audience: ConnectionId[] = []
  for (const connection of state.legacyConnections) {
    const user = state.connections.get(connection)?.user
    if (user === undefined || user === exceptUser || !room.members.has(user) || state.users.get(user)?.room !== room.id) continue
    if (!state.catchingUp.has(connection)) audience.push(connection)
  }
  return audience
}

export const send = (to: ReadonlyArray<ConnectionId>, frame: ServerFrame): ReadonlyArray<Effect> =>
  to.length === 0 ? [] : [{ type: 'send', to, frame }]

export const sendTo = (connection: ConnectionId, frame: ServerFrame): Effect => ({
  type: 'send',
  to: [connection],
  frame,
})

/** The connection, its user's presence and the room the user is in, when all exist. */
export interface Sender {
  readonly connectionId: ConnectionId
  readonly connection: Connection
  readonly presence: Presence
}

export const findSender = (state: ChatState, connectionId: ConnectionId): Sender | undefined => {
  const connection = state.connections.get(connectionId)
  const presence = connection === undefined ? undefined : state.users.get(connection.user)
  return connection === undefined || presence === undefined ? undefined : { connectionId, connection, presence }
}

export const roomOf = (state: ChatState, presence: Presence): RoomState | undefined =>
  presence.room === null ? undefined : state.rooms.get(presence.room)

export const setRoom = (state: ChatState, room: RoomState): ChatState => ({
  ...state,
  rooms: state.rooms.set(room.id, room),
})

export const setPresence = (state: ChatState, presence: Presence): ChatState => ({
  ...state,
  users: state.users.set(presence.user.id, presence),
})

export const isMember = (state: ChatState, room: RoomId, connection: ConnectionId): boolean => {
  const user = state.connections.get(connection)?.user
  return user !== undefined && state.users.get(user)?.room === room
}
