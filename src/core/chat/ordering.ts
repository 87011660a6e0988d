import type { RoomId } from '../brands.js'
import { setRoom } from './audience.js'
import { acksFor, deliverNow, pointAtStored } from './delivery.js'
import type { Effect } from './effects.js'
import { dueNoLaterThan, type Arrival, type ChatState, type RoomState, type StoredMessage } from './state.js'
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
  // Already delivered from the store (a fill overtook our own answer): the sender still gets the ack.
  if (seq <= room.lastSeq) return unchanged(state, acksFor(state, arrival.message, arrival.waiters))
  if (seq === room.lastSeq + 1) return releaseHeld(...deliverNow(state, room, arrival), room.id, at)
  const held: RoomState = { ...room, held: room.held.set(seq, arrival) }
  return room.gap.state === 'none' ? startWaiting(state, held, at) : [setRoom(state, held), []]
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
    next = setRoom(next, { ...room, gap: { state: 'filling' } })
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
  // Numbers below `before` the store does not have were used by no message: nothing more will come.
  const settledUpTo = Number.isFinite(before) ? before - 1 : room.lastSeq
  const settled: RoomState = { ...room, lastSeq: Math.max(room.lastSeq, settledUpTo), held: room.held.filter((_, seq) => seq > settledUpTo), gap: { state: 'none' } }
  const [released, releasedEffects] = releaseHeld(setRoom(next, settled), [], roomId, at)
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
  if (cluster === null || at < state.sweepsDueAt.gaps) return [state, [], state.sweepsDueAt.gaps]
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
    const before = room.held.size === 0 ? Infinity : Math.max(...room.held.keys()) + 1
    next = setRoom(next, { ...room, gap: { state: 'filling' } })
    effects.push({ type: 'fillGap', room: room.id, after: room.lastSeq, before })
  }
  return [{ ...next, sweepsDueAt: { ...next.sweepsDueAt, gaps: dueAt } }, effects, dueAt]
}

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
  if (room.held.size === 0) return [room.gap.state === 'none' ? next : setRoom(next, { ...room, gap: { state: 'none' } }), released]
  if (room.gap.state !== 'none') return [next, released]
  const [waiting, wake] = startWaiting(next, room, at)
  return [waiting, [...released, ...wake]]
}

const startWaiting = (state: ChatState, room: RoomState, at: number): Step => {
  const endsAt = at + (state.settings.cluster?.gapWaitMs ?? 0)
  const next = dueNoLaterThan(setRoom(state, { ...room, gap: { state: 'waiting', since: at } }), 'gaps', endsAt)
  return [next, [{ type: 'wakeAt', at: endsAt }]]
}
