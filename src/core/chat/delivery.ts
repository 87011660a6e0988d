import type { RoomId } from '../brands.js'
import { formatMessageId } from '../protocol/message-id.js'
import type { ServerFrame } from '../protocol/server-frames.js'
import { roomAudience, send, sendTo, setRoom } from './audience.js'
import { flushArrivalOf } from './presence.js'
import type { MessageReceipt } from './events.js'
import { chatMessage, isoTime } from './frames.js'
import { clientIdKey, type AckWaiter, type Arrival, type ChatState, type ChatUser, type ClientIdHolder, type NewMessage, type RoomState, type StoredMessage } from './state.js'
import type { Step } from './step-result.js'
import { settleCatchUps } from './joined.js'
import { countDelivered } from './unread.js'

// Delivering a stored message to this process's members, and the memory of it (`recent`, clientIds).

/**
 * The message as stored: its provisional key dropped, the store's number given. Built field by field: a
 * rest pattern that drops a key leaves V8 an object in dictionary mode, and `recent` holds hundreds per
 * room (measured: ~25,000 such objects after the persist benchmark, twice the scavenge time, p99 ack
 * latency 8 ms -> 30-50 ms at 5,000 messages/s).
 */
export const numbered = (message: NewMessage, seq: number): StoredMessage => ({
  seq,
  room: message.room,
  user: message.user,
  text: message.text,
  attachments: message.attachments,
  sentAt: message.sentAt,
  ...(message.clientId === undefined ? {} : { clientId: message.clientId }),
})

export const ackFrame = (room: RoomId, receipt: MessageReceipt, clientId: string | undefined, waiter: AckWaiter): ServerFrame => ({
  type: 'ack',
  id: formatMessageId(receipt.seq),
  room,
  sentAt: isoTime(receipt.sentAt),
  ...(waiter.ref === undefined ? {} : { ref: waiter.ref }),
  ...(clientId === undefined ? {} : { clientId }),
})

/** Acks to the waiters still connected. */
export const acksFor = (state: ChatState, message: StoredMessage, waiters: ReadonlyArray<AckWaiter>) =>
  waiters.filter((waiter) => state.connections.has(waiter.connection)).map((waiter) => sendTo(waiter.connection, ackFrame(message.room, message, message.clientId, waiter)))

/**
 * Delivers now: the waiters get their ack, every other connection in the room the message, and `recent`
 * keeps it (the oldest one going when full).
 */
export const deliverNow = (state: ChatState, room: RoomState, { message, waiters }: Arrival): Step => {
  // A sender whose arrival is still gathered is announced first: no one reads a message from someone not present.
  const [flushed, arrival] = flushArrivalOf(state, room.id, message.user.id)
  const current = arrival.length === 0 ? room : { ...room, gathered: room.gathered.clear() }
  const late = current.lateAcks.get(message.seq)
  const remembered = remember(current, message, state.settings.recentCapacity)
  const kept = late === undefined ? remembered : { ...remembered, lateAcks: remembered.lateAcks.remove(message.seq) }
  // Members here who are not in the room count it.
  const [next, counted] = countDelivered(setRoom(flushed, kept), kept, message)
  const lateWaiters = late?.map((ack) => ack.waiter) ?? []
  const waiting = [...waiters, ...lateWaiters].map((waiter) => waiter.connection)
  const audience = roomAudience(next, kept).filter((connection) => !waiting.includes(connection))
  const delivered = [...arrival, ...acksFor(next, message, waiters), ...acksFor(next, message, lateWaiters), ...send(audience, { type: 'message', ...chatMessage(message) }), ...counted]
  if (next.catchingUp.size === 0) return [next, delivered]
  // A join waiting for this message gets its `joined` now, with the message in its history.
  const [settled, joined] = settleCatchUps(next, kept.id)
  return [settled, [...delivered, ...joined]]
}

const remember = (room: RoomState, message: StoredMessage, capacity: number): RoomState => {
  const recent = room.recent.push(message)
  const evicted = recent.size > capacity ? recent.first() : undefined
  return {
    ...room,
    lastSeq: Math.max(room.lastSeq, message.seq),
    recent: evicted === undefined ? recent : recent.shift(),
    clientIds: evicted === undefined ? room.clientIds : forget(room.clientIds, evicted, { stored: evicted.seq }),
  }
}

export const sameHolder = (a: ClientIdHolder | undefined, b: ClientIdHolder): boolean =>
  a !== undefined && ('pending' in a ? 'pending' in b && a.pending === b.pending : 'stored' in b && a.stored === b.stored)

/** Drops the message's clientId, only if it still points at that message (`holder`; a later one may reuse it). */
export const forget = (
  clientIds: RoomState['clientIds'],
  message: { readonly user: ChatUser; readonly clientId?: string },
  holder: ClientIdHolder,
): RoomState['clientIds'] => {
  if (message.clientId === undefined) return clientIds
  const key = clientIdKey(message.user.id, message.clientId)
  return sameHolder(clientIds.get(key), holder) ? clientIds.remove(key) : clientIds
}

/** Points the message's clientId at its stored copy, when it pointed at `from` (or at nothing, for a message from another process). */
export const pointAtStored = (clientIds: RoomState['clientIds'], message: StoredMessage, from: ClientIdHolder | undefined): RoomState['clientIds'] => {
  if (message.clientId === undefined) return clientIds
  const key = clientIdKey(message.user.id, message.clientId)
  const current = clientIds.get(key)
  const ours = from === undefined ? current === undefined : sameHolder(current, from)
  return ours ? clientIds.set(key, { stored: message.seq }) : clientIds
}
