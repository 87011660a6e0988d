import type { SharedLimits, SharedTallies } from '../../adapters/cluster.js'
import type { Logger } from '../../adapters/logger.js'
import { redisSharedLimits } from '../../adapters/redis/limits.js'
import { redisSharedRecords } from '../../adapters/redis/records.js'
import { redisSharedTallies } from '../../adapters/redis/tallies.js'
import type { SharedRecords } from '../../adapters/shared-records.js'
import type { ClusterConfig } from '../../core/config.js'

/**
 * What this process counts together with the other processes: sign-ups, login throttling's records, the
 * chat commands' allowances (message, typing, history) and the upload budget.
 */
export interface SharedHttpLimits {
  readonly limits: SharedLimits
  readonly records: SharedRecords
  /** Counts every process holds together (one per process: its alive key is the process's). */
  readonly tallies: SharedTallies
  readonly log: Logger
  readonly close: () => Promise<void>
}

/**
 * Opens the shared counters of a Redis cluster config (returns at once; they connect in the background
 * and answer `unavailable` until then, so the guards limit per process meanwhile). Every connection is
 * named after the process (`CLIENT LIST`).
 */
export const openSharedHttpLimits = (config: Extract<ClusterConfig, { type: 'redis' }>, processId: string, log: Logger): SharedHttpLimits => {
  const where = { url: config.url, prefix: config.prefix, processId }
  // A chat command waits for its answer (its connection's later frames wait behind it), so a Redis that
  // stops answering must cost a quarter second per command at most, not the default second.
  const limits = redisSharedLimits({ ...where, commandTimeoutMs: 250, log: (level, message, fields) => log[level](message, { ...fields, process: processId }) })
  const records = redisSharedRecords(where)
  // A process counts gone, its shares dropped, when it has not said it lives for as long as presence allows.
  const tallies = redisSharedTallies({ ...where, aliveTtlMs: config.presenceTtlSeconds * 1000, log: (level, message, fields) => log[level](message, { ...fields, process: processId }) })
  return {
    limits,
    records,
    tallies,
    log,
    close: async () => {
      await Promise.all([limits.close(), records.close(), tallies.close()])
    },
  }
}
