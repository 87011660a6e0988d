import * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import type { LinkFailure } from '../../adapters/cluster.js'
import { bytesHeld, noBytes, reserveShared, type RequestBytes } from '../../core/upload-budget-shared.js'
import { requestRate, uploadFinished, type Admission, type SharedAdmission, type UploadAllowance } from '../../core/upload-budget.js'
import { createKeyedQueue, createSharedStanding, type SharedStanding } from '../http/shared-fallback.js'
import type { BudgetCell, LeaseContext, SharedBudget, UploadLease } from './budget.js'

/** The cluster's keys of one user's upload budget (under the Redis prefix). */
export const sharedKeys = {
  /** The token bucket of the user's upload requests. */
  rate: (user: string) => `upload:rate:${user}`,
  /** The tally of the user's uploads under way. */
  active: (user: string) => `upload:active:${user}`,
  /** The tally of the bytes the user's uploads hold while they arrive. */
  bytes: (user: string) => `upload:bytes:${user}`,
}

export interface SharedUploads {
  /** Asks the cluster about one request: its rate, then (unless that refused) a slot among the uploads at once. */
  readonly ask: (user: string) => Promise<SharedAdmission>
  /** After the core decided: a slot held for a refused request goes back, one admitted alone is added to the tally. */
  readonly settle: (user: string, answers: SharedAdmission | undefined, admission: Admission) => void
  readonly lease: (context: LeaseContext) => UploadLease
}

interface Options extends SharedBudget {
  readonly cell: BudgetCell
  readonly allowance: UploadAllowance
  readonly storedBytes: (user: string) => TE.TaskEither<Error, number>
}

/**
 * The cluster's side of the upload budget: it asks, the core decides (core/upload-budget.ts for admission,
 * core/upload-budget-shared.ts for bytes), and it tells the tallies what was decided. Every slot and byte a
 * request was counted for, by the cluster or by this process alone, is in this process's share of the
 * tallies until the request ends, and released then (after its files are registered, so they are never
 * counted nowhere). A failure to answer is logged once per change of state, per counter.
 */
export const sharedUploads = ({ limits, tallies, log, cell, allowance, storedBytes }: Options): SharedUploads => {
  const rateStanding = createSharedStanding(log, 'uploads per minute')
  const tallyStanding = createSharedStanding(log, 'uploads at once and bytes arriving')
  // One hold at a time per user in this process: each decision sees what the one before it held.
  const queue = createKeyedQueue()

  const readStored = async (user: string): Promise<number | undefined> => {
    const read = await storedBytes(user)()
    // A database that cannot answer will not register the files either: the figure known decides meanwhile.
    return E.isRight(read) ? read.right : undefined
  }

  const lease = ({ user, now, ready }: LeaseContext): UploadLease => {
    const key = sharedKeys.bytes(user)
    let request: RequestBytes = noBytes
    // No more bytes are counted once finishing; the end itself waits for a hold under way.
    let finishing = false
    let ended = false
    let pending: Promise<boolean> | undefined

    const end = (kept: number): void => {
      if (ended) return
      ended = true
      cell.set(uploadFinished(cell.get(), user, { received: request.received, kept, held: request.held }, allowance, now()))
      tallies.release(sharedKeys.active(user), 1)
      if (request.held > 0) tallies.release(key, request.held)
    }
    // As on one process: a refused request keeps nothing, so what it holds goes back at once.
    const refuse = (): false => {
      end(0)
      return false
    }

    const hold = async (bytes: number): Promise<boolean> => {
      if (ended) return false
      const [counted, countedRequest, first] = reserveShared(cell.get(), user, request, bytes, allowance)
      cell.set(counted)
      request = countedRequest
      if (first.type === 'reserved') return true
      if (first.type === 'quota_exceeded') return refuse()
      let ask = first.ask
      for (;;) {
        const answer = answered(tallyStanding, await tallies.hold(key, ask.amount, ask.limit))
        // Read after the hold, never before: see bytesHeld for why that order is what makes it sound.
        const stored = answer?.held === true ? await readStored(user) : undefined
        const [next, nextRequest, decision] = bytesHeld(cell.get(), user, request, bytes, ask, answer, stored, allowance)
        cell.set(next)
        request = nextRequest
        if (decision.type === 'reserved') {
          if (decision.add > 0) tallies.add(key, decision.add)
          return true
        }
        if (decision.release > 0) tallies.release(key, decision.release)
        if (decision.type === 'quota_exceeded') return refuse()
        ask = decision.ask
      }
    }

    return {
      quotaBytes: allowance.quotaBytes,
      received: () => request.received,
      ready,
      reserve: (bytes) => {
        if (finishing || ended) return false
        // Most chunks fit what the request holds already: counted at once, with no promise.
        if (pending === undefined) {
          const [next, nextRequest, reservation] = reserveShared(cell.get(), user, request, bytes, allowance)
          if (reservation.type === 'reserved') {
            cell.set(next)
            request = nextRequest
            return true
          }
          if (reservation.type === 'quota_exceeded') return refuse()
        }
        const before = pending ?? Promise.resolve(true)
        const decided: Promise<boolean> = before.then((ok) => (ok ? queue.run([user], () => hold(bytes)) : false))
        pending = decided
        const settled = () => {
          if (pending === decided) pending = undefined
        }
        // A rejection (a bug) fails the upload through the caller; here it only ends the wait.
        decided.then(settled, settled)
        return decided
      },
      finish: (kept) => {
        finishing = true
        if (pending === undefined) end(kept)
        else pending.then(() => end(kept), () => end(kept))
      },
    }
  }

  return {
    ask: async (user) => {
      const rate = answered(rateStanding, await limits.take(sharedKeys.rate(user), requestRate(allowance)))
      if (rate?.admitted === false) return { rate, slot: undefined }
      const slot = answered(tallyStanding, await tallies.hold(sharedKeys.active(user), 1, allowance.maxConcurrent))
      return { rate, slot }
    },
    settle: (user, answers, admission) => {
      const held = answers?.slot?.held === true
      if (admission.type === 'admitted' && !held) tallies.add(sharedKeys.active(user), 1)
      if (admission.type !== 'admitted' && held) tallies.release(sharedKeys.active(user), 1)
    },
    lease,
  }
}

/** The counter's answer, or `undefined` (logged once per change of state) when Redis could not give one. */
const answered = <A>(standing: SharedStanding, result: E.Either<LinkFailure, A>): A | undefined => {
  if (E.isLeft(result)) {
    standing.failed(result.left)
    return undefined
  }
  standing.answered()
  return result.right
}
