import { describe, expect, it } from 'vitest'
import type { LinkState } from '../../src/adapters/cluster.js'
import { failedTry, linkState, lost, up, withError } from '../../src/adapters/redis/link-state.js'

const DOWN_AFTER = 1000
const opening: LinkState = { state: 'reconnecting', since: 0, attempt: 0 }

describe('the link state, from its two legs', () => {
  it('is connected only when both legs are up, and keeps its since while it stays so', () => {
    expect(linkState(opening, [up, lost(0)], 10, DOWN_AFTER)).toEqual({ state: 'reconnecting', since: 0, attempt: 0 })
    const connected = linkState(opening, [up, up], 20, DOWN_AFTER)
    expect(connected).toEqual({ state: 'connected', since: 20 })
    expect(linkState(connected, [up, up], 30, DOWN_AFTER)).toBe(connected)
  })

  it('turns reconnecting when either leg is lost, since then, with the most attempts and a reason', () => {
    const connected: LinkState = { state: 'connected', since: 20 }
    const subscriberLost = failedTry(failedTry(lost(100, 'read ECONNRESET'), 'connect ECONNREFUSED'), undefined)
    expect(linkState(connected, [subscriberLost, up], 100, DOWN_AFTER)).toEqual({ state: 'reconnecting', since: 100, attempt: 2, error: 'connect ECONNREFUSED' })
    const both = linkState(connected, [failedTry(lost(100), undefined), lost(100)], 100, DOWN_AFTER)
    expect(both).toEqual({ state: 'reconnecting', since: 100, attempt: 1 })
    expect(linkState(both, [withError(lost(100), 'SUBSCRIBE refused: NOPERM'), up], 200, DOWN_AFTER)).toEqual({
      state: 'reconnecting',
      since: 100,
      attempt: 0,
      error: 'SUBSCRIBE refused: NOPERM',
    })
  })

  it('turns down once reconnecting has lasted the grace period, and stays down (with the latest reason) until both are up', () => {
    const reconnecting: LinkState = { state: 'reconnecting', since: 100, attempt: 3, error: 'connect ECONNREFUSED' }
    const legs = [lost(100, 'connect ECONNREFUSED'), up]
    expect(linkState(reconnecting, legs, 100 + DOWN_AFTER - 1, DOWN_AFTER).state).toBe('reconnecting')
    const down = linkState(reconnecting, legs, 100 + DOWN_AFTER, DOWN_AFTER)
    expect(down).toEqual({ state: 'down', since: 1100, error: 'connect ECONNREFUSED' })
    expect(linkState(down, legs, 5000, DOWN_AFTER)).toBe(down)
    expect(linkState(down, [lost(100, 'connect ETIMEDOUT'), up], 6000, DOWN_AFTER)).toEqual({ state: 'down', since: 1100, error: 'connect ETIMEDOUT' })
    expect(linkState(down, [up, up], 7000, DOWN_AFTER)).toEqual({ state: 'connected', since: 7000 })
    expect(linkState({ state: 'reconnecting', since: 0, attempt: 9 }, [lost(0), lost(0)], DOWN_AFTER, DOWN_AFTER)).toEqual({
      state: 'down',
      since: DOWN_AFTER,
      error: 'not connected',
    })
  })

  it('an up leg takes no failed tries nor reasons', () => {
    expect(failedTry(up, 'x')).toBe(up)
    expect(withError(up, 'x')).toBe(up)
  })
})
