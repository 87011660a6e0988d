import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Effect } from '../../../src/core/chat/effects.js'
import { users } from '../../arbitraries.js'
import { SETTINGS, World } from './harness.js'

// MAX_CONNECTIONS_PER_USER counts the user's connections on every process: the shell asks the cluster how
// many are open elsewhere and says so in ConnectionOpened (`connectionsElsewhere`); absent, this process
// decides alone. The harness's cap is 2.

const CAP = SETTINGS.maxConnectionsPerUser

/** Opens slot `slot` (user `slot % 3`) with what the cluster said, and answers the effects. */
const openWith = (world: World, slot: number, connectionsElsewhere: number | undefined): ReadonlyArray<Effect> => {
  world.generation.set(slot, (world.generation.get(slot) ?? 0) + 1)
  const userIndex = slot % users.length
  return world.dispatch({
    type: 'ConnectionOpened',
    connection: world.currentConnection(slot),
    user: users[userIndex]!,
    session: world.sessionOf(userIndex),
    sessionExpiresAt: world.at + 3_600_000,
    ...(connectionsElsewhere === undefined ? {} : { connectionsElsewhere }),
    at: world.at,
  })
}

const refusal = (world: World, slot: number): Effect => ({
  type: 'close',
  connection: world.currentConnection(slot),
  code: 1008,
  reason: `at most ${CAP} connections per user`,
})

describe('the per-user cap across processes', () => {
  it('refuses a first connection here when the other processes hold the whole cap, as a local one past it', () => {
    const world = new World()
    const before = world.state
    expect(openWith(world, 0, CAP)).toEqual([refusal(world, 0)])
    expect(world.state).toBe(before)
  })

  it('counts the connections here and elsewhere together: one elsewhere leaves room for one here', () => {
    const world = new World()
    openWith(world, 0, 1)
    expect(world.isOpen(0)).toBe(true)
    expect(world.framesOf(world.currentConnection(0))[0]).toMatchObject({ type: 'welcome' })
    expect(openWith(world, 3, 1)).toEqual([refusal(world, 3)])
    expect(world.isOpen(3)).toBe(false)
    // The one elsewhere closed: a second tab here is admitted.
    openWith(world, 3, 0)
    expect(world.isOpen(3)).toBe(true)
  })

  it('without word from the cluster, the cap counts this process alone, as before', () => {
    const world = new World()
    openWith(world, 0, undefined)
    openWith(world, 3, undefined)
    expect(openWith(world, 6, undefined)).toEqual([refusal(world, 6)])
  })

  it('other users are not counted: another user opens beside a user at the cap elsewhere', () => {
    const world = new World()
    expect(openWith(world, 0, CAP)).toEqual([refusal(world, 0)])
    openWith(world, 1, 0)
    expect(world.isOpen(1)).toBe(true)
  })

  it('property: a connection is admitted exactly when the user has fewer than the cap here and elsewhere together', () => {
    const action = fc.oneof(
      fc.record({ kind: fc.constant('open' as const), slot: fc.nat({ max: 8 }), elsewhere: fc.option(fc.nat({ max: CAP + 1 }), { nil: undefined }) }),
      fc.record({ kind: fc.constant('close' as const), slot: fc.nat({ max: 8 }) }),
    )
    fc.assert(
      fc.property(fc.array(action, { maxLength: 40 }), (actions) => {
        const world = new World()
        for (const next of actions) {
          if (next.kind === 'close') {
            world.close(next.slot)
            continue
          }
          if (world.isOpen(next.slot)) continue
          const user = users[next.slot % users.length]!.id
          const here = world.state.users.get(user)?.connections.length ?? 0
          openWith(world, next.slot, next.elsewhere)
          expect(world.isOpen(next.slot)).toBe(here + (next.elsewhere ?? 0) < CAP)
          expect(world.state.users.get(user)?.connections.length ?? 0).toBeLessThanOrEqual(CAP)
        }
      }),
      { numRuns: 300 },
    )
  })
})
