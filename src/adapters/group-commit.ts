/** Keyed writes stored in batches (see `createGroupCommit`). */
export interface GroupCommit<A> {
  readonly write: (item: A) => void
  /** Resolves once every item written so far has been stored (or its batch given up on). */
  readonly drain: () => Promise<void>
}

export interface GroupCommitOptions<A> {
  /** Items of one key go out once: the one `merge` keeps. */
  readonly keyOf: (item: A) => string
  /** Of a queued item and a later one of the same key, the one to store. */
  readonly merge: (queued: A, later: A) => A
  /** Most items per `store` call (each engine limits the values of one statement). */
  readonly maxBatch: number
  /** Stores one batch; resolves when done, whatever the outcome (failures are the caller's to report). */
  readonly store: (batch: ReadonlyArray<A>) => Promise<void>
}

/**
 * Group commit, as for messages (message-writer.ts): every item written during one turn of the event loop,
 * and while the previous batch is being stored, goes out in the next single `store` call, one per key, at
 * most `maxBatch` a call, one call in flight at a time. A crowd's writes then cost a statement per turn,
 * not one each queued for a pool of a few connections.
 */
export const createGroupCommit = <A>({ keyOf, merge, maxBatch, store }: GroupCommitOptions<A>): GroupCommit<A> => {
  let queue = new Map<string, A>()
  let running: Promise<void> | undefined

  const flush = async (): Promise<void> => {
    while (queue.size > 0) {
      const all = [...queue.values()]
      queue = new Map(all.slice(maxBatch).map((item) => [keyOf(item), item]))
      await store(all.slice(0, maxBatch))
    }
  }

  const start = (): void => {
    // Deferred to the next turn so that all items of this one share a batch.
    running = new Promise<void>((resolve) => setImmediate(resolve))
      .then(flush)
      .finally(() => {
        running = undefined
        if (queue.size > 0) start()
      })
  }

  return {
    write: (item) => {
      const key = keyOf(item)
      const queued = queue.get(key)
      queue.set(key, queued === undefined ? item : merge(queued, item))
      if (running === undefined) start()
    },
    drain: async () => {
      while (running !== undefined) await running
    },
  }
}
