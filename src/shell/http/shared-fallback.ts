import type { LinkFailure } from '../../adapters/cluster.js'
import type { Logger } from '../../adapters/logger.js'

/**
 * Where a cluster-wide limit says how it stands: every call reports whether the shared counter answered.
 * While it cannot, the limit is kept by this process alone (never lifted), and the log says so once when
 * that starts and once when it ends, with how many decisions were made here meanwhile, not once per request.
 */
export interface SharedStanding {
  readonly answered: () => void
  readonly failed: (failure: LinkFailure) => void
}

export const createSharedStanding = (log: Logger, limit: string, now: () => number = Date.now): SharedStanding => {
  let since: number | undefined
  let decidedHere = 0
  return {
    answered: () => {
      if (since === undefined) return
      log.info('cluster-wide limit answering again', { limit, afterMs: now() - since, decidedHere })
      since = undefined
      decidedHere = 0
    },
    failed: (failure) => {
      decidedHere += 1
      if (since !== undefined) return
      since = now()
      log.warn('cluster-wide limit cannot be checked: limiting per process meanwhile', { limit, failure: failure.type, error: failure.message })
    },
  }
}

/**
 * Runs tasks one at a time per key, in the order they arrive; a task holding several keys waits for the
 * tasks before it on each. Every task takes its places in one synchronous step, so the order is one
 * queue's and no two tasks can wait for each other.
 */
export interface KeyedQueue {
  readonly run: <A>(keys: ReadonlyArray<string>, task: () => Promise<A>) => Promise<A>
}

export const createKeyedQueue = (): KeyedQueue => {
  const tails = new Map<string, Promise<void>>()
  return {
    run: async (keys, task) => {
      // A key named twice would wait for its own task.
      const distinct = [...new Set(keys)]
      let release = () => {}
      const done = new Promise<void>((resolve) => {
        release = resolve
      })
      const before = distinct.map((key) => {
        const previous = tails.get(key)
        tails.set(key, done)
        return previous
      })
      try {
        await Promise.all(before)
        return await task()
      } finally {
        release()
        // The last in line leaves no entry behind, so idle keys hold no memory.
        for (const key of distinct) if (tails.get(key) === done) tails.delete(key)
      }
    },
  }
}
