import type { IncomingMessage } from 'node:http'
import { emptyThrottle, loginFailed, loginSucceeded, waitBeforeLogin } from '../../core/login-throttle.js'

export interface LoginGuard {
  /** Milliseconds to wait before this login may be tried from this address; 0 when it may. */
  readonly wait: (login: string, address: string) => number
  readonly failed: (login: string, address: string) => void
  readonly succeeded: (login: string) => void
}

/** Holds the throttle's state for one server; the decisions are the pure functions of the core. */
export const createLoginGuard = (now: () => number): LoginGuard => {
  let throttle = emptyThrottle
  return {
    wait: (login, address) => waitBeforeLogin(throttle, login, address, now()),
    failed: (login, address) => {
      throttle = loginFailed(throttle, login, address, now())
    },
    succeeded: (login) => {
      throttle = loginSucceeded(throttle, login)
    },
  }
}

/** The client's address: the socket's, or the first `X-Forwarded-For` hop when a trusted proxy sets it. */
export const clientAddress = (req: IncomingMessage, trustProxy: boolean): string => {
  const forwarded = trustProxy ? req.headers['x-forwarded-for'] : undefined
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim()
  return first !== undefined && first !== '' ? first : (req.socket.remoteAddress ?? 'unknown')
}
