import * as O from 'fp-ts/lib/Option.js'
import type { ConnectionId, RoomId, UserId } from '../brands.js'
import type { JoinCommand, MembersCommand } from '../protocol/client-commands.js'
import { formatMessageId, parseMessageId } from '../protocol/message-id.js'
import type { PublicUser, ServerFrame } from '../protocol/server-frames.js'
import { sendTo, setRoom } from './audience.js'
import type { Effect } from './effects.js'
import { chatMessage, errorFrame, presentCount, publicUser, withRef } from './frames.js'
import { pageBefore, seatOfCursor, type MemberPage } from './roster.js'
import { catchUp, latestMessages } from './recent-history.js'
import { askingFill, type CatchingUp, type ChatState, type ChatUser, type RoomState } from './state.js'
import { unchanged, type Step } from './step-result.js'

// The `joined` answer, and the one case where it waits. A client that moves to another process (its own
// died, or a balancer sent it elsewhere) rejoins with `since` naming the last message it saw; that message
// may not have reached this process yet (its announcement is in flight, held behind a hole, or was lost
// with the process that stored it). The store has it: a message is committed before anyone is told of it.
// So the `joined` waits until this process has delivered up to `since` (reading the store to its end if
// nothing else brings it), and meanwhile the connection hears nothing of the room: what happens there is
// in the `joined` it then gets (history after `since`, who is present, who types). Exact, not `gap: true`.

/**
 * Answers a join of `connection` (whose user is `joiner`) into `room`, where the user now is: the `joined`
 * frame at once, or, in a cluster, when `since` names a message later than this process delivered, once it
 * has (see above). A since that names nothing the store has is answered as on one process: the latest
 * messages with `gap: true`.
 */
export const answerJoin = (state: ChatState, room: RoomState, connection: ConnectionId, command: JoinCommand, joiner: UserId): Step => {
  const answered = forgetCatchUps(state, [connection])
  const since = command.since === undefined ? O.none : parseMessageId(command.since)
  if (answered.settings.cluster === null || O.isNone(since) || since.value <= room.lastSeq) {
    return [answered, [sendTo(connection, joinedFrame(answered, room, command, joiner, connection))]]
  }
  const waiting: CatchingUp = { room: room.id, user: joiner, since: since.value, readAsked: false, ...(command.ref === undefined ? {} : { ref: command.ref }) }
  return chaseCatchUps({ ...answered, catchingUp: answered.catchingUp.set(connection, waiting) }, room.id)
}

/** Drops the waiting joins of these connections (closed, or their user left or moved). */
export const forgetCatchUps = (state: ChatState, connections: ReadonlyArray<ConnectionId>): ChatState => {
  if (state.catchingUp.size === 0 || !connections.some((connection) => state.catchingUp.has(connection))) return state
  return { ...state, catchingUp: state.catchingUp.deleteAll(connections) }
}

/**
 * Sends the waiting joins of `roomId` whose `since` this process has now delivered (after a delivery or a
 * read of the store); with `readToEnd` (the store was just read to its end, after they asked), also those
 * whose `since` it does not have, as a gap.
 */
export const settleCatchUps = (state: ChatState, roomId: RoomId, readToEnd = false): Step => {
  const room = state.rooms.get(roomId)
  if (state.catchingUp.size === 0 || room === undefined) return unchanged(state)
  const due = state.catchingUp.filter((w) => w.room === roomId && (w.since <= room.lastSeq || (readToEnd && w.readAsked)))
  if (due.size === 0) return unchanged(state)
  const next: ChatState = { ...state, catchingUp: state.catchingUp.deleteAll(due.keys()) }
  const effects: Effect[] = []
  for (const [connection, w] of due) {
    const command: JoinCommand = { type: 'join', room: roomId, since: formatMessageId(w.since), ...(w.ref === undefined ? {} : { ref: w.ref }) }
    effects.push(sendTo(connection, joinedFrame(next, room, command, w.user, connection)))
  }
  return [next, effects]
}

/**
 * Asks the store for everything after what `roomId` delivered, for the joins still waiting there, unless a
 * read or a wait is already under way (its end settles them or chases again).
 */
export const chaseCatchUps = (state: ChatState, roomId: RoomId): Step => {
  const room = state.rooms.get(roomId)
  if (state.catchingUp.size === 0 || room === undefined || room.gap.state !== 'none') return unchanged(state)
  const ahead = state.catchingUp.filter((w) => w.room === roomId && w.since > room.lastSeq)
  if (ahead.size === 0) return unchanged(state)
  const asked: ChatState = { ...state, catchingUp: state.catchingUp.merge(ahead.map((w) => ({ ...w, readAsked: true }))) }
  return [setRoom(asked, askingFill(room)), [{ type: 'fillGap', room: roomId, after: room.lastSeq, before: Infinity }]]
}

const joinedFrame = (state: ChatState, room: RoomState, command: JoinCommand, joiner: UserId, connection: ConnectionId): ServerFrame => {
  const typing = typistsIn(state, room, joiner)
  const members = state.connections.get(connection)?.protocol === 2 ? firstPage(state, room, typing) : { users: everyone(state, room) }
  const history =
    command.since === undefined
      ? { messages: latestMessages(room, state.settings.joinHistory), gap: false }
      : catchUp(room, command.since, state.settings)
  return withRef(
    {
      type: 'joined',
      room: room.id,
      users: [...members.users],
      count: presentCount(room),
      ...(members.cursor === undefined ? {} : { cursor: members.cursor }),
      typing: typing.map(publicUser),
      history: history.messages.map(chatMessage).toArray(),
      ...(history.gap ? { gap: true } : {}),
    },
    command.ref,
  )
}

/** Version 1: every user present, those here in arrival order, then those only on other processes. O(members). */
const everyone = (state: ChatState, room: RoomState): PublicUser[] => {
  const users = [...room.members].flatMap((id) => {
    const member = state.users.get(id)
    return member === undefined ? [] : [publicUser(member.user)]
  })
  for (const [id, { user }] of room.remote) if (!room.members.has(id)) users.push(publicUser(user))
  return users
}

/**
 * Version 2: the first page, at most `memberPage` users: those typing first, then the others from the latest
 * arrival back (docs/big-rooms.md). A typist is listed again at their place on a later page: pages are
 * positions in the arrival order, and the client keeps members by username.
 */
const firstPage = (state: ChatState, room: RoomState, typing: ReadonlyArray<ChatUser>): MemberPage => {
  const size = state.settings.memberPage
  const typists = typing.slice(0, size)
  const listed = new Set(typists.map((user) => user.id))
  const rest = pageBefore(state, room, Infinity, size - typists.length, listed)
  const more = rest.cursor ?? (rest.users.length === 0 && room.roster.seatOf.size > listed.size ? String(room.roster.next) : undefined)
  return { users: [...typists.map(publicUser), ...rest.users], ...(more === undefined ? {} : { cursor: more }) }
}

/** The room's first page as anyone in it would get it now (a `presence` reset; see presence.ts). */
export const currentFirstPage = (state: ChatState, room: RoomState): MemberPage => firstPage(state, room, typistsIn(state, room, undefined))

/**
 * Answers `members`: the page after `cursor` of the room the user is in (without one, the first page, as
 * `joined` gives it). `not_in_room` for any other room, whoever may see it: a member list is for those present.
 * `bad_request` for a cursor beyond any this room gave; one given by another room or process (a seat number
 * there) cannot be told apart and pages this room from that position.
 */
export const listMembers = (state: ChatState, connection: ConnectionId, command: MembersCommand): Step => {
  const info = state.connections.get(connection)
  const presence = info === undefined ? undefined : state.users.get(info.user)
  if (presence === undefined) return unchanged(state)
  const room = presence.room === command.room ? state.rooms.get(presence.room) : undefined
  if (room === undefined || state.catchingUp.has(connection)) {
    return unchanged(state, [sendTo(connection, errorFrame('not_in_room', `you are not in the room ${JSON.stringify(command.room)}`, command.ref))])
  }
  const before = seatOfCursor(command.cursor)
  // The highest cursor ever given is the next seat (a first page of typists only): one above names no place.
  if (command.cursor !== undefined && before > room.roster.next) {
    return unchanged(state, [sendTo(connection, errorFrame('bad_request', 'the cursor is not one this server gave for this room', command.ref))])
  }
  const page =
    command.cursor === undefined
      ? firstPage(state, room, typistsIn(state, room, presence.user.id))
      : pageBefore(state, room, before, state.settings.memberPage)
  const frame: ServerFrame = { type: 'members', room: room.id, users: [...page.users], count: presentCount(room), ...(page.cursor === undefined ? {} : { cursor: page.cursor }) }
  return unchanged(state, [sendTo(connection, withRef(frame, command.ref))])
}

/**
 * Who is typing in the room, by username, so that someone who arrives mid-sentence sees it. Never the
 * joining user: typing is not shown to the typist's own connections, a new tab included. A typist whose
 * deadline has passed but whom no tick has ended yet is listed, as the others still see them: the tick
 * tells everyone at once, and a typist who starts again meanwhile is not announced again.
 * Walks the typists, not the members: there are few of them.
 */
const typistsIn = (state: ChatState, room: RoomState, joiner: UserId | undefined): ChatUser[] => {
  const typists: ChatUser[] = []
  for (const user of state.typing.keys()) {
    if (user === joiner) continue
    const presence = state.users.get(user)
    if (presence?.room === room.id) typists.push(presence.user)
  }
  // Typists on other processes too (the same user typing here and there is listed once).
  for (const [user, typist] of state.remoteTypists) {
    if (user !== joiner && typist.room === room.id && !(state.typing.has(user) && state.users.get(user)?.room === room.id)) typists.push(typist.user)
  }
  return typists.sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0))
}
