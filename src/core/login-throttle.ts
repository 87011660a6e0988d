import * as I from 'immutable'

/**
 * Login throttling, pure: time comes in as `at`. Three counters, each answering a different attacker:
 *
 * - per (account, address): ten free failures, then a wait that doubles from one second to 15 minutes.
 *   This is what a guesser at one address meets, and it is theirs alone: the owner, elsewhere, is not
 *   locked out by someone who merely knows their name.
 * - per account, from every address together: a ceiling, far above what one address can reach alone under
 *   the backoff above (about 22 failures an hour), past which each failure doubles a wait from one second.
 *   Only a guesser spread over many addresses meets it, and an address the owner has signed in from before
 *   (in the last `KNOWN_ADDRESS_MS`) is never held by it, so a distributed attack does not lock the owner
 *   out of their usual places.
 * - per address, across accounts: a fixed window, high enough for an office behind one NAT, that stops a
 *   password sprayer trying one password on many names.
 *
 * An attempt counts as a failure from the moment it starts (`loginAttempted`), and is taken back when it
 * succeeds or fails for another reason: attempts sent in parallel are counted before any password is
 * checked, so a burst gets no more guesses than a sequence.
 *
 * The account is a `ThrottleKey`: one per account whichever of its names (username or e-mail) was typed,
 * and for a name with no account, the name itself, so unknown names are throttled exactly like real ones.
 * An address is counted by its network: IPv4 as is, IPv6 by its /64, the block one subscriber gets.
 */
export interface Attempts {
  readonly failures: number
  readonly since: number
  readonly blockedUntil: number
}

/** Whose failures these are; made by `accountThrottleKey` or `unknownLoginThrottleKey`. */
export type ThrottleKey = string & { readonly ThrottleKey: unique symbol }

export interface LoginThrottle {
  /** Keyed by `pairKey(account, network)`. */
  readonly pairs: I.Map<string, Attempts>
  readonly accounts: I.Map<ThrottleKey, Attempts>
  readonly addresses: I.Map<string, Attempts>
  /** When each (account, network) pair last signed in successfully. */
  readonly known: I.Map<string, number>
  /**
   * Past this many entries in all, stale ones are dropped on the next attempt (absent: PRUNE_ABOVE); after
   * a prune, twice what it kept, so a flood of live entries (names sprayed from many addresses) is walked
   * once per doubling, not on every attempt.
   */
  readonly pruneAbove?: number
}

export const PAIR_FREE_FAILURES = 10
export const MAX_BACKOFF_MS = 15 * 60_000
/** One address's failures on an account are forgotten this long after the last one. */
export const FAILURES_RESET_MS = 60 * 60_000
/** The ceiling: one address under the pair's backoff makes at most about 22 failures in this window. */
export const ACCOUNT_FREE_FAILURES = 100
export const ACCOUNT_WINDOW_MS = 60 * 60_000
export const ADDRESS_FAILURES = 100
export const ADDRESS_WINDOW_MS = 10 * 60_000
/** An address the owner signed in from within this long is exempt from the account's ceiling. */
export const KNOWN_ADDRESS_MS = 30 * 86_400_000
// Past this many remembered keys, stale ones are dropped on the next attempt.
const PRUNE_ABOVE = 10_000

export const emptyThrottle: LoginThrottle = { pairs: I.Map(), accounts: I.Map(), addresses: I.Map(), known: I.Map() }

/** The key of a known account, whichever name was typed. */
export const accountThrottleKey = (userId: string): ThrottleKey => `account:${userId}` as ThrottleKey

/** The key of a login name with no account: compared as the account lookup compares names. */
export const unknownLoginThrottleKey = (login: string): ThrottleKey => `name:${login.normalize('NFC').trim().toLowerCase()}` as ThrottleKey

/**
 * The network an address is counted by: an IPv4 address itself (also when IPv4-mapped, `::ffff:1.2.3.4`),
 * an IPv6 address's first 64 bits, anything else as given.
 */
export const networkOf = (address: string): string => {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address)?.[1]
  if (mapped !== undefined) return mapped
  if (!address.includes(':')) return address
  const [head = '', tail] = address.toLowerCase().split('%')[0]!.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
  return `${groups.slice(0, 4).map((group) => group.replace(/^0+(?=.)/, '')).join(':')}::/64`
}

/** The key of `pairs` and `known`. A newline cannot appear in an address, so it is unambiguous. */
export const pairKey = (account: ThrottleKey, network: string): string => `${network}\n${account}`

/** How long the caller must wait before trying this account from this address, in ms, or 0. */
export const waitBeforeLogin = (throttle: LoginThrottle, account: ThrottleKey, address: string, at: number): number => {
  const network = networkOf(address)
  const pair = pairKey(account, network)
  const pairWait = throttle.pairs.get(pair)?.blockedUntil ?? 0
  const known = (throttle.known.get(pair) ?? -Infinity) > at - KNOWN_ADDRESS_MS
  const ceilingWait = known ? 0 : (throttle.accounts.get(account)?.blockedUntil ?? 0)
  const addressWait = throttle.addresses.get(network)?.blockedUntil ?? 0
  return Math.max(0, pairWait - at, ceilingWait - at, addressWait - at)
}

/** An attempt starts: it counts as a failure until it is known to be otherwise. */
export const loginAttempted = (throttle: LoginThrottle, account: ThrottleKey, address: string, at: number): LoginThrottle => {
  const network = networkOf(address)
  const pair = pairKey(account, network)
  return prune(
    {
      ...throttle,
      pairs: throttle.pairs.set(pair, backoffFailure(throttle.pairs.get(pair), at)),
      accounts: throttle.accounts.set(account, windowBackoffFailure(throttle.accounts.get(account), at)),
      addresses: throttle.addresses.set(network, windowFailure(throttle.addresses.get(network), at)),
    },
    at,
  )
}

/**
 * The password was right: the pair's failures are cleared, this attempt is taken back from the account's
 * and the address's counts, and the address becomes one the owner is known to use. (A sprayer may know
 * one password, and a distributed guesser must not be reset by the owner signing in: the counts of other
 * failures stay.)
 */
export const loginSucceeded = (throttle: LoginThrottle, account: ThrottleKey, address: string, at: number): LoginThrottle => {
  const network = networkOf(address)
  const pair = pairKey(account, network)
  return {
    pairs: throttle.pairs.remove(pair),
    accounts: updateIfPresent(throttle.accounts, account, (attempts) => takeBack(attempts, ACCOUNT_FREE_FAILURES)),
    addresses: updateIfPresent(throttle.addresses, network, (attempts) => takeBack(attempts, ADDRESS_FAILURES - 1)),
    known: throttle.known.set(pair, at),
  }
}

/** The attempt ended without a verdict on the password (busy, a store failure): it is taken back everywhere. */
export const loginVoided = (throttle: LoginThrottle, account: ThrottleKey, address: string): LoginThrottle => {
  const network = networkOf(address)
  return {
    ...throttle,
    pairs: updateIfPresent(throttle.pairs, pairKey(account, network), (attempts) => takeBack(attempts, PAIR_FREE_FAILURES)),
    accounts: updateIfPresent(throttle.accounts, account, (attempts) => takeBack(attempts, ACCOUNT_FREE_FAILURES)),
    addresses: updateIfPresent(throttle.addresses, network, (attempts) => takeBack(attempts, ADDRESS_FAILURES - 1)),
  }
}

const updateIfPresent = <K, V>(map: I.Map<K, V>, key: K, update: (value: V) => V): I.Map<K, V> => {
  const value = map.get(key)
  return value === undefined ? map : map.set(key, update(value))
}

/** One failure fewer; a wait stands only while the failures left still earn one. */
const takeBack = (attempts: Attempts, free: number): Attempts => {
  const failures = Math.max(0, attempts.failures - 1)
  return { ...attempts, failures, blockedUntil: failures > free ? attempts.blockedUntil : 0 }
}

const backoff = (over: number): number => (over > 0 ? Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(30, over - 1)) : 0)

/** `since` is the last failure; each one past the free ones doubles the wait, from one second. */
const backoffFailure = (previous: Attempts | undefined, at: number): Attempts => {
  const failures = previous !== undefined && at - previous.since < FAILURES_RESET_MS ? previous.failures + 1 : 1
  const wait = backoff(failures - PAIR_FREE_FAILURES)
  return { failures, since: at, blockedUntil: wait === 0 ? 0 : at + wait }
}

/** `since` opens a fixed window; past the free failures in it, each one doubles a wait from one second. */
const windowBackoffFailure = (previous: Attempts | undefined, at: number): Attempts => {
  const window = previous !== undefined && at - previous.since < ACCOUNT_WINDOW_MS ? previous : { failures: 0, since: at, blockedUntil: 0 }
  const failures = window.failures + 1
  const wait = backoff(failures - ACCOUNT_FREE_FAILURES)
  return { failures, since: window.since, blockedUntil: wait === 0 ? 0 : at + wait }
}

/** `since` opens a fixed window; the address is blocked until the window ends once it has too many failures. */
const windowFailure = (previous: Attempts | undefined, at: number): Attempts => {
  const window = previous !== undefined && at - previous.since < ADDRESS_WINDOW_MS ? previous : { failures: 0, since: at, blockedUntil: 0 }
  const failures = window.failures + 1
  return { failures, since: window.since, blockedUntil: failures >= ADDRESS_FAILURES ? window.since + ADDRESS_WINDOW_MS : 0 }
}

const entries = (throttle: LoginThrottle): number => throttle.pairs.size + throttle.accounts.size + throttle.addresses.size + throttle.known.size

const prune = (throttle: LoginThrottle, at: number): LoginThrottle => {
  if (entries(throttle) <= (throttle.pruneAbove ?? PRUNE_ABOVE)) return throttle
  // Every counter's memory is at most an hour from its `since`; a known address, 30 days.
  const live = (attempts: Attempts) => attempts.blockedUntil > at || at - attempts.since < FAILURES_RESET_MS
  const kept = {
    pairs: throttle.pairs.filter(live),
    accounts: throttle.accounts.filter(live),
    addresses: throttle.addresses.filter(live),
    known: throttle.known.filter((lastSuccess) => at - lastSuccess < KNOWN_ADDRESS_MS),
  }
  return { ...kept, pruneAbove: Math.max(PRUNE_ABOVE, 2 * entries(kept)) }
}
