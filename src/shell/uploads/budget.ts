import * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import type { HttpError } from 'http-errors'
import type { SharedLimits, SharedTallies } from '../../adapters/cluster.js'
import type { Logger } from '../../adapters/logger.js'
import {
  admitUpload,
  noBudgets,
  reserveBytes,
  storedBytesLoaded,
  uploadFinished,
  type Admission,
  type UploadAllowance,
  type UploadBudgets,
} from '../../core/upload-budget.js'
import { httpError } from '../http/respond.js'
import { sharedUploads } from './shared-budget.js'

/** One admitted upload request's hold on its user's budget. */
export interface UploadLease {
  /** Reads the user's stored bytes if the budget does not know them yet; call before `reserve`. */
  readonly ready: () => Promise<E.Either<Error, void>>
  /**
   * Counts `bytes` more against the quota as they arrive; false (and nothing counted) past it. At once on
   * one process; on a cluster, a promise when the bytes must first be held in the cluster's tally. Calls
   * are answered in the order they were made.
   */
  readonly reserve: (bytes: number) => boolean | Promise<boolean>
  /** The quota, for the refusal's message. */
  readonly quotaBytes: number
  /** File bytes counted so far. */
  readonly received: () => number
  /** Ends the request: `kept` bytes are now stored, the rest of what was reserved is given back. Once only. */
  readonly finish: (kept: number) => void
}

export interface UploadBudget {
  /** Admits a request before its body is read, or refuses it (429 with `Retry-After`). Never rejects. */
  readonly admit: (user: string) => Promise<E.Either<HttpError, UploadLease>>
}

/** The cluster's counters, when several processes serve one chat. */
export interface SharedBudget {
  readonly limits: SharedLimits
  readonly tallies: SharedTallies
  readonly log: Logger
}

/** The one place the budgets live; every change is a core function applied to them. */
export interface BudgetCell {
  readonly get: () => UploadBudgets
  readonly set: (next: UploadBudgets) => void
}

/** What a lease needs of its budget: the user, the rules, the clock and the one place the budgets live. */
export interface LeaseContext {
  readonly user: string
  readonly allowance: UploadAllowance
  readonly now: () => number
  readonly cell: BudgetCell
  readonly ready: () => Promise<E.Either<Error, void>>
}

/**
 * Holds every user's upload budget for one server; the rules are the core's. With `shared`, the budget is
 * the cluster's (see shared-budget.ts): uploads per minute, uploads at once and bytes arriving are counted
 * by every process together, and the stored bytes are read again whenever the cluster holds more bytes.
 * This process keeps its own count all the same and decides with it alone while Redis cannot answer.
 */
export const createUploadBudget = (
  allowance: UploadAllowance,
  storedBytes: (user: string) => TE.TaskEither<Error, number>,
  now: () => number,
  shared?: SharedBudget,
): UploadBudget => {
  let budgets: UploadBudgets = noBudgets
  const cell: BudgetCell = {
    get: () => budgets,
    set: (next) => {
      budgets = next
    },
  }
  const cluster = shared === undefined ? undefined : sharedUploads({ ...shared, cell, allowance, storedBytes })

  const readStored = (user: string) => async (): Promise<E.Either<Error, void>> => {
    const bytes = await storedBytes(user)()
    if (E.isRight(bytes)) budgets = storedBytesLoaded(budgets, user, bytes.right)
    return E.map(() => undefined)(bytes)
  }

  return {
    admit: async (user) => {
      const answers = await cluster?.ask(user)
      const [next, admission] = admitUpload(budgets, user, allowance, now(), answers)
      budgets = next
      cluster?.settle(user, answers, admission)
      if (admission.type !== 'admitted') return E.left(refusal(admission, allowance))
      const context: LeaseContext = { user, allowance, now, cell, ready: admission.needsStoredBytes ? readStored(user) : async () => E.right(undefined) }
      return E.right(cluster === undefined ? localLease(context) : cluster.lease(context))
    },
  }
}

/** A request counted by this process alone. */
const localLease = ({ user, allowance, now, cell, ready }: LeaseContext): UploadLease => {
  let received = 0
  let finished = false
  const end = (kept: number): void => {
    if (finished) return
    finished = true
    cell.set(uploadFinished(cell.get(), user, { received, kept }, allowance, now()))
  }
  return {
    quotaBytes: allowance.quotaBytes,
    received: () => received,
    ready,
    reserve: (bytes) => {
      if (finished) return false
      const [next, reservation] = reserveBytes(cell.get(), user, bytes, allowance)
      cell.set(next)
      if (reservation.type === 'quota_exceeded') {
        // Refused: it will keep nothing, so what it reserved goes back now, not once its files are
        // removed, or a concurrent upload of the same user that fits would be refused meanwhile.
        end(0)
        return false
      }
      received += bytes
      return true
    },
    finish: (kept) => end(kept),
  }
}

const refusal = (admission: Exclude<Admission, { type: 'admitted' }>, allowance: UploadAllowance): HttpError => {
  switch (admission.type) {
    case 'rate_limited':
      return retryLater('rate_limited', `at most ${allowance.perMinute} uploads a minute`, admission.retryAfterMs)
    case 'too_many_uploads':
      return retryLater('too_many_uploads', `at most ${allowance.maxConcurrent} uploads at once`, admission.retryAfterMs)
  }
}

/** 429 that says when to come back, in the body and in `Retry-After` (whole seconds, at least 1). */
const retryLater = (code: string, what: string, waitMs: number): HttpError => {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000))
  return httpError(429, code, `${what}; try again in ${seconds} s`, undefined, { 'Retry-After': String(seconds) })
}
