import * as fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { afterExit, defaultRestartPolicy, type AfterExit, type WorkerRun } from '../../src/core/worker-restarts.js'

const policy = { healthyAfterMs: 10_000, maxQuickExits: 5, firstDelayMs: 500, maxDelayMs: 8_000 }
const ran = (ms: number, listened = true): WorkerRun => ({ startedAt: 1_000_000, listened, exitedAt: 1_000_000 + ms })

describe('afterExit', () => {
  it('gives up at once when the first start fails before any worker listened: it would fail the same way again', () => {
    expect(afterExit(ran(300, false), 0, false, policy)).toEqual({ type: 'give_up', reason: 'not_started', quickExits: 1 })
  })

  it('restarts at once a worker that ran healthily, and forgets the quick exits before it', () => {
    expect(afterExit(ran(10_000), 3, true, policy)).toEqual({ type: 'restart', delayMs: 0, quickExits: 0 })
    expect(afterExit(ran(3_600_000), 0, true, policy)).toEqual({ type: 'restart', delayMs: 0, quickExits: 0 })
  })

  it('waits longer after each quick exit in a row, then gives up', () => {
    const decisions: AfterExit[] = []
    let quickExits = 0
    for (let n = 0; n < 5; n++) {
      const decision = afterExit(ran(2_000), quickExits, true, policy)
      decisions.push(decision)
      quickExits = decision.quickExits
    }
    expect(decisions).toEqual([
      { type: 'restart', delayMs: 500, quickExits: 1 },
      { type: 'restart', delayMs: 1000, quickExits: 2 },
      { type: 'restart', delayMs: 2000, quickExits: 3 },
      { type: 'restart', delayMs: 4000, quickExits: 4 },
      { type: 'give_up', reason: 'crash_loop', quickExits: 5 },
    ])
  })

  it('counts a restarted worker that never listened as quick, however long it tried', () => {
    expect(afterExit(ran(60_000, false), 0, true, policy)).toEqual({ type: 'restart', delayMs: 500, quickExits: 1 })
  })

  it('never waits longer than maxDelayMs', () => {
    expect(afterExit(ran(10), 8, true, { ...policy, maxQuickExits: 20 })).toEqual({ type: 'restart', delayMs: 8_000, quickExits: 9 })
  })

  it('whatever the runs: a restart waits 0..maxDelayMs, and the primary gives up within maxQuickExits quick exits in a row', () => {
    const run = fc.record({ ms: fc.nat(100_000), listened: fc.boolean() })
    fc.assert(
      fc.property(fc.array(run, { minLength: 1, maxLength: 30 }), (runs) => {
        let quickExits = 0
        let inARow = 0
        for (const { ms, listened } of runs) {
          const decision = afterExit(ran(ms, listened), quickExits, true, defaultRestartPolicy)
          const quick = !listened || ms < defaultRestartPolicy.healthyAfterMs
          inARow = quick ? inARow + 1 : 0
          if (decision.type === 'give_up') return inARow === defaultRestartPolicy.maxQuickExits && decision.reason === 'crash_loop'
          expect(decision.delayMs).toBeGreaterThanOrEqual(0)
          expect(decision.delayMs).toBeLessThanOrEqual(defaultRestartPolicy.maxDelayMs)
          expect(decision.delayMs === 0).toBe(!quick)
          quickExits = decision.quickExits
        }
        return inARow < defaultRestartPolicy.maxQuickExits
      }),
    )
  })
})
