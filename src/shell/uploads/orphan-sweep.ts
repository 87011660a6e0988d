import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { orphanCutoffs, orphanSweepIntervalMs } from '../../core/upload-budget.js'
import type { Logger } from '../../adapters/logger.js'
import type { UploadStore } from '../../adapters/stores.js'
import { removeAll } from './receive.js'

export interface OrphanSweepOptions {
  readonly uploads: UploadStore
  readonly dir: string
  readonly ttlSeconds: number
  readonly now: () => number
  readonly log: Logger
  /** Milliseconds between sweeps; by default a quarter of the grace period, at most an hour. */
  readonly everyMs?: number
}

export interface OrphanSweep {
  /** Deletes every orphan due now; answers how many. Runs one at a time: a call during a run waits for it. */
  readonly sweep: () => Promise<number>
  /** Stops the timer and waits for a sweep under way, so the database can close after it. */
  readonly stop: () => Promise<void>
}

// Rows per statement: a backlog is worked through in small transactions that leave room for the chat's writes.
const BATCH = 200

/**
 * Deletes uploads no stored message links to within `ttlSeconds` of being made (and no lookup for a message
 * holds: `orphanCutoffs`): the row first (the check that it is still an orphan is part of the delete), then
 * the file. A crash between the two leaves a file no row
 * names, which is never served; the reverse order could leave a link to nothing.
 */
export const startOrphanSweep = ({ uploads, dir, ttlSeconds, now, log, everyMs }: OrphanSweepOptions): OrphanSweep => {
  let running: Promise<number> | undefined

  const sweepOnce = async (): Promise<number> => {
    const cutoffs = orphanCutoffs(now(), ttlSeconds)
    let deleted = 0
    for (;;) {
      const batch = await uploads.deleteOrphans(cutoffs, BATCH)()
      if (E.isLeft(batch)) {
        log.error('orphan sweep failed', { err: batch.left, deleted })
        return deleted
      }
      await removeAll(batch.right.map((name) => join(dir, name)))
      deleted += batch.right.length
      if (batch.right.length < BATCH) break
    }
    if (deleted > 0) log.info('orphan uploads deleted', { count: deleted, olderThanSeconds: ttlSeconds })
    return deleted
  }

  const sweep = (): Promise<number> => {
    running ??= sweepOnce().finally(() => {
      running = undefined
    })
    return running
  }

  const timer = setInterval(() => void sweep(), everyMs ?? orphanSweepIntervalMs(ttlSeconds))
  // A sweep is housekeeping: it never keeps the process alive.
  timer.unref()

  return {
    sweep,
    stop: async () => {
      clearInterval(timer)
      await running
    },
  }
}
