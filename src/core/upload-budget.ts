import * as I from 'immutable'
import { fullBucket, take, type Bucket, type Rate } from './chat/rate-limit.js'

/**
 * Upload budgets, pure: time comes in as `at`, the stored bytes come in from the database. Per user: a
 * quota on stored bytes that counts the bytes of uploads under way as they arrive (so concurrent uploads
 * cannot together pass it), a cap on uploads under way at once, and a rate of upload requests.
 *
 * With several processes, the shell asks the cluster before each decision and passes its answers in (see
 * "The cluster's answers" below): the rate is one shared token bucket, the uploads at once and the bytes
 * arriving are shared tallies. Where the cluster cannot answer, this process's own count decides, as on
 * one process: limited per process, never unlimited. Every process keeps its own count all the same.
 */
export interface UploadAllowance {
  readonly quotaBytes: number
  readonly maxConcurrent: number
  /** Upload requests per minute, all of which may be spent at once. */
  readonly perMinute: number
}

/**
 * What the database said the user keeps, plus what finished since (on a cluster, the largest of that and
 * each later read: `bytesHeld`). Trusted only while one of the user's uploads is under way: between two
 * busy spells the orphan sweep may have deleted files, so it is read again.
 */
export type StoredBytes = { readonly type: 'unknown' } | { readonly type: 'known'; readonly bytes: number }

export interface UserUploads {
  /** Requests admitted and not finished. */
  readonly active: number
  readonly stored: StoredBytes
  /** Bytes received by the active requests and not yet stored or given back. */
  readonly inFlight: number
  /** Bytes this process's active requests hold in the cluster's tally of the user's bytes arriving (0 on one process). */
  readonly heldShared: number
  readonly requests: Bucket
}

export type UploadBudgets = I.Map<string, UserUploads>

export const noBudgets: UploadBudgets = I.Map()

export type Admission =
  | { readonly type: 'admitted'; readonly needsStoredBytes: boolean }
  | { readonly type: 'rate_limited'; readonly retryAfterMs: number }
  | { readonly type: 'too_many_uploads'; readonly retryAfterMs: number }

export type Reservation = { readonly type: 'reserved' } | { readonly type: 'quota_exceeded'; readonly remaining: number }

/**
 * How an admitted request ended: `received` bytes were reserved, `kept` of them are now stored (0 on
 * failure), and it held `held` bytes in the cluster's tally (0 or absent on one process).
 */
export interface UploadOutcome {
  readonly received: number
  readonly kept: number
  readonly held?: number
}

/** A busy user is told to come back after this long: uploads under way give no better estimate. */
export const BUSY_RETRY_MS = 1000

// Past this many remembered users, idle and rested ones are dropped on the next admission.
const PRUNE_ABOVE = 10_000

const UNKNOWN: StoredBytes = { type: 'unknown' }

export const requestRate = (allowance: UploadAllowance): Rate => ({ perSecond: allowance.perMinute / 60, burst: allowance.perMinute })

const idleUser = (allowance: UploadAllowance, at: number): UserUploads => ({
  active: 0,
  stored: UNKNOWN,
  inFlight: 0,
  heldShared: 0,
  requests: fullBucket(requestRate(allowance), at),
})

// The cluster's answers. The shell asks, in this order, and stops at the first refusal:
//   1. the shared token bucket of the user's requests (`SharedLimits.take` with `requestRate`);
//   2. the shared tally of the user's uploads under way, to hold 1 more against `maxConcurrent`;
//   3. for bytes that do not fit the request's spare, the shared tally of the user's bytes arriving, to
//      hold `HoldAsk.amount` against `HoldAsk.limit`, then the stored bytes from the database again.
// What each answered goes into `admitUpload` and `bytesHeld`; `undefined` where Redis could not answer.

/** The shared token bucket's answer: admitted, or refused with the wait until a token is back (ms). */
export type SharedRate = { readonly admitted: true } | { readonly admitted: false; readonly retryAfterMs: number }

/** A shared tally's answer to a hold: whether it took the amount, and what the other processes hold in it. */
export interface SharedHold {
  readonly held: boolean
  readonly others: number
}

/** The cluster's answers for one request; `slot` is not asked (`undefined`) once the rate refused. */
export interface SharedAdmission {
  readonly rate: SharedRate | undefined
  readonly slot: SharedHold | undefined
}

/**
 * Admits one upload request, before its body is read. Every request spends one of the user's rate, admitted
 * or not (so hammering while busy is not free); then the concurrency cap applies. An admitted request must
 * end with `uploadFinished`; if `needsStoredBytes`, the caller reads the user's stored bytes and reports them
 * with `storedBytesLoaded` before reserving any.
 *
 * With `shared`, each of its answers decides in place of this process's count (which is kept all the same,
 * for when the cluster cannot answer). A slot the cluster held for a request refused here must be released.
 */
export const admitUpload = (
  budgets: UploadBudgets,
  user: string,
  allowance: UploadAllowance,
  at: number,
  shared?: SharedAdmission,
): readonly [UploadBudgets, Admission] => {
  const current = budgets.get(user) ?? idleUser(allowance, at)
  const taken = take(current.requests, requestRate(allowance), at)
  const spent = { ...current, requests: taken.bucket }
  const refuse = (admission: Admission) => [prune(budgets.set(user, spent), allowance, at), admission] as const
  const rate: SharedRate = shared?.rate ?? (taken.allowed ? { admitted: true } : { admitted: false, retryAfterMs: taken.retryAfterMs })
  if (!rate.admitted) return refuse({ type: 'rate_limited', retryAfterMs: rate.retryAfterMs })
  const free = shared?.slot?.held ?? current.active < allowance.maxConcurrent
  if (!free) return refuse({ type: 'too_many_uploads', retryAfterMs: BUSY_RETRY_MS })
  const admitted = { ...spent, active: current.active + 1 }
  return [prune(budgets.set(user, admitted), allowance, at), { type: 'admitted', needsStoredBytes: current.stored.type === 'unknown' }]
}

/**
 * The user's stored bytes, as read after admission. The first answer wins: a later one may have been read
 * before another request's files were added, while the figure in memory already counts them.
 */
export const storedBytesLoaded = (budgets: UploadBudgets, user: string, bytes: number): UploadBudgets => {
  const current = budgets.get(user)
  if (current === undefined || current.active === 0 || current.stored.type === 'known') return budgets
  return budgets.set(user, { ...current, stored: { type: 'known', bytes } })
}

/** Bytes the user's uploads may still take: the quota less what is stored and what is arriving. */
export const remainingBytes = (user: UserUploads | undefined, allowance: UploadAllowance): number =>
  user === undefined || user.stored.type === 'unknown' ? 0 : Math.max(0, allowance.quotaBytes - user.stored.bytes - user.inFlight)

/**
 * Counts `bytes` more of an admitted request against the quota, as they arrive. Refused if they would pass
 * it (nothing is counted then), or while the stored bytes are still unknown.
 */
export const reserveBytes = (
  budgets: UploadBudgets,
  user: string,
  bytes: number,
  allowance: UploadAllowance,
): readonly [UploadBudgets, Reservation] => {
  const current = budgets.get(user)
  const remaining = remainingBytes(current, allowance)
  if (current === undefined || current.active === 0 || bytes > remaining) return [budgets, { type: 'quota_exceeded', remaining }]
  return [budgets.set(user, { ...current, inFlight: current.inFlight + bytes }), { type: 'reserved' }]
}

/**
 * Ends an admitted request: what it kept moves from arriving to stored, the rest is given back (and what it
 * held in the cluster's tally, which the shell releases there). The last request of a busy spell forgets the
 * stored figure, and a user with nothing to remember is dropped.
 */
export const uploadFinished = (
  budgets: UploadBudgets,
  user: string,
  outcome: UploadOutcome,
  allowance: UploadAllowance,
  at: number,
): UploadBudgets => {
  const current = budgets.get(user)
  if (current === undefined || current.active === 0) return budgets
  const active = current.active - 1
  const kept = Math.min(outcome.kept, outcome.received)
  const stored: StoredBytes = active === 0 || current.stored.type === 'unknown' ? UNKNOWN : { type: 'known', bytes: current.stored.bytes + kept }
  const next: UserUploads = {
    ...current,
    active,
    stored,
    inFlight: Math.max(0, current.inFlight - outcome.received),
    heldShared: Math.max(0, current.heldShared - (outcome.held ?? 0)),
  }
  return isForgettable(next, allowance, at) ? budgets.delete(user) : budgets.set(user, next)
}

/** When a bucket is full again, in ms since the epoch. */
const restedAt = (bucket: Bucket, rate: Rate): number => bucket.at + ((rate.burst - bucket.tokens) * 1000) / rate.perSecond

const isForgettable = (user: UserUploads, allowance: UploadAllowance, at: number): boolean =>
  user.active === 0 && user.inFlight === 0 && user.heldShared === 0 && restedAt(user.requests, requestRate(allowance)) <= at

const prune = (budgets: UploadBudgets, allowance: UploadAllowance, at: number): UploadBudgets =>
  budgets.size <= PRUNE_ABOVE ? budgets : budgets.filter((user) => !isForgettable(user, allowance, at))

/** Uploads never attached to a stored message and made before this instant are orphans. */
export const orphanCutoff = (at: number, ttlSeconds: number): number => at - ttlSeconds * 1000

const HOUR_MS = 3_600_000

/**
 * How long looking an upload up for a message holds it against the sweep. The hold only has to cover the
 * time from the lookup to the message being stored (a lock wait at worst, seconds), so an hour is ample;
 * it is not a second grace period, since a lookup holds only uploads still within their own.
 */
export const ATTACHMENT_HOLD_MS = HOUR_MS

/**
 * At `at` (ms), an upload never attached to a stored message is swept if it was made before `madeBefore`
 * and no lookup has held it since `heldBefore`. Lookups find (and hold) only uploads that are attached or
 * made at or after `madeBefore`, so an upload no stored message links to lives at most its grace period
 * plus the hold, whatever refused messages name it.
 */
export interface OrphanCutoffs {
  readonly madeBefore: number
  readonly heldBefore: number
}

export const orphanCutoffs = (at: number, ttlSeconds: number): OrphanCutoffs => ({
  madeBefore: orphanCutoff(at, ttlSeconds),
  heldBefore: at - ATTACHMENT_HOLD_MS,
})

/** How often to look for orphans: a quarter of the grace period, at most hourly, so none outlives it by much. */
export const orphanSweepIntervalMs = (ttlSeconds: number): number => Math.max(1000, Math.min((ttlSeconds * 1000) / 4, HOUR_MS))
