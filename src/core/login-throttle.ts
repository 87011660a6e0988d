import * as I from 'immutable'

/**
 * Login throttling, pure: time comes in as `at`. Per account (by the login string, so unknown names are
 * throttled exactly like real ones and nothing is revealed), ten free failures and then an exponential
 * backoff; per IP, a higher fixed-window limit so that one address behind a NAT does not lock everyone
 * out, while a password sprayer is still stopped.
 */
export interface Attempts {
  readonly failures: number
  readonly since: number
  readonly blockedUntil: number
}

export interface LoginThrottle {
  readonly accounts: I.Map<string, Attempts>
  readonly addresses: I.Map<string, Attempts>
}

export const ACCOUNT_FREE_FAILURES = 10
export const ACCOUNT_MAX_BACKOFF_MS = 15 * 60_000
/** An account's failures are forgotten this long after the last one. */
export const ACCOUNT_RESET_MS = 60 * 60_000
export const ADDRESS_FAILURES = 100
export const ADDRESS_WINDOW_MS = 10 * 60_000
// Past this many remembered keys, stale ones are dropped on the next failure.
const PRUNE_ABOVE = 10_000

export const emptyThrottle: LoginThrottle = { accounts: I.Map(), addresses: I.Map() }

export const accountKey = (login: string): string => login.trim().toLowerCase()

/** How long the caller must wait before trying this login from this address, or 0. */
export const waitBeforeLogin = (throttle: LoginThrottle, login: string, address: string, at: number): number => {
  const account = throttle.accounts.get(accountKey(login))?.blockedUntil ?? 0
  const fromAddress = throttle.addresses.get(address)?.blockedUntil ?? 0
  return Math.max(0, account - at, fromAddress - at)
}

export const loginFailed = (throttle: LoginThrottle, login: string, address: string, at: number): LoginThrottle => {
  const key = accountKey(login)
  return prune(
    {
      accounts: throttle.accounts.set(key, accountFailure(throttle.accounts.get(key), at)),
      addresses: throttle.addresses.set(address, addressFailure(throttle.addresses.get(address), at)),
    },
    at,
  )
}

/** `since` is the last failure; each one past the free ones doubles the wait, from one second. */
const accountFailure = (previous: Attempts | undefined, at: number): Attempts => {
  const failures = previous !== undefined && at - previous.since < ACCOUNT_RESET_MS ? previous.failures + 1 : 1
  const backoff = failures > ACCOUNT_FREE_FAILURES ? Math.min(ACCOUNT_MAX_BACKOFF_MS, 1000 * 2 ** (failures - ACCOUNT_FREE_FAILURES - 1)) : 0
  return { failures, since: at, blockedUntil: backoff === 0 ? 0 : at + backoff }
}

/** `since` opens a fixed window; the address is blocked until the window ends once it has too many failures. */
const addressFailure = (previous: Attempts | undefined, at: number): Attempts => {
  const window = previous !== undefined && at - previous.since < ADDRESS_WINDOW_MS ? previous : { failures: 0, since: at, blockedUntil: 0 }
  const failures = window.failures + 1
  return { failures, since: window.since, blockedUntil: failures >= ADDRESS_FAILURES ? window.since + ADDRESS_WINDOW_MS : 0 }
}

/** A correct password clears the account's failures (not the address's: a sprayer may know one password). */
export const loginSucceeded = (throttle: LoginThrottle, login: string): LoginThrottle => ({
  ...throttle,
  accounts: throttle.accounts.remove(accountKey(login)),
})

const prune = (throttle: LoginThrottle, at: number): LoginThrottle => {
  if (throttle.accounts.size + throttle.addresses.size <= PRUNE_ABOVE) return throttle
  const live = (attempts: Attempts) => attempts.blockedUntil > at || at - attempts.since < ACCOUNT_RESET_MS
  return { accounts: throttle.accounts.filter(live), addresses: throttle.addresses.filter(live) }
}
