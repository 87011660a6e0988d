import * as E from 'fp-ts/lib/Either.js'
import type { SharedLimits } from '../../adapters/cluster.js'
import type { Logger } from '../../adapters/logger.js'
import type { UserId } from '../../core/brands.js'
import type { LimitKind, SharedAdmission } from '../../core/chat/limits.js'
import type { Rate } from '../../core/chat/rate-limit.js'
import { createSharedStanding } from '../http/shared-fallback.js'

/**
 * Asks the cluster's allowance for one chat command of `user` (one token of the user's `kind` bucket,
 * shared by every process). Never rejects: `undefined` when the cluster cannot answer, and the core then
 * decides with this process's bucket alone.
 */
export type SharedRates = (user: UserId, kind: LimitKind) => Promise<SharedAdmission | undefined>

/**
 * The chat allowances (MSG_RATE, TYPING_RATE, HISTORY_RATE) as cluster-wide token buckets, one per user and
 * kind under `chat:<kind>:<user>`, with the core's own `Rate` so one rule serves both. The log says once
 * when the buckets stop answering and once when they answer again, never once per command.
 */
export const createSharedRates = (limits: SharedLimits, rates: Readonly<Record<LimitKind, Rate>>, log: Logger): SharedRates => {
  const standing = createSharedStanding(log, 'chat commands')
  return async (user, kind) => {
    const answer = await limits.take(`chat:${kind}:${user}`, rates[kind])
    if (E.isLeft(answer)) {
      standing.failed(answer.left)
      return undefined
    }
    standing.answered()
    return answer.right
  }
}
