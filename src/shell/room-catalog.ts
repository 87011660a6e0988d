import * as E from 'fp-ts/lib/Either.js'
import type { RoomId } from '../core/brands.js'
import { DEFAULT_SETTINGS, type RoomDefinition, type RoomEntry, type RoomHistory } from '../core/chat/state.js'
import { DIRECT_ROOM_NAME } from '../core/rooms.js'
import type { Logger } from '../adapters/logger.js'
import type { CatalogRoom, MessageStore, RoomStore } from '../adapters/stores.js'

// The catalog a process starts with (docs/rooms.md): the ROOMS rooms, then every stored room with its
// profile, and each room's latest messages.

/** A stored room as the core's catalog holds it. A conversation's name is nobody's: each sees the other person's. */
export const roomEntryOf = (room: CatalogRoom): RoomEntry =>
  room.kind === 'direct'
    ? { id: room.id, name: DIRECT_ROOM_NAME, profile: { kind: 'direct', topic: null, owner: null, archivedAt: room.archivedAt, pair: room.pair } }
    : { id: room.id, name: room.name, profile: { kind: room.kind, topic: room.topic, owner: room.owner, archivedAt: room.archivedAt, pair: [] } }

export interface StartingCatalog {
  /** The ROOMS rooms first (the first is the default room), then the stored ones, oldest first. */
  readonly rooms: ReadonlyArray<RoomDefinition | RoomEntry>
  readonly history: (room: RoomId) => RoomHistory
}

/**
 * Reads the stored rooms and every room's latest messages; a store that fails throws its StoreError (the
 * start fails, as it does when the ROOMS rooms' histories cannot be read). A stored room whose id is also a
 * ROOMS room's (configured after it was made) is left out, said once: the configured one wins.
 */
export const loadCatalog = async (stores: { readonly rooms: RoomStore; readonly messages: MessageStore }, configured: ReadonlyArray<RoomDefinition>, log: Logger): Promise<StartingCatalog> => {
  const stored = await stores.rooms.all()()
  if (E.isLeft(stored)) throw stored.left
  const ids = new Set<string>(configured.map((room) => room.id))
  const made = stored.right.filter((room) => {
    if (!ids.has(room.id)) return true
    log.warn('a stored room has the id of a ROOMS room: the configured one is served', { room: room.id })
    return false
  })
  const rooms = [...configured, ...made.map(roomEntryOf)]
  return { rooms, history: await loadHistories(stores.messages, rooms.map((room) => room.id)) }
}

/** How many rooms' histories are read at once: enough to overlap the round trips, few enough to leave the pool to others. */
const READ_AHEAD = 4

const loadHistories = async (messages: MessageStore, rooms: ReadonlyArray<RoomId>): Promise<(room: RoomId) => RoomHistory> => {
  const histories = new Map<RoomId, RoomHistory>()
  let next = 0
  const reader = async (): Promise<void> => {
    for (let room = rooms[next++]; room !== undefined; room = rooms[next++]) {
      const history = await messages.roomHistory(room, DEFAULT_SETTINGS.recentCapacity)()
      if (E.isLeft(history)) throw history.left
      histories.set(room, history.right)
    }
  }
  await Promise.all(Array.from({ length: Math.min(READ_AHEAD, rooms.length) }, reader))
  return (room) => histories.get(room) ?? { lastSeq: 0, recent: [] }
}
