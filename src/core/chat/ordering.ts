import * as I from 'immutable'
import type { RoomId } from '../brands.js'
import { formatMessageId } from '../protocol/message-id.js'
import { setRoom } from './audience.js'
import { ackFrame, acksFor, deliverNow, pointAtStored } from './delivery.js'
import { sendTo } from './audience.js'
import type { Effect } from './effects.js'
import { askingFill, dueNoLaterThan, type Arrival, type ChatState, type LateAck, type RoomState, type StoredMessage } from './state.js'
import type { MessageReceipt } from './events.js'
import { unchanged, type Step } from './step-result.js'
import { chaseCatchUps, settleCatchUps } from './joined.js'

// Order across processes (issue 15). The store numbers a room's messages whichever process writes them,
// and a number is committed only after every lower one of the room (the room's counter is locked until
// commit), so "everything up to seq n" is a fact the store can always answer. Each process delivers a
// room's messages strictly in seq order: one that arrives early (its announcement overtook an earlier
// one's, or an announcement was lost) is held; after `gapWaitMs` without the missing ones the store is
// asked for them (`fillGap`), and what it does not have is a number no message kept (a resend's), skipped.
// With `settings.cluster` null this process is the only writer and delivers what it stored at once.

/** A stored message reaches this process (from its own store or another process): delivered in order. */
export const arrive = (state: ChatState, room: RoomState, arrival: Arrival, at: number): Step => {
  const cluster = state.settings.cluster
  if (cluster === null) return deliverNow(state, room, arrival)
  const { seq } = arrival.message
  if (seq <= room.lastSeq) {
    // Numbered again below what was delivered, and memory held that number for another message or none:
    // the database lost its last commits (a failover to a replica behind, a restore). The room goes on
    // from the store's numbers rather than ignoring every message until they pass the old ones.
    if (reusedNumber(room, arrival.message)) {
      const [next, effects] = arrive(state, rewound(room, seq), arrival, at)
      return [next, [rewoundLog(room, seq), ...effects]]
    }
    // Already delivered from the store (a fill overtook our own answer): the sender still gets the ack.
    return unchanged(state, acksFor(state, arrival.message, arrival.waiters))
  }
  if (seq === room.lastSeq + 1) return releaseHeld(...deliverNow(state, room, arrival), room.id, at)
  const held: RoomState = { ...room, held: room.held.set(seq, { ...arrival, heldAfter: room.fillsAsked }) }
  return room.gap.state === 'none' ? startWaiting(state, held, at) : [setRoom(state, held), []]
}

/**
 * Whether `message`, numbered no higher than what was delivered, has a number memory knows as another
 * message's, or as unused. The same message (a fill that overtook our own answer) is not: same number,
 * sender, time and text. Below what memory holds nothing can be told, and it is taken as delivered.
 */
const reusedNumber = (room: RoomState, message: StoredMessage): boolean => {
  const oldest = room.recent.first()?.seq
  if (oldest === undefined || message.seq < oldest) return false
  const remembered = room.recent.find((m) => m.seq === message.seq)
  return remembered === undefined || remembered.user.id !== message.user.id || remembered.sentAt !== message.sentAt || remembered.text !== message.text
}

/** The room as if nothing from `seq` on had been delivered: what memory kept of it is gone from the store. */
const rewound = (room: RoomState, seq: number): RoomState => ({
  ...room,
  recent: room.recent.filter((m) => m.seq < seq),
  lastSeq: seq - 1,
  held: room.held.filter((_, held) => held < seq),
})


/**
 * Acks for a message numbered `original.seq` that is not delivered here yet: they go out with it (see
 * `RoomState.lateAcks`). The room waits for it like for a held message, so a lost announcement is read
 * from the store after the wait.
 */
export const ackWhenDelivered = (state: ChatState, room: RoomState, original: MessageReceipt, acks: ReadonlyArray<LateAck>, at: number): Step => {
  const waiting: RoomState = { ...room, lateAcks: room.lateAcks.update(original.seq, [], (known) => [...known, ...acks]) }
  return waiting.gap.state === 'none' ? startWaiting(state, waiting, at) : [setRoom(state, waiting), []]
}

/** Messages announced by another process, in its order: each that names a room here arrives. */
export const peerMessagesStored = (state: ChatState, messages: ReadonlyArray<StoredMessage>, at: number): Step => {
  let next = state
  const effects: Effect[] = []
  for (const message of messages) {
    const room = next.rooms.get(message.room)
    if (room === undefined) continue
    const known: RoomState = { ...room, clientIds: pointAtStored(room.clientIds, message, undefined) }
    const [after, arrived] = arrive(next, known, { message, waiters: [] }, at)
    next = after
    effects.push(...arrived)
  }
  return [next, effects]
}

/**
 * The link to the other processes is back (or new): announcements made meanwhile are lost, so every room
 * asks the store for whatever came after what it delivered.
 */
export const clusterLinkRestored = (state: ChatState): Step => {
  if (state.settings.cluster === null) return unchanged(state)
  let next = state
  const effects: Effect[] = []
  for (const room of state.rooms.values()) {
    if (room.gap.state === 'filling') continue
    next = setRoom(next, askingFill(room))
    effects.push({ type: 'fillGap', room: room.id, after: room.lastSeq, before: Infinity })
  }
  return [next, effects]
}

/**
 * The store's messages of `room` with seq below `before` (and above what was delivered when it was asked):
 * delivered in order; every number below `before` is settled now, so the held ones that follow go too.
 * `before` is Infinity for a read to the end: then what it found is all there is, so far.
 */
export const gapFilled = (state: ChatState, roomId: RoomId, before: number, messages: ReadonlyArray<StoredMessage>, at: number): Step => {
  const asked = state.rooms.get(roomId)?.gap
  let next = state
  const effects: Effect[] = []
  for (const message of [...messages].sort((a, b) => a.seq - b.seq)) {
    const room = next.rooms.get(roomId)
    if (room === undefined || message.seq <= room.lastSeq || message.seq >= before) continue
    const arrival = room.held.get(message.seq) ?? { message, waiters: [] }
    const [after, delivered] = deliverNow(next, { ...room, held: room.held.remove(message.seq) }, arrival)
    next = after
    effects.push(...delivered)
  }
  const room = next.rooms.get(roomId)
  if (room === undefined) return [next, effects]
  // Held messages this read must have found and did not name nothing the store has: dropped, not waited
  // for (and never a reason to move `lastSeq` past what the store confirmed, which would silence the room).
  const ask = asked?.state === 'filling' ? asked.ask : undefined
  const unconfirmed = ask === undefined ? I.Map<number, Arrival>() : room.held.filter((held, seq) => seq < before && (held.heldAfter ?? 0) < ask)
  const settled: RoomState = { ...room, held: room.held.filter((_, seq) => seq > room.lastSeq && !unconfirmed.has(seq)), gap: { state: 'none' } }
  if (unconfirmed.size > 0) effects.push(droppedLog(roomId, unconfirmed))
  const [released, releasedEffects] = releaseHeld(setRoom(next, withLateAcksSent(settled, effects)), [], roomId, at)
  if (released.catchingUp.size === 0) return [released, [...effects, ...releasedEffects]]
  // Joins waiting for a message: answered if it came; read to the end for them if not (once more, or as
  // a gap when this read was already theirs).
  const [answered, joined] = settleCatchUps(released, roomId, !Number.isFinite(before))
  const [chased, chasing] = chaseCatchUps(answered, roomId)
  return [chased, [...effects, ...releasedEffects, ...joined, ...chasing]]
}

/**
 * The store could not be read: the room waits again and asks once more after `gapWaitMs` (with nothing
 * held, for everything after what it delivered: the read a restored link asked for).
 */
export const gapNotFilled = (state: ChatState, roomId: RoomId, at: number): Step => {
  const room = state.rooms.get(roomId)
  if (room === undefined) return unchanged(state)
  return startWaiting(state, { ...room, gap: { state: 'none' } }, at)
}

/**
 * Asks the store for what rooms have waited for long enough (part of a clock tick); answers when the next
 * wait ends, or Infinity.
 */
export const sweepGaps = (state: ChatState, at: number): readonly [ChatState, ReadonlyArray<Effect>, number] => {
  const cluster = state.settings.cluster
  // While a restored link's reload is read, no room reads the store: the reload's answer fills them all.
  if (cluster === null || at < state.sweepsDueAt.gaps || state.roomsReloading) return [state, [], state.sweepsDueAt.gaps]
  let next = state
  let dueAt = Infinity
  const effects: Effect[] = []
  for (const room of state.rooms.values()) {
    if (room.gap.state !== 'waiting') continue
    const endsAt = room.gap.since + cluster.gapWaitMs
    if (endsAt > at) {
      dueAt = Math.min(dueAt, endsAt)
      continue
    }
    // Up to the last message held, not the first: with two processes writing one room during an outage,
    // reading one hole at a time cost a wait per message of the other process, and acks fell behind.
    const awaited = awaitedSeqs(room)
    const before = awaited.length === 0 ? Infinity : Math.max(...awaited) + 1
    next = setRoom(next, askingFill(room))
    effects.push({ type: 'fillGap', room: room.id, after: room.lastSeq, before })
  }
  return [{ ...next, sweepsDueAt: { ...next.sweepsDueAt, gaps: dueAt } }, effects, dueAt]
}

/** Whether the room waits for anything beyond what it delivered (cheap: asked after every delivery). */
const awaitsMore = (room: RoomState): boolean => room.held.size > 0 || (room.lateAcks.size > 0 && room.lateAcks.some((_, seq) => seq > room.lastSeq))

/** The seqs the room waits for beyond what it delivered: messages held, and the messages late acks name. */
const awaitedSeqs = (room: RoomState): number[] => {
  const awaited = [...room.held.keys()]
  for (const seq of room.lateAcks.keys()) if (seq > room.lastSeq) awaited.push(seq)
  return awaited
}

/**
 * Sends the late acks whose message is at or below what the room delivered but came without them (a number
 * the store settled otherwise): the store named those originals, so they exist.
 */
const withLateAcksSent = (room: RoomState, effects: Effect[]): RoomState => {
  if (room.lateAcks.size === 0) return room
  const due = room.lateAcks.filter((_, seq) => seq <= room.lastSeq)
  for (const [seq, acks] of due) {
    for (const { waiter, sentAt, clientId } of acks) effects.push(sendTo(waiter.connection, ackFrame(room.id, { seq, sentAt }, clientId, waiter)))
  }
  return due.size === 0 ? room : { ...room, lateAcks: room.lateAcks.deleteAll(due.keys()) }
}

const rewoundLog = (room: RoomState, seq: number): Effect => ({
  type: 'log',
  level: 'error',
  message: 'the store numbered a message below what this process delivered: the database lost its last commits; the room goes on from its numbers',
  fields: { room: room.id, id: formatMessageId(seq), delivered: formatMessageId(room.lastSeq) },
})

const droppedLog = (room: RoomId, dropped: I.Map<number, Arrival>): Effect => ({
  type: 'log',
  level: 'warn',
  message: 'announced messages are not in the store: dropped (a forged announcement, or commits the database lost)',
  fields: { room, ids: [...dropped.keys()].sort((a, b) => a - b).slice(0, 10).map(formatMessageId), count: dropped.size },
})

/** Delivers the held messages that now follow in order; a room still holding some waits for the rest. */
const releaseHeld = (state: ChatState, effects: ReadonlyArray<Effect>, roomId: RoomId, at: number): Step => {
  let next = state
  const released: Effect[] = [...effects]
  for (;;) {
    const room = next.rooms.get(roomId)
    const arrival = room?.held.get(room.lastSeq + 1)
    if (room === undefined || arrival === undefined) break
    const [after, delivered] = deliverNow(next, { ...room, held: room.held.remove(arrival.message.seq) }, arrival)
    next = after
    released.push(...delivered)
  }
  const room = next.rooms.get(roomId)
  if (room === undefined) return [next, released]
  if (!awaitsMore(room)) return [room.gap.state === 'none' ? next : setRoom(next, { ...room, gap: { state: 'none' } }), released]
  if (room.gap.state !== 'none') return [next, released]
  const [waiting, wake] = startWaiting(next, room, at)
  return [waiting, [...released, ...wake]]
}

const startWaiting = (state: ChatState, room: RoomState, at: number): Step => {
  const endsAt = at + (state.settings.cluster?.gapWaitMs ?? 0)
  const next = dueNoLaterThan(setRoom(state, { ...room, gap: { state: 'waiting', since: at } }), 'gaps', endsAt)
  return [next, [{ type: 'wakeAt', at: endsAt }]]
}
