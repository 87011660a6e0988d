import type { ChatMessage, PublicUser } from '../core/protocol/server-frames.js'
import type { Ack, Frame, Welcome } from './frames.js'
import { PING_REF_PREFIX } from './heartbeat.js'
import { changed, relisted, roomsRequested } from './listing.js'
import { awaitsPage, firstPage, isListed, MEMBERS_REF_PREFIX, nextPageRefused, noMembers, pageAdded, presenceApplied, presenceReset } from './members.js'
import type { Model, Step } from './model.js'
import { answered, ARCHIVED, failed, MOVED_AWAY, requeued, roomEntered, seenStored, without, type Outgoing } from './outbox.js'
import { findRoom, nameOf } from './rooms.js'
import { flushIfReady, join, notice, sendMessages } from './steps.js'
import { caughtUp, filed, freshTimeline, olderLoaded, received, type Timeline } from './timeline.js'
import { counted } from './unread.js'

// How each server frame changes the page's model.

type FrameOf<T extends Frame['type']> = Extract<Frame, { readonly type: T }>

/** `at`: when the frame arrived (ms since the epoch). */
export const onFrame = (model: Model, frame: Frame, at: number): Step => {
  // The server says `welcome` first, and a model that has given up on its link takes nothing more from it.
  if (frame.type !== 'welcome' && model.connection.state !== 'online') return [model, []]
  switch (frame.type) {
    case 'welcome':
      return welcome(model, frame, at)
    case 'joined':
      return joined(model, frame)
    case 'user_joined': {
      // Version 1 (a server older than version 2): one arrival at a time, and `joined` listed everyone.
      if (!present(model, frame.room) || isListed(model.members, frame.user.username)) return [model, []]
      return [{ ...model, members: presenceApplied(model.members, [frame.user], [], model.members.count + 1) }, []]
    }
    case 'user_left':
      return userLeft(model, frame)
    case 'presence':
      return presence(model, frame)
    case 'members':
      if (frame.room !== model.room || !awaitsPage(model.members, frame.ref)) return [model, []]
      return [{ ...model, members: pageAdded(model.members, frame.users, frame.count, frame.cursor) }, []]
    case 'message': {
      const timeline = model.timelines.get(frame.room)
      if (timeline === undefined) return [model, []]
      return [{ ...model, timelines: withTimeline(model, frame.room, received(timeline, withoutType(frame))) }, []]
    }
    case 'ack':
      return acked(model, frame)
    case 'typing': {
      if (!present(model, frame.room)) return [model, []]
      const others = model.typing.filter((u) => u.username !== frame.user.username)
      return [{ ...model, typing: frame.typing ? [...others, frame.user] : others }, []]
    }
    case 'history': {
      const timeline = model.timelines.get(frame.room)
      const timelines = timeline === undefined ? model.timelines : withTimeline(model, frame.room, olderLoaded(timeline, frame.messages))
      return [{ ...model, timelines, loadingOlder: false }, []]
    }
    case 'error':
      return refused(model, frame)
    case 'room_added':
    case 'room_updated':
      return [changed(model, { type: 'listed', room: frame.room }), []]
    case 'room_removed':
      return roomRemoved(model, frame.room)
    case 'unread':
      return counted(model, frame.room, frame.count)
    default:
      // `pong` and anything newer: the link is alive, which `update` has already noted.
      return [model, []]
  }
}

/**
 * How long a page that shows no room waits after an older server's `welcome` for the `joined` that server
 * sends right behind it when the user is already in a room (ms). Both come in one burst, so this is ample.
 */
export const LANDING_WAIT_MS = 1000

/**
 * The page joins the room on screen, even if it changed while the link was down. A page that shows no room
 * yet goes where the user already is (their other tabs' room), which a server says in `room` and then
 * joins by itself; with an older server it waits a moment for that `joined` before joining the default
 * room (see `Landing`). Joining at once would move every tab of the user.
 */
const welcome = (model: Model, frame: Welcome, at: number): Step => {
  if (model.connection.state !== 'open') return [model, []]
  const welcomed: Model = {
    ...relisted(model, frame.rooms),
    me: frame.user,
    connection: { state: 'online', liveness: model.connection.liveness },
    landing: { state: 'landed' },
    messageRoom: 'said',
  }
  if (model.shown !== null && model.shown !== frame.room) return join(welcomed, model.shown)
  if (frame.room !== undefined) return [{ ...welcomed, shown: frame.room }, []]
  if (frame.rooms.length === 0) return [welcomed, []]
  const until = at + LANDING_WAIT_MS
  return [{ ...welcomed, landing: { state: 'waiting', until } }, [{ type: 'wakeAt', at: until }]]
}

/**
 * The server has put this connection in a room: the answer to our join, to an earlier join of ours that a
 * later one overtook, or a move made in another tab of ours. A timeline only extends what we held when this
 * is the answer to a join that asked from our cursor and had no gap; anything else starts the room afresh.
 * Being there reads the room, and makes the user a member of a public one (docs/rooms.md).
 */
const joined = (model: Model, frame: FrameOf<'joined'>): Step => {
  const ours = model.joining !== null && frame.ref === model.joining.ref ? model.joining : null
  const cached = model.timelines.get(frame.room)
  const continues = ours !== null && ours.since !== null && cached !== undefined && frame.gap !== true
  const timeline = continues ? caughtUp(cached, frame.history) : freshTimeline(frame.history)
  const read = changed(model, { type: 'counted', room: frame.room, count: 0 }, { type: 'belongs', room: frame.room, member: true })
  const entered: Model = { ...read, room: frame.room, timelines: withTimeline(model, frame.room, timeline) }
  // A later join of ours is on its way: keep showing the room it goes to until its answer.
  if (model.joining !== null && ours === null) return [entered, []]
  const me = model.me?.username ?? ''
  const found = seenStored(model.outbox, me, (room) => entered.timelines.get(room)?.messages ?? [])
  const [outbox, due] = roomEntered(found, frame.room)
  const newlyFailed = outbox.filter((message) => message.delivery.state === 'failed' && !model.outbox.some((old) => old === message))
  const settled: Model = {
    ...entered,
    shown: frame.room,
    joining: null,
    landing: { state: 'landed' },
    members: firstPage(frame.users, frame.count, frame.cursor),
    typing: frame.typing.filter((u) => u.username !== me),
    outbox,
    loadingOlder: false,
  }
  // Fresh member counts for the list: the move changed them, and no frame says so for the other rooms.
  const [asked, load] = roomsRequested(settled)
  return [leftBehind(asked, newlyFailed, 'you left the room while offline'), [...sendMessages(settled, due), load]]
}

/** Says where messages that could not be sent are waiting, by room; each notice goes once they are settled. */
const leftBehind = (model: Model, failed: ReadonlyArray<Outgoing>, why: string): Model => {
  const rooms = [...new Set(failed.map((message) => message.room))]
  return rooms.reduce((told, room) => {
    const those = failed.filter((message) => message.room === room)
    const name = roomName(model, room)
    const what = those.length === 1 ? 'A message' : `${those.length} messages`
    return notice(told, `${what} written in ${name} could not be sent: ${why}. Open ${name} to retry.`, those)
  }, model)
}

const roomName = (model: Model, room: string): string => nameOf(model.rooms, room)

const userLeft = (model: Model, frame: FrameOf<'user_left'>): Step => {
  if (frame.room !== model.room) return [model, []]
  if (frame.user.username === model.me?.username) {
    if (frame.reason === 'removed') return [movedOut(model, frame.room), []]
    // Another tab of ours left the room, and this connection with it.
    return [{ ...model, room: null, shown: null, joining: null, members: noMembers, typing: [] }, []]
  }
  // Version 1: one departure at a time.
  const count = model.members.count - (isListed(model.members, frame.user.username) ? 1 : 0)
  return [withoutTypists({ ...model, members: presenceApplied(model.members, [], [frame], count) }, [frame.user]), []]
}

/**
 * Version 2: the arrivals and departures of the room on screen, gathered by the server. Applied to the
 * pages so far (whenever each was taken) they give the room as it stands, and its size.
 */
const presence = (model: Model, frame: FrameOf<'presence'>): Step => {
  if (!present(model, frame.room)) return [model, []]
  if (frame.reset === true) return [resetTypists({ ...model, members: presenceReset(frame.joins, frame.count, frame.cursor) }, frame.joins), []]
  const members = presenceApplied(model.members, frame.joins, frame.leaves, frame.count)
  return [withoutTypists({ ...model, members }, frame.leaves.map((departure) => departure.user)), []]
}

/**
 * A reset names no departures, but its page lists the room's typists first (by username, at most a page):
 * one shown typing and not listed has left, unless the page may be all typists with more beyond it.
 */
const resetTypists = (model: Model, listed: ReadonlyArray<PublicUser>): Model => {
  const names = new Set(listed.map((u) => u.username))
  const typists = new Set(model.typing.map((u) => u.username))
  const everyTypistListed = model.members.more.state === 'none' || listed.some((u) => !typists.has(u.username) && u.username !== model.me?.username)
  return everyTypistListed ? withoutTypists(model, model.typing.filter((u) => !names.has(u.username))) : model
}

/** Someone who left types no more. */
const withoutTypists = (model: Model, gone: ReadonlyArray<PublicUser>): Model => {
  const typing = model.typing.filter((u) => !gone.some((g) => g.username === u.username))
  return typing.length === model.typing.length ? model : { ...model, typing }
}

/**
 * The user was removed from the room they were in (by its owner, or they left its membership): the server
 * has moved every connection of theirs out. `room_removed` follows and takes it off the list. A join of
 * ours on its way elsewhere still lands.
 */
const movedOut = (model: Model, room: string): Model => {
  const out: Model = { ...model, room: null, members: noMembers, typing: [], ...(model.joining === null ? { shown: null } : {}) }
  return notice(out, `You are no longer a member of ${roomName(model, room)}.`)
}

/**
 * The user no longer belongs to a private room or conversation: it leaves the list, with what the page
 * held of it (its messages, and what was written there and not sent, which can no longer be). A page
 * that still shows it (it was not in it, or `user_left` has not come) shows nothing and says why; a join
 * on its way there is refused by the server, which brings the page back (see `refused`).
 */
const roomRemoved = (model: Model, room: string): Step => {
  const name = roomName(model, room)
  const unsent = model.outbox.filter((message) => message.room === room)
  const held = findRoom(model.rooms, room) !== undefined || model.timelines.has(room) || unsent.length > 0
  // Not listed here, but perhaps in a GET /rooms answer on its way: that answer must not bring it back.
  if (!held && model.shown !== room && model.room !== room) return [changed(model, { type: 'removed', room }), []]
  const timelines = new Map(model.timelines)
  timelines.delete(room)
  const kept: Model = { ...changed(model, { type: 'removed', room }), timelines, outbox: model.outbox.filter((message) => message.room !== room) }
  const onScreen = model.shown === room && model.joining === null
  const cleared: Model = onScreen ? notice({ ...kept, shown: null, members: noMembers, typing: [] }, `You are no longer a member of ${name}.`) : kept
  const out: Model = model.room === room ? { ...cleared, room: null } : cleared
  if (unsent.length === 0) return [out, []]
  const what = unsent.length === 1 ? 'A message' : `${unsent.length} messages`
  return [notice(out, `${what} written in ${name} could not be sent: you are no longer a member.`), []]
}

/**
 * Files an acknowledged message under the room the ack names, else the room it was written in, whichever
 * room is on screen now. They differ only with a server older than the message's `room`: it stored the
 * message in the room another tab of the user had moved them to. It is stored, so it is settled (never sent
 * again), shown where it is, and the writer is told.
 */
const acked = (model: Model, frame: Ack): Step => {
  const clientId = frame.clientId ?? frame.ref
  const message = clientId === undefined ? undefined : answered(model.outbox, clientId, frame.room)
  if (message === undefined || model.me === null) return [model, []]
  const room = frame.room ?? message.room
  const stored: ChatMessage = {
    id: frame.id,
    room,
    user: model.me,
    text: message.text,
    sentAt: frame.sentAt,
    clientId: message.clientId,
    ...(message.attachments.length === 0 ? {} : { attachments: [...message.attachments] }),
  }
  const timeline = model.timelines.get(room)
  const timelines = timeline === undefined ? model.timelines : withTimeline(model, room, filed(timeline, stored))
  const settled: Model = { ...model, outbox: without(model.outbox, message), timelines }
  if (room === message.room) return [settled, []]
  return [notice(settled, `A message written in ${roomName(model, message.room)} went to ${roomName(model, room)}: you had moved there in another tab.`), []]
}

const refused = (model: Model, frame: FrameOf<'error'>): Step => {
  // A server too old to know `ping` refuses it: that answer is all the heartbeat wanted.
  if (frame.ref?.startsWith(PING_REF_PREFIX) === true) return [model, []]
  if (frame.ref?.startsWith(MEMBERS_REF_PREFIX) === true) return membersRefused(model, frame)
  const details = (frame.details ?? []).map((d) => (d.path === '' ? d.message : `${d.path} ${d.message}`)).join('; ')
  const text = details === '' ? frame.message : `${frame.message}: ${details}`
  if (model.joining !== null && frame.ref === model.joining.ref) {
    // Back to the room the server still has us in (its `joined` brings who is there), or the default room.
    const fallback = model.room ?? model.rooms[0]?.id
    const back = notice({ ...model, joining: null, shown: null }, text)
    return fallback === undefined || fallback === model.joining.room ? [back, []] : join(back, fallback)
  }
  const message = frame.ref === undefined ? undefined : answered(model.outbox, frame.ref, frame.room)
  if (message === undefined) return [notice({ ...model, loadingOlder: false }, text), []]
  if (model.messageRoom === 'said' && refusesRoomField(frame)) {
    // A server older than `room`: the message goes again without it, and so do the next ones.
    return flushIfReady({ ...model, messageRoom: 'omitted', outbox: requeued(model.outbox, message) }, message.room)
  }
  if (frame.code === 'room_archived') {
    // The room was archived before the message arrived (its `room_updated` may not have come yet).
    const archived = markedArchived(model, message.room)
    return [notice({ ...archived, outbox: failed(model.outbox, message, ARCHIVED) }, `${roomName(model, message.room)} is archived: it takes no new messages.`, [message]), []]
  }
  if (frame.code === 'not_in_room') {
    // Another tab moved the user before the message arrived: the server stored nothing.
    return [leftBehind({ ...model, outbox: failed(model.outbox, message, MOVED_AWAY) }, [message], 'you had moved to another room in another tab'), []]
  }
  return [notice({ ...model, outbox: failed(model.outbox, message, text) }, text, [message]), []]
}

/**
 * A request for the next page of members was refused. `not_in_room`: the user moved (another tab), and the
 * `joined` that says where brings its own first page; a refusal of a request no longer awaited is old news.
 * Otherwise (`rate_limited`, say) the page says so, and the next scroll asks again.
 */
const membersRefused = (model: Model, frame: FrameOf<'error'>): Step => {
  if (!awaitsPage(model.members, frame.ref)) return [model, []]
  const again: Model = { ...model, members: nextPageRefused(model.members) }
  return [frame.code === 'not_in_room' ? again : notice(again, `Could not list more people: ${frame.message}`), []]
}

const markedArchived = (model: Model, room: string): Model => {
  const known = findRoom(model.rooms, room)
  return known === undefined || known.archived === true ? model : changed(model, { type: 'listed', room: { ...known, archived: true } })
}

/** An older server's answer to a `message` that says its room: `bad_request`, naming `room` unknown. */
const refusesRoomField = (frame: FrameOf<'error'>): boolean => frame.code === 'bad_request' && (frame.details ?? []).some((d) => d.path === 'room')

/** Presence and typing frames count for the room on screen, once we are in it. */
const present = (model: Model, room: string): boolean => room === model.room && room === model.shown && model.joining === null

const withTimeline = (model: Model, room: string, timeline: Timeline): ReadonlyMap<string, Timeline> => new Map(model.timelines).set(room, timeline)

const withoutType = ({ type: _type, ...message }: FrameOf<'message'>): ChatMessage => message
