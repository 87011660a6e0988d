import * as O from 'fp-ts/lib/Option.js'
import type * as I from 'immutable'
import { parseMessageId } from '../protocol/message-id.js'
import type { ChatSettings, RoomState, StoredMessage } from './state.js'

export interface CatchUp {
  readonly messages: I.List<StoredMessage>
  /** True when the client missed more than it is sent, or its `since` could not be placed. */
  readonly gap: boolean
}

/** `recent` holds every message of the room while it is not full. */
const holdsWholeRoom = (room: RoomState, settings: ChatSettings): boolean => room.recent.size < settings.recentCapacity

export const latestMessages = (room: RoomState, count: number): I.List<StoredMessage> => room.recent.takeLast(count)

/**
 * The messages after `since`, or the latest ones with `gap: true` when that is not possible. Decided from
 * memory alone: `recent` keeps one more message than a catch-up may send, so a `since` older than all of
 * it means more than `catchUpLimit` were missed.
 */
export const catchUp = (room: RoomState, since: string, settings: ChatSettings): CatchUp => {
  const seq = parseMessageId(since)
  const unplaceable: CatchUp = { messages: latestMessages(room, settings.joinHistory), gap: true }
  if (O.isNone(seq)) return unplaceable
  if (room.recent.some((m) => m.seq === seq.value)) {
    return { messages: room.recent.filter((m) => m.seq > seq.value), gap: false }
  }
  const oldest = room.recent.first()
  if (!holdsWholeRoom(room, settings) && oldest !== undefined && seq.value < oldest.seq) {
    return { messages: latestMessages(room, settings.catchUpLimit), gap: true }
  }
  return unplaceable
}

/**
 * Up to `limit` messages older than `before`, when memory can answer; `undefined` when the store must.
 */
export const pageFromMemory = (
  room: RoomState,
  before: number,
  limit: number,
  settings: ChatSettings,
): I.List<StoredMessage> | undefined => {
  const older = room.recent.filter((m) => m.seq < before)
  return older.size >= limit || holdsWholeRoom(room, settings) ? older.takeLast(limit) : undefined
}
