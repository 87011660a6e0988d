import type { ConnectionId, RoomId, SessionId } from '../brands.js'
import { sendTo, setPresence } from './audience.js'
import type { Effect } from './effects.js'
import type { ChatEvent } from './events.js'
import { publicUser } from './frames.js'
import { mayKnow, membershipsOf, roomsFor } from './visibility.js'
import { DEFAULT_PROTOCOL_VERSION } from '../protocol/version.js'
import { dropPresence, followMove, joinRoom } from './membership.js'
import { coolingDown, forgetBatchAt, fullyRestedAt } from './limits.js'
import { dueNoLaterThan, type ChatState, type Presence } from './state.js'
import { unchanged, type Step } from './step-result.js'
import { expireTyping } from './typing.js'
import { sweepGaps } from './ordering.js'
import { sweepPeers, whereElse } from './peers.js'
import { expireRemoteTyping } from './remote-typing.js'
import { forgetCatchUps } from './joined.js'
import { followAll } from './unread.js'
import { closePresenceWindows } from './presence.js'
import { CLOSE_POLICY_VIOLATION, CLOSE_SESSION_ENDED } from '../protocol/close-codes.js'

type Opened = Extract<ChatEvent, { type: 'ConnectionOpened' }>

export const openConnection = (state: ChatState, event: Opened): Step => {
  const revoked = state.revokedSessions.has(event.session)
  if (revoked || event.sessionExpiresAt <= event.at) {
    // Authenticated before the session ended, opened after: the session's end wins.
    return unchanged(state, [closeEnded(event.connection, revoked ? 'session revoked' : 'session expired')])
  }
  // A user just closed for abuse who comes straight back is closed again until the meter has drained
  // halfway: reconnecting must not buy a fresh run of refused commands, each one decoded at our cost.
  if (coolingDown(state.limits.get(event.user.id), state.settings, event.at)) {
    const reason = 'too many refused commands: wait before reconnecting'
    return unchanged(state, [{ type: 'close', connection: event.connection, code: CLOSE_POLICY_VIOLATION, reason }])
  }
  const existing = state.users.get(event.user.id)
  const open = (existing?.connections.length ?? 0) + (event.connectionsElsewhere ?? 0)
  if (open >= state.settings.maxConnectionsPerUser) {
    const reason = `at most ${state.settings.maxConnectionsPerUser} connections per user`
    return unchanged(state, [{ type: 'close', connection: event.connection, code: CLOSE_POLICY_VIOLATION, reason }])
  }
  // A first tab here of a user who is in a room on another process lands in that room, as a second tab does.
  // Only into a room this process lets them into: another process may not have heard yet that they were
  // removed from it (the move's count is kept all the same).
  const seen = existing === undefined ? whereElse(state, event.user.id) : undefined
  const memberships = existing?.memberships ?? membershipsOf(state, event.memberships ?? [])
  const seenRoom = seen === undefined ? undefined : state.rooms.get(seen.room)
  const elsewhere = seenRoom !== undefined && mayKnow(seenRoom, memberships) ? seen : undefined
  const presence: Presence = existing ?? {
    user: event.user,
    connections: [],
    room: null,
    moves: seen?.move ?? 0,
    memberships,
  }
  const connected: ChatState = {
    ...state,
    connections: state.connections.set(event.connection, {
      user: event.user.id,
      session: event.session,
      sessionExpiresAt: event.sessionExpiresAt,
      protocol: event.protocol ?? DEFAULT_PROTOCOL_VERSION,
    }),
    legacyConnections: (event.protocol ?? DEFAULT_PROTOCOL_VERSION) === 1 ? state.legacyConnections.add(event.connection) : state.legacyConnections,
  }
  // A first connection here: the user counts the rooms they belong to from now on.
  const counting = existing === undefined ? followAll(connected, presence) : connected
  const registered = setPresence(dueNoLaterThan(counting, 'sessions', event.sessionExpiresAt), {
    ...presence,
    connections: [...presence.connections, event.connection],
  })
  const welcome = sendTo(event.connection, {
    type: 'welcome',
    user: publicUser(presence.user),
    // A first tab landing where the user is on another process lists that room as read: it is the room they are in.
    rooms: roomsFor(registered, presence.user.id, elsewhere === undefined ? presence.memberships : readIn(presence.memberships, elsewhere.room)),
    protocol: event.protocol ?? DEFAULT_PROTOCOL_VERSION,
    ...(presence.room === null ? (elsewhere === undefined ? {} : { room: elsewhere.room }) : { room: presence.room }),
  })
  const wake: Effect = { type: 'wakeAt', at: event.sessionExpiresAt }
  const opened = registered.users.get(event.user.id)
  if (presence.room === null && elsewhere !== undefined && opened !== undefined) {
    const [landed, joined] = followMove(registered, opened, elsewhere.room, elsewhere.move)
    return [landed, [welcome, ...joined, wake]]
  }
  if (presence.room === null) return [registered, [welcome, wake]]
  // A new tab of a user who is in a room is in that room too.
  const [, joined] = joinRoom(registered, event.connection, { type: 'join', room: presence.room }, event.at)
  return [registered, [welcome, ...joined, wake]]
}

export const closeConnection = (state: ChatState, connection: ConnectionId): Step => {
  const info = state.connections.get(connection)
  if (info === undefined) return unchanged(state)
  const presence = state.users.get(info.user)
  const next: ChatState = forgetCatchUps(
    { ...state, connections: state.connections.remove(connection), legacyConnections: state.legacyConnections.remove(connection) },
    [connection],
  )
  if (presence === undefined) return [next, []]
  const remaining = presence.connections.filter((c) => c !== connection)
  if (remaining.length > 0) return [setPresence(next, { ...presence, connections: remaining }), []]
  return dropPresence(next, presence)
}

export const revokeSession = (state: ChatState, session: SessionId, expiresAt: number): Step => {
  const next = dueNoLaterThan({ ...state, revokedSessions: state.revokedSessions.set(session, expiresAt) }, 'revoked', expiresAt)
  const closes = [...state.connections]
    .filter(([, info]) => info.session === session)
    .map(([connection]) => closeEnded(connection, 'session revoked'))
  return [next, closes]
}

/**
 * Time passed: typing and sessions that ran out end, rested limits and lapsed revocations are forgotten,
 * and the next deadline is asked for. Each sweep runs only once it is due (see `sweepsDueAt`).
 */
export const clockTicked = (state: ChatState, at: number): Step => {
  const [afterTyping, typingEffects, nextTyping] = expireTyping(state, at)
  const sessions = sweepSessions(afterTyping, at)
  const revoked = sweepRevoked(afterTyping, at)
  const limits = sweepLimits(afterTyping, at)
  const sweepsDueAt = { ...afterTyping.sweepsDueAt, sessions: sessions.dueAt, revoked: revoked.dueAt, limits: limits.dueAt }
  const unchanged =
    revoked.kept === afterTyping.revokedSessions &&
    limits.kept === afterTyping.limits &&
    sweepsDueAt.sessions === afterTyping.sweepsDueAt.sessions &&
    sweepsDueAt.revoked === afterTyping.sweepsDueAt.revoked &&
    sweepsDueAt.limits === afterTyping.sweepsDueAt.limits
  const next = unchanged ? afterTyping : { ...afterTyping, revokedSessions: revoked.kept, limits: limits.kept, sweepsDueAt }
  const [afterGaps, fills, gapsDueAt] = sweepGaps(next, at)
  const [afterPeers, departures, peersDueAt] = sweepPeers(afterGaps, at)
  const [afterRemoteTyping, remoteStops, remoteTypingDueAt] = expireRemoteTyping(afterPeers, at)
  const [afterPresence, presence, presenceDueAt] = closePresenceWindows(afterRemoteTyping, at)
  // Revocations need no wake: they only hold memory until a tick that comes anyway.
  const nextDeadline = Math.min(nextTyping, sessions.dueAt, limits.dueAt, gapsDueAt, peersDueAt, remoteTypingDueAt, presenceDueAt)
  const wake: ReadonlyArray<Effect> = Number.isFinite(nextDeadline) ? [{ type: 'wakeAt', at: nextDeadline }] : []
  return [afterPresence, [...typingEffects, ...sessions.closes, ...fills, ...departures, ...remoteStops, ...presence, ...wake]]
}

/** Closes the connections whose session has run out. */
const sweepSessions = (state: ChatState, at: number): { readonly closes: ReadonlyArray<Effect>; readonly dueAt: number } => {
  if (at < state.sweepsDueAt.sessions) return { closes: [], dueAt: state.sweepsDueAt.sessions }
  let dueAt = Infinity
  const closes: Effect[] = []
  for (const [connection, info] of state.connections) {
    if (info.sessionExpiresAt <= at) closes.push(closeEnded(connection, 'session expired'))
    else dueAt = Math.min(dueAt, info.sessionExpiresAt)
  }
  return { closes, dueAt }
}

/** Forgets revocations of sessions that would have expired by now anyway. */
const sweepRevoked = (state: ChatState, at: number): { readonly kept: ChatState['revokedSessions']; readonly dueAt: number } => {
  if (at < state.sweepsDueAt.revoked) return { kept: state.revokedSessions, dueAt: state.sweepsDueAt.revoked }
  let dueAt = Infinity
  const kept = state.revokedSessions.filter((expiresAt) => {
    if (expiresAt <= at) return false
    dueAt = Math.min(dueAt, expiresAt)
    return true
  })
  return { kept: sameIfNoneGone(state.revokedSessions, kept), dueAt }
}

/** Drops the limits whose allowance has fully come back, present users' too: a missing entry means just that. */
const sweepLimits = (state: ChatState, at: number): { readonly kept: ChatState['limits']; readonly dueAt: number } => {
  if (at < state.sweepsDueAt.limits) return { kept: state.limits, dueAt: state.sweepsDueAt.limits }
  let dueAt = Infinity
  const kept = state.limits.filter((entry) => {
    const restedAt = fullyRestedAt(entry, state.settings)
    if (restedAt <= at) return false
    dueAt = Math.min(dueAt, forgetBatchAt(restedAt))
    return true
  })
  return { kept: sameIfNoneGone(state.limits, kept), dueAt }
}

// A filter makes a new map even when it keeps everything; an unchanged state stays the same object.
const sameIfNoneGone = <M extends { readonly size: number }>(before: M, after: M): M => (after.size === before.size ? before : after)

const closeEnded = (connection: ConnectionId, reason: string): Effect => ({
  type: 'close',
  connection,
  code: CLOSE_SESSION_ENDED,
  reason,
})

/** The memberships with `room`'s as read (nothing unread), when the user belongs to it. */
const readIn = (memberships: Presence['memberships'], room: RoomId): Presence['memberships'] => {
  const membership = memberships.get(room)
  return membership === undefined ? memberships : memberships.set(room, { ...membership, unread: 0 })
}
