import * as fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  ACCOUNT_FREE_FAILURES,
  accountThrottleKey,
  emptyThrottle,
  loginAttempted,
  loginSucceeded,
  loginVoided,
  networkOf,
  unknownLoginThrottleKey,
  waitBeforeLogin,
  type LoginThrottle,
  type ThrottleKey,
} from '../../src/core/login-throttle.js'

const ana = accountThrottleKey('user-ana')
const bia = accountThrottleKey('user-bia')
const t0 = 1_700_000_000_000

/** `times` attempts that each fail (the attempt itself is the failure until taken back). */
const fail = (throttle: LoginThrottle, times: number, account: ThrottleKey, address: string, at: number) => {
  let next = throttle
  for (let i = 0; i < times; i++) next = loginAttempted(next, account, address, at)
  return next
}

/** What the guard does: try only when the wait is 0; a tried attempt counts until it is taken back. */
const tryLogin = (throttle: LoginThrottle, account: ThrottleKey, address: string, at: number): [LoginThrottle, boolean] =>
  waitBeforeLogin(throttle, account, address, at) === 0 ? [loginAttempted(throttle, account, address, at), true] : [throttle, false]

describe('login throttling', () => {
  it('allows one address ten failures on an account, then doubles its wait from one second to 15 minutes', () => {
    const ten = fail(emptyThrottle, 10, ana, '10.0.0.1', t0)
    expect(waitBeforeLogin(ten, ana, '10.0.0.1', t0)).toBe(0)
    const eleven = loginAttempted(ten, ana, '10.0.0.1', t0)
    expect(waitBeforeLogin(eleven, ana, '10.0.0.1', t0)).toBe(1000)
    expect(waitBeforeLogin(loginAttempted(eleven, ana, '10.0.0.1', t0 + 1000), ana, '10.0.0.1', t0 + 1000)).toBe(2000)
    expect(waitBeforeLogin(fail(eleven, 30, ana, '10.0.0.1', t0), ana, '10.0.0.1', t0)).toBe(15 * 60_000)
  })

  it('does not lock the owner out elsewhere: the issue’s 11 wrong passwords from one address', () => {
    const blocked = fail(emptyThrottle, 11, ana, '10.0.0.1', t0)
    expect(waitBeforeLogin(blocked, ana, '10.0.0.1', t0)).toBe(1000)
    expect(waitBeforeLogin(blocked, ana, '10.9.9.9', t0)).toBe(0)
    expect(waitBeforeLogin(blocked, bia, '10.0.0.1', t0)).toBe(0)
  })

  it('counts attempts sent in parallel before any answer: a burst gets no more tries than a sequence', () => {
    let throttle = emptyThrottle
    let started = 0
    for (let i = 0; i < 140; i++) {
      const [next, allowed] = tryLogin(throttle, ana, '127.0.0.1', t0)
      throttle = next
      if (allowed) started++
    }
    // As in a sequence: ten free failures, and the eleventh is the one that starts the wait.
    expect(started).toBe(11)
    // Nor did the burst touch the account's ceiling: the owner elsewhere is free.
    expect(waitBeforeLogin(throttle, ana, '127.0.0.4', t0)).toBe(0)
  })

  it('takes back an attempt that succeeded or ended without a verdict', () => {
    const nine = fail(emptyThrottle, 9, ana, '10.0.0.1', t0)
    const voided = loginVoided(loginAttempted(nine, ana, '10.0.0.1', t0), ana, '10.0.0.1')
    expect(voided.pairs).toEqual(nine.pairs)
    expect(voided.accounts).toEqual(nine.accounts)
    const succeeded = loginSucceeded(loginAttempted(fail(emptyThrottle, 11, ana, '10.0.0.1', t0), ana, '10.0.0.2', t0), ana, '10.0.0.2', t0)
    expect(waitBeforeLogin(succeeded, ana, '10.0.0.2', t0)).toBe(0)
    expect(succeeded.accounts.get(ana)?.failures).toBe(11)
  })

  it('keys unknown names as typed, compared like account names', () => {
    expect(unknownLoginThrottleKey(' Ana ')).toBe(unknownLoginThrottleKey('ana'))
    expect(unknownLoginThrottleKey('e\u0301')).toBe(unknownLoginThrottleKey('\u00e9'))
    expect(unknownLoginThrottleKey('ana')).not.toBe(accountThrottleKey('ana'))
  })

  it('counts an IPv6 address by its /64, and an IPv4-mapped one as IPv4', () => {
    expect(networkOf('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64')
    expect(networkOf('2001:db8:1:2::abcd')).toBe('2001:db8:1:2::/64')
    expect(networkOf('2001:0db8:0001:0002:ffff::1')).toBe('2001:db8:1:2::/64')
    expect(networkOf('::1')).toBe('0:0:0:0::/64')
    expect(networkOf('fe80::1%eth0')).toBe('fe80:0:0:0::/64')
    expect(networkOf('::ffff:192.0.2.7')).toBe('192.0.2.7')
    expect(networkOf('192.0.2.7')).toBe('192.0.2.7')
    const spread = fail(emptyThrottle, 11, ana, '2001:db8:1:2::1', t0)
    expect(waitBeforeLogin(spread, ana, '2001:db8:1:2:ffff::9', t0)).toBe(1000)
    expect(waitBeforeLogin(spread, ana, '2001:db8:1:3::1', t0)).toBe(0)
  })

  it('forgets an address’s old failures on an account after an hour', () => {
    const old = fail(emptyThrottle, 10, ana, '10.0.0.1', t0)
    const later = loginAttempted(old, ana, '10.0.0.1', t0 + 61 * 60_000)
    expect(waitBeforeLogin(later, ana, '10.0.0.1', t0 + 61 * 60_000)).toBe(0)
  })

  it('slows a guesser spread over many addresses at the account’s ceiling, but never where the owner signs in', () => {
    const home = loginSucceeded(loginAttempted(emptyThrottle, ana, '192.0.2.10', t0), ana, '192.0.2.10', t0)
    let throttle = home
    for (let i = 0; i <= ACCOUNT_FREE_FAILURES; i++) throttle = loginAttempted(throttle, ana, `198.51.100.${i % 10}`, t0 + i)
    // Ten addresses, ten failures each, and one more: strangers wait, the owner's usual address does not.
    expect(waitBeforeLogin(throttle, ana, '203.0.113.77', t0 + 100)).toBe(1000)
    expect(waitBeforeLogin(throttle, ana, '192.0.2.10', t0 + 100)).toBe(0)
    expect(waitBeforeLogin(throttle, bia, '203.0.113.77', t0 + 100)).toBe(0)
  })

  it('blocks an address after 100 failures in its window, across accounts, until the window ends', () => {
    let throttle = emptyThrottle
    for (let i = 0; i < 100; i++) throttle = loginAttempted(throttle, accountThrottleKey(`user${i}`), '10.0.0.7', t0 + i)
    expect(waitBeforeLogin(throttle, bia, '10.0.0.7', t0 + 100)).toBe(10 * 60_000 - 100)
    expect(waitBeforeLogin(throttle, bia, '10.0.0.8', t0 + 100)).toBe(0)
    expect(waitBeforeLogin(throttle, bia, '10.0.0.7', t0 + 10 * 60_000)).toBe(0)
  })

  it('never lets one address lock another out of an account, however it paces or bursts its guesses (property)', () => {
    // Bursts of attempts started at once, after gaps from a second to two hours; each attempt fails.
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1000, max: 2 * 60 * 60_000 }), fc.integer({ min: 1, max: 50 })), { minLength: 1, maxLength: 200 }), (bursts) => {
        let throttle = emptyThrottle
        let at = t0
        for (const [gap, size] of bursts) {
          at += gap
          for (let i = 0; i < size; i++) throttle = tryLogin(throttle, ana, '203.0.113.66', at)[0]
          expect(waitBeforeLogin(throttle, ana, '192.0.2.1', at)).toBe(0)
        }
      }),
      { numRuns: 200 },
    )
  })
})

describe('memory under a flood of names (helper-21: past 10,000 live entries every attempt walked them all)', () => {
  const size = (t: LoginThrottle) => t.pairs.size + t.accounts.size + t.addresses.size + t.known.size
  it('walks the entries once per doubling while they are live, and still forgets the stale ones', () => {
    let throttle = emptyThrottle
    let walks = 0
    let last = throttle.pruneAbove
    // Names sprayed from many addresses: three live entries each (pair, name, address), an hour to live.
    for (let i = 0; i < 12_000; i++) {
      throttle = loginAttempted(throttle, unknownLoginThrottleKey(`name-${i}`), `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, t0 + i)
      if (throttle.pruneAbove !== last) {
        walks++
        last = throttle.pruneAbove
      }
    }
    expect(size(throttle)).toBe(36_000)
    // 10,000 then 20,000 (twice what the first walk kept): two walks for 36,000 entries, not 26,000.
    expect(walks).toBe(2)
    // An hour later the next attempt past the threshold forgets them.
    const later = t0 + 2 * 3_600_000
    for (let i = 0; i < 5_000 && size(throttle) > 100; i++) throttle = loginAttempted(throttle, unknownLoginThrottleKey(`late-${i}`), `10.200.${(i >> 8) & 255}.${i & 255}`, later)
    expect(size(throttle)).toBeLessThan(36_000)
  })
})

