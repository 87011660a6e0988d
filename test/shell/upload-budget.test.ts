import * as E from 'fp-ts/lib/Either.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { describe, expect, it } from 'vitest'
import type { LinkFailure, SharedTallies, TallyHold } from '../../src/adapters/cluster.js'
import type { UploadAllowance } from '../../src/core/upload-budget.js'
import { createUploadBudget, type UploadLease } from '../../src/shell/uploads/budget.js'
import { sharedKeys } from '../../src/shell/uploads/shared-budget.js'
import { admit, fakeLimits, recordingLog, refuse, UNAVAILABLE, unavailable } from './shared-fakes.js'

// The upload budget's shell on a cluster: what it asks the shared counters, what it tells them, and what it
// does when they cannot answer. The counters are fakes; the rules are the core's (test/core/upload-budget*).

const t0 = 1_700_000_000_000
const MiB = 1024 * 1024
const allowance: UploadAllowance = { quotaBytes: 64 * MiB, maxConcurrent: 2, perMinute: 10 }

/**
 * Tallies in memory with the hold script's rule: this process's share of each key, what the other processes
 * hold (a setting), and `failing` to answer as a lost Redis does. A hold answers after a turn of the event
 * loop, or when `gate` lets it, as a round trip does.
 */
const fakeTallies = () => {
  const shares = new Map<string, number>()
  const state = { others: new Map<string, number>(), failing: undefined as LinkFailure | undefined, holds: 0, gate: undefined as Promise<void> | undefined }
  const change = (key: string, delta: number) => shares.set(key, Math.max(0, (shares.get(key) ?? 0) + delta))
  const tallies: SharedTallies = {
    hold: async (key, amount, limit): Promise<E.Either<LinkFailure, TallyHold>> => {
      state.holds += 1
      await (state.gate ?? new Promise((resolve) => setImmediate(resolve)))
      if (state.failing !== undefined) return E.left(state.failing)
      const others = state.others.get(key) ?? 0
      const held = (shares.get(key) ?? 0) + amount + others <= limit
      if (held) change(key, amount)
      return E.right({ held, others })
    },
    add: (key, amount) => change(key, amount),
    release: (key, amount) => change(key, -amount),
    close: async () => undefined,
  }
  return { tallies, shares, state }
}

const budgetWith = (rate = admit, stored = () => 0) => {
  const { limits } = fakeLimits(() => rate())
  const fake = fakeTallies()
  const recorded = recordingLog()
  const budget = createUploadBudget(allowance, () => TE.right(stored()), () => t0, { limits, tallies: fake.tallies, log: recorded.log })
  return { budget, ...fake, ...recorded }
}

const admitted = async (budget: ReturnType<typeof budgetWith>['budget'], user = 'ana'): Promise<UploadLease> => {
  const lease = await budget.admit(user)
  if (E.isLeft(lease)) throw new Error(`refused: ${lease.left.message}`)
  expect(E.isRight(await lease.right.ready())).toBe(true)
  return lease.right
}

describe('the upload budget on a cluster', () => {
  it('holds a slot per upload and bytes a slab ahead, and releases both when the upload ends', async () => {
    const { budget, shares } = budgetWith()
    const lease = await admitted(budget)
    expect(shares.get(sharedKeys.active('ana'))).toBe(1)
    // The first chunk waits for the tally; the next ones fit what the request holds and count at once.
    expect(await lease.reserve(64 * 1024)).toBe(true)
    expect(shares.get(sharedKeys.bytes('ana'))).toBe(MiB)
    expect(lease.reserve(64 * 1024)).toBe(true)
    lease.finish(128 * 1024)
    expect(shares.get(sharedKeys.active('ana'))).toBe(0)
    expect(shares.get(sharedKeys.bytes('ana'))).toBe(0)
  })

  it('refuses when the other processes hold every slot, asking no slot when the rate refuses', async () => {
    const busy = budgetWith()
    busy.state.others.set(sharedKeys.active('ana'), 2)
    const refused = await busy.budget.admit('ana')
    expect(E.isLeft(refused) && refused.left.status).toBe(429)
    expect(busy.shares.get(sharedKeys.active('ana')) ?? 0).toBe(0)
    const limited = budgetWith(refuse(5000))
    const answer = await limited.budget.admit('ana')
    expect(E.isLeft(answer) && answer.left.headers?.['Retry-After']).toBe('5')
    expect(limited.state.holds).toBe(0)
  })

  it('refuses bytes the other processes leave no room for, and gives back what the request held', async () => {
    const { budget, shares, state } = budgetWith()
    const lease = await admitted(budget)
    expect(await lease.reserve(MiB)).toBe(true)
    state.others.set(sharedKeys.bytes('ana'), 63 * MiB)
    expect(await lease.reserve(1)).toBe(false)
    // Refused: it ends at once, its slot and bytes back, and counts nothing more.
    expect(shares.get(sharedKeys.bytes('ana'))).toBe(0)
    expect(shares.get(sharedKeys.active('ana'))).toBe(0)
    expect(lease.reserve(1)).toBe(false)
  })

  it('an upload that ends while a hold is out releases what that hold took, once it is answered', async () => {
    const { budget, shares, state } = budgetWith()
    const lease = await admitted(budget)
    let open = () => {}
    state.gate = new Promise((resolve) => {
      open = resolve
    })
    const reserved = lease.reserve(1000)
    lease.finish(0)
    expect(shares.get(sharedKeys.active('ana'))).toBe(1)
    open()
    expect(await reserved).toBe(true)
    await new Promise((resolve) => setImmediate(resolve))
    expect(shares.get(sharedKeys.bytes('ana'))).toBe(0)
    expect(shares.get(sharedKeys.active('ana'))).toBe(0)
  })

  it('while Redis cannot answer, decides per process, adds what it admitted to its share, and logs each change once', async () => {
    let rate = admit
    const { budget, shares, state, said } = budgetWith(() => rate())
    rate = unavailable
    state.failing = UNAVAILABLE
    const first = await admitted(budget)
    const second = await admitted(budget)
    // Past maxConcurrent here: this process's own count refuses.
    expect(E.isLeft(await budget.admit('ana'))).toBe(true)
    expect(await first.reserve(1000)).toBe(true)
    expect(await second.reserve(64 * MiB - 1000)).toBe(true)
    expect(await first.reserve(1)).toBe(false)
    // What was admitted alone is in this process's share, so the others see it once Redis is back.
    expect(shares.get(sharedKeys.active('ana'))).toBe(1)
    expect(shares.get(sharedKeys.bytes('ana'))).toBe(64 * MiB - 1000)
    second.finish(0)
    expect(shares.get(sharedKeys.bytes('ana'))).toBe(0)
    rate = admit
    state.failing = undefined
    await admitted(budget)
    expect(said()).toEqual([
      'warn cluster-wide limit cannot be checked: limiting per process meanwhile',
      'warn cluster-wide limit cannot be checked: limiting per process meanwhile',
      'info cluster-wide limit answering again',
      'info cluster-wide limit answering again',
    ])
  })
})
