import { CLOSE_SESSION_ENDED } from '../core/protocol/close-codes.js'
import type { PublicUser, RoomSummary } from '../core/protocol/server-frames.js'
import type { Attachment } from '../core/uploads.js'
import type { Command, Frame } from './frames.js'
import { heard, type Liveness } from './heartbeat.js'
import { alive, connecting, socketClosed, tick } from './link.js'
import { forgotten, initialListing, roomsFailed, roomsLoaded, roomsRequested, type Listing } from './listing.js'
import { MEMBERS_REF_PREFIX, nextPageAsked, noMembers, type Members } from './members.js'
import { discarded, retried, stillUnsettled, type MessageKey, type Outbox, type Outgoing } from './outbox.js'
import { onFrame } from './on-frame.js'
import { actionAnswered, actionRequested, type ActionAnswer, type PendingAction, type RoomAction, type RoomForm } from './room-actions.js'
import { findRoom, isArchived, nameOf } from './rooms.js'
import { enter, flushIfReady, inShownRoom, join, notice, send } from './steps.js'
import { PAGE, type Timeline } from './timeline.js'
import { readRequested } from './unread.js'

// The web client's whole logic, as a pure reducer like the server's core: `update(model, msg)` returns
// the next model and the commands the DOM layer must carry out. Time and randomness come in messages.
// How frames change the model is in on-frame.ts, the link's lifecycle over time in link.ts, requests to
// the rooms routes in room-actions.ts, unread counts in unread.ts, the paged member list in members.ts; the
// outbox, timelines, room list (and listing.ts, which keeps a late GET /rooms from undoing live changes)
// and heartbeat rules in their files.

export type Connection =
  | { readonly state: 'offline' }
  /** A socket was asked for; it is given up at `giveUpAt` if it has not opened. */
  | { readonly state: 'connecting'; readonly attempt: number; readonly giveUpAt: number }
  /** The socket is open and the server has not said `welcome` yet: still an attempt, for the backoff. */
  | { readonly state: 'open'; readonly attempt: number; readonly liveness: Liveness }
  | { readonly state: 'online'; readonly liveness: Liveness }
  | { readonly state: 'reconnecting'; readonly attempt: number; readonly delayMs: number }

/** A `join` on its way; `joined` echoes the `ref`, which tells our answer from a move made in another tab. */
export interface Joining {
  readonly ref: string
  readonly room: string
  readonly since: string | null
}

/** Whether the server has been told we are typing, and when. */
export type OwnTyping = { readonly state: 'idle' } | { readonly state: 'announced'; readonly at: number }

export interface Notice {
  readonly id: number
  readonly text: string
  /** The messages it speaks of: it goes away once none of them waits on the writer (sent, found, discarded). */
  readonly about?: ReadonlyArray<MessageKey>
  /** `info`: something asked for was done. Without it, a problem. */
  readonly tone?: 'info'
}

/**
 * Where a page that shows no room yet stands after `welcome`. A server that knows the user's room (their
 * other tabs') says so in `welcome` and sends its `joined` by itself; an older one sends that `joined`
 * without saying so first, so the page `waits` a moment for it before joining the default room: joining
 * at once would move every tab of the user there.
 */
export type Landing = { readonly state: 'landed' } | { readonly state: 'waiting'; readonly until: number }

/**
 * Whether `message` commands say their `room`: `omitted` once a server too old for the field refused it
 * as unknown, until the next `welcome` (the next connection may reach a newer server).
 */
export type MessageRoom = 'said' | 'omitted'

export interface Model {
  readonly me: PublicUser | null
  /** The rooms and conversations the user may see, with their unread counts, as the server last said (rooms.ts). */
  readonly rooms: ReadonlyArray<RoomSummary>
  /** GET /rooms requests on their way, and the live changes their answers must not undo. */
  readonly listing: Listing
  /** The room the server has this connection in. */
  readonly room: string | null
  /** The room on screen: messages are written in it, and it is joined again after every reconnect. */
  readonly shown: string | null
  readonly joining: Joining | null
  /** Every room we have been in this session, with what we know of it. */
  readonly timelines: ReadonlyMap<string, Timeline>
  /** Who is in `room` (members.ts) and who is typing there (nobody while the screen waits for another room). */
  readonly members: Members
  readonly typing: ReadonlyArray<PublicUser>
  readonly loadingOlder: boolean
  readonly outbox: Outbox
  readonly connection: Connection
  readonly landing: Landing
  readonly messageRoom: MessageRoom
  readonly notices: ReadonlyArray<Notice>
  readonly nextNoticeId: number
  /** Requests to the rooms routes on their way. */
  readonly actions: ReadonlyArray<PendingAction>
  /** Numbers the refs of joins, pings, member pages and room actions. */
  readonly nextRef: number
  readonly ownTyping: OwnTyping
  /** The last keystroke: typing stops this long after it, not after the last announcement. */
  readonly lastTypedAt: number
}

/** Times (`at`) are milliseconds since the epoch; `random` is uniform in [0, 1). */
export type Msg =
  | { readonly type: 'signedIn'; readonly at: number }
  | { readonly type: 'signedOut' }
  | { readonly type: 'socketOpened'; readonly at: number }
  | { readonly type: 'socketClosed'; readonly code: number; readonly reason: string; readonly random: number }
  | { readonly type: 'retryDue'; readonly at: number }
  | { readonly type: 'frame'; readonly frame: Frame; readonly at: number }
  /** A frame of a type this page does not use (a newer server's): it only shows the link is alive. */
  | { readonly type: 'heard'; readonly at: number }
  /** The time a `wakeAt` asked for has come (or passed). */
  | { readonly type: 'tick'; readonly at: number; readonly random: number }
  | { readonly type: 'joinRequested'; readonly room: string }
  | { readonly type: 'sendRequested'; readonly text: string; readonly attachments: ReadonlyArray<Attachment>; readonly clientId: string }
  | { readonly type: 'retryRequested'; readonly room: string; readonly clientId: string }
  | { readonly type: 'discardRequested'; readonly room: string; readonly clientId: string }
  | { readonly type: 'typed'; readonly at: number }
  | { readonly type: 'typingIdle'; readonly at: number }
  | { readonly type: 'olderRequested' }
  /** The member list was scrolled to its end, or its "Show more" pressed: the next page, if there is one. */
  | { readonly type: 'membersRequested' }
  | { readonly type: 'problem'; readonly text: string }
  | { readonly type: 'noticeDismissed'; readonly id: number }
  /** It is time to refresh the member counts (the WebSocket only sends them in `welcome`). */
  | { readonly type: 'refreshDue' }
  /** The answer to the GET /rooms of the `loadRooms` with this `ref`. */
  | { readonly type: 'roomsLoaded'; readonly ref: number; readonly rooms: ReadonlyArray<RoomSummary> }
  /** That GET /rooms failed: the next refresh tries again. */
  | { readonly type: 'roomsFailed'; readonly ref: number }
  /** The user marks everything in a room they are not in as read. */
  | { readonly type: 'readRequested'; readonly room: string }
  /** The user asks to make, change, join or leave a room, or to open a conversation. */
  | { readonly type: 'roomActionRequested'; readonly action: RoomAction }
  | { readonly type: 'roomActionAnswered'; readonly id: string; readonly answer: ActionAnswer }

export type Cmd =
  | { readonly type: 'send'; readonly command: Command }
  | { readonly type: 'connect' }
  /** Stop listening to the socket and close it: sign-out, or a link the heartbeat found dead. */
  | { readonly type: 'disconnect'; readonly reason: string }
  | { readonly type: 'retryAfter'; readonly ms: number }
  /** Send a `tick` at `at`; it replaces the previous one (only the connection's next deadline matters). */
  | { readonly type: 'wakeAt'; readonly at: number }
  | { readonly type: 'checkTypingAt'; readonly at: number }
  | { readonly type: 'showSignIn' }
  /** GET /rooms, answered with `roomsLoaded` or `roomsFailed` and this `ref`. */
  | { readonly type: 'loadRooms'; readonly ref: number }
  /** Call the rooms route for `action`, and answer with `roomActionAnswered` and this `id`. */
  | { readonly type: 'roomAction'; readonly id: string; readonly action: RoomAction }
  /** Empty a form whose request was done. */
  | { readonly type: 'clearForm'; readonly form: RoomForm }

export const initialModel: Model = {
  me: null,
  rooms: [],
  listing: initialListing,
  room: null,
  shown: null,
  joining: null,
  timelines: new Map(),
  members: noMembers,
  typing: [],
  loadingOlder: false,
  outbox: [],
  connection: { state: 'offline' },
  landing: { state: 'landed' },
  messageRoom: 'said',
  notices: [],
  nextNoticeId: 1,
  actions: [],
  nextRef: 1,
  ownTyping: { state: 'idle' },
  lastTypedAt: 0,
}

export const TYPING_REPEAT_MS = 3000
export const TYPING_IDLE_MS = 4000

export type Step = readonly [Model, ReadonlyArray<Cmd>]

export { reconnectDelay } from './link.js'

export const update = (model: Model, msg: Msg): Step => {
  const [next, commands] = step(model, msg)
  return [next.outbox === model.outbox ? next : withoutStaleNotices(next), commands]
}

/** Notices about messages none of which still waits on the writer say nothing true any more. */
const withoutStaleNotices = (model: Model): Model => {
  const notices = model.notices.filter((n) => n.about === undefined || stillUnsettled(model.outbox, n.about))
  return notices.length === model.notices.length ? model : { ...model, notices }
}

const step = (model: Model, msg: Msg): Step => {
  switch (msg.type) {
    case 'signedIn':
      return connecting(afresh(model), 0, msg.at)
    case 'signedOut':
      return [afresh(model), [{ type: 'disconnect', reason: 'signed out' }, { type: 'showSignIn' }]]
    case 'socketOpened': {
      if (model.connection.state !== 'connecting') return [model, []]
      const liveness = heard(msg.at)
      return [{ ...model, connection: { state: 'open', attempt: model.connection.attempt, liveness } }, [{ type: 'wakeAt', at: liveness.pingAt }]]
    }
    case 'socketClosed':
      if (msg.code !== CLOSE_SESSION_ENDED) return socketClosed(model, msg.code, msg.reason, msg.random)
      return [notice(afresh(model), 'Your session ended; please sign in again.'), [{ type: 'showSignIn' }]]
    case 'retryDue':
      if (model.connection.state !== 'reconnecting') return [model, []]
      return connecting(model, model.connection.attempt, msg.at)
    case 'frame':
      return onFrame(alive(model, msg.at), msg.frame, msg.at)
    case 'heard':
      return [alive(model, msg.at), []]
    case 'tick':
      return tick(model, msg.at, msg.random)
    case 'joinRequested':
      return enter(model, msg.room)
    case 'sendRequested':
      return sendRequested(model, msg.text, msg.attachments, msg.clientId)
    case 'retryRequested':
      return retryRequested(model, msg.room, msg.clientId)
    case 'discardRequested':
      return [{ ...model, outbox: discarded(model.outbox, msg.room, msg.clientId) }, []]
    case 'typed':
      return typed(model, msg.at)
    case 'typingIdle':
      if (model.ownTyping.state === 'idle' || msg.at - model.lastTypedAt < TYPING_IDLE_MS) return [model, []]
      return [{ ...model, ownTyping: { state: 'idle' } }, inShownRoom(model) ? [send({ type: 'typing_stop' })] : []]
    case 'olderRequested':
      return olderRequested(model)
    case 'membersRequested':
      return membersRequested(model)
    case 'problem':
      return [notice(model, msg.text), []]
    case 'noticeDismissed':
      return [{ ...model, notices: model.notices.filter((n) => n.id !== msg.id) }, []]
    case 'refreshDue': {
      if (model.connection.state !== 'online') return [model, []]
      const [asked, load] = roomsRequested(model)
      return [asked, [load]]
    }
    case 'roomsLoaded':
      return [roomsLoaded(model, msg.ref, msg.rooms), []]
    case 'roomsFailed':
      return [roomsFailed(model, msg.ref), []]
    case 'readRequested':
      return readRequested(model, msg.room)
    case 'roomActionRequested':
      return actionRequested(model, msg.action)
    case 'roomActionAnswered':
      return actionAnswered(model, msg.id, msg.answer)
  }
}

/** A new session: only the notices stay (and the numbering of GET /rooms, so a late answer is not taken for a new one). */
const afresh = (model: Model): Model => ({ ...initialModel, notices: model.notices, nextNoticeId: model.nextNoticeId, listing: forgotten(model.listing) })

/**
 * The writer asks to try a failed message again. It goes at once if the page is in its room; else the page
 * goes back to its room first (the message waits for that `joined`), or, offline, when the link is back.
 */
const retryRequested = (model: Model, room: string, clientId: string): Step => {
  const queued: Model = { ...model, outbox: retried(model.outbox, room, clientId) }
  const going = model.joining === null ? model.room === room : model.joining.room === room
  if (model.connection.state !== 'online' || going) return flushIfReady(queued, room)
  return join(queued, room)
}

const sendRequested = (model: Model, text: string, attachments: ReadonlyArray<Attachment>, clientId: string): Step => {
  const room = model.shown
  if (room === null) return [notice(model, 'Pick a room first.'), []]
  if (isArchived(findRoom(model.rooms, room))) return [notice(model, `${nameOf(model.rooms, room)} is archived: it takes no new messages.`), []]
  const message: Outgoing = { room, clientId, text, attachments, delivery: { state: 'queued' } }
  return flushIfReady({ ...model, outbox: [...model.outbox, message], ownTyping: { state: 'idle' } }, room)
}

const typed = (model: Model, at: number): Step => {
  const typedNow = { ...model, lastTypedAt: at }
  const check: Cmd = { type: 'checkTypingAt', at: at + TYPING_IDLE_MS }
  // Announced again only every few seconds; the server keeps the indicator alive in between.
  const recently = model.ownTyping.state === 'announced' && at - model.ownTyping.at < TYPING_REPEAT_MS
  if (!inShownRoom(model) || recently) return [typedNow, [check]]
  return [{ ...typedNow, ownTyping: { state: 'announced', at } }, [send({ type: 'typing_start' }), check]]
}

const olderRequested = (model: Model): Step => {
  const timeline = model.shown === null ? undefined : model.timelines.get(model.shown)
  const oldest = timeline?.messages[0]
  if (!inShownRoom(model) || timeline?.hasOlder !== true || model.loadingOlder || oldest === undefined) return [model, []]
  return [{ ...model, loadingOlder: true }, [send({ type: 'history', before: oldest.id, limit: PAGE })]]
}

/** The next page of members, one request at a time, none after the last page (docs/big-rooms.md). */
const membersRequested = (model: Model): Step => {
  const room = model.shown
  const ref = `${MEMBERS_REF_PREFIX}${model.nextRef}`
  const asked = inShownRoom(model) ? nextPageAsked(model.members, ref) : undefined
  if (room === null || asked?.more.state !== 'asking') return [model, []]
  return [{ ...model, members: asked, nextRef: model.nextRef + 1 }, [send({ type: 'members', room, cursor: asked.more.cursor, ref })]]
}

/** "ana is typing…", "ana and bia are typing…", "3 people are typing…". */
export const typingLine = (typing: ReadonlyArray<PublicUser>): string => {
  const names = typing.map((u) => u.name)
  if (names.length === 0) return ''
  if (names.length === 1) return `${names[0]} is typing…`
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`
  return `${names.length} people are typing…`
}

