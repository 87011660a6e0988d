import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  admitUpload,
  BUSY_RETRY_MS,
  noBudgets,
  orphanCutoff,
  orphanSweepIntervalMs,
  remainingBytes,
  reserveBytes,
  storedBytesLoaded,
  uploadFinished,
  type Admission,
  type UploadAllowance,
  type UploadBudgets,
} from '../../src/core/upload-budget.js'

const t0 = 1_700_000_000_000
const allowance: UploadAllowance = { quotaBytes: 1000, maxConcurrent: 4, perMinute: 30 }

const admit = (budgets: UploadBudgets, user: string, at = t0, rules = allowance): [UploadBudgets, Admission] => {
  const [next, admission] = admitUpload(budgets, user, rules, at)
  return [next, admission]
}

/** One admitted request of `user`, with the stored bytes known. */
const busy = (stored: number, budgets = noBudgets, user = 'ana'): UploadBudgets => {
  const [admitted, admission] = admit(budgets, user)
  expect(admission.type).toBe('admitted')
  return storedBytesLoaded(admitted, user, stored)
}

describe('the quota', () => {
  it('takes bytes up to the quota exactly, and refuses the one byte past it', () => {
    const budgets = busy(400)
    const [filled, fits] = reserveBytes(budgets, 'ana', 600, allowance)
    expect(fits.type).toBe('reserved')
    const [, over] = reserveBytes(filled, 'ana', 1, allowance)
    expect(over).toEqual({ type: 'quota_exceeded', remaining: 0 })
  })

  it('counts nothing it refuses', () => {
    const budgets = busy(400)
    const [after, refused] = reserveBytes(budgets, 'ana', 601, allowance)
    expect(refused).toEqual({ type: 'quota_exceeded', remaining: 600 })
    expect(after).toBe(budgets)
  })

  it('refuses bytes while the stored figure is unknown, and of a request never admitted', () => {
    const [admitted] = admit(noBudgets, 'ana')
    expect(reserveBytes(admitted, 'ana', 1, allowance)[1].type).toBe('quota_exceeded')
    expect(reserveBytes(noBudgets, 'bia', 1, allowance)[1].type).toBe('quota_exceeded')
  })

  it('shares the quota between concurrent uploads of one user, not between users', () => {
    const [two] = admit(busy(0), 'ana')
    const [first] = reserveBytes(two, 'ana', 700, allowance)
    expect(reserveBytes(first, 'ana', 301, allowance)[1].type).toBe('quota_exceeded')
    const other = busy(0, first, 'bia')
    expect(reserveBytes(other, 'bia', 1000, allowance)[1].type).toBe('reserved')
  })

  it('keeps the first stored figure: a second read may predate files the first request already stored', () => {
    // Two requests read the database at the same time; the first stores 600 bytes before the second's answer lands.
    const [one] = admit(noBudgets, 'ana')
    const [two, second] = admit(one, 'ana')
    expect(second).toEqual({ type: 'admitted', needsStoredBytes: true })
    const loaded = storedBytesLoaded(two, 'ana', 0)
    const [reserved] = reserveBytes(loaded, 'ana', 600, allowance)
    const stored = uploadFinished(reserved, 'ana', { received: 600, kept: 600 }, allowance, t0)
    const stale = storedBytesLoaded(stored, 'ana', 0)
    expect(remainingBytes(stale.get('ana'), allowance)).toBe(400)
  })

  it('reads the stored figure again after the user was idle (the sweep may have deleted files since)', () => {
    const done = uploadFinished(busy(300), 'ana', { received: 0, kept: 0 }, allowance, t0)
    const [, again] = admit(done, 'ana', t0 + 1)
    expect(again).toEqual({ type: 'admitted', needsStoredBytes: true })
  })

  it('a failed request gives back what it reserved', () => {
    const [reserved] = reserveBytes(busy(0), 'ana', 900, allowance)
    const [both] = admit(reserved, 'ana')
    const failed = uploadFinished(both, 'ana', { received: 900, kept: 0 }, allowance, t0)
    expect(remainingBytes(failed.get('ana'), allowance)).toBe(1000)
  })
})

describe('concurrent uploads', () => {
  it('admits maxConcurrent at once and refuses the next with a retry delay', () => {
    let budgets = noBudgets
    for (let i = 0; i < 4; i++) {
      const [next, admission] = admit(budgets, 'ana')
      expect(admission.type).toBe('admitted')
      budgets = next
    }
    const [full, fifth] = admit(budgets, 'ana')
    expect(fifth).toEqual({ type: 'too_many_uploads', retryAfterMs: BUSY_RETRY_MS })
    expect(admit(full, 'bia')[1].type).toBe('admitted')
    const freed = uploadFinished(full, 'ana', { received: 0, kept: 0 }, allowance, t0)
    expect(admit(freed, 'ana')[1].type).toBe('admitted')
  })
})

describe('the request rate', () => {
  it('allows perMinute requests at once, then says when the next one may come', () => {
    const rules = { ...allowance, perMinute: 3, maxConcurrent: 100 }
    let budgets = noBudgets
    for (let i = 0; i < 3; i++) budgets = admit(budgets, 'ana', t0, rules)[0]
    const [limited, refused] = admit(budgets, 'ana', t0, rules)
    expect(refused).toEqual({ type: 'rate_limited', retryAfterMs: 20_000 })
    expect(admit(limited, 'ana', t0 + 19_999, rules)[1].type).toBe('rate_limited')
    expect(admit(limited, 'ana', t0 + 20_000, rules)[1].type).toBe('admitted')
  })

  it('counts a request refused for being one too many', () => {
    const rules = { ...allowance, perMinute: 2, maxConcurrent: 1 }
    const [one] = admit(noBudgets, 'ana', t0, rules)
    const [two, busyRefusal] = admit(one, 'ana', t0, rules)
    expect(busyRefusal.type).toBe('too_many_uploads')
    expect(admit(two, 'ana', t0, rules)[1].type).toBe('rate_limited')
  })
})

describe('orphans', () => {
  it('are uploads older than the grace period; they are looked for at least four times per period, at most hourly', () => {
    expect(orphanCutoff(t0, 86_400)).toBe(t0 - 86_400_000)
    expect(orphanSweepIntervalMs(86_400)).toBe(3_600_000)
    expect(orphanSweepIntervalMs(60)).toBe(15_000)
    fc.assert(
      fc.property(fc.integer({ min: 60, max: 365 * 86_400 }), (ttl) => {
        const every = orphanSweepIntervalMs(ttl)
        return every > 0 && every <= (ttl * 1000) / 4 && every <= 3_600_000
      }),
    )
  })
})

// A model of the shell: requests of a few users, each admitted, reading the database at some moment and
// applying that (maybe stale) answer later, reserving chunks, and ending stored or failed; the orphan sweep
// deletes files meanwhile. The database is the truth the quota protects.
type Op =
  | { readonly type: 'admit'; readonly user: number }
  | { readonly type: 'read'; readonly request: number }
  | { readonly type: 'apply'; readonly request: number }
  | { readonly type: 'chunk'; readonly request: number; readonly bytes: number }
  | { readonly type: 'finish'; readonly request: number; readonly stored: boolean }
  | { readonly type: 'sweep'; readonly user: number; readonly bytes: number }
  | { readonly type: 'wait'; readonly ms: number }

const USERS = ['ana', 'bia']

const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ type: fc.constant('admit' as const), user: fc.nat(USERS.length - 1) }), weight: 2 },
  { arbitrary: fc.record({ type: fc.constant('read' as const), request: fc.nat(7) }), weight: 2 },
  { arbitrary: fc.record({ type: fc.constant('apply' as const), request: fc.nat(7) }), weight: 2 },
  { arbitrary: fc.record({ type: fc.constant('chunk' as const), request: fc.nat(7), bytes: fc.integer({ min: 0, max: 700 }) }), weight: 4 },
  { arbitrary: fc.record({ type: fc.constant('finish' as const), request: fc.nat(7), stored: fc.boolean() }), weight: 2 },
  { arbitrary: fc.record({ type: fc.constant('sweep' as const), user: fc.nat(USERS.length - 1), bytes: fc.nat(300) }), weight: 1 },
  { arbitrary: fc.record({ type: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 30_000 }) }), weight: 1 },
)

interface Request {
  readonly user: string
  readonly needsRead: boolean
  read: number | undefined
  applied: boolean
  received: number
  done: boolean
}

describe('any interleaving of uploads, reads and sweeps', () => {
  it('never lets a user’s stored bytes pass the quota, never runs more than maxConcurrent, never refuses within the quota', () => {
    const rules: UploadAllowance = { quotaBytes: 1000, maxConcurrent: 3, perMinute: 6 }
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant(0), fc.nat(1200)), { minLength: 2, maxLength: 2 }), fc.array(op, { minLength: 10, maxLength: 100, size: 'max' }), (initial, ops) => {
        const database = new Map(USERS.map((user, i) => [user, initial[i] ?? 0]))
        const ceiling = new Map(USERS.map((user) => [user, Math.max(rules.quotaBytes, database.get(user) ?? 0)]))
        const requests: Request[] = []
        const admitted: Array<{ user: string; at: number }> = []
        let budgets = noBudgets
        let at = t0
        // Steps aim at the requests still under way, so that races between them come up often.
        const live = (index: number): Request | undefined => {
          const open = requests.filter((request) => !request.done)
          return open[index % Math.max(1, open.length)]
        }
        for (const step of ops) {
          switch (step.type) {
            case 'admit': {
              const user = USERS[step.user]!
              const [next, admission] = admitUpload(budgets, user, rules, at)
              budgets = next
              if (admission.type !== 'rate_limited') admitted.push({ user, at })
              if (admission.type === 'admitted') {
                requests.push({ user, needsRead: admission.needsStoredBytes, read: undefined, applied: !admission.needsStoredBytes, received: 0, done: false })
              }
              break
            }
            case 'read': {
              const request = live(step.request)
              if (request?.needsRead === true && request.read === undefined) request.read = database.get(request.user)
              break
            }
            case 'apply': {
              const request = live(step.request)
              if (request?.read === undefined || request.applied) break
              budgets = storedBytesLoaded(budgets, request.user, request.read)
              request.applied = true
              break
            }
            case 'chunk': {
              const request = live(step.request)
              if (request === undefined || !request.applied) break
              const before = remainingBytes(budgets.get(request.user), rules)
              const [next, reservation] = reserveBytes(budgets, request.user, step.bytes, rules)
              budgets = next
              // Refused only when it does not fit.
              if ((reservation.type === 'reserved') !== step.bytes <= before) throw new Error(`${step.bytes} bytes with ${before} left: ${reservation.type}`)
              if (reservation.type === 'reserved') request.received += step.bytes
              break
            }
            case 'finish': {
              const request = live(step.request)
              if (request === undefined) break
              const kept = step.stored ? request.received : 0
              database.set(request.user, (database.get(request.user) ?? 0) + kept)
              budgets = uploadFinished(budgets, request.user, { received: request.received, kept }, rules, at)
              request.done = true
              break
            }
            case 'sweep': {
              const user = USERS[step.user]!
              database.set(user, Math.max(0, (database.get(user) ?? 0) - step.bytes))
              break
            }
            case 'wait':
              at += step.ms
              break
          }
          for (const user of USERS) {
            const open = requests.filter((r) => r.user === user && !r.done)
            const state = budgets.get(user)
            const arriving = open.reduce((sum, r) => sum + r.received, 0)
            const problems = [
              open.length > rules.maxConcurrent && `${open.length} uploads at once`,
              (state?.active ?? 0) !== open.length && `active ${state?.active} for ${open.length} open`,
              (state?.inFlight ?? 0) !== arriving && `in flight ${state?.inFlight} for ${arriving} received`,
              // What is stored plus what may still be stored stays within the quota (or what was there before it).
              (database.get(user) ?? 0) + arriving > ceiling.get(user)! && `${database.get(user)} stored + ${arriving} arriving`,
            ].filter(Boolean)
            if (problems.length > 0) throw new Error(`${user}: ${problems.join('; ')}`)
          }
        }
        // The rate: within any minute, at most one burst plus one minute's refill.
        for (const { user, at: start } of admitted) {
          const inWindow = admitted.filter((a) => a.user === user && a.at >= start && a.at < start + 60_000).length
          expect(inWindow).toBeLessThanOrEqual(2 * rules.perMinute)
        }
      }),
      { numRuns: 600 },
    )
  })
})
