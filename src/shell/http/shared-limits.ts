import type { SharedLimits } from '../../adapters/cluster.js'
import type { Logger } from '../../adapters/logger.js'
import { redisSharedLimits } from '../../adapters/redis/limits.js'
import { redisSharedRecords } from '../../adapters/redis/records.js'
import type { SharedRecords } from '../../adapters/shared-records.js'
import type { ClusterConfig } from '../../core/config.js'

/**
 * What this process counts together with the other processes: sign-ups, login throttling's records, the
 * chat commands' allowances (message, typing, history) and the upload budget.
 */
export interface SharedHttpLimits {
  readonly limits: SharedLimits
  readonly records: SharedRecords
  readonly log: Logger
  readonly close: () => Promise<void>
}

/**
 * Opens the shared counters of a Redis cluster config (returns at once; they connect in the background
 * and answer `unavailable` until then, so the guards limit per process meanwhile). Both connections are
 * named after the process (`CLIENT LIST`).
 */
export const openSharedHttpLimits = (config: Extract<ClusterConfig, { type: 'redis' }>, processId: string, log: Logger): SharedHttpLimits => {
  const where = { url: config.url, prefix: config.prefix, processId }
  // A chat command waits for its answer (its connection's later frames wait behind it), so a Redis that
  // stops answering must cost a quarter second per command at most, not the default second.
  const limits = redisSharedLimits({ ...where, commandTimeoutMs: 250, log: (level, message, fields) => log[level](message, { ...fields, process: processId }) })
  const records = redisSharedRecords(where)
  return {
    limits,
    records,
    log,
    close: async () => {
      await Promise.all([limits.close(), records.close()])
    },
  }
}
