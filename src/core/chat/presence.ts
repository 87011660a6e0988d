import type { ConnectionId, RoomId, UserId } from '../brands.js'
import type { LeaveReason, PresenceFrame } from '../protocol/server-frames.js'
import { listenersSpeaking, send, setRoom } from './audience.js'
import type { Effect } from './effects.js'
import { presentCount, publicUser, userLeftFrame } from './frames.js'
import type { ChatState, ChatUser, PresenceChange, RoomState } from './state.js'
import type { Step } from './step-result.js'
import { currentFirstPage } from './joined.js'

// How members hear who arrives and who leaves (docs/big-rooms.md). Version-1 connections hear each change
// at once, as `user_joined` / `user_left`: n frames for the n-th arrival, O(n²) to fill a room. Version-2
// connections hear them gathered: the changes of one room over `presenceWindowMs` from the first become one
// `presence` frame, serialized once for every member, so a fill costs a frame per window, not per arrival.
//
// A window of more changes than a page sends the room's first page instead (`reset`; see resetFrame).
//
// The frame carries each touched user's state at the window's end (arrived: present; left: gone), not the
// net change since the window opened: a member who took their view of the room during the window (a
// `joined`, a `members` page) applies it and has the room as it stands, whichever changes their view saw.

/** `user` is now present in `room` (on no process before): announced to its other members. */
export const announceArrival = (state: ChatState, room: RoomState, user: ChatUser): Step => {
  const now = send(listenersSpeaking(state, room, 1, user.id), { type: 'user_joined', room: room.id, user: publicUser(user) })
  return [gather(state, room, user.id, { type: 'arrived', user }), now]
}

/**
 * `user` is no longer present in `room` (on any process): announced to its remaining members; `alsoTell`
 * (the user's own other connections here, which left with them) hear `user_left` whatever they speak.
 */
export const announceDeparture = (state: ChatState, room: RoomState, user: ChatUser, reason: LeaveReason, alsoTell: ReadonlyArray<ConnectionId>): Step => {
  const now = send([...listenersSpeaking(state, room, 1), ...alsoTell], userLeftFrame(room, user, reason))
  return [gather(state, room, user.id, { type: 'left', user, reason }), now]
}

/** Records the change for the version-2 members, opening the room's window if none is open. */
const gather = (state: ChatState, room: RoomState, user: UserId, change: PresenceChange): ChatState => {
  // No connection speaks version 2 and nothing is gathered: no one to gather for (a later one learns the
  // room from `joined`). With changes gathered, this one must join them, or the window would send a stale one.
  if (state.legacyConnections.size === state.connections.size && room.gathered.size === 0) return state
  // A user who arrives and leaves within one window ends as `left`: a view that saw them arrive drops them.
  const gathered = setRoom(state, { ...room, gathered: room.gathered.set(user, change) })
  return state.presenceWindows.has(room.id) ? gathered : { ...gathered, presenceWindows: gathered.presenceWindows.set(room.id, null) }
}

/**
 * Times the windows opened by the step that just ran (`at`: its event's time), and asks to be woken when
 * the first closes. Called once per step by `step`, so the handlers that gather need not carry the time.
 */
export const timePresenceWindows = (state: ChatState, at: number): Step => {
  let windows = state.presenceWindows
  let earliest = Infinity
  for (const [room, closesAt] of state.presenceWindows) {
    if (closesAt !== null) continue
    const closing = at + state.settings.presenceWindowMs
    windows = windows.set(room, closing)
    earliest = Math.min(earliest, closing)
  }
  if (earliest === Infinity) return [state, []]
  return [{ ...state, presenceWindows: windows }, [{ type: 'wakeAt', at: earliest }]]
}

/**
 * Sends the rooms' windows that have closed by `at`, and says when the first still open closes (Infinity
 * if none): the tick must ask to be woken then, as a timer may fire early and windows of several rooms
 * close at different times. Walks the open windows only.
 */
export const closePresenceWindows = (state: ChatState, at: number): readonly [ChatState, ReadonlyArray<Effect>, number] => {
  let next = state
  let dueAt = Infinity
  const effects: Effect[] = []
  for (const [room, closesAt] of state.presenceWindows) {
    if (closesAt === null) continue
    if (closesAt > at) {
      dueAt = Math.min(dueAt, closesAt)
      continue
    }
    const [flushed, sent] = flushPresence(next, room)
    next = flushed
    effects.push(...sent)
  }
  return [next, effects, dueAt]
}

/**
 * Sends what `room`'s open window gathered to its version-2 members now (the window is closed early), as
 * before a message or typing of a user whose arrival it holds: no one hears someone not yet present speak.
 */
export const flushPresence = (state: ChatState, roomId: RoomId): Step => {
  const room = state.rooms.get(roomId)
  const closed: ChatState = { ...state, presenceWindows: state.presenceWindows.remove(roomId) }
  if (room === undefined) return [closed, []]
  const emptied = setRoom(closed, { ...room, gathered: room.gathered.clear() })
  const frame = room.gathered.size > state.settings.memberPage ? resetFrame(state, room) : presenceFrame(room)
  return [emptied, send(listenersSpeaking(emptied, room, 2), frame)]
}

/** Flushes `room`'s window first when it holds the arrival of `user`, who is about to be heard there. */
export const flushArrivalOf = (state: ChatState, room: RoomId, user: UserId): Step =>
  state.rooms.get(room)?.gathered.get(user)?.type === 'arrived' ? flushPresence(state, room) : [state, []]

/**
 * More changes than a page (a burst of arrivals, a process gone with its users): the room's first page as it
 * stands, with `reset`, instead of every change. Each member then gets O(page) bytes a window, not O(changes):
 * sent every arrival of a burst of n, n members would read n² names. The client drops what it held, takes
 * these as `joined`'s users and pages on from `cursor`, so its view still comes to the room.
 */
const resetFrame = (state: ChatState, room: RoomState): PresenceFrame => {
  const page = currentFirstPage(state, room)
  return { type: 'presence', room: room.id, joins: [...page.users], leaves: [], count: presentCount(room), reset: true, ...(page.cursor === undefined ? {} : { cursor: page.cursor }) }
}

const presenceFrame = (room: RoomState): PresenceFrame => {
  const joins: PresenceFrame['joins'] = []
  const leaves: PresenceFrame['leaves'] = []
  for (const change of room.gathered.values()) {
    if (change.type === 'arrived') joins.push(publicUser(change.user))
    else leaves.push({ user: publicUser(change.user), reason: change.reason })
  }
  return { type: 'presence', room: room.id, joins, leaves, count: presentCount(room) }
}
