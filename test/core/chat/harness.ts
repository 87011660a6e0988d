import * as E from 'fp-ts/lib/Either.js'
import type { ConnectionId, RoomId, UserId } from '../../../src/core/brands.js'
import { decodeClientFrame, type ChatCommand } from '../../../src/core/protocol/client-commands.js'
import type { ServerFrame } from '../../../src/core/protocol/server-frames.js'
import type { Effect } from '../../../src/core/chat/effects.js'
import type { ChatEvent } from '../../../src/core/chat/events.js'
import type { ProtocolVersion } from '../../../src/core/protocol/version.js'
import { initialChatState, type ChatUser, type ChatSettings, type ChatState, type NewMessage, type RoomEntry, type RoomHistory, type StoredMessage } from '../../../src/core/chat/state.js'
import type { DuplicateMessage, MessageNumbered, StoreFailure } from '../../../src/core/chat/events.js'
import { step } from '../../../src/core/chat/step.js'
import type { Upload } from '../../../src/core/uploads.js'
import { connectionId, rooms, sessionId, users } from '../../arbitraries.js'

/**
 * Plays the shell's part around the pure core, as simply as possible: closes connections the core asks to
 * close, stores messages in a list when told to, answers history from that list. Every frame a
 * connection receives is recorded, so tests can check what each client would believe.
 */
// Small numbers, so that random histories reach the edges: gaps, evictions, rate limits, the connection cap.
export const SETTINGS = {
  typingTimeoutMs: 3000,
  joinHistory: 3,
  catchUpLimit: 5,
  recentCapacity: 6,
  rates: {
    message: { perSecond: 2, burst: 4 },
    typing: { perSecond: 2, burst: 3 },
    history: { perSecond: 2, burst: 3 },
    presence: { perSecond: 2, burst: 4 },
  },
  maxConnectionsPerUser: 2,
  memberPage: 3,
  presenceWindowMs: 50,
  cluster: null,
} as const

export interface Delivery {
  readonly to: ConnectionId
  readonly frame: ServerFrame
}

export interface StepRecord {
  readonly before: ChatState
  readonly event: ChatEvent
  readonly after: ChatState
  readonly effects: ReadonlyArray<Effect>
}

/** Limits no example reaches, for tests about something else. */
export const UNLIMITED = {
  ...SETTINGS,
  rates: {
    message: { perSecond: 1000, burst: 1000 },
    typing: { perSecond: 1000, burst: 1000 },
    history: { perSecond: 1000, burst: 1000 },
    presence: { perSecond: 1000, burst: 1000 },
  },
}

/** The state with the rate-limit bookkeeping blanked: what "nothing changed" compares. */
export const withoutLimits = (state: ChatState) => ({ ...state, limits: null, sweepsDueAt: { ...state.sweepsDueAt, limits: null } })

export class World {
  state: ChatState

  constructor(settings: Omit<ChatSettings, 'defaultRoom'> = SETTINGS) {
    this.state = initialChatState(rooms, () => ({ lastSeq: 0, recent: [] }), settings)
  }

  at = 1_700_000_000_000
  /** Who each slot signs in as (slot modulo their number); a test of big rooms sets more of them. */
  people: ReadonlyArray<ChatUser> = users
  /** The protocol version each slot's connections negotiate. */
  protocolOf: (slot: number) => ProtocolVersion = () => 1
  readonly storing: NewMessage[] = []
  readonly stored: StoredMessage[] = []
  readonly received = new Map<ConnectionId, ServerFrame[]>()
  readonly generation = new Map<number, number>()
  readonly sessionGeneration = new Map<number, number>()
  readonly steps: StepRecord[] = []
  readonly observers: Array<(record: StepRecord) => void> = []

  dispatch(event: ChatEvent): ReadonlyArray<Effect> {
    const before = this.state
    const [after, effects] = step(before, event)
    this.state = after
    const record = { before, event, after, effects }
    this.steps.push(record)
    for (const observe of this.observers) observe(record)
    const followUps: ChatEvent[] = []
    for (const effect of effects) this.interpret(effect, followUps)
    for (const next of followUps) this.dispatch(next)
    return effects
  }

  private interpret(effect: Effect, followUps: ChatEvent[]): void {
    switch (effect.type) {
      case 'send':
        for (const to of effect.to) this.framesOf(to).push(effect.frame)
        return
      case 'close':
        followUps.push({ type: 'ConnectionClosed', connection: effect.connection, at: this.at })
        return
      case 'storeMessage':
        this.storing.push(effect.message)
        return
      case 'loadHistory': {
        const page = this.stored.filter((m) => m.room === effect.room && m.seq < effect.before).slice(-effect.limit)
        const event = { type: 'HistoryLoaded', connection: effect.connection, room: effect.room, messages: page, at: this.at } as const
        followUps.push(effect.ref === undefined ? event : { ...event, ref: effect.ref })
        return
      }
      case 'fillGap': {
        if (this.holdFills) this.heldFills.push(effect)
        else followUps.push(this.readStore(effect))
        return
      }
      case 'storeMembership': {
        const stored = this.memberStore.get(effect.user) ?? new Map<RoomId, number>()
        this.memberStore.set(effect.user, stored)
        if (!stored.has(effect.room)) stored.set(effect.room, effect.readSeq)
        return
      }
      case 'storeReadMarker': {
        // As the store: never back, and nothing for someone who is not a member.
        const stored = this.memberStore.get(effect.user)
        const marker = stored?.get(effect.room)
        if (stored !== undefined && marker !== undefined && effect.seq > marker) stored.set(effect.room, effect.seq)
        return
      }
      case 'reloadRooms': {
        if (this.holdReloads) this.heldReloads.push(effect)
        else followUps.push(this.readRooms(effect))
        return
      }
      case 'wakeAt':
        if (this.timer === undefined || effect.at < this.timer) this.timer = effect.at
        return
      case 'log':
      case 'announce':
        return
    }
  }

  /** The rooms saved through `saveRoom` (or put here by a test, as another process's routes would). */
  readonly roomStore = new Map<RoomId, RoomEntry>()
  /** With `holdReloads`, reads of the catalog and memberships wait here until `answerReloads` (they read then). */
  holdReloads = false
  readonly heldReloads: Array<Extract<Effect, { type: 'reloadRooms' }>> = []

  answerReloads(): void {
    for (const reload of this.heldReloads.splice(0)) this.dispatch(this.readRooms(reload))
  }

  private readRooms(effect: Extract<Effect, { type: 'reloadRooms' }>): ChatEvent {
    const memberships = effect.users.map((user) => ({
      user,
      entries: [...(this.memberStore.get(user) ?? new Map<RoomId, number>())].map(([room, readSeq]) => ({ room, readSeq })),
    }))
    return { type: 'RoomsReloaded', rooms: [...this.roomStore.values()], memberships, asOf: effect.asOf, attempt: effect.attempt, at: this.at }
  }

  /** With `holdFills`, the store's reads wait here until `answerFills` (they read the store then). */
  holdFills = false
  readonly heldFills: Array<Extract<Effect, { type: 'fillGap' }>> = []

  answerFills(count = Infinity): void {
    for (const fill of this.heldFills.splice(0, count)) this.dispatch(this.readStore(fill))
  }

  private readStore(effect: Extract<Effect, { type: 'fillGap' }>): ChatEvent {
    const messages = this.stored.filter((m) => m.room === effect.room && m.seq > effect.after && m.seq < effect.before).sort((a, b) => a.seq - b.seq)
    return { type: 'GapFilled', room: effect.room, before: effect.before, messages, at: this.at }
  }

  framesOf(connection: ConnectionId): ServerFrame[] {
    const frames = this.received.get(connection) ?? []
    this.received.set(connection, frames)
    return frames
  }

  /** Connection slot `i` belongs to user `i % users.length`; reopening a slot makes a new connection. */
  currentConnection(slot: number): ConnectionId {
    return connectionId(`c${slot}-g${this.generation.get(slot) ?? 0}`)
  }

  isOpen(slot: number): boolean {
    return this.state.connections.has(this.currentConnection(slot))
  }

  open(slot: number): void {
    if (this.isOpen(slot)) return
    this.generation.set(slot, (this.generation.get(slot) ?? 0) + 1)
    const userIndex = slot % this.people.length
    const user = this.people[userIndex]!
    const memberships = [...(this.memberStore.get(user.id) ?? new Map<RoomId, number>())].map(([room, readSeq]) => ({ room, readSeq }))
    this.dispatch({
      type: 'ConnectionOpened',
      connection: this.currentConnection(slot),
      user,
      session: this.sessionOf(userIndex),
      sessionExpiresAt: this.at + 3_600_000,
      memberships,
      protocol: this.protocolOf(slot),
      at: this.at,
    })
  }

  /** The stored memberships (user -> room -> read marker), read when a user's first connection opens. */
  readonly memberStore = new Map<UserId, Map<RoomId, number>>()

  /** As the routes do: store the room, then tell the core. */
  saveRoom(room: RoomEntry): void {
    this.roomStore.set(room.id, room)
    this.dispatch({ type: 'RoomSaved', room, at: this.at })
  }

  /** As the routes do: store the membership change, then tell the core. */
  changeMembership(room: RoomId, userIndex: number, change: 'added' | 'removed'): void {
    const user = this.people[userIndex]!
    const stored = this.memberStore.get(user.id) ?? new Map<RoomId, number>()
    this.memberStore.set(user.id, stored)
    if (change === 'added') stored.set(room, 0)
    else stored.delete(room)
    this.dispatch({ type: 'MembershipChanged', room, user, change, readSeq: 0, at: this.at })
  }

  isMember(userIndex: number, room: RoomId): boolean {
    return this.memberStore.get(this.people[userIndex]!.id)?.has(room) ?? false
  }

  close(slot: number): void {
    if (this.isOpen(slot)) this.dispatch({ type: 'ConnectionClosed', connection: this.currentConnection(slot), at: this.at })
  }

  sessionOf(userIndex: number) {
    return sessionId(`u${userIndex}-g${this.sessionGeneration.get(userIndex) ?? 0}`)
  }

  revoke(userIndex: number): void {
    const session = this.sessionOf(userIndex)
    this.sessionGeneration.set(userIndex, (this.sessionGeneration.get(userIndex) ?? 0) + 1)
    this.dispatch({ type: 'SessionRevoked', session, expiresAt: this.at + 3_600_000, at: this.at })
  }

  command(slot: number, command: ChatCommand, uploads?: ReadonlyMap<string, Upload>): void {
    const event = { type: 'CommandReceived', connection: this.currentConnection(slot), command, at: this.at } as const
    this.dispatch(uploads === undefined ? event : { ...event, uploads })
  }

  /** Sends raw text as a client would, through the real frame decoder. */
  frame(slot: number, text: string): void {
    const decoded = decodeClientFrame(text)
    const connection = this.currentConnection(slot)
    if (E.isRight(decoded)) {
      const command = decoded.right
      // As the shell does: `auth` on a signed-in connection is refused like a bad frame and goes no further.
      if (command.type === 'auth') this.dispatch({ type: 'FrameRejected', connection, message: 'already signed in', details: [], at: this.at })
      else this.dispatch({ type: 'CommandReceived', connection, command, at: this.at })
      return
    }
    const { message, details, ref } = decoded.left
    const event = { type: 'FrameRejected', connection, message, details, at: this.at } as const
    this.dispatch(ref === undefined ? event : { ...event, ref })
  }

  /**
   * The store answers for its oldest `count` requests, in order. Like the database, it numbers the batch
   * (each room's highest seq plus the message's place among the batch's messages of that room: a resend
   * left out uses up its number), keeps one message per (room, user, clientId) and reports a later one as a
   * duplicate of the first.
   */
  completeStores(count: number, ok: boolean): void {
    const batch = this.storing.splice(0, count)
    if (batch.length === 0) return
    if (!ok) {
      this.dispatch({ type: 'MessagesNotStored', messages: batch, error: STORE_FULL, at: this.at })
      return
    }
    const { stored, duplicates } = this.keep(batch)
    this.dispatch({ type: 'MessagesStored', stored, ...(duplicates.length === 0 ? {} : { duplicates }), at: this.at })
  }

  /** Numbers the batch and adds what the unique key lets in to `stored`; answers as the database does. */
  private keep(batch: ReadonlyArray<NewMessage>): { stored: ReadonlyArray<MessageNumbered>; duplicates: ReadonlyArray<DuplicateMessage> } {
    const bases = new Map<string, number>()
    const places = new Map<string, number>()
    const stored: MessageNumbered[] = []
    const duplicates: DuplicateMessage[] = []
    for (const { key, ...message } of batch) {
      const base = bases.get(message.room) ?? Math.max(0, ...this.stored.filter((m) => m.room === message.room).map((m) => m.seq))
      bases.set(message.room, base)
      const place = (places.get(message.room) ?? 0) + 1
      places.set(message.room, place)
      const original = this.stored.find((m) => sameClientId(m, message))
      if (original === undefined) {
        this.stored.push({ ...message, seq: base + place })
        stored.push({ room: message.room, key, seq: base + place })
      } else {
        duplicates.push({ room: message.room, key, original: { seq: original.seq, sentAt: original.sentAt } })
      }
    }
    return { stored, duplicates }
  }

  /**
   * The process dies and starts again from the store: every connection is gone, and the batch in flight
   * was committed or not (the client never heard either way). Memory is rebuilt as the server does it.
   */
  restart(inFlightCommitted: boolean): void {
    if (inFlightCommitted) this.keep(this.storing)
    this.storing.length = 0
    const { defaultRoom: _, ...settings } = this.state.settings
    this.state = initialChatState(rooms, (room) => this.history(room, settings.recentCapacity), settings)
  }

  private history(room: RoomId, keep: number): RoomHistory {
    const inRoom = this.stored.filter((m) => m.room === room).sort((a, b) => a.seq - b.seq)
    return { lastSeq: inRoom[inRoom.length - 1]?.seq ?? 0, recent: inRoom.slice(-keep) }
  }

  tick(): void {
    this.dispatch({ type: 'ClockTicked', at: this.at })
  }

  /** The runtime's one timer: the earliest `wakeAt` asked for, forgotten when it fires (see `runTimers`). */
  timer: number | undefined
  /** How many ms early a timer fires (Node's may fire a millisecond early); one re-armed for the same time fires on time. */
  earlyBy = 0

  /**
   * Fires the timer while it is due by `at`, as the runtime does: the tick is the only thing that wakes
   * the core, so what the core forgets to ask for never happens (unlike `tick`, which a test calls at will).
   */
  runTimers(): void {
    let last: number | undefined
    while (this.timer !== undefined && this.timer - (this.timer === last ? 0 : this.earlyBy) <= this.at) {
      const due = this.timer
      const early = due === last ? 0 : this.earlyBy
      this.timer = undefined
      last = due
      this.dispatch({ type: 'ClockTicked', at: due - early })
    }
  }
}

/** What a full disk looks like to the core. */
export const STORE_FULL: StoreFailure = { condition: 'full', code: 'SQLITE_FULL', message: 'SQLITE_FULL: database or disk is full' }

const sameClientId = (a: Omit<StoredMessage, 'seq'>, b: Omit<StoredMessage, 'seq'>): boolean =>
  a.clientId !== undefined && a.room === b.room && a.user.id === b.user.id && a.clientId === b.clientId
