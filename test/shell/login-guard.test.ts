import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  ACCOUNT_FREE_FAILURES,
  ACCOUNT_WINDOW_MS,
  accountThrottleKey,
  ADDRESS_WINDOW_MS,
  FAILURES_RESET_MS,
  KNOWN_ADDRESS_MS,
  unknownLoginThrottleKey,
  type ThrottleKey,
} from '../../src/core/login-throttle.js'
import { createLoginGuard, type LoginAttempt, type LoginGuard } from '../../src/shell/http/login-guard.js'
import { fakeRecords, recordingLog, UNAVAILABLE } from './shared-fakes.js'

// Login throttling across processes: guards of several processes sharing one store decide as one guard
// would for all their attempts; while the store cannot answer, each decides alone with what it saw.

const ana = accountThrottleKey('user-ana')
const bia = accountThrottleKey('user-bia')
const t0 = 1_700_000_000_000

const clock = () => {
  let at = t0
  return { now: () => at, pass: (ms: number) => void (at += ms) }
}

type Verdict = 'wrong' | 'right' | 'void'

/** An attempt with its verdict: `started` or the wait it was refused with. */
const tryLogin = async (guard: LoginGuard, account: ThrottleKey, address: string, verdict: Verdict = 'wrong'): Promise<number | 'started'> => {
  const attempt: LoginAttempt = await guard.attempt(account, address)
  if (attempt.type === 'refused') return attempt.waitMs
  if (verdict === 'right') await attempt.succeeded()
  if (verdict === 'void') await attempt.voided()
  return 'started'
}

const cluster = (processes = 2) => {
  const time = clock()
  const shared = fakeRecords(time.now)
  const { log, said } = recordingLog()
  const guards = Array.from({ length: processes }, () => createLoginGuard(time.now, { records: shared.records, log }))
  return { time, shared, guards, said }
}

describe('login throttling shared by several processes', () => {
  it('throttles failures alternating between two processes as one process would: ten free, then a second, then two', async () => {
    const { guards } = cluster()
    const [one, two] = guards as [LoginGuard, LoginGuard]
    for (let i = 0; i < 11; i++) expect(await tryLogin(i % 2 === 0 ? one : two, ana, '198.51.100.7')).toBe('started')
    expect(await tryLogin(two, ana, '198.51.100.7')).toBe(1000)
    expect(await tryLogin(one, ana, '198.51.100.7')).toBe(1000)
    // The owner elsewhere, and another account from there, are not held.
    expect(await tryLogin(one, ana, '192.0.2.55', 'right')).toBe('started')
    expect(await tryLogin(two, bia, '198.51.100.7')).toBe('started')
  })

  it('decides every sequence of attempts, verdicts and waits on any process exactly as one guard does (property)', async () => {
    const step = fc.oneof(
      fc.record({
        type: fc.constant('attempt' as const),
        process: fc.integer({ min: 0, max: 1 }),
        account: fc.constantFrom(ana, bia, unknownLoginThrottleKey('nobody')),
        address: fc.constantFrom('198.51.100.7', '203.0.113.9', '2001:db8:1:2::1', '2001:db8:1:2::ffff'),
        verdict: fc.constantFrom<Verdict>('wrong', 'wrong', 'wrong', 'right', 'void'),
        times: fc.integer({ min: 1, max: 30 }),
      }),
      fc.record({ type: fc.constant('wait' as const), ms: fc.oneof(fc.integer({ min: 1, max: 5000 }), fc.constantFrom(ADDRESS_WINDOW_MS, FAILURES_RESET_MS, KNOWN_ADDRESS_MS), fc.integer({ min: 1, max: 2 * ACCOUNT_WINDOW_MS })) }),
    )
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), async (steps) => {
        const { time, guards } = cluster()
        const alone = createLoginGuard(time.now)
        for (const s of steps) {
          if (s.type === 'wait') {
            time.pass(s.ms)
            continue
          }
          for (let i = 0; i < s.times; i++) {
            const shared = await tryLogin(guards[s.process]!, s.account, s.address, s.verdict)
            expect(shared).toBe(await tryLogin(alone, s.account, s.address, s.verdict))
          }
        }
      }),
      { numRuns: 150 },
    )
  })

  it('slows guesses spread over addresses and processes at the account’s ceiling, but not where the owner signed in, on either process', async () => {
    const { guards } = cluster()
    const [one, two] = guards as [LoginGuard, LoginGuard]
    expect(await tryLogin(one, ana, '192.0.2.10', 'right')).toBe('started')
    for (let i = 0; i <= ACCOUNT_FREE_FAILURES; i++) await tryLogin(i % 2 === 0 ? two : one, ana, `198.51.100.${i % 11}`)
    expect(await tryLogin(one, ana, '203.0.113.77')).toBe(1000)
    expect(await tryLogin(two, ana, '203.0.113.78')).toBe(1000)
    expect(await tryLogin(two, ana, '192.0.2.10', 'right')).toBe('started')
  })

  it('counts a burst of parallel guesses over both processes like a sequence, without racing itself', async () => {
    const { guards, shared } = cluster()
    const burst = await Promise.all(Array.from({ length: 140 }, (_, i) => tryLogin(guards[i % 2]!, ana, '198.51.100.8')))
    expect(burst.filter((outcome) => outcome === 'started')).toHaveLength(11)
    // Within a process updates of one account wait for each other; only the two processes race.
    const alone = fakeRecords(clock().now)
    const guard = createLoginGuard(clock().now, { records: alone.records, log: recordingLog().log })
    await Promise.all(Array.from({ length: 140 }, () => tryLogin(guard, ana, '198.51.100.8')))
    expect(alone.state.lostRaces).toBe(0)
    expect(shared.state.lostRaces).toBeLessThan(140)
  })

  it('keeps four records per attempt under hashed names, each expiring when the core would forget it', async () => {
    const { guards, shared } = cluster(1)
    const guard = guards[0]!
    const stranger = unknownLoginThrottleKey('someone@example.com')
    await tryLogin(guard, stranger, '198.51.100.7')
    const ttls = (dump: ReturnType<typeof shared.dump>) => Object.fromEntries([...dump].map(([key, { ttlMs }]) => [key.split(':').slice(0, 2).join(':'), ttlMs]))
    expect(ttls(shared.dump())).toEqual({ 'login:pair': FAILURES_RESET_MS, 'login:account': ACCOUNT_WINDOW_MS, 'login:address': ADDRESS_WINDOW_MS })
    expect([...shared.dump().keys()].join(' ')).not.toContain('someone')
    await tryLogin(guard, ana, '198.51.100.9', 'right')
    const afterSuccess = [...shared.dump()].filter(([key]) => key.includes('198.51.100.9'))
    expect(afterSuccess.map(([key, { ttlMs }]) => [key.split(':').slice(0, 2).join(':'), ttlMs])).toEqual([
      ['login:address', ADDRESS_WINDOW_MS],
      ['login:known', KNOWN_ADDRESS_MS],
    ])
  })
})

describe('login throttling while the shared store cannot answer', () => {
  it('decides with what this process saw, never unlimited, and says so once, then once when it answers again', async () => {
    const { guards, shared, said } = cluster(1)
    const guard = guards[0]!
    for (let i = 0; i < 6; i++) expect(await tryLogin(guard, ana, '198.51.100.7')).toBe('started')
    shared.state.failing = UNAVAILABLE
    // The six the store counted are this process's too: five more start, then the wait.
    for (let i = 0; i < 5; i++) expect(await tryLogin(guard, ana, '198.51.100.7')).toBe('started')
    expect(await tryLogin(guard, ana, '198.51.100.7')).toBe(1000)
    expect(await tryLogin(guard, ana, '198.51.100.7')).toBe(1000)
    expect(said()).toEqual(['warn cluster-wide limit cannot be checked: limiting per process meanwhile'])
    shared.state.failing = undefined
    // The store counted six: this one is its seventh.
    expect(await tryLogin(guard, ana, '198.51.100.7')).toBe('started')
    expect(said()).toEqual(['warn cluster-wide limit cannot be checked: limiting per process meanwhile', 'info cluster-wide limit answering again'])
  })

  it('a process that never reached the store throttles alone as before', async () => {
    const time = clock()
    const { log } = recordingLog()
    const shared = fakeRecords(time.now)
    shared.state.failing = { type: 'timeout', message: 'Command timed out' }
    const guard = createLoginGuard(time.now, { records: shared.records, log })
    for (let i = 0; i < 11; i++) expect(await tryLogin(guard, ana, '10.0.0.1')).toBe('started')
    expect(await tryLogin(guard, ana, '10.0.0.1')).toBe(1000)
    expect(await tryLogin(guard, ana, '10.9.9.9')).toBe('started')
  })

  it('tells the store only the verdicts of attempts it counted', async () => {
    const { guards, shared } = cluster(1)
    const guard = guards[0]!
    shared.state.failing = UNAVAILABLE
    const attempt = await guard.attempt(ana, '198.51.100.7')
    shared.state.failing = undefined
    const before = shared.state.updates
    if (attempt.type !== 'started') throw new Error('refused')
    await attempt.succeeded()
    expect(shared.state.updates).toBe(before)
    // One it counted: the success goes there (clearing the pair, marking the address known).
    await tryLogin(guard, ana, '198.51.100.7', 'right')
    expect(shared.state.updates).toBe(before + 2)
    expect([...shared.dump().keys()].some((key) => key.startsWith('login:known:198.51.100.7:'))).toBe(true)
  })
})

describe('login throttling on one process', () => {
  it('is the core’s rule as before', async () => {
    const time = clock()
    const guard = createLoginGuard(time.now)
    for (let i = 0; i < 11; i++) expect(await tryLogin(guard, ana, '10.0.0.1')).toBe('started')
    expect(await tryLogin(guard, ana, '10.0.0.1')).toBe(1000)
    time.pass(1000)
    expect(await tryLogin(guard, ana, '10.0.0.1')).toBe('started')
    expect(await tryLogin(guard, ana, '10.0.0.1')).toBe(2000)
  })
})
