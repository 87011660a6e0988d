import * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import { describe, expect, it, vi } from 'vitest'
import { RoomId, UserId } from '../../src/core/brands.js'
import { trusted } from '../../src/core/codecs.js'
import { createMembershipWriter } from '../../src/adapters/membership-writer.js'
import { StoreError, toStoreError } from '../../src/adapters/store-failure.js'
import type { PublicMember } from '../../src/adapters/stores.js'

// The group commit of public rooms' memberships: what one turn writes goes in one `addMembers`, what is
// written while a batch is being stored goes in the next, a failed batch is tried again before it is
// reported lost, and drain waits for all of it.

const member = (n: number, room = 'sala-1'): PublicMember => ({ room: trusted(RoomId, room), user: trusted(UserId, `u${n}`), at: 1_700_000_000_000 + n, readSeq: n })

interface Call {
  readonly members: ReadonlyArray<PublicMember>
  readonly settle: (result: E.Either<StoreError, void>) => void
}

/** A store whose every `addMembers` waits to be settled by the test. */
const heldStore = () => {
  const calls: Call[] = []
  const addMembers = (members: ReadonlyArray<PublicMember>): TE.TaskEither<StoreError, void> => () =>
    new Promise((settle) => calls.push({ members, settle }))
  return { calls, store: { addMembers } }
}

/** A store that answers at once: each call's result from `results` in turn, then success. */
const answeringStore = (results: ReadonlyArray<E.Either<StoreError, void>> = []) => {
  const calls: Array<ReadonlyArray<PublicMember>> = []
  const addMembers = (members: ReadonlyArray<PublicMember>): TE.TaskEither<StoreError, void> => async () => {
    calls.push(members)
    return results[calls.length - 1] ?? E.right(undefined)
  }
  return { calls, store: { addMembers } }
}

const failure = (): StoreError => toStoreError(Object.assign(new Error('timeout exceeded when trying to connect'), { code: 'ETIMEDOUT' }))

const NO_WAIT = { retryDelays: [0, 0, 0] }

describe('the membership writer', () => {
  it('stores every membership written in one turn with one call, once per user and room, the first winning', async () => {
    const { calls, store } = answeringStore()
    const writer = createMembershipWriter(store, () => expect.fail('nothing lost'), NO_WAIT)
    const members = Array.from({ length: 500 }, (_, n) => member(n))
    for (const m of members) writer.write(m)
    writer.write({ ...member(7), at: 1, readSeq: 99 })
    writer.write(member(7, 'sala-2'))
    await writer.drain()
    expect(calls).toEqual([[...members, member(7, 'sala-2')]])
  })

  it('queues what is written while a batch is being stored for the next single call', async () => {
    const { calls, store } = heldStore()
    const writer = createMembershipWriter(store, () => expect.fail('nothing lost'), NO_WAIT)
    writer.write(member(1))
    await vi.waitFor(() => expect(calls).toHaveLength(1))
    for (const n of [2, 3, 4]) writer.write(member(n))
    calls[0]!.settle(E.right(undefined))
    await vi.waitFor(() => expect(calls).toHaveLength(2))
    expect(calls.map((call) => call.members)).toEqual([[member(1)], [member(2), member(3), member(4)]])
    calls[1]!.settle(E.right(undefined))
    await writer.drain()
    expect(calls).toHaveLength(2)
  })

  it('splits a crowd into statements of at most 1,000', async () => {
    const { calls, store } = answeringStore()
    const writer = createMembershipWriter(store, () => expect.fail('nothing lost'), NO_WAIT)
    const members = Array.from({ length: 2500 }, (_, n) => member(n))
    for (const m of members) writer.write(m)
    await writer.drain()
    expect(calls.map((call) => call.length)).toEqual([1000, 1000, 500])
    expect(calls.flat()).toEqual(members)
  })

  it('tries a failed batch again, and reports nothing when a retry stores it', async () => {
    const { calls, store } = answeringStore([E.left(failure()), E.left(failure())])
    const lost = vi.fn()
    const writer = createMembershipWriter(store, lost, NO_WAIT)
    writer.write(member(1))
    writer.write(member(2))
    await writer.drain()
    expect(calls).toEqual([[member(1), member(2)], [member(1), member(2)], [member(1), member(2)]])
    expect(lost).not.toHaveBeenCalled()
  })

  it('reports a batch lost, with the store’s error, once every retry has failed, and goes on with the next', async () => {
    const errors = [failure(), failure(), failure()]
    const { calls, store } = answeringStore(errors.map(E.left))
    const lost = vi.fn()
    const writer = createMembershipWriter(store, lost, { retryDelays: [0, 0] })
    writer.write(member(1))
    await writer.drain()
    expect(calls).toEqual([[member(1)], [member(1)], [member(1)]])
    expect(lost).toHaveBeenCalledOnce()
    expect(lost).toHaveBeenCalledWith(errors[2], [member(1)])
    // The writer is not stuck: the next membership is stored.
    writer.write(member(2))
    await writer.drain()
    expect(calls.at(-1)).toEqual([member(2)])
    expect(lost).toHaveBeenCalledOnce()
  })

  it('drains only once the batch in flight and those queued behind it are stored', async () => {
    const { calls, store } = heldStore()
    const writer = createMembershipWriter(store, () => expect.fail('nothing lost'), NO_WAIT)
    writer.write(member(1))
    await vi.waitFor(() => expect(calls).toHaveLength(1))
    writer.write(member(2))
    let drained = false
    const draining = writer.drain().then(() => (drained = true))
    calls[0]!.settle(E.right(undefined))
    await vi.waitFor(() => expect(calls).toHaveLength(2))
    // The second batch is still being stored, so drain has not resolved.
    expect(drained).toBe(false)
    calls[1]!.settle(E.right(undefined))
    await draining
    expect(drained).toBe(true)
  })

  it('drains at once when nothing was written', async () => {
    const { calls, store } = answeringStore()
    await createMembershipWriter(store, () => expect.fail('nothing lost')).drain()
    expect(calls).toEqual([])
  })

  it('drains through the retries of a failing batch, up to its report', async () => {
    const { calls, store } = heldStore()
    const lost = vi.fn()
    const writer = createMembershipWriter(store, lost, { retryDelays: [0] })
    writer.write(member(1))
    let drained = false
    const draining = writer.drain().then(() => (drained = true))
    await vi.waitFor(() => expect(calls).toHaveLength(1))
    calls[0]!.settle(E.left(failure()))
    await vi.waitFor(() => expect(calls).toHaveLength(2))
    expect(drained).toBe(false)
    calls[1]!.settle(E.left(failure()))
    await draining
    expect(lost).toHaveBeenCalledOnce()
  })
})
