import * as I from 'immutable'
import { fullBucket, take, type Bucket, type Rate } from './chat/rate-limit.js'

/**
 * One token bucket per key (a client address, a user), pure: time comes in as `at`. A key whose bucket
 * would be full again is forgotten, so the map holds only keys that spent something recently.
 */
export interface KeyedBuckets {
  readonly byKey: I.Map<string, Bucket>
  /**
   * Past this many keys, rested ones are dropped on the next take; after a prune, twice what it kept, so
   * a map full of live keys (a flood from many addresses) is walked once per doubling, not on every take.
   */
  readonly pruneAbove: number
}

export type KeyedTake =
  | { readonly allowed: true; readonly buckets: KeyedBuckets }
  | { readonly allowed: false; readonly buckets: KeyedBuckets; readonly retryAfterMs: number }

// At least this many keys are kept before rested ones are dropped.
const PRUNE_ABOVE = 10_000

export const noBuckets: KeyedBuckets = { byKey: I.Map(), pruneAbove: PRUNE_ABOVE }

/** `count` per `perMs` milliseconds, all of which may be spent at once. */
export const ratePer = (count: number, perMs: number): Rate => ({ perSecond: (count * 1000) / perMs, burst: count })


/** Takes one token from `key`'s bucket; refused with the wait until a token is back. */
export const takeFor = (buckets: KeyedBuckets, key: string, rate: Rate, at: number): KeyedTake => {
  const taken = take(buckets.byKey.get(key) ?? fullBucket(rate, at), rate, at)
  const next = prune({ ...buckets, byKey: buckets.byKey.set(key, taken.bucket) }, rate, at)
  return taken.allowed ? { allowed: true, buckets: next } : { allowed: false, buckets: next, retryAfterMs: taken.retryAfterMs }
}

/** When this bucket is full again, in ms since the epoch. */
const restedAt = (bucket: Bucket, rate: Rate): number => bucket.at + ((rate.burst - bucket.tokens) * 1000) / rate.perSecond

const prune = (buckets: KeyedBuckets, rate: Rate, at: number): KeyedBuckets => {
  if (buckets.byKey.size <= buckets.pruneAbove) return buckets
  const byKey = buckets.byKey.filter((bucket) => restedAt(bucket, rate) > at)
  return { byKey, pruneAbove: Math.max(PRUNE_ABOVE, 2 * byKey.size) }
}
