import * as E from 'fp-ts/lib/Either.js'
import type { SharedLimits } from '../../adapters/cluster.js'
import type { Logger } from '../../adapters/logger.js'
import type { Rate } from '../../core/chat/rate-limit.js'
import { noBuckets, ratePer, takeFor } from '../../core/keyed-limit.js'
import { createSharedStanding } from './shared-fallback.js'

export interface RateGuard {
  /** Spends one of `key`'s allowance: 0 when allowed, else the milliseconds until it may try again. Never rejects. */
  readonly take: (key: string) => Promise<number>
}

/** The cluster's counter for the same allowance: at most `limit` calls per key in each window of `windowMs`. */
export interface SharedWindow {
  readonly limits: SharedLimits
  readonly log: Logger
  /** Starts the shared key (`<name>:<key>`) and names the limit in the log. */
  readonly name: string
  readonly windowMs: number
  readonly limit: number
}

/**
 * Holds one keyed token-bucket map for one server (sign-ups per address...); the rule is the core's. With
 * `shared`, the answer is the cluster's counter, so the allowance is one for every process together; the
 * local buckets are spent all the same, and answer alone while Redis cannot (each process then admits up
 * to the allowance: limited per process, never unlimited).
 */
export const createRateGuard = (rate: Rate, now: () => number, shared?: SharedWindow): RateGuard => {
  let buckets = noBuckets
  const takeHere = (key: string): number => {
    const taken = takeFor(buckets, key, rate, now())
    buckets = taken.buckets
    return taken.allowed ? 0 : taken.retryAfterMs
  }
  if (shared === undefined) return { take: async (key) => takeHere(key) }

  const standing = createSharedStanding(shared.log, shared.name)
  return {
    take: async (key) => {
      const here = takeHere(key)
      const counted = await shared.limits.count(`${shared.name}:${key}`, shared.windowMs, shared.limit)
      if (E.isLeft(counted)) {
        standing.failed(counted.left)
        return here
      }
      standing.answered()
      return counted.right.admitted ? 0 : counted.right.retryAfterMs
    },
  }
}

const HOUR_MS = 3_600_000

/** Sign-ups per client address per hour (`REGISTER_RATE`): `signup:<address>` in the cluster. */
export const createSignUpGuard = (perHour: number, now: () => number, shared?: { readonly limits: SharedLimits; readonly log: Logger }): RateGuard =>
  createRateGuard(ratePer(perHour, HOUR_MS), now, shared === undefined ? undefined : { ...shared, name: 'signup', windowMs: HOUR_MS, limit: perHour })

const MINUTE_MS = 60_000

/** Members a user adds to rooms per minute (`INVITE_RATE`): `invite:<user id>` in the cluster. */
export const createInviteGuard = (perMinute: number, now: () => number, shared?: { readonly limits: SharedLimits; readonly log: Logger }): RateGuard =>
  createRateGuard(ratePer(perMinute, MINUTE_MS), now, shared === undefined ? undefined : { ...shared, name: 'invite', windowMs: MINUTE_MS, limit: perMinute })
