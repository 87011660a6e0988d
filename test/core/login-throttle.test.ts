import { describe, expect, it } from 'vitest'
import { emptyThrottle, loginFailed, loginSucceeded, waitBeforeLogin, type LoginThrottle } from '../../src/core/login-throttle.js'

const fail = (throttle: LoginThrottle, times: number, login: string, address: string, at: number) => {
  let next = throttle
  for (let i = 0; i < times; i++) next = loginFailed(next, login, address, at)
  return next
}

describe('login throttling', () => {
  const t0 = 1_700_000_000_000

  it('allows ten failures, then doubles the wait from one second', () => {
    const ten = fail(emptyThrottle, 10, 'ana', '10.0.0.1', t0)
    expect(waitBeforeLogin(ten, 'ana', '10.0.0.1', t0)).toBe(0)
    const eleven = loginFailed(ten, 'ana', '10.0.0.1', t0)
    expect(waitBeforeLogin(eleven, 'ana', '10.0.0.1', t0)).toBe(1000)
    expect(waitBeforeLogin(loginFailed(eleven, 'ana', '10.0.0.1', t0), 'ana', '10.0.0.1', t0)).toBe(2000)
    expect(waitBeforeLogin(fail(eleven, 30, 'ana', '10.0.0.1', t0), 'ana', '10.0.0.1', t0)).toBe(15 * 60_000)
  })

  it('throttles the account from any address, regardless of case, and a success clears it', () => {
    const blocked = fail(emptyThrottle, 11, 'Ana', '10.0.0.1', t0)
    expect(waitBeforeLogin(blocked, 'ANA ', '10.9.9.9', t0)).toBe(1000)
    expect(waitBeforeLogin(blocked, 'bia', '10.9.9.9', t0)).toBe(0)
    expect(waitBeforeLogin(loginSucceeded(blocked, 'ana'), 'ana', '10.9.9.9', t0)).toBe(0)
  })

  it('forgets an account’s old failures after an hour', () => {
    const old = fail(emptyThrottle, 10, 'ana', '10.0.0.1', t0)
    const later = loginFailed(old, 'ana', '10.0.0.1', t0 + 61 * 60_000)
    expect(waitBeforeLogin(later, 'ana', '10.0.0.1', t0 + 61 * 60_000)).toBe(0)
  })

  it('blocks an address after 100 failures in its window, across accounts, until the window ends', () => {
    let throttle = emptyThrottle
    for (let i = 0; i < 100; i++) throttle = loginFailed(throttle, `user${i}`, '10.0.0.7', t0 + i)
    expect(waitBeforeLogin(throttle, 'someone-else', '10.0.0.7', t0 + 100)).toBe(10 * 60_000 - 100)
    expect(waitBeforeLogin(throttle, 'someone-else', '10.0.0.8', t0 + 100)).toBe(0)
    expect(waitBeforeLogin(throttle, 'someone-else', '10.0.0.7', t0 + 10 * 60_000)).toBe(0)
  })
})
