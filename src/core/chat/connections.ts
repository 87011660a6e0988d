import type { ConnectionId, SessionId } from '../brands.js'
import { sendTo, setPresence } from './audience.js'
import { CLOSE_SESSION_ENDED, type Effect } from './effects.js'
import type { ChatEvent } from './events.js'
import { publicUser, roomSummaries } from './frames.js'
import { dropPresence, joinRoom } from './membership.js'
import { CLOSE_POLICY_VIOLATION, forgetAt, fullyRestedAt } from './limits.js'
import { idle, type ChatState, type Presence } from './state.js'
import { unchanged, type Step } from './step-result.js'
import { expireTyping } from './typing.js'

type Opened = Extract<ChatEvent, { type: 'ConnectionOpened' }>

export const openConnection = (state: ChatState, event: Opened): Step => {
  const revoked = state.revokedSessions.has(event.session)
  if (revoked || event.sessionExpiresAt <= event.at) {
    // Authenticated before the session ended, opened after: the session's end wins.
    return unchanged(state, [closeEnded(event.connection, revoked ? 'session revoked' : 'session expired')])
  }
  const existing = state.users.get(event.user.id)
  if (existing !== undefined && existing.connections.length >= state.settings.maxConnectionsPerUser) {
    const reason = `at most ${state.settings.maxConnectionsPerUser} connections per user`
    return unchanged(state, [{ type: 'close', connection: event.connection, code: CLOSE_POLICY_VIOLATION, reason }])
  }
  const presence: Presence = existing ?? { user: event.user, connections: [], room: null, typing: idle }
  const registered = setPresence(
    {
      ...state,
      connections: state.connections.set(event.connection, {
        user: event.user.id,
        session: event.session,
        sessionExpiresAt: event.sessionExpiresAt,
      }),
    },
    { ...presence, connections: [...presence.connections, event.connection] },
  )
  const welcome = sendTo(event.connection, {
    type: 'welcome',
    user: publicUser(presence.user),
    rooms: [...roomSummaries(registered)],
  })
  const wake: Effect = { type: 'wakeAt', at: event.sessionExpiresAt }
  if (presence.room === null) return [registered, [welcome, wake]]
  // A new tab of a user who is in a room is in that room too.
  const [, joined] = joinRoom(registered, event.connection, { type: 'join', room: presence.room })
  return [registered, [welcome, ...joined, wake]]
}

export const closeConnection = (state: ChatState, connection: ConnectionId): Step => {
  const info = state.connections.get(connection)
  if (info === undefined) return unchanged(state)
  const presence = state.users.get(info.user)
  const next: ChatState = { ...state, connections: state.connections.remove(connection) }
  if (presence === undefined) return [next, []]
  const remaining = presence.connections.filter((c) => c !== connection)
  if (remaining.length > 0) return [setPresence(next, { ...presence, connections: remaining }), []]
  return dropPresence(next, presence)
}

export const revokeSession = (state: ChatState, session: SessionId, expiresAt: number): Step => {
  const next: ChatState = { ...state, revokedSessions: state.revokedSessions.set(session, expiresAt) }
  const closes = [...state.connections]
    .filter(([, info]) => info.session === session)
    .map(([connection]) => closeEnded(connection, 'session revoked'))
  return [next, closes]
}

/** Time passed: typing and sessions that ran out end; the next deadline is asked for. */
export const clockTicked = (state: ChatState, at: number): Step => {
  const [afterTyping, typingEffects, nextTyping] = expireTyping(state, at)
  let nextDeadline = nextTyping
  const closes: Effect[] = []
  for (const [connection, info] of afterTyping.connections) {
    if (info.sessionExpiresAt <= at) closes.push(closeEnded(connection, 'session expired'))
    else nextDeadline = Math.min(nextDeadline, info.sessionExpiresAt)
  }
  const revokedSessions = afterTyping.revokedSessions.filter((expiresAt) => expiresAt > at)
  const [limits, nextRested] = forgetRested(afterTyping, at)
  nextDeadline = Math.min(nextDeadline, nextRested)
  const unchangedMaps = revokedSessions.size === afterTyping.revokedSessions.size && limits.size === afterTyping.limits.size
  const next = unchangedMaps ? afterTyping : { ...afterTyping, revokedSessions, limits }
  const wake: ReadonlyArray<Effect> = Number.isFinite(nextDeadline) ? [{ type: 'wakeAt', at: nextDeadline }] : []
  return [next, [...typingEffects, ...closes, ...wake]]
}

/**
 * Drops the limits whose allowance has fully come back, present users' too: a missing entry means just
 * that. Answers when the next batch is due.
 */
const forgetRested = (state: ChatState, at: number): readonly [ChatState['limits'], number] => {
  let next = Infinity
  const limits = state.limits.filter((entry) => {
    if (fullyRestedAt(entry, state.settings) <= at) return false
    next = Math.min(next, forgetAt(entry, state.settings))
    return true
  })
  return [limits, next]
}

const closeEnded = (connection: ConnectionId, reason: string): Effect => ({
  type: 'close',
  connection,
  code: CLOSE_SESSION_ENDED,
  reason,
})
