import type { Rate } from '../../core/chat/rate-limit.js'
import { noBuckets, takeFor } from '../../core/keyed-limit.js'

export interface RateGuard {
  /** Spends one of `key`'s allowance: 0 when allowed, else the milliseconds until it may try again. */
  readonly take: (key: string) => number
}

/** Holds one keyed token-bucket map for one server (sign-ups per address...); the rule is the core's. */
export const createRateGuard = (rate: Rate, now: () => number): RateGuard => {
  let buckets = noBuckets
  return {
    take: (key) => {
      const taken = takeFor(buckets, key, rate, now())
      buckets = taken.buckets
      return taken.allowed ? 0 : taken.retryAfterMs
    },
  }
}
