import * as E from 'fp-ts/lib/Either.js'
import type { RoomStore, ReadMarker } from './stores.js'
import type { StoreError } from './store-failure.js'
import { createGroupCommit } from './group-commit.js'

export interface MarkerWriter {
  readonly write: (marker: ReadMarker) => void
  /** Resolves once every marker written so far has been stored (or has failed). */
  readonly drain: () => Promise<void>
}

/** Markers per statement: three values each, well under either engine's limit on one statement's values. */
const MAX_BATCH = 1000

/**
 * Group commit for read markers (group-commit.ts): every marker written during one turn of the event loop,
 * and while the previous batch is being stored, goes out in the next single `markRead`, one per user and
 * room (the highest: the store never moves a marker back anyway). Nothing waits on a
 * marker, so a failed batch is only reported (`onFailure`, for the log): it costs a user seeing as unread
 * what they read just before it.
 */
export const createMarkerWriter = (store: Pick<RoomStore, 'markRead'>, onFailure: (error: StoreError, markers: number) => void): MarkerWriter =>
  createGroupCommit<ReadMarker>({
    keyOf: (marker) => `${marker.user}\u0000${marker.room}`,
    merge: (queued, later) => (later.seq > queued.seq ? later : queued),
    maxBatch: MAX_BATCH,
    store: async (batch) => {
      const result = await store.markRead(batch)()
      if (E.isLeft(result)) onFailure(result.left, batch.length)
    },
  })
