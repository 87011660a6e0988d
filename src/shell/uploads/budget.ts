import * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import type { HttpError } from 'http-errors'
import {
  admitUpload,
  noBudgets,
  reserveBytes,
  storedBytesLoaded,
  uploadFinished,
  type UploadAllowance,
  type UploadBudgets,
} from '../../core/upload-budget.js'
import { httpError } from '../http/respond.js'

/** One admitted upload request's hold on its user's budget. */
export interface UploadLease {
  /** Reads the user's stored bytes if the budget does not know them yet; call before `reserve`. */
  readonly ready: () => Promise<E.Either<Error, void>>
  /** Counts `bytes` more against the quota as they arrive; false (and nothing counted) past it. */
  readonly reserve: (bytes: number) => boolean
  /** The quota, for the refusal's message. */
  readonly quotaBytes: number
  /** File bytes counted so far. */
  readonly received: () => number
  /** Ends the request: `kept` bytes are now stored, the rest of what was reserved is given back. Once only. */
  readonly finish: (kept: number) => void
}

export interface UploadBudget {
  /** Admits a request before its body is read, or refuses it (429 with `Retry-After`). */
  readonly admit: (user: string) => E.Either<HttpError, UploadLease>
}

/** Holds every user's upload budget for one server; the rules are the core's. */
export const createUploadBudget = (
  allowance: UploadAllowance,
  storedBytes: (user: string) => TE.TaskEither<Error, number>,
  now: () => number,
): UploadBudget => {
  let budgets: UploadBudgets = noBudgets

  const lease = (user: string, needsStoredBytes: boolean): UploadLease => {
    let received = 0
    let finished = false
    const end = (kept: number): void => {
      if (finished) return
      finished = true
      budgets = uploadFinished(budgets, user, { received, kept }, allowance, now())
    }
    return {
      quotaBytes: allowance.quotaBytes,
      received: () => received,
      ready: async () => {
        if (!needsStoredBytes) return E.right(undefined)
        const bytes = await storedBytes(user)()
        if (E.isRight(bytes)) budgets = storedBytesLoaded(budgets, user, bytes.right)
        return E.map(() => undefined)(bytes)
      },
      reserve: (bytes) => {
        if (finished) return false
        const [next, reservation] = reserveBytes(budgets, user, bytes, allowance)
        budgets = next
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

  return {
    admit: (user) => {
      const [next, admission] = admitUpload(budgets, user, allowance, now())
      budgets = next
      switch (admission.type) {
        case 'admitted':
          return E.right(lease(user, admission.needsStoredBytes))
        case 'rate_limited':
          return E.left(retryLater('rate_limited', `at most ${allowance.perMinute} uploads a minute`, admission.retryAfterMs))
        case 'too_many_uploads':
          return E.left(retryLater('too_many_uploads', `at most ${allowance.maxConcurrent} uploads at once`, admission.retryAfterMs))
      }
    },
  }
}

/** 429 that says when to come back, in the body and in `Retry-After` (whole seconds, at least 1). */
const retryLater = (code: string, what: string, waitMs: number): HttpError => {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000))
  return httpError(429, code, `${what}; try again in ${seconds} s`, undefined, { 'Retry-After': String(seconds) })
}
