import * as E from 'fp-ts/lib/Either.js'
import type { Logger } from '../../adapters/logger.js'
import type { SharedRecords } from '../../adapters/shared-records.js'
import {
  emptyThrottle,
  loginAttempted,
  loginSucceeded,
  loginVoided,
  waitBeforeLogin,
  type LoginThrottle,
  type ThrottleKey,
} from '../../core/login-throttle.js'
import { createKeyedQueue, createSharedStanding } from './shared-fallback.js'
import { throttleRecords, type Decision } from './shared-throttle.js'

/**
 * An attempt the throttle let start counts as a failure until it says otherwise: `succeeded`, or `voided`
 * when it ended without a verdict on the password (busy, store failure). Each is called at most once.
 */
export type LoginAttempt =
  | { readonly type: 'refused'; readonly waitMs: number }
  | { readonly type: 'started'; readonly succeeded: () => Promise<void>; readonly voided: () => Promise<void> }

export interface LoginGuard {
  /** Starts an attempt on this account from this address, or says how long to wait (ms). Never rejects. */
  readonly attempt: (account: ThrottleKey, address: string) => Promise<LoginAttempt>
}

/** The cluster's shared state, when several processes serve one chat. */
export interface SharedThrottle {
  readonly records: SharedRecords
  readonly log: Logger
}

/**
 * Holds the throttle's state; the decisions are the pure functions of the core. With `shared`, the state
 * that decides is the cluster's (see shared-throttle.ts), so guesses spread over processes meet the same
 * limits as on one; this process keeps its own copy of what it saw, and decides with it alone while Redis
 * cannot answer (limited per process then, never unlimited). Without `shared`, the copy is all there is.
 */
export const createLoginGuard = (now: () => number, shared?: SharedThrottle): LoginGuard => {
  let local = emptyThrottle
  const here = (change: (throttle: LoginThrottle, at: number) => LoginThrottle) => {
    local = change(local, now())
  }

  const startHere = (account: ThrottleKey, address: string): LoginAttempt => {
    const wait = waitBeforeLogin(local, account, address, now())
    if (wait > 0) return { type: 'refused', waitMs: wait }
    here((throttle, at) => loginAttempted(throttle, account, address, at))
    return {
      type: 'started',
      succeeded: async () => here((throttle, at) => loginSucceeded(throttle, account, address, at)),
      voided: async () => here((throttle) => loginVoided(throttle, account, address)),
    }
  }

  if (shared === undefined) return { attempt: async (account, address) => startHere(account, address) }

  const standing = createSharedStanding(shared.log, 'login throttling')
  // One update at a time per account and per network in this process: parallel guesses then cost one read
  // and one write each instead of racing each other's writes, and only other processes can race.
  const queue = createKeyedQueue()
  const update = <R>(account: ThrottleKey, address: string, decide: (throttle: LoginThrottle, at: number) => Decision<R>) => {
    const records = throttleRecords(account, address)
    return queue.run([`account ${account}`, `network ${records.network}`], () => shared.records.update(records.keys, records.step(decide)))
  }
  // A verdict on an attempt the cluster counted goes to the cluster too; if it cannot be told, the
  // failure stays counted there (an error on the strict side), and the log has said Redis is away.
  const tell = async (account: ThrottleKey, address: string, change: (throttle: LoginThrottle, at: number) => LoginThrottle) => {
    const told = await update(account, address, (throttle, at) => ({ throttle: change(throttle, at), result: undefined }))
    if (E.isLeft(told)) standing.failed(told.left)
    else standing.answered()
  }

  return {
    attempt: async (account, address) => {
      const decided = await update(account, address, (throttle, at) => {
        const wait = waitBeforeLogin(throttle, account, address, at)
        return wait > 0 ? { throttle, result: wait } : { throttle: loginAttempted(throttle, account, address, at), result: 0 }
      })
      if (E.isLeft(decided)) {
        standing.failed(decided.left)
        return startHere(account, address)
      }
      standing.answered()
      if (decided.right > 0) return { type: 'refused', waitMs: decided.right }
      here((throttle, at) => loginAttempted(throttle, account, address, at))
      return {
        type: 'started',
        succeeded: async () => {
          here((throttle, at) => loginSucceeded(throttle, account, address, at))
          await tell(account, address, (throttle, at) => loginSucceeded(throttle, account, address, at))
        },
        voided: async () => {
          here((throttle) => loginVoided(throttle, account, address))
          await tell(account, address, (throttle) => loginVoided(throttle, account, address))
        },
      }
    },
  }
}
