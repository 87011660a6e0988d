import * as E from 'fp-ts/lib/Either.js'
import type { RoomStore, ReadMarker } from './stores.js'
import type { StoreError } from './store-failure.js'

export interface MarkerWriter {
  readonly write: (marker: ReadMarker) => void
  /** Resolves once every marker written so far has been stored (or has failed). */
  readonly drain: () => Promise<void>
}

/** Markers per statement: three values each, well under either engine's limit on one statement's values. */
const MAX_BATCH = 1000

/**
 * Group commit for read markers, as for messages (message-writer.ts): every marker written during one turn
 * of the event loop, and while the previous batch is being stored, goes out in the next single `markRead`,
 * one per user and room (the highest: the store never moves a marker back anyway). Nothing waits on a
 * marker, so a failed batch is only reported (`onFailure`, for the log): it costs a user seeing as unread
 * what they read just before it.
 */
export const createMarkerWriter = (store: Pick<RoomStore, 'markRead'>, onFailure: (error: StoreError, markers: number) => void): MarkerWriter => {
  let queue = new Map<string, ReadMarker>()
  let running: Promise<void> | undefined

  const flush = async (): Promise<void> => {
    while (queue.size > 0) {
      const all = [...queue.values()]
      const batch = all.slice(0, MAX_BATCH)
      queue = new Map(all.slice(MAX_BATCH).map((marker) => [keyOf(marker), marker]))
      const result = await store.markRead(batch)()
      if (E.isLeft(result)) onFailure(result.left, batch.length)
    }
  }

  const start = (): void => {
    // Deferred to the next turn so that all markers of this one share a batch.
    running = new Promise<void>((resolve) => setImmediate(resolve))
      .then(flush)
      .finally(() => {
        running = undefined
        if (queue.size > 0) start()
      })
  }

  return {
    write: (marker) => {
      const key = keyOf(marker)
      const queued = queue.get(key)
      if (queued === undefined || queued.seq < marker.seq) queue.set(key, marker)
      if (running === undefined) start()
    },
    drain: async () => {
      while (running !== undefined) await running
    },
  }
}

const keyOf = (marker: ReadMarker): string => `${marker.user}\u0000${marker.room}`
