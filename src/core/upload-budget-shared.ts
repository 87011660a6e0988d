import { remainingBytes, reserveBytes, type SharedHold, type UploadAllowance, type UploadBudgets } from './upload-budget.js'

/*
 * The storage quota on a cluster, pure. Every process counts the bytes of its own uploads as they arrive
 * (`upload-budget.ts`); with several, each also holds them in a tally all processes share (one per user,
 * where each process's share is kept apart), so that uploads through different processes cannot together
 * pass the quota either. The shell asks the tally and the database; the rules are here.
 */

/** One admitted request's bytes: counted so far, held for it in the cluster's tally, and held but not yet counted. */
export interface RequestBytes {
  readonly received: number
  readonly held: number
  readonly spare: number
}

export const noBytes: RequestBytes = { received: 0, held: 0, spare: 0 }

/** Hold `amount` more bytes in the cluster's tally of the user's bytes arriving, where all processes together may hold `limit`. */
export interface HoldAsk {
  readonly amount: number
  readonly limit: number
}

export type SharedReservation =
  | { readonly type: 'reserved' }
  | { readonly type: 'ask'; readonly ask: HoldAsk }
  | { readonly type: 'quota_exceeded'; readonly remaining: number }

/**
 * `reserved`: counted; `add` is what the shell adds to the tally without a limit (what this process admitted
 * alone while the tally could not answer). `retry`: give `release` back to the tally, then ask `ask`.
 * `quota_exceeded`: give `release` back; the request is refused.
 */
export type HoldDecision =
  | { readonly type: 'reserved'; readonly add: number }
  | { readonly type: 'retry'; readonly release: number; readonly ask: HoldAsk }
  | { readonly type: 'quota_exceeded'; readonly release: number; readonly remaining: number }

// A request holds bytes in the cluster a slab ahead of what arrives, so a large upload asks Redis (and the
// database) a few times, not once per chunk: a slab is what the request already holds (doubling each time),
// from 1 MiB to 16 MiB, but never more than a sixteenth of the quota nor than this process thinks is left
// of it. What a request holds and does not use counts against the user's other uploads until it ends: near
// the quota, one of those may be refused early by that much, never late.
const MIN_SLAB = 1024 * 1024
const MAX_SLAB = 16 * 1024 * 1024
const slabFor = (request: RequestBytes, allowance: UploadAllowance): number =>
  Math.min(MAX_SLAB, Math.ceil(allowance.quotaBytes / 16), Math.max(MIN_SLAB, request.held))

/**
 * Counts `bytes` more of an admitted request against the quota on a cluster: at once from what the request
 * holds in the cluster's tally already, otherwise by asking the tally to hold more (`ask`, then `bytesHeld`).
 * Refused while the stored bytes are unknown, as `reserveBytes`.
 */
export const reserveShared = (
  budgets: UploadBudgets,
  user: string,
  request: RequestBytes,
  bytes: number,
  allowance: UploadAllowance,
): readonly [UploadBudgets, RequestBytes, SharedReservation] => {
  const current = budgets.get(user)
  if (current === undefined || current.active === 0 || current.stored.type === 'unknown') {
    return [budgets, request, { type: 'quota_exceeded', remaining: remainingBytes(current, allowance) }]
  }
  if (bytes <= request.spare) {
    const counted = { ...request, received: request.received + bytes, spare: request.spare - bytes }
    return [budgets.set(user, { ...current, inFlight: current.inFlight + bytes }), counted, { type: 'reserved' }]
  }
  const need = bytes - request.spare
  const room = allowance.quotaBytes - current.stored.bytes - current.heldShared
  const ask = { amount: Math.max(need, Math.min(slabFor(request, allowance), room)), limit: Math.max(0, allowance.quotaBytes - current.stored.bytes) }
  return [budgets, request, { type: 'ask', ask }]
}

/**
 * Decides on `bytes` of a request after the cluster's tally answered `ask` (`undefined`: it could not, and
 * this process's count decides, as `reserveBytes`; what that admits is added to the tally all the same).
 * `stored` is the user's stored bytes as read from the database after the tally held the amount
 * (`undefined` when not read, or the read failed: the figure already known decides).
 *
 * Why read them again: the tally's limit came from a figure this process read earlier, and another process
 * may have stored files since, moving their bytes from its holding in the tally into the database, where
 * our figure does not see them. A process stores its files before it releases what it held, so a figure
 * read after our hold counts every byte that left the tally before the hold: the stored bytes then, plus
 * what every process held at the hold, stays within the quota, or the hold is given back. The figure only
 * grows while the user is busy here (the sweep deletes only uploads a day old, and a figure too high only
 * refuses early); it is read from scratch again after the user was idle (`storedBytesLoaded`).
 *
 * A refused slab is asked again for just the bytes that arrived (`retry`, once); `release` is what the
 * shell gives back to the tally first.
 */
export const bytesHeld = (
  budgets: UploadBudgets,
  user: string,
  request: RequestBytes,
  bytes: number,
  ask: HoldAsk,
  answer: SharedHold | undefined,
  stored: number | undefined,
  allowance: UploadAllowance,
): readonly [UploadBudgets, RequestBytes, HoldDecision] => {
  if (answer === undefined) {
    const [next, reservation] = reserveBytes(budgets, user, bytes, allowance)
    const current = next.get(user)
    if (reservation.type === 'quota_exceeded' || current === undefined) return [next, request, { type: 'quota_exceeded', release: 0, remaining: remainingBytes(current, allowance) }]
    // Counted here alone (the request's spare first), and added to this process's share all the same.
    const added = Math.max(0, bytes - request.spare)
    const counted = { received: request.received + bytes, held: request.held + added, spare: Math.max(0, request.spare - bytes) }
    return [next.set(user, { ...current, heldShared: current.heldShared + added }), counted, { type: 'reserved', add: added }]
  }
  const current = budgets.get(user)
  if (current === undefined || current.active === 0 || current.stored.type === 'unknown') {
    return [budgets, request, { type: 'quota_exceeded', release: answer.held ? ask.amount : 0, remaining: 0 }]
  }
  const figure = Math.max(current.stored.bytes, stored ?? 0)
  const seen = budgets.set(user, { ...current, stored: { type: 'known', bytes: figure } })
  const heldShared = current.heldShared + (answer.held ? ask.amount : 0)
  if (answer.held && figure + answer.others + heldShared <= allowance.quotaBytes) {
    const held = { received: request.received + bytes, held: request.held + ask.amount, spare: request.spare + ask.amount - bytes }
    return [seen.set(user, { ...current, stored: { type: 'known', bytes: figure }, heldShared, inFlight: current.inFlight + bytes }), held, { type: 'reserved', add: 0 }]
  }
  const release = answer.held ? ask.amount : 0
  const need = bytes - request.spare
  if (ask.amount > need) return [seen, request, { type: 'retry', release, ask: { amount: need, limit: Math.max(0, allowance.quotaBytes - figure) } }]
  const remaining = Math.max(0, allowance.quotaBytes - figure - answer.others - current.heldShared)
  return [seen, request, { type: 'quota_exceeded', release, remaining }]
}
