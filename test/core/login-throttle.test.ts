import * as fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  ACCOUNT_FAILURES,
  accountThrottleKey,
  emptyThrottle,
  loginFailed,
  loginSucceeded,
  unknownLoginThrottleKey,
  waitBeforeLogin,
  type LoginThrottle,
  type ThrottleKey,
} from '../../src/core/login-throttle.js'

const ana = accountThrottleKey('user-ana')
const bia = accountThrottleKey('user-bia')

const fail = (throttle: LoginThrottle, times: number, account: ThrottleKey, address: string, at: number) => {
  let next = throttle
  for (let i = 0; i < times; i++) next = loginFailed(next, account, address, at)
  return next
}

describe('login throttling', () => {
  const t0 = 1_700_000_000_000

  it('allows one address ten failures on an account, then doubles its wait from one second to 15 minutes', () => {
    const ten = fail(emptyThrottle, 10, ana, '10.0.0.1', t0)
    expect(waitBeforeLogin(ten, ana, '10.0.0.1', t0)).toBe(0)
    const eleven = loginFailed(ten, ana, '10.0.0.1', t0)
    expect(waitBeforeLogin(eleven, ana, '10.0.0.1', t0)).toBe(1000)
    expect(waitBeforeLogin(loginFailed(eleven, ana, '10.0.0.1', t0 + 1000), ana, '10.0.0.1', t0 + 1000)).toBe(2000)
    expect(waitBeforeLogin(fail(eleven, 30, ana, '10.0.0.1', t0), ana, '10.0.0.1', t0)).toBe(15 * 60_000)
  })

  it('does not lock the owner out elsewhere: the issue’s 11 wrong passwords from one address', () => {
    const blocked = fail(emptyThrottle, 11, ana, '10.0.0.1', t0)
    expect(waitBeforeLogin(blocked, ana, '10.0.0.1', t0)).toBe(1000)
    expect(waitBeforeLogin(blocked, ana, '10.9.9.9', t0)).toBe(0)
    expect(waitBeforeLogin(blocked, bia, '10.0.0.1', t0)).toBe(0)
  })

  it('a success clears that address’s failures on the account', () => {
    const blocked = fail(emptyThrottle, 11, ana, '10.0.0.1', t0)
    expect(waitBeforeLogin(loginSucceeded(blocked, ana, '10.0.0.1'), ana, '10.0.0.1', t0)).toBe(0)
  })

  it('keys unknown names as typed, compared like account names', () => {
    expect(unknownLoginThrottleKey(' Ana ')).toBe(unknownLoginThrottleKey('ana'))
    expect(unknownLoginThrottleKey('e\u0301')).toBe(unknownLoginThrottleKey('\u00e9'))
    expect(unknownLoginThrottleKey('ana')).not.toBe(accountThrottleKey('ana'))
  })

  it('forgets an address’s old failures on an account after an hour', () => {
    const old = fail(emptyThrottle, 10, ana, '10.0.0.1', t0)
    const later = loginFailed(old, ana, '10.0.0.1', t0 + 61 * 60_000)
    expect(waitBeforeLogin(later, ana, '10.0.0.1', t0 + 61 * 60_000)).toBe(0)
  })

  it('stops a guesser spread over many addresses at the account’s ceiling, for everyone, until the window ends', () => {
    let throttle = emptyThrottle
    for (let i = 0; i < ACCOUNT_FAILURES; i++) throttle = loginFailed(throttle, ana, `198.51.100.${i % 10}`, t0 + i)
    expect(waitBeforeLogin(throttle, ana, '10.9.9.9', t0 + 100)).toBe(60 * 60_000 - 100)
    expect(waitBeforeLogin(throttle, bia, '10.9.9.9', t0 + 100)).toBe(0)
  })

  it('blocks an address after 100 failures in its window, across accounts, until the window ends', () => {
    let throttle = emptyThrottle
    for (let i = 0; i < 100; i++) throttle = loginFailed(throttle, accountThrottleKey(`user${i}`), '10.0.0.7', t0 + i)
    expect(waitBeforeLogin(throttle, bia, '10.0.0.7', t0 + 100)).toBe(10 * 60_000 - 100)
    expect(waitBeforeLogin(throttle, bia, '10.0.0.8', t0 + 100)).toBe(0)
    expect(waitBeforeLogin(throttle, bia, '10.0.0.7', t0 + 10 * 60_000)).toBe(0)
  })

  it('never lets one address lock another out of an account, however it paces its guesses (property)', () => {
    // The guesser tries whenever it is allowed, after gaps from a second to two hours; each try fails.
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1000, max: 2 * 60 * 60_000 }), { minLength: 1, maxLength: 400 }), (gaps) => {
        let throttle = emptyThrottle
        let at = t0
        for (const gap of gaps) {
          at += gap
          const wait = waitBeforeLogin(throttle, ana, '203.0.113.66', at)
          if (wait > 0) at += wait
          throttle = loginFailed(throttle, ana, '203.0.113.66', at)
          expect(waitBeforeLogin(throttle, ana, '192.0.2.1', at)).toBe(0)
        }
      }),
      { numRuns: 200 },
    )
  })
})
