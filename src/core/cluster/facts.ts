import * as t from 'io-ts'
import { MessageText, PersonName, RoomId, SessionId, UserId, Username } from '../brands.js'
import { Attachment } from '../uploads.js'
import { LeaveReason as LeaveReasonCodec } from '../protocol/server-frames.js'
import type { StoredMessage } from '../chat/state.js'

// What one Sala process tells the others sharing its chat (issue 15). Facts, not socket lists: each
// process fans a fact out to its own connections. A fact travels at most once; whoever misses one fills
// the gap from the store (messages carry their room's seq, so a gap shows).

const ChatUserCodec = t.readonly(t.type({ id: UserId, username: Username, name: PersonName }), 'ChatUser')

const StoredMessageCodec: t.Type<StoredMessage, StoredMessage, unknown> = t.intersection(
  [
    t.type({
      seq: t.Int,
      room: RoomId,
      user: ChatUserCodec,
      text: t.union([MessageText, t.literal('')]),
      attachments: t.readonlyArray(Attachment),
      sentAt: t.number,
    }),
    t.partial({ clientId: t.string }),
  ],
  'StoredMessage',
) as unknown as t.Type<StoredMessage, StoredMessage, unknown>

/** Messages another process stored, in the order it stored them (seq order within each room). */
export const MessagesStoredFact = t.type({ type: t.literal('messages_stored'), messages: t.readonlyArray(StoredMessageCodec) }, 'MessagesStoredFact')

/** Where one user is on the announcing process: in `room`, or (null) in no room there any more. */
export const UserPresenceFact = t.intersection(
  [
    t.type({ type: t.literal('user_presence'), user: ChatUserCodec, room: t.union([RoomId, t.null]), move: t.number }),
    t.partial({ reason: LeaveReasonCodec }),
  ],
  'UserPresenceFact',
)

/**
 * Everyone in a room on the announcing process, replacing what was known of it. `answer: false` asks every
 * process that hears it for its own (sent by a process that starts, or whose link came back).
 */
export const PresenceSnapshotFact = t.type(
  { type: t.literal('presence_snapshot'), users: t.readonlyArray(t.type({ user: ChatUserCodec, room: RoomId, move: t.number })), answer: t.boolean },
  'PresenceSnapshotFact',
)

/** The announcing process is alive; one that is not heard from for PRESENCE_TTL is gone. */
export const HeartbeatFact = t.type({ type: t.literal('heartbeat') }, 'HeartbeatFact')

/**
 * A user started (or goes on) typing in a room on the announcing process, for `forMs` unless announced
 * again, or stopped. Without `forMs` (an older process), TYPING_TIMEOUT of the process that hears it.
 */
export const TypingFact = t.intersection(
  [t.type({ type: t.literal('typing'), user: ChatUserCodec, room: RoomId, typing: t.boolean }), t.partial({ forMs: t.number })],
  'TypingFact',
)

/**
 * The announcing process is stopping cleanly (SIGTERM: a deploy, a scale-in): its users' departures went
 * out as its sockets closed, and it is gone now rather than after PRESENCE_TTL.
 */
export const ProcessStoppingFact = t.type({ type: t.literal('process_stopping') }, 'ProcessStoppingFact')

/** A session was revoked (logout, revocation): its connections close on every process. */
export const SessionRevokedFact = t.type({ type: t.literal('session_revoked'), session: SessionId, expiresAt: t.number }, 'SessionRevokedFact')

const RoomProfileCodec = t.readonly(
  t.type({
    kind: t.keyof({ public: null, private: null, direct: null }),
    topic: t.union([t.string, t.null]),
    owner: t.union([ChatUserCodec, t.null]),
    archivedAt: t.union([t.number, t.null]),
    pair: t.readonlyArray(ChatUserCodec),
  }),
  'RoomProfile',
)

/** A room of the catalog was made or changed on the announcing process (stored there first). */
export const RoomSavedFact = t.type(
  { type: t.literal('room_saved'), room: t.readonly(t.type({ id: RoomId, name: t.string, profile: RoomProfileCodec })) },
  'RoomSavedFact',
)

/** A user was added to a room or removed from it (stored first); `readSeq`: the marker an addition starts at. */
export const MembershipChangedFact = t.type(
  {
    type: t.literal('membership_changed'),
    room: RoomId,
    user: ChatUserCodec,
    change: t.keyof({ added: null, removed: null }),
    readSeq: t.number,
  },
  'MembershipChangedFact',
)

/**
 * A user's read marker in a room moved to `seq` by their `read` on the announcing process (stored there):
 * their connections here recount. Reading by presence needs no fact: a user's tabs share one room.
 */
export const ReadMovedFact = t.type({ type: t.literal('read_moved'), user: UserId, room: RoomId, seq: t.number }, 'ReadMovedFact')

export const ClusterFact = t.union(
  [
    MessagesStoredFact,
    UserPresenceFact,
    PresenceSnapshotFact,
    HeartbeatFact,
    TypingFact,
    SessionRevokedFact,
    ProcessStoppingFact,
    RoomSavedFact,
    MembershipChangedFact,
    ReadMovedFact,
  ],
  'ClusterFact',
)
export type ClusterFact = t.TypeOf<typeof ClusterFact>
