import { describe, expect, it } from 'vitest'
import { noBuckets, ratePer, takeFor, type KeyedBuckets } from '../../src/core/keyed-limit.js'

// Sign-ups per address: a bucket per key, the rested ones forgotten. A flood from many addresses (an IPv6
// /48 holds 65,536 /64s) must not make every take walk every bucket.
describe('keyed token buckets', () => {
  const rate = ratePer(3, 3_600_000)
  const t0 = 1_700_000_000_000

  it('refuses a key past its burst and lets it again once a token is back', () => {
    let buckets: KeyedBuckets = noBuckets
    for (let i = 0; i < 3; i++) {
      const taken = takeFor(buckets, 'a', rate, t0)
      expect(taken.allowed).toBe(true)
      buckets = taken.buckets
    }
    const refused = takeFor(buckets, 'a', rate, t0)
    expect(refused).toMatchObject({ allowed: false, retryAfterMs: 1_200_000 })
    expect(takeFor(refused.buckets, 'b', rate, t0).allowed).toBe(true)
    expect(takeFor(refused.buckets, 'a', rate, t0 + 1_200_000).allowed).toBe(true)
  })

  it('walks the buckets once per doubling while they are live, and still forgets the rested ones', () => {
    let buckets: KeyedBuckets = noBuckets
    let walks = 0
    for (let i = 0; i < 25_000; i++) {
      const before = buckets.pruneAbove
      buckets = takeFor(buckets, `2001:db8:${i}::/64`, rate, t0 + i).buckets
      if (buckets.pruneAbove !== before) walks++
    }
    expect(buckets.byKey.size).toBe(25_000)
    expect(walks).toBe(2)
    // Hours later every one of those buckets is full again: the next walk forgets them all.
    let later = buckets
    for (let i = 0; later.pruneAbove === buckets.pruneAbove; i++) later = takeFor(later, `late-${i}`, rate, t0 + 10 * 3_600_000).buckets
    expect([...later.byKey.keys()].filter((key) => key.startsWith('2001:db8:'))).toEqual([])
    expect(later.byKey.size).toBeGreaterThan(0)
  })
})
