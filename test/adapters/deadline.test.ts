import { afterEach, describe, expect, it, vi } from 'vitest'
import { withDeadline } from '../../src/adapters/deadline.js'

// Fake timers: the deadline passes when the test says so, never on a loaded machine's whim.

const deferred = <A>() => {
  let resolve!: (value: A) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<A>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

afterEach(() => {
  vi.useRealTimers()
  vi.restoreAllMocks()
})

describe('withDeadline', () => {
  it('answers what the work resolves with inside the deadline, and leaves no timer behind', async () => {
    vi.useFakeTimers()
    const work = deferred<string>()
    const outcome = withDeadline(work.promise, 1000)
    await vi.advanceTimersByTimeAsync(999)
    work.resolve('committed')
    await expect(outcome).resolves.toBe('committed')
    expect(vi.getTimerCount()).toBe(0)
  })

  it('answers undefined once the deadline passes, while the work runs on', async () => {
    vi.useFakeTimers()
    const work = deferred<string>()
    const outcome = withDeadline(work.promise, 1000)
    await vi.advanceTimersByTimeAsync(1000)
    await expect(outcome).resolves.toBeUndefined()
    // A late outcome changes nothing, and a late failure is not left unhandled.
    work.reject(new Error('too late'))
    await expect(work.promise).rejects.toThrow('too late')
    await expect(outcome).resolves.toBeUndefined()
  })

  it('rejects with the work’s own error inside the deadline, and leaves no timer behind', async () => {
    vi.useFakeTimers()
    const work = deferred<string>()
    const outcome = withDeadline(work.promise, 1000)
    const failure = Object.assign(new Error('locked'), { code: '55P03' })
    work.reject(failure)
    await expect(outcome).rejects.toBe(failure)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('does not keep the process alive while it waits', async () => {
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout')
    const work = deferred<number>()
    const outcome = withDeadline(work.promise, 60_000)
    const timer = setTimeoutSpy.mock.results[0]?.value as NodeJS.Timeout
    expect(timer.hasRef()).toBe(false)
    work.resolve(1)
    await expect(outcome).resolves.toBe(1)
  })
})
