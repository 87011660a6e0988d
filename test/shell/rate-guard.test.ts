import { describe, expect, it } from 'vitest'
import { createSignUpGuard } from '../../src/shell/http/rate-guard.js'
import { admit, fakeLimits, recordingLog, refuse, unavailable } from './shared-fakes.js'

// Sign-ups per address per hour (REGISTER_RATE): the cluster's fixed window decides while Redis answers;
// while it cannot, this process's own buckets do, so the limit is per process then, never lifted.

const HOUR_MS = 3_600_000
const t0 = 1_700_000_000_000

describe('sign-ups per address, shared by the cluster', () => {
  it('counts signup:<address> in an hour window of REGISTER_RATE, and admits when the cluster admits', async () => {
    const { limits, counts } = fakeLimits(admit)
    const guard = createSignUpGuard(2, () => t0, { limits, log: recordingLog().log })
    // Past this process's own two: the cluster's count is the one that decides.
    for (let i = 0; i < 4; i++) expect(await guard.take('203.0.113.1')).toBe(0)
    expect(counts).toEqual(Array.from({ length: 4 }, () => ({ key: 'signup:203.0.113.1', windowMs: HOUR_MS, limit: 2 })))
  })

  it('refuses with the cluster’s wait when the cluster refuses, even if this process has admitted nobody', async () => {
    const { limits } = fakeLimits(refuse(1_234_567))
    const guard = createSignUpGuard(20, () => t0, { limits, log: recordingLog().log })
    expect(await guard.take('203.0.113.1')).toBe(1_234_567)
  })

  it('limits per process while the cluster cannot answer, counting what this process admitted before, and logs each change once', async () => {
    let answer = admit
    const { limits } = fakeLimits(() => answer())
    const { log, said, lines } = recordingLog()
    const guard = createSignUpGuard(3, () => t0, { limits, log })
    expect(await guard.take('203.0.113.1')).toBe(0)
    answer = unavailable
    expect(await guard.take('203.0.113.1')).toBe(0)
    expect(await guard.take('203.0.113.1')).toBe(0)
    // Three from here in the hour, one of them counted by the cluster: the fourth waits for a token.
    expect(await guard.take('203.0.113.1')).toBe(HOUR_MS / 3)
    expect(await guard.take('203.0.113.2')).toBe(0)
    expect(said()).toEqual(['warn cluster-wide limit cannot be checked: limiting per process meanwhile'])
    expect(lines[0]!.fields).toMatchObject({ limit: 'signup', failure: 'unavailable' })
    answer = admit
    expect(await guard.take('203.0.113.1')).toBe(0)
    expect(await guard.take('203.0.113.1')).toBe(0)
    expect(said()).toEqual(['warn cluster-wide limit cannot be checked: limiting per process meanwhile', 'info cluster-wide limit answering again'])
    expect(lines[1]!.fields).toMatchObject({ limit: 'signup', decidedHere: 4 })
  })
})

describe('sign-ups per address on one process', () => {
  it('admits REGISTER_RATE at once, then refuses until a token is back', async () => {
    let at = t0
    const guard = createSignUpGuard(3, () => at)
    for (let i = 0; i < 3; i++) expect(await guard.take('203.0.113.1')).toBe(0)
    expect(await guard.take('203.0.113.1')).toBe(HOUR_MS / 3)
    at += HOUR_MS / 3
    expect(await guard.take('203.0.113.1')).toBe(0)
  })
})
