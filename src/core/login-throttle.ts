import * as I from 'immutable'

/**
 * Login throttling, pure: time comes in as `at`. Three counters, each answering a different attacker:
 *
 * - per (account, address): ten free failures, then a wait that doubles from one second to 15 minutes.
 *   This is what a guesser at one address meets, and it is theirs alone: the owner, elsewhere, is not
 *   locked out by someone who merely knows their name.
 * - per account, from every address together: a ceiling in a fixed window, far above what one address can
 *   reach alone under the backoff above, which only a guesser spread over many addresses meets.
 * - per address, across accounts: a fixed window, high enough for an office behind one NAT, that stops a
 *   password sprayer trying one password on many names.
 *
 * The account is a `ThrottleKey`: one per account whichever of its names (username or e-mail) was typed,
 * and for a name with no account, the name itself, so unknown names are throttled exactly like real ones.
 */
export interface Attempts {
  readonly failures: number
  readonly since: number
  readonly blockedUntil: number
}

/** Whose failures these are; made by `accountThrottleKey` or `unknownLoginThrottleKey`. */
export type ThrottleKey = string & { readonly ThrottleKey: unique symbol }

export interface LoginThrottle {
  /** Keyed by `pairKey(account, address)`. */
  readonly pairs: I.Map<string, Attempts>
  readonly accounts: I.Map<ThrottleKey, Attempts>
  readonly addresses: I.Map<string, Attempts>
}

export const PAIR_FREE_FAILURES = 10
export const MAX_BACKOFF_MS = 15 * 60_000
/** One address's failures on an account are forgotten this long after the last one. */
export const FAILURES_RESET_MS = 60 * 60_000
/** The ceiling: one address under the backoff above makes at most about 22 failures in this window. */
export const ACCOUNT_FAILURES = 100
export const ACCOUNT_WINDOW_MS = 60 * 60_000
export const ADDRESS_FAILURES = 100
export const ADDRESS_WINDOW_MS = 10 * 60_000
// Past this many remembered keys, stale ones are dropped on the next failure.
const PRUNE_ABOVE = 10_000

export const emptyThrottle: LoginThrottle = { pairs: I.Map(), accounts: I.Map(), addresses: I.Map() }

/** The key of a known account, whichever name was typed. */
export const accountThrottleKey = (userId: string): ThrottleKey => `account:${userId}` as ThrottleKey

/** The key of a login name with no account: compared as the account lookup compares names. */
export const unknownLoginThrottleKey = (login: string): ThrottleKey => `name:${login.normalize('NFC').trim().toLowerCase()}` as ThrottleKey

// A newline cannot appear in an address, so the pair key is unambiguous.
const pairKey = (account: ThrottleKey, address: string): string => `${address}\n${account}`

/** How long the caller must wait before trying this account from this address, in ms, or 0. */
export const waitBeforeLogin = (throttle: LoginThrottle, account: ThrottleKey, address: string, at: number): number => {
  const pair = throttle.pairs.get(pairKey(account, address))?.blockedUntil ?? 0
  const ceiling = throttle.accounts.get(account)?.blockedUntil ?? 0
  const fromAddress = throttle.addresses.get(address)?.blockedUntil ?? 0
  return Math.max(0, pair - at, ceiling - at, fromAddress - at)
}

export const loginFailed = (throttle: LoginThrottle, account: ThrottleKey, address: string, at: number): LoginThrottle => {
  const pair = pairKey(account, address)
  return prune(
    {
      pairs: throttle.pairs.set(pair, backoffFailure(throttle.pairs.get(pair), at)),
      accounts: throttle.accounts.set(account, windowFailure(throttle.accounts.get(account), at, ACCOUNT_FAILURES, ACCOUNT_WINDOW_MS)),
      addresses: throttle.addresses.set(address, windowFailure(throttle.addresses.get(address), at, ADDRESS_FAILURES, ADDRESS_WINDOW_MS)),
    },
    at,
  )
}

/** `since` is the last failure; each one past the free ones doubles the wait, from one second. */
const backoffFailure = (previous: Attempts | undefined, at: number): Attempts => {
  const failures = previous !== undefined && at - previous.since < FAILURES_RESET_MS ? previous.failures + 1 : 1
  const over = failures - PAIR_FREE_FAILURES
  const backoff = over > 0 ? Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(30, over - 1)) : 0
  return { failures, since: at, blockedUntil: backoff === 0 ? 0 : at + backoff }
}

/** `since` opens a fixed window; the key is blocked until the window ends once it has `limit` failures. */
const windowFailure = (previous: Attempts | undefined, at: number, limit: number, windowMs: number): Attempts => {
  const window = previous !== undefined && at - previous.since < windowMs ? previous : { failures: 0, since: at, blockedUntil: 0 }
  const failures = window.failures + 1
  return { failures, since: window.since, blockedUntil: failures >= limit ? window.since + windowMs : 0 }
}

/**
 * A correct password clears that address's failures on the account. Not the account's ceiling (a
 * distributed guesser must not be reset by the owner signing in) nor the address's (a sprayer may know
 * one password).
 */
export const loginSucceeded = (throttle: LoginThrottle, account: ThrottleKey, address: string): LoginThrottle => ({
  ...throttle,
  pairs: throttle.pairs.remove(pairKey(account, address)),
})

const prune = (throttle: LoginThrottle, at: number): LoginThrottle => {
  if (throttle.pairs.size + throttle.accounts.size + throttle.addresses.size <= PRUNE_ABOVE) return throttle
  // Every counter's memory is at most an hour from its `since`.
  const live = (attempts: Attempts) => attempts.blockedUntil > at || at - attempts.since < FAILURES_RESET_MS
  return { pairs: throttle.pairs.filter(live), accounts: throttle.accounts.filter(live), addresses: throttle.addresses.filter(live) }
}
