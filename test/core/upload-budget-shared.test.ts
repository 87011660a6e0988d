import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { bytesHeld, noBytes, reserveShared, type HoldAsk, type RequestBytes } from '../../src/core/upload-budget-shared.js'
import {
  admitUpload,
  BUSY_RETRY_MS,
  noBudgets,
  storedBytesLoaded,
  uploadFinished,
  type SharedAdmission,
  type SharedHold,
  type UploadAllowance,
  type UploadBudgets,
} from '../../src/core/upload-budget.js'

const t0 = 1_700_000_000_000
const MiB = 1024 * 1024
const allowance: UploadAllowance = { quotaBytes: 100 * MiB, maxConcurrent: 4, perMinute: 30 }

/** One admitted request of `user` with `stored` bytes known, on a process where the cluster answered. */
const busy = (stored: number, budgets = noBudgets, user = 'ana', rules = allowance): UploadBudgets => {
  const [admitted, admission] = admitUpload(budgets, user, rules, t0, { rate: { admitted: true }, slot: { held: true, others: 0 } })
  expect(admission.type).toBe('admitted')
  return storedBytesLoaded(admitted, user, stored)
}

const askOf = (budgets: UploadBudgets, request: RequestBytes, bytes: number, rules = allowance): HoldAsk => {
  const [, , reservation] = reserveShared(budgets, 'ana', request, bytes, rules)
  if (reservation.type !== 'ask') throw new Error(`expected an ask, got ${reservation.type}`)
  return reservation.ask
}

describe('admission with the cluster’s answers', () => {
  const admitted: SharedAdmission = { rate: { admitted: true }, slot: { held: true, others: 3 } }

  it('refuses with the cluster’s wait when its bucket refuses, though this process’s is full', () => {
    const [, refused] = admitUpload(noBudgets, 'ana', allowance, t0, { rate: { admitted: false, retryAfterMs: 1500 }, slot: undefined })
    expect(refused).toEqual({ type: 'rate_limited', retryAfterMs: 1500 })
  })

  it('admits when the cluster’s bucket admits, though this process’s is empty (the others spent less)', () => {
    const rules = { ...allowance, perMinute: 1 }
    const [spent] = admitUpload(noBudgets, 'ana', rules, t0)
    const [freed] = [uploadFinished(spent, 'ana', { received: 0, kept: 0 }, rules, t0)]
    expect(admitUpload(freed, 'ana', rules, t0)[1].type).toBe('rate_limited')
    expect(admitUpload(freed, 'ana', rules, t0, admitted)[1].type).toBe('admitted')
  })

  it('refuses when the cluster’s tally of uploads at once is full, though none is under way here', () => {
    const [, refused] = admitUpload(noBudgets, 'ana', allowance, t0, { rate: { admitted: true }, slot: { held: false, others: 4 } })
    expect(refused).toEqual({ type: 'too_many_uploads', retryAfterMs: BUSY_RETRY_MS })
  })

  it('decides with this process’s counts where the cluster did not answer', () => {
    const rules = { ...allowance, maxConcurrent: 1 }
    const [one, first] = admitUpload(noBudgets, 'ana', rules, t0, { rate: undefined, slot: undefined })
    expect(first.type).toBe('admitted')
    expect(admitUpload(one, 'ana', rules, t0, { rate: undefined, slot: undefined })[1].type).toBe('too_many_uploads')
    // The cluster's answer, when there is one, is the one that counts.
    expect(admitUpload(one, 'ana', rules, t0, { rate: undefined, slot: { held: true, others: 0 } })[1].type).toBe('admitted')
  })

  it('spends this process’s bucket on every request all the same, for when the cluster stops answering', () => {
    const rules = { ...allowance, perMinute: 2, maxConcurrent: 10 }
    let budgets = noBudgets
    for (let i = 0; i < 2; i++) budgets = admitUpload(budgets, 'ana', rules, t0, admitted)[0]
    expect(admitUpload(budgets, 'ana', rules, t0, { rate: undefined, slot: undefined })[1].type).toBe('rate_limited')
  })
})

describe('bytes held in the cluster’s tally', () => {
  it('asks a slab of 1 MiB ahead for the first chunk, against the quota less the stored bytes', () => {
    expect(askOf(busy(10 * MiB), noBytes, 64 * 1024)).toEqual({ amount: MiB, limit: 90 * MiB })
  })

  it('counts chunks from the slab at once, and asks again only past it, for about as much as it holds', () => {
    const budgets = busy(0)
    const ask = askOf(budgets, noBytes, 1000)
    const [held, request, decision] = bytesHeld(budgets, 'ana', noBytes, 1000, ask, { held: true, others: 0 }, 0, allowance)
    expect(decision).toEqual({ type: 'reserved', add: 0 })
    expect(request).toEqual({ received: 1000, held: MiB, spare: MiB - 1000 })
    const [counted, after, fromSpare] = reserveShared(held, 'ana', request, MiB - 1000, allowance)
    expect(fromSpare.type).toBe('reserved')
    expect(after.spare).toBe(0)
    expect(counted.get('ana')?.inFlight).toBe(MiB)
    expect(askOf(counted, after, 10).amount).toBe(MiB)
    expect(askOf(counted, { received: 3 * MiB, held: 3 * MiB, spare: 0 }, 10).amount).toBe(3 * MiB)
  })

  it('asks at most 16 MiB, and at most a sixteenth of the quota', () => {
    const large = { ...allowance, quotaBytes: 1024 * MiB }
    const holding = { received: 40 * MiB, held: 40 * MiB, spare: 0 }
    expect(askOf(busy(0, noBudgets, 'ana', large), holding, 10, large).amount).toBe(16 * MiB)
    expect(askOf(busy(0), holding, 10).amount).toBe(100 * MiB / 16)
    const small = { ...allowance, quotaBytes: MiB }
    expect(askOf(busy(0, noBudgets, 'ana', small), noBytes, 10, small).amount).toBe(64 * 1024)
  })

  it('never asks for more than this process thinks is left, nor for less than the chunk', () => {
    expect(askOf(busy(99.5 * MiB), noBytes, 1000).amount).toBe(0.5 * MiB)
    expect(askOf(busy(100 * MiB), noBytes, 1000)).toEqual({ amount: 1000, limit: 0 })
  })

  it('asks a refused slab again for just the chunk, and refuses the chunk if that is refused too', () => {
    const budgets = busy(0)
    const ask = askOf(budgets, noBytes, 1000)
    const [, , retry] = bytesHeld(budgets, 'ana', noBytes, 1000, ask, { held: false, others: 100 * MiB - 5000 }, undefined, allowance)
    expect(retry).toEqual({ type: 'retry', release: 0, ask: { amount: 1000, limit: 100 * MiB } })
    const [, , refused] = bytesHeld(budgets, 'ana', noBytes, 1000, { amount: 1000, limit: 100 * MiB }, { held: false, others: 100 * MiB - 500 }, undefined, allowance)
    expect(refused).toEqual({ type: 'quota_exceeded', release: 0, remaining: 500 })
  })

  it('gives a hold back when the stored bytes read after it show the quota passed (another process stored meanwhile)', () => {
    // This process read 10 MiB; another stored 85 MiB since and released what it held for them.
    const budgets = busy(10 * MiB)
    const ask = askOf(budgets, noBytes, 1000)
    const [after, request, decision] = bytesHeld(budgets, 'ana', noBytes, 1000, ask, { held: true, others: 4.5 * MiB }, 95 * MiB, allowance)
    expect(decision).toEqual({ type: 'retry', release: MiB, ask: { amount: 1000, limit: 5 * MiB } })
    expect(request).toEqual(noBytes)
    expect(after.get('ana')?.heldShared).toBe(0)
    // The figure read is kept: the next ask's limit counts it.
    expect(after.get('ana')?.stored).toEqual({ type: 'known', bytes: 95 * MiB })
    const [, , last] = bytesHeld(after, 'ana', noBytes, 1000, { amount: 1000, limit: 5 * MiB }, { held: true, others: 5 * MiB }, 95 * MiB, allowance)
    expect(last).toEqual({ type: 'quota_exceeded', release: 1000, remaining: 0 })
  })

  it('keeps the larger of the figure it had and the one read (a stale read never lowers it)', () => {
    const budgets = busy(30 * MiB)
    const ask = askOf(budgets, noBytes, 1000)
    const [after] = bytesHeld(budgets, 'ana', noBytes, 1000, ask, { held: true, others: 0 }, 20 * MiB, allowance)
    expect(after.get('ana')?.stored).toEqual({ type: 'known', bytes: 30 * MiB })
  })

  it('decides alone where the tally did not answer, and says what to add to it', () => {
    const rules = { ...allowance, quotaBytes: 10_000 }
    const budgets = busy(5000, noBudgets, 'ana', rules)
    const ask = askOf(budgets, noBytes, 3000, rules)
    const [after, request, decision] = bytesHeld(budgets, 'ana', noBytes, 3000, ask, undefined, undefined, rules)
    expect(decision).toEqual({ type: 'reserved', add: 3000 })
    expect(request).toEqual({ received: 3000, held: 3000, spare: 0 })
    expect(after.get('ana')).toMatchObject({ inFlight: 3000, heldShared: 3000 })
    const [, , refused] = bytesHeld(after, 'ana', request, 2001, askOf(after, request, 2001, rules), undefined, undefined, rules)
    expect(refused).toEqual({ type: 'quota_exceeded', release: 0, remaining: 2000 })
  })

  it('refuses bytes while the stored figure is unknown', () => {
    const [admitted] = admitUpload(noBudgets, 'ana', allowance, t0)
    expect(reserveShared(admitted, 'ana', noBytes, 1, allowance)[2].type).toBe('quota_exceeded')
  })

  it('an ended request gives back what it held; a user with nothing held or arriving is forgotten', () => {
    const budgets = busy(0)
    const [held, request] = bytesHeld(budgets, 'ana', noBytes, 1000, askOf(budgets, noBytes, 1000), { held: true, others: 0 }, 0, allowance)
    const ended = uploadFinished(held, 'ana', { received: request.received, kept: 1000, held: request.held }, allowance, t0 + 60_000)
    expect(ended.get('ana')).toBeUndefined()
  })
})

// A model of the cluster: two processes, each with budgets of its own, one Redis tally of every process's
// share (the hold script's rule), and the database. A chunk is asked, held, read and decided in separate
// steps that other steps may come between; a finished request registers its files and then, later,
// releases what it held; the sweep deletes files. The database is the truth the quota protects.
type Op =
  | { readonly type: 'admit'; readonly process: number }
  | { readonly type: 'chunk'; readonly request: number; readonly bytes: number }
  | { readonly type: 'hold'; readonly request: number }
  | { readonly type: 'read'; readonly request: number }
  | { readonly type: 'decide'; readonly request: number }
  | { readonly type: 'finish'; readonly request: number; readonly stored: boolean }
  | { readonly type: 'release'; readonly request: number }
  | { readonly type: 'sweep'; readonly bytes: number }

const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ type: fc.constant('admit' as const), process: fc.nat(1) }), weight: 2 },
  { arbitrary: fc.record({ type: fc.constant('chunk' as const), request: fc.nat(7), bytes: fc.integer({ min: 1, max: 700 }) }), weight: 4 },
  { arbitrary: fc.record({ type: fc.constant('hold' as const), request: fc.nat(7) }), weight: 3 },
  { arbitrary: fc.record({ type: fc.constant('read' as const), request: fc.nat(7) }), weight: 3 },
  { arbitrary: fc.record({ type: fc.constant('decide' as const), request: fc.nat(7) }), weight: 3 },
  { arbitrary: fc.record({ type: fc.constant('finish' as const), request: fc.nat(7), stored: fc.boolean() }), weight: 2 },
  { arbitrary: fc.record({ type: fc.constant('release' as const), request: fc.nat(7) }), weight: 2 },
  { arbitrary: fc.record({ type: fc.constant('sweep' as const), bytes: fc.nat(300) }), weight: 1 },
)

interface Chunk {
  readonly bytes: number
  ask: HoldAsk
  answer: SharedHold | undefined
  stored: number | undefined
  read: boolean
}

interface ModelRequest {
  readonly process: number
  bytes: RequestBytes
  chunk: Chunk | undefined
  state: 'open' | 'finished' | 'released'
  kept: number
}

describe('two processes sharing the tally, in any interleaving', () => {
  it('never let stored plus arriving bytes pass the quota, nor more than maxConcurrent run at once', () => {
    const rules: UploadAllowance = { quotaBytes: 1000, maxConcurrent: 3, perMinute: 1000 }
    fc.assert(
      fc.property(fc.oneof(fc.constant(0), fc.nat(1200)), fc.array(op, { minLength: 10, maxLength: 120, size: 'max' }), (initial, ops) => {
        let database = initial
        const ceiling = Math.max(rules.quotaBytes, initial)
        const budgets: UploadBudgets[] = [noBudgets, noBudgets]
        // Redis: each process's share of the two tallies.
        const bytesShare = [0, 0]
        const slotShare = [0, 0]
        const requests: ModelRequest[] = []
        const pick = (index: number, state: ModelRequest['state']) => {
          const found = requests.filter((r) => r.state === state)
          return found[index % Math.max(1, found.length)]
        }
        const holdInRedis = (shares: number[], process: number, amount: number, limit: number): SharedHold => {
          const others = shares.reduce((sum, share, p) => (p === process ? sum : sum + share), 0)
          const held = shares[process]! + amount + others <= limit
          if (held) shares[process]! += amount
          return { held, others }
        }
        // What a request the cluster refused ends as: nothing kept, everything it held released at once.
        const end = (request: ModelRequest, kept: number) => {
          budgets[request.process] = uploadFinished(budgets[request.process]!, 'ana', { received: request.bytes.received, kept, held: request.bytes.held }, rules, t0)
          database += kept
          request.kept = kept
          request.state = 'finished'
        }
        for (const step of ops) {
          switch (step.type) {
            case 'admit': {
              const slot = holdInRedis(slotShare, step.process, 1, rules.maxConcurrent)
              const [next, admission] = admitUpload(budgets[step.process]!, 'ana', rules, t0, { rate: { admitted: true }, slot })
              // The shell reads the stored bytes before any chunk (`ready`): at once in this model.
              budgets[step.process] = storedBytesLoaded(next, 'ana', database)
              if (admission.type === 'admitted') requests.push({ process: step.process, bytes: noBytes, chunk: undefined, state: 'open', kept: 0 })
              else if (slot.held) slotShare[step.process]! -= 1
              break
            }
            case 'chunk': {
              // One hold at a time per user in a process (the shell's queue), one chunk at a time per request.
              const request = pick(step.request, 'open')
              if (request === undefined || request.chunk !== undefined) break
              if (requests.some((r) => r.process === request.process && r.chunk !== undefined)) break
              const [next, bytes, reservation] = reserveShared(budgets[request.process]!, 'ana', request.bytes, step.bytes, rules)
              budgets[request.process] = next
              request.bytes = bytes
              if (reservation.type === 'ask') request.chunk = { bytes: step.bytes, ask: reservation.ask, answer: undefined, stored: undefined, read: false }
              if (reservation.type === 'quota_exceeded') end(request, 0)
              break
            }
            case 'hold': {
              const request = pick(step.request, 'open')
              const chunk = request?.chunk
              if (request === undefined || chunk === undefined || chunk.answer !== undefined) break
              chunk.answer = holdInRedis(bytesShare, request.process, chunk.ask.amount, chunk.ask.limit)
              break
            }
            case 'read': {
              const chunk = pick(step.request, 'open')?.chunk
              if (chunk?.answer === undefined || chunk.read) break
              chunk.read = true
              if (chunk.answer.held) chunk.stored = database
              break
            }
            case 'decide': {
              const request = pick(step.request, 'open')
              const chunk = request?.chunk
              if (request === undefined || chunk?.answer === undefined || (chunk.answer.held && !chunk.read)) break
              const [next, bytes, decision] = bytesHeld(budgets[request.process]!, 'ana', request.bytes, chunk.bytes, chunk.ask, chunk.answer, chunk.stored, rules)
              budgets[request.process] = next
              request.bytes = bytes
              if (decision.type !== 'reserved') bytesShare[request.process]! -= decision.release
              if (decision.type === 'retry') request.chunk = { bytes: chunk.bytes, ask: decision.ask, answer: undefined, stored: undefined, read: false }
              else request.chunk = undefined
              if (decision.type === 'quota_exceeded') end(request, 0)
              break
            }
            case 'finish': {
              const request = pick(step.request, 'open')
              if (request === undefined || request.chunk !== undefined) break
              end(request, step.stored ? request.bytes.received : 0)
              break
            }
            case 'release': {
              // Told to Redis after the files are registered, maybe long after.
              const request = pick(step.request, 'finished')
              if (request === undefined) break
              bytesShare[request.process]! -= request.bytes.held
              slotShare[request.process]! -= 1
              request.state = 'released'
              break
            }
            case 'sweep':
              database = Math.max(0, database - step.bytes)
              break
          }
          const open = requests.filter((r) => r.state === 'open')
          const arriving = open.reduce((sum, r) => sum + r.bytes.received, 0)
          const problems = [
            database + arriving > ceiling && `${database} stored + ${arriving} arriving`,
            open.length > rules.maxConcurrent && `${open.length} uploads at once`,
            open.some((r) => r.bytes.spare < 0 || r.bytes.received > r.bytes.held) && 'a request counted more than it held',
            [0, 1].some((p) => (budgets[p]!.get('ana')?.heldShared ?? 0) !== requests.filter((r) => r.process === p && r.state === 'open').reduce((sum, r) => sum + r.bytes.held, 0)) &&
              'a process’s holdings differ from its requests’',
          ].filter(Boolean)
          if (problems.length > 0) throw new Error(problems.join('; '))
        }
      }),
      { numRuns: 800 },
    )
  })
})
