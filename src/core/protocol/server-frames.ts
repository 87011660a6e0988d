import * as t from 'io-ts'
import { Attachment } from '../uploads.js'

// What the server sends. Plain codecs (no brands): they describe the wire, and a client decodes with them.

export const PublicUser = t.type({ username: t.string, name: t.string }, 'PublicUser')
export type PublicUser = t.TypeOf<typeof PublicUser>

/**
 * A room as one user sees it in lists (`GET /rooms`, `welcome`, `room_added`, `room_updated`). `members`:
 * distinct users present, on any process. `name`: for a conversation, the other person's name (`with`).
 * `owner`: the creator's username, for a room someone made. `archived`: no new messages. `member`: whether
 * the user belongs to it; `unread`: how many of its messages they have not read, at most the cap (500), 0
 * for a room they do not belong to and for the room they are in.
 */
export const RoomSummary = t.intersection(
  [
    t.type({
      id: t.string,
      name: t.string,
      members: t.number,
      visibility: t.keyof({ public: null, private: null, direct: null }),
      unread: t.number,
      member: t.boolean,
    }),
    t.partial({ topic: t.string, owner: t.string, archived: t.boolean, with: PublicUser }),
  ],
  'RoomSummary',
)
export type RoomSummary = t.TypeOf<typeof RoomSummary>

export const ChatMessage = t.intersection(
  [
    t.type({ id: t.string, room: t.string, user: PublicUser, text: t.string, sentAt: t.string }),
    t.partial({ clientId: t.string, attachments: t.array(Attachment) }),
  ],
  'ChatMessage',
)
export type ChatMessage = t.TypeOf<typeof ChatMessage>

/**
 * `protocol` is the version the connection speaks (see protocol/version.ts). `room`: the room the user is
 * already in (from another tab); its `joined` follows by itself, so a new tab need not join anything.
 */
export const WelcomeFrame = t.intersection(
  [
    t.type({ type: t.literal('welcome'), user: PublicUser, rooms: t.array(RoomSummary), protocol: t.number }),
    t.partial({ room: t.string }),
  ],
  'WelcomeFrame',
)
/**
 * `typing`: who is typing in the room as the frame is sent, never the joining user. `count`: distinct users
 * present, on any process. `users`: in version 1 every one of them; in version 2 (docs/big-rooms.md) the
 * first page, at most `MEMBER_PAGE`: the users typing first, then the others from the latest arrival back,
 * with `cursor` for the `members` command when more remain.
 */
export const JoinedFrame = t.intersection(
  [
    t.type({
      type: t.literal('joined'),
      room: t.string,
      users: t.array(PublicUser),
      count: t.number,
      typing: t.array(PublicUser),
      history: t.array(ChatMessage),
    }),
    t.partial({ gap: t.boolean, cursor: t.string, ref: t.string }),
  ],
  'JoinedFrame',
)
export const UserJoinedFrame = t.type(
  { type: t.literal('user_joined'), room: t.string, user: PublicUser },
  'UserJoinedFrame',
)
export const LeaveReason = t.keyof({ left: null, moved: null, disconnected: null, removed: null }, 'LeaveReason')
export type LeaveReason = t.TypeOf<typeof LeaveReason>
export const UserLeftFrame = t.type(
  { type: t.literal('user_left'), room: t.string, user: PublicUser, reason: LeaveReason },
  'UserLeftFrame',
)
/** A departure in a `presence` frame: who, and why (as `user_left` says it). */
export const Departure = t.type({ user: PublicUser, reason: LeaveReason }, 'Departure')
export type Departure = t.TypeOf<typeof Departure>
/**
 * Version 2: the arrivals and departures of one room, gathered for 50 ms from the first. `joins`: users
 * present at the window's end who arrived during it; `leaves`: users gone at its end who left during it
 * (the last reason). Applied to any view of the room taken during the window (a `joined`, a `members`
 * page), it gives the room as it stands; `count` is its size then. With `reset` (the window held more
 * changes than a page): `joins` is the room's first page as it stands, to be taken instead of whatever
 * the client held, and `cursor` pages on from it, as after `joined`.
 */
export const PresenceFrame = t.intersection(
  [
    t.type({ type: t.literal('presence'), room: t.string, joins: t.array(PublicUser), leaves: t.array(Departure), count: t.number }),
    t.partial({ reset: t.literal(true), cursor: t.string }),
  ],
  'PresenceFrame',
)
/** The answer to `members`: the next page after its cursor, in the `joined` order; `cursor` when more remain. */
export const MembersFrame = t.intersection(
  [t.type({ type: t.literal('members'), room: t.string, users: t.array(PublicUser), count: t.number }), t.partial({ cursor: t.string, ref: t.string })],
  'MembersFrame',
)
export const MessageFrame = t.intersection([t.type({ type: t.literal('message') }), ChatMessage], 'MessageFrame')
/** `room` is where the message was stored: an ack may arrive after its sender moved on. */
export const AckFrame = t.intersection(
  [t.type({ type: t.literal('ack'), id: t.string, room: t.string, sentAt: t.string }), t.partial({ ref: t.string, clientId: t.string })],
  'AckFrame',
)
export const TypingFrame = t.type(
  { type: t.literal('typing'), room: t.string, user: PublicUser, typing: t.boolean },
  'TypingFrame',
)
export const HistoryFrame = t.intersection(
  [t.type({ type: t.literal('history'), room: t.string, messages: t.array(ChatMessage) }), t.partial({ ref: t.string })],
  'HistoryFrame',
)
export const ErrorCode = t.keyof(
  {
    bad_request: null,
    not_in_room: null,
    unknown_room: null,
    invalid_attachment: null,
    rate_limited: null,
    room_archived: null,
    internal_error: null,
  },
  'ErrorCode',
)
export type ErrorCode = t.TypeOf<typeof ErrorCode>
/** `room`: on an error answering a `message`, the room the message was for, when the server knew it. */
export const ErrorFrame = t.intersection(
  [
    t.type({ type: t.literal('error'), code: ErrorCode, message: t.string }),
    t.partial({
      ref: t.string,
      room: t.string,
      details: t.array(t.type({ path: t.string, message: t.string })),
      retryAfterMs: t.number,
    }),
  ],
  'ErrorFrame',
)
/** The answer to `ping`, with its `ref`. */
export const PongFrame = t.intersection([t.type({ type: t.literal('pong') }), t.partial({ ref: t.string })], 'PongFrame')

/** A room the user can now see or belongs to: made (public, or theirs), they were added, a new conversation. */
export const RoomAddedFrame = t.type({ type: t.literal('room_added'), room: RoomSummary }, 'RoomAddedFrame')
/** A room the user can see was renamed, given a topic, or archived. */
export const RoomUpdatedFrame = t.type({ type: t.literal('room_updated'), room: RoomSummary }, 'RoomUpdatedFrame')
/** The user no longer belongs to this room (removed, or left it): a private one is gone from their view. */
export const RoomRemovedFrame = t.type({ type: t.literal('room_removed'), room: t.string }, 'RoomRemovedFrame')

/**
 * The user's unread count in a room they belong to changed: +1 per message delivered while they are not
 * there, 0 when they enter it, the recount after a `read`. Counts only, never content.
 */
export const UnreadFrame = t.type({ type: t.literal('unread'), room: t.string, count: t.number }, 'UnreadFrame')

/** Every frame the server sends, by its `type`. */
export const serverFrameCodecs = {
  welcome: WelcomeFrame,
  joined: JoinedFrame,
  user_joined: UserJoinedFrame,
  user_left: UserLeftFrame,
  message: MessageFrame,
  ack: AckFrame,
  typing: TypingFrame,
  history: HistoryFrame,
  error: ErrorFrame,
  pong: PongFrame,
  room_added: RoomAddedFrame,
  room_updated: RoomUpdatedFrame,
  room_removed: RoomRemovedFrame,
  unread: UnreadFrame,
  presence: PresenceFrame,
  members: MembersFrame,
} as const

export const ServerFrame = t.union([
  WelcomeFrame,
  JoinedFrame,
  UserJoinedFrame,
  UserLeftFrame,
  MessageFrame,
  AckFrame,
  TypingFrame,
  HistoryFrame,
  ErrorFrame,
  PongFrame,
  RoomAddedFrame,
  RoomUpdatedFrame,
  RoomRemovedFrame,
  UnreadFrame,
  PresenceFrame,
  MembersFrame,
])
export type ServerFrame = t.TypeOf<typeof ServerFrame>
export type ErrorFrame = t.TypeOf<typeof ErrorFrame>
export type JoinedFrame = t.TypeOf<typeof JoinedFrame>
export type AckFrame = t.TypeOf<typeof AckFrame>
export type PresenceFrame = t.TypeOf<typeof PresenceFrame>
export type MembersFrame = t.TypeOf<typeof MembersFrame>
