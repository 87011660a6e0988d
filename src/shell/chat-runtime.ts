import * as E from 'fp-ts/lib/Either.js'
import type { ConnectionId, UserId } from '../core/brands.js'
import type { Effect } from '../core/chat/effects.js'
import type { ChatEvent, MembershipEntry } from '../core/chat/events.js'
import { roomEntryOf } from './room-catalog.js'
import type { ChatState } from '../core/chat/state.js'
import { step } from '../core/chat/step.js'
import type { Logger } from '../adapters/logger.js'
import { createMessageWriter, type MessageWriter } from '../adapters/message-writer.js'
import type { ClusterFact } from '../core/cluster/facts.js'
import type { MessageStore, RoomStore } from '../adapters/stores.js'
import { createMarkerWriter, type MarkerWriter } from '../adapters/marker-writer.js'
import { createMembershipWriter, type MembershipWriter } from '../adapters/membership-writer.js'
import type { BoundSocket, ChatSocket } from './ws/chat-socket.js'
import { textFrame } from './ws/frame.js'
import { CLOSE_TRY_AGAIN_LATER } from '../core/protocol/close-codes.js'

export interface ChatRuntime {
  readonly state: () => ChatState
  readonly dispatch: (event: ChatEvent) => void
  /** Broadcasts are framed once and written to the socket's `tcp` directly. */
  readonly attach: (connection: ConnectionId, socket: BoundSocket) => void
  readonly detach: (connection: ConnectionId) => void
  /** Every attached socket, for the heartbeat and for shutdown. */
  readonly sockets: () => Iterable<ChatSocket>
  /** Waits for messages already accepted to be stored (and acknowledged), and read markers and memberships written. */
  readonly drain: () => Promise<void>
  readonly stop: () => void
}

interface Dependencies {
  readonly initial: ChatState
  readonly messages: MessageStore
  /** Where the memberships made by entering a public room, and read markers, are written. */
  readonly rooms: Pick<RoomStore, 'addMembers' | 'markRead' | 'all' | 'memberships'>
  readonly now: () => number
  readonly log: Logger
  /** A socket whose unsent data passes this is closed (1013) rather than buffered without bound. */
  readonly maxBufferedBytes: number
  /** Tells the other processes sharing this chat; absent when this process is the only one. */
  readonly announce?: (fact: ClusterFact) => void
  /** Sees every event as it is dispatched, before the core does (membership reads watch for changes). */
  readonly observe?: (event: ChatEvent) => void
}

/** The most messages one gap fill reads (a gap that long means a long outage of the cluster link). */
const FILL_LIMIT = 1000

/** The most rooms a log line of lost memberships names. */
const LOGGED_ROOMS = 10


// setTimeout keeps at most 2^31-1 ms; a later deadline is reached by waking early and asking again.
const LONGEST_TIMER_MS = 2 ** 31 - 1

/**
 * The imperative half of the chat: owns the current state, feeds events through the pure `step`, and
 * carries out the effects it returns. It decides nothing.
 */
export const createChatRuntime = ({ initial, messages, rooms, now, log, maxBufferedBytes, announce, observe }: Dependencies): ChatRuntime => {
  let state = initial
  const sockets = new Map<ConnectionId, BoundSocket>()
  // Sockets written to in this turn of the event loop, corked until it ends: all the frames one socket
  // gets in a turn leave in one write, which is what makes fan-out cheap on both sides.
  let corked: Array<{ readonly connection: ConnectionId; readonly socket: BoundSocket }> = []
  const queued: ChatEvent[] = []
  let stepping = false
  let wake: { at: number; timer: NodeJS.Timeout } | undefined

  // A failed batch is logged by the core (what was lost, and the store's code), not here.
  const writer: MessageWriter = createMessageWriter(messages, (outcome) =>
    dispatch(
      E.isRight(outcome)
        ? { type: 'MessagesStored', stored: outcome.right.stored, duplicates: outcome.right.duplicates, at: now() }
        : { type: 'MessagesNotStored', messages: outcome.left.messages, error: outcome.left.error, at: now() },
    ),
  )

  // Read markers are batched like messages; nothing waits on them, so a failure is only logged. The store
  // ignores a marker of someone who is not a member, so a batch waits for the memberships written before it
  // (a user who enters a public room the first time and leaves at once has both in flight).
  const markers: MarkerWriter = createMarkerWriter(
    { markRead: (batch) => async () => (await joining.drain(), rooms.markRead(batch)()) },
    (err, count) => log.warn('read markers not stored', { err, markers: count }),
  )
  // Memberships made by entering a public room the first time, batched too: a crowd entering a room at once
  // is thousands of them. The core counts the user a member already, so the writer retries a failed batch
  // itself; one it gives up on shows only at the users' next connections (the room not in their list).
  const joining: MembershipWriter = createMembershipWriter(rooms, (err, lost) =>
    log.warn('memberships of a public room not stored', { err, memberships: lost.length, rooms: [...new Set(lost.map((m) => m.room))].slice(0, LOGGED_ROOMS) }),
  )

  const dispatch = (event: ChatEvent): void => {
    observe?.(event)
    queued.push(event)
    // An effect may cause another event synchronously; it waits its turn instead of nesting a step.
    if (stepping) return
    stepping = true
    try {
      for (let next = queued.shift(); next !== undefined; next = queued.shift()) {
        const [after, effects] = step(state, next)
        state = after
        for (const effect of effects) run(effect)
      }
    } finally {
      stepping = false
    }
  }

  const run = (effect: Effect): void => {
    switch (effect.type) {
      case 'send':
        return send(effect.to, effect.frame)
      case 'close':
        return close(effect.connection, effect.code, effect.reason)
      case 'storeMessage':
        return writer.write(effect.message)
      case 'loadHistory':
        return loadHistory(effect)
      case 'wakeAt':
        return wakeAt(effect.at)
      case 'log':
        return log[effect.level](effect.message, effect.fields)
      case 'fillGap':
        return fillGap(effect)
      case 'announce':
        return announce?.(effect.fact)
      case 'reloadRooms':
        return reloadRooms(effect)
      case 'storeReadMarker':
        return markers.write({ user: effect.user, room: effect.room, seq: effect.seq })
      case 'storeMembership':
        return joining.write({ room: effect.room, user: effect.user, at: effect.at, readSeq: effect.readSeq })
    }
  }

  const send = (to: ReadonlyArray<ConnectionId>, frame: unknown): void => {
    // Serialized and framed once for every recipient. Safe because permessage-deflate is off: ws then
    // writes its own frames (pings, close) synchronously too, so frames never interleave mid-frame.
    const data = textFrame(Buffer.from(JSON.stringify(frame)))
    for (const connection of to) {
      const socket = sockets.get(connection)
      if (socket === undefined || socket.readyState !== socket.OPEN) continue
      if (!socket.tcp.writableCorked) {
        socket.tcp.cork()
        if (corked.push({ connection, socket }) === 1) setImmediate(uncorkAll)
      }
      socket.tcp.write(data)
    }
  }

  // Backpressure is judged after the flush: what the kernel did not take is what the client is not
  // reading. Judged before it, one busy turn would look like a slow client.
  const uncorkAll = (): void => {
    const flushed = corked
    corked = []
    for (const { connection, socket } of flushed) {
      socket.tcp.uncork()
      if (socket.readyState === socket.OPEN && socket.bufferedAmount > maxBufferedBytes) closeSlow(connection, socket)
    }
  }

  const closeSlow = (connection: ConnectionId, socket: ChatSocket): void => {
    log.warn('closing a connection that does not read', { connectionId: connection, bufferedBytes: socket.bufferedAmount })
    // ChatSocket cuts it if the close is not answered in time: a client too slow to read its data will
    // not read the close frame soon either.
    socket.close(CLOSE_TRY_AGAIN_LATER, 'too slow: send buffer full')
  }

  const close = (connection: ConnectionId, code: number, reason: string): void => {
    const socket = sockets.get(connection)
    if (socket === undefined) {
      // Never attached (closed while opening): the core still holds it until told it is gone.
      dispatch({ type: 'ConnectionClosed', connection, at: now() })
      return
    }
    socket.close(code, reason)
  }

  const loadHistory = (effect: Extract<Effect, { type: 'loadHistory' }>): void => {
    const ref = effect.ref === undefined ? {} : { ref: effect.ref }
    void messages.page(effect.room, effect.before, effect.limit)().then((page) => {
      if (E.isRight(page)) {
        dispatch({ type: 'HistoryLoaded', connection: effect.connection, room: effect.room, messages: page.right, ...ref, at: now() })
        return
      }
      log.error('history read failed', { err: page.left, room: effect.room })
      dispatch({ type: 'CommandFailed', connection: effect.connection, message: 'history could not be read; try again', ...ref, at: now() })
    })
  }

  // A gap longer than one read is read in turns, each settling the room up to what it read.
  const fillGap = ({ room, after, before }: Extract<Effect, { type: 'fillGap' }>): void => {
    void messages.since(room, after, Math.min(before - after - 1, FILL_LIMIT))().then((read) => {
      if (E.isLeft(read)) return dispatch({ type: 'GapNotFilled', room, error: read.left.failure, at: now() })
      const found = read.right.filter((message) => message.seq < before)
      const lastRead = found.at(-1)?.seq
      const more = found.length === FILL_LIMIT && lastRead !== undefined && lastRead + 1 < before
      dispatch({ type: 'GapFilled', room, before: more ? lastRead + 1 : before, messages: found, at: now() })
      if (more) fillGap({ type: 'fillGap', room, after: lastRead, before })
    })
  }

  // After the cluster link came back: the catalog and the connected users' memberships as the store has
  // them, a few users' reads at a time. A store that fails is asked again a second later, three times in all.
  const reloadRooms = (effect: Extract<Effect, { type: 'reloadRooms' }>): void => {
    const read = async () => {
      const catalog = await rooms.all()()
      if (E.isLeft(catalog)) throw catalog.left
      const memberships: Array<{ user: UserId; entries: ReadonlyArray<MembershipEntry> }> = []
      const users = [...effect.users]
      const reader = async (): Promise<void> => {
        for (let user = users.pop(); user !== undefined; user = users.pop()) {
          const held = await rooms.memberships(user, 0)()
          if (E.isLeft(held)) throw held.left
          memberships.push({ user, entries: held.right.map(({ room, readSeq }) => ({ room, readSeq })) })
        }
      }
      await Promise.all(Array.from({ length: Math.min(4, users.length) }, reader))
      return { rooms: catalog.right.map(roomEntryOf), memberships }
    }
    read().then(
      (reloaded) => dispatch({ type: 'RoomsReloaded', ...reloaded, asOf: effect.asOf, attempt: effect.attempt, at: now() }),
      (error: unknown) => {
        log.warn('rooms and memberships not read again after the cluster link came back', { err: error, attempt: effect.attempt })
        if (effect.attempt < 3) setTimeout(() => reloadRooms({ ...effect, attempt: effect.attempt + 1 }), 1000).unref()
        // Given up: the rooms must still read the messages they missed.
        else dispatch({ type: 'RoomsReloaded', rooms: [], memberships: [], asOf: effect.asOf, attempt: effect.attempt, failed: true, at: now() })
      },
    )
  }

  const wakeAt = (at: number): void => {
    if (wake !== undefined && wake.at <= at) return
    if (wake !== undefined) clearTimeout(wake.timer)
    const delay = Math.min(Math.max(0, at - now()), LONGEST_TIMER_MS)
    const timer = setTimeout(() => {
      wake = undefined
      dispatch({ type: 'ClockTicked', at: now() })
    }, delay)
    // Typing and session deadlines alone must not keep a stopping process alive.
    timer.unref()
    wake = { at, timer }
  }

  return {
    state: () => state,
    dispatch,
    attach: (connection, socket) => {
      sockets.set(connection, socket)
    },
    detach: (connection) => {
      sockets.delete(connection)
    },
    sockets: () => sockets.values(),
    drain: async () => {
      await writer.drain()
      await joining.drain()
      await markers.drain()
    },
    stop: () => {
      if (wake !== undefined) clearTimeout(wake.timer)
      wake = undefined
    },
  }
}
