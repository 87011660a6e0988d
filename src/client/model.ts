import type { Attachment } from '../core/uploads.js'
import type { ChatMessage, PublicUser, RoomSummary, ServerFrame } from '../core/protocol/server-frames.js'

// The web client's whole logic, as a pure reducer like the server's core: `update(model, msg)` returns
// the next model and the commands the DOM layer must carry out. Time and randomness come in messages.

export type Connection =
  | { readonly state: 'offline' }
  | { readonly state: 'connecting'; readonly attempt: number }
  | { readonly state: 'online' }
  | { readonly state: 'reconnecting'; readonly attempt: number; readonly delayMs: number }

/** A message sent and not yet acknowledged; resent with the same clientId after a reconnect. */
export interface PendingMessage {
  readonly clientId: string
  readonly text: string
  readonly attachments: ReadonlyArray<Attachment>
}

export interface Notice {
  readonly id: number
  readonly text: string
}

export interface Model {
  readonly me: PublicUser | null
  readonly rooms: ReadonlyArray<RoomSummary>
  /** The room the server says we are in. */
  readonly room: string | null
  /** The room to be in: rejoined after a reconnect. */
  readonly wantedRoom: string | null
  readonly users: ReadonlyArray<PublicUser>
  readonly messages: ReadonlyArray<ChatMessage>
  readonly hasOlder: boolean
  readonly loadingOlder: boolean
  readonly typing: ReadonlyArray<PublicUser>
  readonly pending: ReadonlyArray<PendingMessage>
  readonly connection: Connection
  readonly notices: ReadonlyArray<Notice>
  readonly nextNoticeId: number
  /** When we last told the server we are typing (0: we are not). */
  readonly typingSince: number
  /** The last keystroke: typing stops this long after it, not after the last announcement. */
  readonly lastTypedAt: number
}

export type Msg =
  | { readonly type: 'signedIn' }
  | { readonly type: 'signedOut' }
  | { readonly type: 'socketOpened' }
  | { readonly type: 'socketClosed'; readonly code: number; readonly reason: string; readonly random: number }
  | { readonly type: 'retryDue' }
  | { readonly type: 'frame'; readonly frame: ServerFrame }
  | { readonly type: 'joinRequested'; readonly room: string }
  | { readonly type: 'sendRequested'; readonly text: string; readonly attachments: ReadonlyArray<Attachment>; readonly clientId: string }
  | { readonly type: 'typed'; readonly at: number }
  | { readonly type: 'typingIdle'; readonly at: number }
  | { readonly type: 'olderRequested' }
  | { readonly type: 'problem'; readonly text: string }
  | { readonly type: 'noticeDismissed'; readonly id: number }
  /** Fresh member counts from GET /rooms (the WebSocket only sends them in `welcome`). */
  | { readonly type: 'roomsLoaded'; readonly rooms: ReadonlyArray<RoomSummary> }

export type ClientCommand = Readonly<Record<string, unknown>> & { readonly type: string }

export type Cmd =
  | { readonly type: 'send'; readonly command: ClientCommand }
  | { readonly type: 'connect' }
  | { readonly type: 'disconnect' }
  | { readonly type: 'retryAfter'; readonly ms: number }
  | { readonly type: 'checkTypingAt'; readonly at: number }
  | { readonly type: 'showSignIn' }
  | { readonly type: 'loadRooms' }

export const initialModel: Model = {
  me: null,
  rooms: [],
  room: null,
  wantedRoom: null,
  users: [],
  messages: [],
  hasOlder: false,
  loadingOlder: false,
  typing: [],
  pending: [],
  connection: { state: 'offline' },
  notices: [],
  nextNoticeId: 1,
  typingSince: 0,
  lastTypedAt: 0,
}

const PAGE = 50
export const TYPING_REPEAT_MS = 3000
export const TYPING_IDLE_MS = 4000
const SESSION_ENDED = 4001

/** Exponential backoff with jitter: 0.5 s, 1 s, 2 s … capped at 30 s, each scaled by 50-100 %. */
export const reconnectDelay = (attempt: number, random: number): number =>
  Math.round(Math.min(30_000, 500 * 2 ** attempt) * (0.5 + random / 2))

type Step = readonly [Model, ReadonlyArray<Cmd>]

const notice = (model: Model, text: string): Model => ({
  ...model,
  notices: [...model.notices, { id: model.nextNoticeId, text }].slice(-5),
  nextNoticeId: model.nextNoticeId + 1,
})

export const update = (model: Model, msg: Msg): Step => {
  switch (msg.type) {
    case 'signedIn':
      return [{ ...initialModel, connection: { state: 'connecting', attempt: 0 }, notices: model.notices, nextNoticeId: model.nextNoticeId }, [{ type: 'connect' }]]
    case 'signedOut':
      return [{ ...initialModel, notices: model.notices, nextNoticeId: model.nextNoticeId }, [{ type: 'disconnect' }, { type: 'showSignIn' }]]
    case 'socketOpened':
      return [{ ...model, connection: { state: 'online' } }, []]
    case 'socketClosed':
      return socketClosed(model, msg.code, msg.reason, msg.random)
    case 'retryDue':
      if (model.connection.state !== 'reconnecting') return [model, []]
      return [{ ...model, connection: { state: 'connecting', attempt: model.connection.attempt } }, [{ type: 'connect' }]]
    case 'frame':
      return onFrame(model, msg.frame)
    case 'joinRequested':
      if (msg.room === model.room) return [model, []]
      return [{ ...model, wantedRoom: msg.room }, [{ type: 'send', command: { type: 'join', room: msg.room } }]]
    case 'sendRequested': {
      const pending: PendingMessage = { clientId: msg.clientId, text: msg.text, attachments: msg.attachments }
      return [{ ...model, pending: [...model.pending, pending], typingSince: 0 }, [{ type: 'send', command: messageCommand(pending) }]]
    }
    case 'typed': {
      const typed = { ...model, lastTypedAt: msg.at }
      const check: Cmd = { type: 'checkTypingAt', at: msg.at + TYPING_IDLE_MS }
      // Announced again only every few seconds; the server keeps the indicator alive in between.
      if (model.room === null || (model.typingSince !== 0 && msg.at - model.typingSince < TYPING_REPEAT_MS)) return [typed, [check]]
      return [{ ...typed, typingSince: msg.at }, [{ type: 'send', command: { type: 'typing_start' } }, check]]
    }
    case 'typingIdle':
      if (model.typingSince === 0 || msg.at - model.lastTypedAt < TYPING_IDLE_MS) return [model, []]
      return [{ ...model, typingSince: 0 }, [{ type: 'send', command: { type: 'typing_stop' } }]]
    case 'olderRequested': {
      const oldest = model.messages[0]
      if (!model.hasOlder || model.loadingOlder || oldest === undefined) return [model, []]
      return [{ ...model, loadingOlder: true }, [{ type: 'send', command: { type: 'history', before: oldest.id, limit: PAGE } }]]
    }
    case 'problem':
      return [notice(model, msg.text), []]
    case 'noticeDismissed':
      return [{ ...model, notices: model.notices.filter((n) => n.id !== msg.id) }, []]
    case 'roomsLoaded':
      return [{ ...model, rooms: msg.rooms }, []]
  }
}

const messageCommand = (pending: PendingMessage): ClientCommand => ({
  type: 'message',
  ...(pending.text === '' ? {} : { text: pending.text }),
  ...(pending.attachments.length === 0 ? {} : { attachments: pending.attachments.map((a) => a.url) }),
  clientId: pending.clientId,
  ref: pending.clientId,
})

const socketClosed = (model: Model, code: number, reason: string, random: number): Step => {
  const offline = { ...model, room: null, users: [], typing: [], typingSince: 0, loadingOlder: false }
  if (code === SESSION_ENDED) {
    return [notice({ ...initialModel, notices: model.notices, nextNoticeId: model.nextNoticeId }, 'Your session ended; please sign in again.'), [{ type: 'showSignIn' }]]
  }
  if (model.connection.state === 'offline') return [model, []]
  const attempt = model.connection.state === 'connecting' ? model.connection.attempt + 1 : 0
  const delayMs = reconnectDelay(attempt, random)
  const why = reason === '' ? '' : ` (${reason})`
  const told = code === 1008 || code === 1013 ? notice(offline, `The server closed the connection${why}.`) : offline
  return [{ ...told, connection: { state: 'reconnecting', attempt, delayMs } }, [{ type: 'retryAfter', ms: delayMs }]]
}

const onFrame = (model: Model, frame: ServerFrame): Step => {
  switch (frame.type) {
    case 'welcome': {
      const room = model.wantedRoom ?? frame.rooms[0]?.id ?? null
      const since = model.wantedRoom !== null ? model.messages.at(-1)?.id : undefined
      const join: ReadonlyArray<Cmd> = room === null ? [] : [{ type: 'send', command: { type: 'join', room, ...(since === undefined ? {} : { since }) } }]
      return [{ ...model, me: frame.user, rooms: frame.rooms, wantedRoom: room, connection: { state: 'online' } }, join]
    }
    case 'joined':
      return joined(model, frame)
    case 'user_joined':
      if (frame.room !== model.room || model.users.some((u) => u.username === frame.user.username)) return [model, []]
      return [{ ...model, users: [...model.users, frame.user] }, []]
    case 'user_left': {
      if (frame.room !== model.room) return [model, []]
      if (frame.user.username === model.me?.username) return [{ ...model, room: null, wantedRoom: null, users: [], typing: [] }, []]
      const gone = (u: PublicUser) => u.username !== frame.user.username
      return [{ ...model, users: model.users.filter(gone), typing: model.typing.filter(gone) }, []]
    }
    case 'message':
      if (frame.room !== model.room) return [model, []]
      return [{ ...model, messages: mergeMessages(model.messages, [withoutType(frame)]) }, []]
    case 'ack':
      return acked(model, frame)
    case 'typing': {
      if (frame.room !== model.room) return [model, []]
      const others = model.typing.filter((u) => u.username !== frame.user.username)
      return [{ ...model, typing: frame.typing ? [...others, frame.user] : others }, []]
    }
    case 'history':
      if (frame.room !== model.room) return [{ ...model, loadingOlder: false }, []]
      return [{ ...model, messages: mergeMessages(frame.messages, model.messages), hasOlder: frame.messages.length >= PAGE, loadingOlder: false }, []]
    case 'pong':
      return [model, []]
    case 'error': {
      // A refused message leaves the pending list; the notice says why.
      const pending = model.pending.filter((p) => p.clientId !== frame.ref)
      const details = (frame.details ?? []).map((d) => (d.path === '' ? d.message : `${d.path} ${d.message}`)).join('; ')
      const text = details === '' ? frame.message : `${frame.message}: ${details}`
      return [notice({ ...model, pending, loadingOlder: false }, text), []]
    }
  }
}

const joined = (model: Model, frame: Extract<ServerFrame, { type: 'joined' }>): Step => {
  const sameRoom = frame.room === model.wantedRoom && model.messages.every((m) => m.room === frame.room)
  // A catch-up (same room, no gap) extends what we have; anything else starts the room afresh.
  const messages = sameRoom && frame.gap !== true ? mergeMessages(model.messages, frame.history) : frame.history
  const hasOlder = sameRoom && frame.gap !== true ? model.hasOlder || frame.history.length >= PAGE : frame.history.length >= PAGE
  const resend = model.pending.map((pending): Cmd => ({ type: 'send', command: messageCommand(pending) }))
  return [
    { ...model, room: frame.room, wantedRoom: frame.room, users: frame.users, typing: [], messages, hasOlder, loadingOlder: false },
    [...(sameRoom ? resend : []), { type: 'loadRooms' }],
  ]
}

const acked = (model: Model, frame: Extract<ServerFrame, { type: 'ack' }>): Step => {
  const pending = model.pending.find((p) => p.clientId === frame.clientId)
  if (pending === undefined || model.me === null || model.room === null) return [model, []]
  const message: ChatMessage = {
    id: frame.id,
    room: model.room,
    user: model.me,
    text: pending.text,
    sentAt: frame.sentAt,
    clientId: pending.clientId,
    ...(pending.attachments.length === 0 ? {} : { attachments: [...pending.attachments] }),
  }
  return [{ ...model, pending: model.pending.filter((p) => p !== pending), messages: mergeMessages(model.messages, [message]) }, []]
}

const withoutType = ({ type: _type, ...message }: Extract<ServerFrame, { type: 'message' }>): ChatMessage => message

/** Ids are zero-padded, so string order is id order; duplicates (a catch-up overlapping) are dropped. */
export const mergeMessages = (a: ReadonlyArray<ChatMessage>, b: ReadonlyArray<ChatMessage>): ReadonlyArray<ChatMessage> => {
  const byId = new Map<string, ChatMessage>()
  for (const message of [...a, ...b]) byId.set(message.id, message)
  return [...byId.values()].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0))
}

/** "ana is typing…", "ana and bia are typing…", "3 people are typing…". */
export const typingLine = (typing: ReadonlyArray<PublicUser>): string => {
  const names = typing.map((u) => u.name)
  if (names.length === 0) return ''
  if (names.length === 1) return `${names[0]} is typing…`
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`
  return `${names.length} people are typing…`
}
