import * as I from 'immutable'
import { fullBucket, take, type Bucket, type Rate } from './chat/rate-limit.js'

/**
 * One token bucket per key (a client address, a user), pure: time comes in as `at`. A key whose bucket
 * would be full again is forgotten, so the map holds only keys that spent something recently.
 */
export type KeyedBuckets = I.Map<string, Bucket>

export type KeyedTake =
  | { readonly allowed: true; readonly buckets: KeyedBuckets }
  | { readonly allowed: false; readonly buckets: KeyedBuckets; readonly retryAfterMs: number }

export const noBuckets: KeyedBuckets = I.Map()

/** `count` per `perMs` milliseconds, all of which may be spent at once. */
export const ratePer = (count: number, perMs: number): Rate => ({ perSecond: (count * 1000) / perMs, burst: count })

// Past this many keys, rested ones are dropped on the next take.
const PRUNE_ABOVE = 10_000

/** Takes one token from `key`'s bucket; refused with the wait until a token is back. */
export const takeFor = (buckets: KeyedBuckets, key: string, rate: Rate, at: number): KeyedTake => {
  const taken = take(buckets.get(key) ?? fullBucket(rate, at), rate, at)
  const next = prune(buckets.set(key, taken.bucket), rate, at)
  return taken.allowed ? { allowed: true, buckets: next } : { allowed: false, buckets: next, retryAfterMs: taken.retryAfterMs }
}

/** When this bucket is full again, in ms since the epoch. */
const restedAt = (bucket: Bucket, rate: Rate): number => bucket.at + ((rate.burst - bucket.tokens) * 1000) / rate.perSecond

const prune = (buckets: KeyedBuckets, rate: Rate, at: number): KeyedBuckets =>
  buckets.size <= PRUNE_ABOVE ? buckets : buckets.filter((bucket) => restedAt(bucket, rate) > at)
