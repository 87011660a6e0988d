import { emptyThrottle, loginAttempted, loginSucceeded, loginVoided, waitBeforeLogin, type ThrottleKey } from '../../core/login-throttle.js'

export interface LoginGuard {
  /**
   * Starts an attempt on this account from this address: 0 when it may go ahead (it then counts as a
   * failure until `succeeded` or `voided` says otherwise), else the milliseconds to wait.
   */
  readonly attempt: (account: ThrottleKey, address: string) => number
  readonly succeeded: (account: ThrottleKey, address: string) => void
  /** The attempt ended without a verdict on the password (busy, store failure). */
  readonly voided: (account: ThrottleKey, address: string) => void
}

/** Holds the throttle's state for one server; the decisions are the pure functions of the core. */
export const createLoginGuard = (now: () => number): LoginGuard => {
  let throttle = emptyThrottle
  return {
    attempt: (account, address) => {
      const at = now()
      const wait = waitBeforeLogin(throttle, account, address, at)
      if (wait === 0) throttle = loginAttempted(throttle, account, address, at)
      return wait
    },
    succeeded: (account, address) => {
      throttle = loginSucceeded(throttle, account, address, now())
    },
    voided: (account, address) => {
      throttle = loginVoided(throttle, account, address)
    },
  }
}
