import { emptyThrottle, loginFailed, loginSucceeded, waitBeforeLogin, type ThrottleKey } from '../../core/login-throttle.js'

export interface LoginGuard {
  /** Milliseconds to wait before this account may be tried from this address; 0 when it may. */
  readonly wait: (account: ThrottleKey, address: string) => number
  readonly failed: (account: ThrottleKey, address: string) => void
  readonly succeeded: (account: ThrottleKey, address: string) => void
}

/** Holds the throttle's state for one server; the decisions are the pure functions of the core. */
export const createLoginGuard = (now: () => number): LoginGuard => {
  let throttle = emptyThrottle
  return {
    wait: (account, address) => waitBeforeLogin(throttle, account, address, now()),
    failed: (account, address) => {
      throttle = loginFailed(throttle, account, address, now())
    },
    succeeded: (account, address) => {
      throttle = loginSucceeded(throttle, account, address)
    },
  }
}
