import * as I from 'immutable'
import type { ConnectionId, MessageText, PersonName, RoomId, SessionId, UserId, Username } from '../brands.js'
import type { Attachment } from '../uploads.js'
import type { LimitKind, Limits } from './limits.js'
import type { Rate } from './rate-limit.js'
import type { ProtocolVersion } from '../protocol/version.js'
import type { LeaveReason } from '../protocol/server-frames.js'

// Persistent (structurally shared) maps: a step copies only the path it changes, so a connect or a
// message costs O(log n) whatever the number of users, and an unchanged state is the same object.

export interface ChatUser {
  readonly id: UserId
  readonly username: Username
  readonly name: PersonName
}

/** A user with at least one open connection. Presence is per user, not per connection. */
export interface Presence {
  readonly user: ChatUser
  /** In opening order; at most `maxConnectionsPerUser`, so a plain array beats a persistent set in memory. */
  readonly connections: ReadonlyArray<ConnectionId>
  readonly room: RoomId | null
  /**
   * The user's room changes so far, a Lamport clock shared with the other processes: when the user's tabs
   * on two processes disagree about the room, the later move wins (the greater count, then the greater
   * process id), and every tab follows it.
   */
  readonly moves: number
  /**
   * The rooms the user belongs to (stored membership, docs/rooms.md), read from the store when their first
   * connection here opened and kept current since: who may enter a private room or a conversation, and
   * what the user's lists show.
   */
  readonly memberships: I.Map<RoomId, Membership>
}

/**
 * A user's membership of one room: their read marker (the highest seq they have read) and how many of the
 * room's messages after it they have not read, at most `unreadCap(settings)`. While the user is present in
 * the room the marker is implicitly the room's last seq (`unread` 0) and `readSeq` may lag it: it is brought
 * up, and written, when they leave the room, move, disconnect or send `read` (docs/rooms.md).
 */
export interface Membership {
  readonly readSeq: number
  readonly unread: number
}

/** `public`: anyone enters; `private`: members only; `direct`: a conversation of two (docs/rooms.md). */
export type RoomKind = 'public' | 'private' | 'direct'

/** What a room is, besides who is in it and what was said there. */
export interface RoomProfile {
  readonly kind: RoomKind
  /** 0-250 characters; null for none. */
  readonly topic: string | null
  /** Who may rename, archive, add and remove members: the creator; null for the ROOMS rooms and conversations. */
  readonly owner: ChatUser | null
  /** When it was archived (ms): no new messages, history still readable to whoever may enter it. */
  readonly archivedAt: number | null
  /** A conversation's two people; empty for every other kind. */
  readonly pair: ReadonlyArray<ChatUser>
}

/** The ROOMS rooms: public, ownerless, never archived. One object for all of them. */
export const CONFIGURED_ROOM: RoomProfile = { kind: 'public', topic: null, owner: null, archivedAt: null, pair: [] }

/** A room of the catalog as the store keeps it (made by someone) or configuration gives it. */
export interface RoomEntry {
  readonly id: RoomId
  readonly name: string
  readonly profile: RoomProfile
}

export interface Connection {
  readonly user: UserId
  readonly session: SessionId
  readonly sessionExpiresAt: number
  /** The protocol version it speaks (protocol/version.ts): how it hears arrivals, departures and members. */
  readonly protocol: ProtocolVersion
}

export interface StoredMessage {
  readonly seq: number
  readonly room: RoomId
  readonly user: ChatUser
  /** Empty only when the message carries attachments. */
  readonly text: MessageText | ''
  readonly attachments: ReadonlyArray<Attachment>
  readonly sentAt: number
  readonly clientId?: string
}

/**
 * A message accepted and on its way to the store, not numbered yet: the store gives it its `seq` in the
 * transaction that keeps it (any number of processes may write one room). `key` is this process's
 * provisional name for it, unique among the messages it has posted, and names it in the store's answer.
 */
export interface NewMessage extends Omit<StoredMessage, 'seq'> {
  readonly key: number
}

/** Who is waiting for the ack of a message that is being stored. */
export interface AckWaiter {
  readonly connection: ConnectionId
  readonly ref?: string
}

export interface PendingMessage {
  readonly message: NewMessage
  readonly waiters: ReadonlyArray<AckWaiter>
}

export interface RoomState {
  readonly id: RoomId
  readonly name: string
  readonly profile: RoomProfile
  readonly members: I.OrderedSet<UserId>
  /** Highest sequence number the store is known to have given a message of this room. */
  readonly lastSeq: number
  /** The latest stored messages, oldest first, at most `settings.recentCapacity` of them. */
  readonly recent: I.List<StoredMessage>
  /** Messages on their way to the store, by their provisional `key`, in the order they were posted. */
  readonly pending: I.OrderedMap<number, PendingMessage>
  /** `clientIdKey(user, clientId)` -> where that message is, for every message in `recent` or `pending` that has one. */
  readonly clientIds: I.Map<string, ClientIdHolder>
  /**
   * Stored messages that cannot be delivered yet, by seq: one with a lower seq has not been seen (another
   * process stored it and its announcement has not come, or was lost). Empty unless `settings.cluster`.
   */
  readonly held: I.Map<number, Arrival>
  readonly gap: GapState
  /** Reads of this room's store asked so far (`fillGap`), to tell which held messages a read must have seen. */
  readonly fillsAsked: number
  /**
   * Acks that wait for the message they name to be delivered here, by its seq (cluster only): a resend the
   * store recognised, whose original another process stored and this one has not delivered yet. Sent with
   * it, so that no ack overtakes the room's order.
   */
  readonly lateAcks: I.Map<number, ReadonlyArray<LateAck>>
  /**
   * Users in this room through other processes (cluster only), with the processes they are there on.
   * Present in the room = in `members` or here; `members` stays this process's own.
   */
  readonly remote: I.Map<UserId, RemoteMember>
  /**
   * The users connected here who belong to this room and are not present in it: those whose unread count a
   * delivered message raises. Kept with the memberships and presence it derives from (connect, disconnect,
   * membership changes, join, leave), so a message costs one increment per follower, not a walk of every user.
   */
  readonly followers: I.Set<UserId>
  /**
   * Everyone present (here or through other processes) in the order they arrived, as seats numbered by
   * arrival: what member pages walk (roster.ts). A seat is emptied when its user leaves and the empty
   * ones are dropped once they outnumber the rest, so a page costs O(page), not O(members).
   */
  readonly roster: Roster
  /**
   * Arrivals and departures gathered for the version-2 members since the window opened (presence.ts), by
   * user, in the order first seen; empty when no window is open. Version-1 members heard each at once.
   */
  readonly gathered: I.OrderedMap<UserId, PresenceChange>
}

/** The room's present users in arrival order (see `RoomState.roster`). */
export interface Roster {
  /** Seats in arrival order; numbers strictly increase along the list. */
  readonly seats: I.List<Seat>
  /** Each present user's seat number. */
  readonly seatOf: I.Map<UserId, number>
  /** The number the next arrival gets. */
  readonly next: number
  /** How many seats in `seats` are empty. */
  readonly empty: number
}

/** A place in a roster: who took it (null once they left) and its number, which never changes. */
export interface Seat {
  readonly number: number
  readonly user: UserId | null
}

export const EMPTY_ROSTER: Roster = { seats: I.List(), seatOf: I.Map(), next: 1, empty: 0 }

/** Where a user stands at the end of a presence window: present (arrived during it) or gone (left during it, why). */
export type PresenceChange =
  | { readonly type: 'arrived'; readonly user: ChatUser }
  | { readonly type: 'left'; readonly user: ChatUser; readonly reason: LeaveReason }

export interface RemoteMember {
  readonly user: ChatUser
  readonly processes: I.Set<ProcessId>
}

/** Another Sala process sharing this chat, named by the id it announces with (new at every start). */
export type ProcessId = string

/** What this process knows of another one: when it last heard from it, and who is in which room there. */
export interface Peer {
  readonly heardAt: number
  readonly users: I.Map<UserId, PeerPresence>
}

/** A user in a room on another process, and the move that took them there (see `Presence.moves`). */
export interface PeerPresence {
  readonly user: ChatUser
  readonly room: RoomId
  readonly move: number
}

/**
 * A stored message on its way to this process's members: numbered by the store, from this process (then
 * `waiters` wait for its ack and `key` was its provisional name) or from another one (no waiters).
 */
export interface Arrival {
  readonly message: StoredMessage
  readonly waiters: ReadonlyArray<AckWaiter>
  /**
   * When held: how many reads of the room's store had been asked by then (`RoomState.fillsAsked`). A read
   * asked later must find it, since a message is stored before it is announced; one that does not names no
   * stored message (a forged announcement, or one the database lost), and it is dropped.
   */
  readonly heldAfter?: number
}

/**
 * Whether a room waits for messages missing between what it delivered and what it holds (cluster only):
 * `waiting` since the first hole was seen (the missing message may still come from its process), then
 * `filling` while the store is asked for it.
 */
export type GapState =
  | { readonly state: 'none' }
  | { readonly state: 'waiting'; readonly since: number }
  /** `ask`: which read of the room this is (`RoomState.fillsAsked` when it was asked). */
  | { readonly state: 'filling'; readonly ask: number }

/** A read of the room's store is asked now: the room counts it and waits for it (see `Arrival.heldAfter`). */
export const askingFill = (room: RoomState): RoomState => ({ ...room, fillsAsked: room.fillsAsked + 1, gap: { state: 'filling', ask: room.fillsAsked + 1 } })

/** An ack waiting for its message (`RoomState.lateAcks`). */
export interface LateAck {
  readonly waiter: AckWaiter
  /** The original's seq and time, as the store answered them. */
  readonly sentAt: number
  readonly clientId?: string
}

/** A clientId's message: still on its way to the store (by key), or stored (by seq). */
export type ClientIdHolder = { readonly pending: number } | { readonly stored: number }

export interface ChatSettings {
  readonly defaultRoom: RoomId
  readonly typingTimeoutMs: number
  /** Messages a plain `join` receives. */
  readonly joinHistory: number
  /** Most messages a catching-up `join` (with `since`) receives. */
  readonly catchUpLimit: number
  /**
   * Messages kept per room; one more than `catchUpLimit` so a catch-up can tell a gap from no gap, and one
   * more than the unread cap (`unreadCap`), so memory alone counts a room's unread messages exactly up to it.
   */
  readonly recentCapacity: number
  readonly rates: Readonly<Record<LimitKind, Rate>>
  readonly maxConnectionsPerUser: number
  /** Most members a `joined` or `members` frame lists to a version-2 connection (MEMBER_PAGE). */
  readonly memberPage: number
  /**
   * How long arrivals and departures in a room are gathered, from the first, before the version-2 members
   * hear them in one `presence` frame (ms; the spec says 50, at most 100).
   */
  readonly presenceWindowMs: number
  /** Other processes share this chat (issue 15); null when this process is the only one. */
  readonly cluster: ClusterSettings | null
}

export interface RemoteTypist {
  readonly user: ChatUser
  readonly room: RoomId
  readonly until: number
}

export interface ClusterSettings {
  /**
   * How long a room waits for a missing message to be announced by the process that stored it before it
   * asks the store (ms). Announcements of one room from several processes arrive in any order; a short
   * wait spares the store a read for most of those holes.
   */
  readonly gapWaitMs: number
  /** A process not heard from for this long (ms) is gone: its users leave everywhere (PRESENCE_TTL). */
  readonly presenceTtlMs: number
  /** This process's id in the cluster: breaks ties between two moves of one user counted alike. */
  readonly processId: ProcessId
}

export interface ChatState {
  readonly settings: ChatSettings
  readonly rooms: I.OrderedMap<RoomId, RoomState>
  readonly users: I.Map<UserId, Presence>
  readonly connections: I.Map<ConnectionId, Connection>
  /** Sessions revoked while this process runs, until they would have expired anyway. */
  readonly revokedSessions: I.Map<SessionId, number>
  /**
   * Rate-limit bookkeeping per user, across all their connections. It outlives the user's presence, so
   * reconnecting does not refill an allowance; an entry goes once it would be full again anyway.
   */
  readonly limits: I.Map<UserId, Limits>
  /** Who is typing, until when. Only typists are here, so ending typing walks only them. */
  readonly typing: I.Map<UserId, number>
  /**
   * Typists here whose typing the other processes were told of, until when they were told it lasts
   * (cluster only): a typist who goes on typing is announced again once half of that has passed.
   */
  readonly typingAnnounced: I.Map<UserId, number>
  /**
   * Typists on other processes, in which room and until when (this process's clock): their typing ends
   * here when told, when they leave the room, or when the time they were announced for runs out, so a
   * `typing: false` lost with the link does not leave them typing for good.
   */
  readonly remoteTypists: I.Map<UserId, RemoteTypist>
  /**
   * When each sweep of a clock tick is next due. A tick walks the connections (expired sessions), the
   * revoked sessions or the limits only once something there may be due, so it costs what is due, not
   * the number of users. A due time may be early (what set it has gone since), never late.
   */
  readonly sweepsDueAt: SweepsDueAt
  /** The next provisional key a posted message gets (see `NewMessage`). */
  readonly nextKey: number
  /** The other processes sharing this chat, as far as their announcements tell (cluster only). */
  readonly peers: I.Map<ProcessId, Peer>
  /** Joins whose `joined` waits for this process to deliver up to their `since` (cluster only; see joined.ts). */
  readonly catchingUp: I.Map<ConnectionId, CatchingUp>
  /**
   * Membership changes applied so far (here or told by another process). A reload of the memberships
   * (after the cluster link came back) compares it with the count when it was asked: a change that came in
   * meanwhile is newer than what the reload read, so the reload takes away nothing then (see catalog.ts).
   */
  readonly membershipChanges: number
  /**
   * The cluster link came back and the catalog and memberships are being read again (`reloadRooms`): the
   * rooms read what they missed only once that answer is applied, so a member removed during the outage
   * is out before any message of the outage is delivered here.
   */
  readonly roomsReloading: boolean
  /**
   * Rooms with a presence window open, and when it closes (ms); null for a window opened by this event,
   * timed when the step ends (presence.ts), as the handlers that open one do not all carry the time.
   */
  readonly presenceWindows: I.Map<RoomId, number | null>
  /**
   * The connections speaking protocol version 1, who hear each arrival and departure at once: kept apart so
   * that an arrival in a room of version-2 members costs nothing per member (presence.ts).
   */
  readonly legacyConnections: I.Set<ConnectionId>
}

/**
 * A connection that joined `room` with `since` naming a message this process has not delivered yet (seen
 * through another process): its `joined` is sent once it has, and until then it hears nothing of the room.
 */
export interface CatchingUp {
  readonly room: RoomId
  readonly user: UserId
  /** The seq its `since` names. */
  readonly since: number
  readonly ref?: string
  /**
   * A read of the store to its end was asked after this join: once answered, a `since` beyond what it found
   * names no message (the store had every message anyone was told of), and the join is answered as a gap.
   */
  readonly readAsked: boolean
}

export interface SweepsDueAt {
  readonly sessions: number
  readonly revoked: number
  readonly limits: number
  /** The earliest room whose wait for a missing message ends (cluster only). */
  readonly gaps: number
  /** When the process heard from longest ago would be declared gone (cluster only). */
  readonly peers: number
  /** When the first typist on another process runs out (cluster only). */
  readonly remoteTypists: number
}

export interface RoomDefinition {
  readonly id: RoomId
  readonly name: string
}

/** What the store knows about a room when the server starts. */
export interface RoomHistory {
  readonly lastSeq: number
  readonly recent: ReadonlyArray<StoredMessage>
}

/**
 * Where unread counts saturate (UNREAD_CAP, docs/rooms.md: 500 by default): derived from the settings, not
 * set apart, because it must stay below `recentCapacity` for memory to count exactly up to it.
 */
export const unreadCap = (settings: Pick<ChatSettings, 'recentCapacity'>): number => settings.recentCapacity - 1

export const DEFAULT_SETTINGS: Omit<ChatSettings, 'defaultRoom'> = {
  typingTimeoutMs: 5000,
  joinHistory: 50,
  catchUpLimit: 500,
  recentCapacity: 501,
  rates: {
    message: { perSecond: 10, burst: 20 },
    typing: { perSecond: 5, burst: 10 },
    history: { perSecond: 5, burst: 10 },
    presence: { perSecond: 5, burst: 10 },
  },
  maxConnectionsPerUser: 10,
  memberPage: 100,
  presenceWindowMs: 50,
  cluster: null,
}

/** The unread cap of the default settings (500): what the store counts up to for the lists. */
export const UNREAD_CAP = unreadCap(DEFAULT_SETTINGS)

/** The chat's settings from the configuration; join/leave share the typing rate. */
export const chatSettingsFrom = (config: {
  readonly typingTimeoutMs: number
  readonly messageRate: number
  readonly messageBurst: number
  readonly typingRate: number
  readonly historyRate: number
  readonly maxConnectionsPerUser: number
  readonly memberPage: number
}): Omit<ChatSettings, 'defaultRoom'> => ({
  ...DEFAULT_SETTINGS,
  typingTimeoutMs: config.typingTimeoutMs,
  rates: {
    message: { perSecond: config.messageRate, burst: config.messageBurst },
    typing: { perSecond: config.typingRate, burst: 2 * config.typingRate },
    history: { perSecond: config.historyRate, burst: 2 * config.historyRate },
    presence: { perSecond: config.typingRate, burst: 2 * config.typingRate },
  },
  maxConnectionsPerUser: config.maxConnectionsPerUser,
  memberPage: config.memberPage,
})

export const initialChatState = (
  /** The ROOMS rooms (the first is the default room), then the stored ones with their profiles. */
  rooms: ReadonlyArray<RoomDefinition & { readonly profile?: RoomProfile }>,
  history: (room: RoomId) => RoomHistory,
  settings: Omit<ChatSettings, 'defaultRoom'> = DEFAULT_SETTINGS,
): ChatState => {
  const first = rooms[0]
  if (first === undefined) throw new TypeError('at least one room is required')
  return {
    settings: { ...settings, defaultRoom: first.id },
    rooms: I.OrderedMap(rooms.map((room) => [room.id, newRoom(room, history(room.id), settings.recentCapacity)])),
    users: I.Map(),
    connections: I.Map(),
    revokedSessions: I.Map(),
    limits: I.Map(),
    typing: I.Map(),
    sweepsDueAt: { sessions: Infinity, revoked: Infinity, limits: Infinity, gaps: Infinity, peers: Infinity, remoteTypists: Infinity },
    typingAnnounced: I.Map(),
    remoteTypists: I.Map(),
    nextKey: 1,
    peers: I.Map(),
    catchingUp: I.Map(),
    membershipChanges: 0,
    roomsReloading: false,
    presenceWindows: I.Map(),
    legacyConnections: I.Set(),
  }
}

/** Moves one sweep's due time earlier (never later: a due time is only pushed back by its sweep). */
export const dueNoLaterThan = (state: ChatState, sweep: keyof SweepsDueAt, at: number): ChatState =>
  at >= state.sweepsDueAt[sweep] ? state : { ...state, sweepsDueAt: { ...state.sweepsDueAt, [sweep]: at } }

export const newRoom = (room: RoomDefinition & { readonly profile?: RoomProfile }, history: RoomHistory, capacity: number): RoomState => {
  const recent = I.List(history.recent).takeLast(capacity)
  return {
    id: room.id,
    name: room.name,
    profile: room.profile ?? CONFIGURED_ROOM,
    members: I.OrderedSet(),
    lastSeq: Math.max(history.lastSeq, recent.last()?.seq ?? 0),
    recent,
    pending: I.OrderedMap(),
    clientIds: I.Map(
      recent.flatMap((m) => (m.clientId === undefined ? [] : [[clientIdKey(m.user.id, m.clientId), { stored: m.seq }] as const])),
    ),
    held: I.Map(),
    gap: { state: 'none' },
    fillsAsked: 0,
    lateAcks: I.Map(),
    remote: I.Map(),
    followers: I.Set(),
    roster: EMPTY_ROSTER,
    gathered: I.OrderedMap(),
  }
}

export const clientIdKey = (user: UserId, clientId: string): string => `${user}\u0000${clientId}`
