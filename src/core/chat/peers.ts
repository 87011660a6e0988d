import * as I from 'immutable'
import type { RoomId, SessionId, UserId } from '../brands.js'
import type { ClusterFact } from '../cluster/facts.js'
import type { LeaveReason } from '../protocol/server-frames.js'
import { setRoom } from './audience.js'
import type { Effect } from './effects.js'
import { announceArrival, announceDeparture } from './presence.js'
import { reseat } from './roster.js'
import { forgetRemoteTyping, remoteTyping } from './remote-typing.js'
import { revokeSession } from './connections.js'
import { clusterLinkRestored, peerMessagesStored } from './ordering.js'
import { dueNoLaterThan, type ChatState, type ChatUser, type Peer, type PeerPresence, type Presence, type ProcessId, type RoomState } from './state.js'
import { followMove } from './membership.js'
import { membershipChanged, reloadRooms, roomSaved } from './catalog.js'
import { unchanged, type Step } from './step-result.js'
import { readMoved } from './unread.js'

// Presence across processes (issue 15), after Phoenix Presence: each process announces where its own users
// are, keeps a replica of every other process's view, and answers the whole of its own to a process it
// has not heard before. A user is present in a room when they are there on any process, so `user_joined`
// goes out when the first process has them there and `user_left` when the last one no longer does. A
// process not heard from for PRESENCE_TTL (its heartbeats stop: kill -9, a lost machine) is gone, and its
// users with it.

/** Something another process announced (`origin`), already decoded. */
export const peerAnnounced = (state: ChatState, origin: ProcessId, fact: ClusterFact, at: number): Step => {
  if (state.settings.cluster === null) return unchanged(state)
  if (fact.type === 'process_stopping') return processStopped(state, origin)
  const firstHeard = !state.peers.has(origin)
  const heardOf = heard(state, origin, at)
  // The sweep that declares a silent process gone must be woken for; no other timer may be running.
  const wake: ReadonlyArray<Effect> = heardOf.sweepsDueAt.peers < state.sweepsDueAt.peers ? [{ type: 'wakeAt', at: heardOf.sweepsDueAt.peers }] : []
  const [known, applied] = applyFact(heardOf, origin, fact, at)
  const effects = [...wake, ...applied]
  const next = known
  // A process that asks has just started, or its link is back: what it announced meanwhile is lost to us
  // (its link may have broken while ours held), so the rooms read what they missed, and it gets our view.
  if (fact.type === 'presence_snapshot' && !fact.answer) {
    const [filling, fills] = clusterLinkRestored(next)
    return [filling, [snapshotOf(filling, true), ...revocations(filling), ...effects, ...fills]]
  }
  // One we had not heard (or had declared gone: a stall longer than PRESENCE_TTL) is asked for its view.
  const ask: ReadonlyArray<Effect> = firstHeard && fact.type !== 'presence_snapshot' ? [snapshotOf(next, false)] : []
  return [next, [...ask, ...effects]]
}

const applyFact = (state: ChatState, origin: ProcessId, fact: ClusterFact, at: number): Step => {
  switch (fact.type) {
    case 'messages_stored':
      return peerMessagesStored(state, fact.messages, at)
    case 'user_presence': {
      const reason = fact.reason ?? (fact.room === null ? 'left' : 'moved')
      const [placed, effects] = placeRemote(state, origin, fact.user, fact.room, reason, fact.move)
      // A join or a leave is followed by the user's tabs here; a departure from that process is not.
      if (fact.room === null && reason !== 'left') return [placed, effects]
      const [followed, following] = follow(placed, origin, fact.user, fact.room, fact.move)
      return [followed, [...effects, ...following]]
    }
    case 'presence_snapshot':
      return replaceView(state, origin, fact.users)
    case 'heartbeat':
      return unchanged(state)
    case 'room_saved':
      return roomSaved(state, fact.room, true)
    case 'membership_changed':
      return membershipChanged(state, fact.room, fact.user, fact.change, fact.readSeq, true)
    case 'read_moved':
      return readMoved(state, fact.user, fact.room, fact.seq)
    case 'typing':
      return remoteTyping(state, fact.user, fact.room, fact.typing, fact.forMs, at)
    case 'session_revoked':
      return revokeSession(state, fact.session, fact.expiresAt)
    case 'process_stopping':
      return processStopped(state, origin)
  }
}

/**
 * The link to the other processes is back (or up for the first time): every room asks the store for what
 * was announced meanwhile, and every process is asked for its view (ours goes with the question).
 */
export const linkRestored = (state: ChatState): Step => {
  if (state.settings.cluster === null) return unchanged(state)
  // Rooms made or changed and memberships added or removed while the link was down were announced to no one
  // here: they are read first, and the rooms read the messages they missed once that is applied (see
  // `roomsReloaded`), so nothing of the outage reaches a member removed during it.
  const next: ChatState = { ...state, roomsReloading: true }
  return [next, [snapshotOf(next, false), ...revocations(next), reloadRooms(next)]]
}

/**
 * The revocations still in force here, told again to processes that may have missed them (our link was
 * down, or theirs): a session revoked during an outage then closes everywhere once the link is back. Few:
 * each is kept only until the session would have expired anyway.
 */
const revocations = (state: ChatState): ReadonlyArray<Effect> =>
  [...state.revokedSessions].map(([session, expiresAt]) => ({ type: 'announce', fact: { type: 'session_revoked', session, expiresAt } }))

/** This process's own view, for a process that asked (`answer: true`) or to ask everyone for theirs. */
export const snapshotOf = (state: ChatState, answer: boolean): Effect => {
  const users: PeerPresence[] = []
  for (const presence of state.users.values()) if (presence.room !== null) users.push({ user: presence.user, room: presence.room, move: presence.moves })
  return { type: 'announce', fact: { type: 'presence_snapshot', users, answer } }
}

/** A session revoked here (logout, revocation): its connections close here and on every other process. */
export const sessionRevoked = (state: ChatState, session: SessionId, expiresAt: number): Step => {
  const [next, closes] = revokeSession(state, session, expiresAt)
  if (state.settings.cluster === null) return [next, closes]
  return [next, [{ type: 'announce', fact: { type: 'session_revoked', session, expiresAt } }, ...closes]]
}

/** Tells the other processes where `user` is on this one now (nothing when this process is alone). */
export const announcePresence = (state: ChatState, presence: Presence, room: RoomId | null, reason?: LeaveReason): ReadonlyArray<Effect> =>
  state.settings.cluster === null
    ? []
    : [{ type: 'announce', fact: { type: 'user_presence', user: presence.user, room, move: presence.moves, ...(reason === undefined ? {} : { reason }) } }]

/** Where another process has the user, by its latest move: where a new tab of theirs here belongs. */
export const whereElse = (state: ChatState, user: UserId): PeerPresence | undefined => {
  let latest: { readonly origin: ProcessId; readonly presence: PeerPresence } | undefined
  for (const [origin, peer] of state.peers) {
    const presence = peer.users.get(user)
    if (presence !== undefined && (latest === undefined || later(presence.move, origin, latest.presence.move, latest.origin))) latest = { origin, presence }
  }
  return latest?.presence
}

/** The later of two moves of one user: the greater count, then the greater process id (any fixed order would do). */
const later = (move: number, origin: ProcessId, than: number, thanOrigin: ProcessId): boolean => move > than || (move === than && origin > thanOrigin)

/** The user's tabs here follow a move made on `origin` that is later than the last one this process knows. */
const follow = (state: ChatState, origin: ProcessId, user: ChatUser, room: RoomId | null, move: number): Step => {
  const local = state.users.get(user.id)
  const here = state.settings.cluster?.processId ?? ''
  if (local === undefined || !later(move, origin, local.moves, here)) return unchanged(state)
  return followMove(state, local, room, move)
}

/**
 * Declares gone the processes not heard from for PRESENCE_TTL (part of a clock tick): their users leave
 * everywhere they are no longer present. Answers when the next one would be due, or Infinity.
 */
export const sweepPeers = (state: ChatState, at: number): readonly [ChatState, ReadonlyArray<Effect>, number] => {
  const cluster = state.settings.cluster
  if (cluster === null || at < state.sweepsDueAt.peers) return [state, [], state.sweepsDueAt.peers]
  let next = state
  let dueAt = Infinity
  const effects: Effect[] = []
  for (const [origin, peer] of state.peers) {
    const goneAt = peer.heardAt + cluster.presenceTtlMs
    if (goneAt > at) {
      dueAt = Math.min(dueAt, goneAt)
      continue
    }
    const [cleared, left] = replaceView(next, origin, [])
    // It may have died between storing messages and announcing them: the rooms read what they missed.
    const [filling, fills] = clusterLinkRestored({ ...cleared, peers: cleared.peers.remove(origin) })
    next = filling
    effects.push(...left, ...fills, {
      type: 'log',
      level: 'warn',
      message: 'process gone: not heard from within PRESENCE_TTL',
      fields: { process: origin, users: peer.users.size, silentMs: at - peer.heardAt },
    })
  }
  return [{ ...next, sweepsDueAt: { ...next.sweepsDueAt, peers: dueAt } }, effects, dueAt]
}

/** A process stopped cleanly: gone at once, its users leaving where they are no longer present (most already have). */
const processStopped = (state: ChatState, origin: ProcessId): Step => {
  const peer = state.peers.get(origin)
  if (peer === undefined) return unchanged(state)
  const [cleared, left] = replaceView(state, origin, [])
  const log: Effect = { type: 'log', level: 'info', message: 'process stopped', fields: { process: origin, users: peer.users.size } }
  return [{ ...cleared, peers: cleared.peers.remove(origin) }, [...left, log]]
}

const heard = (state: ChatState, origin: ProcessId, at: number): ChatState => {
  const peer: Peer = state.peers.get(origin) ?? { heardAt: at, users: I.Map() }
  const ttl = state.settings.cluster?.presenceTtlMs ?? Infinity
  return dueNoLaterThan({ ...state, peers: state.peers.set(origin, { ...peer, heardAt: at }) }, 'peers', at + ttl)
}

/** The process's whole view is now `users`: whoever is missing from it left there (disconnected). */
const replaceView = (state: ChatState, origin: ProcessId, users: ReadonlyArray<PeerPresence>): Step => {
  const listed = new Set(users.map(({ user }) => user.id))
  let next = state
  const effects: Effect[] = []
  for (const { user } of state.peers.get(origin)?.users.values() ?? []) {
    if (listed.has(user.id)) continue
    const [after, left] = placeRemote(next, origin, user, null, 'disconnected', 0)
    next = after
    effects.push(...left)
  }
  for (const { user, room, move } of users) {
    const [placed, moved] = placeRemote(next, origin, user, room, 'moved', move)
    const [followed, following] = follow(placed, origin, user, room, move)
    next = followed
    effects.push(...moved, ...following)
  }
  return [next, effects]
}

/**
 * `user` is now in `room` (or in none) on process `origin`: the replica follows, and this process's members
 * hear of a user who arrives in, or is gone from, their room on every process.
 */
const placeRemote = (state: ChatState, origin: ProcessId, user: ChatUser, room: RoomId | null, reason: LeaveReason, move: number): Step => {
  const peer = state.peers.get(origin)
  if (peer === undefined) return unchanged(state)
  const before = peer.users.get(user.id)?.room ?? null
  const users = room === null ? peer.users.remove(user.id) : peer.users.set(user.id, { user, room, move })
  let next: ChatState = { ...state, peers: state.peers.set(origin, { ...peer, users }) }
  if (before === room) return [next, []]
  const effects: Effect[] = []
  const left = before === null ? undefined : next.rooms.get(before)
  if (left !== undefined) next = forgetRemoteTyping(next, user.id, left.id)
  if (left !== undefined) {
    const remaining = reseat(withoutRemote(left, origin, user), user.id)
    next = setRoom(next, remaining)
    if (!isPresent(remaining, user)) {
      const [announced, announce] = announceDeparture(next, remaining, user, reason, [])
      next = announced
      effects.push(...announce)
    }
  }
  const entered = room === null ? undefined : next.rooms.get(room)
  if (entered !== undefined) {
    const arrived = reseat(withRemote(entered, origin, user), user.id)
    next = setRoom(next, arrived)
    if (!isPresent(entered, user)) {
      const [announced, announce] = announceArrival(next, arrived, user)
      next = announced
      effects.push(...announce)
    }
  }
  return [next, effects]
}

/** In the room on any process. */
export const isPresent = (room: RoomState, user: ChatUser): boolean => room.members.has(user.id) || room.remote.has(user.id)

const withRemote = (room: RoomState, origin: ProcessId, user: ChatUser): RoomState => {
  const processes = (room.remote.get(user.id)?.processes ?? I.Set<ProcessId>()).add(origin)
  return { ...room, remote: room.remote.set(user.id, { user, processes }) }
}

const withoutRemote = (room: RoomState, origin: ProcessId, user: ChatUser): RoomState => {
  const member = room.remote.get(user.id)
  if (member === undefined) return room
  const processes = member.processes.remove(origin)
  return { ...room, remote: processes.size === 0 ? room.remote.remove(user.id) : room.remote.set(user.id, { ...member, processes }) }
}
