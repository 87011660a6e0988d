import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { createPasswordHasher, HasherBusy, HASHING_NICENESS } from '../../src/adapters/password-hasher.js'
import type { Password } from '../../src/core/brands.js'

/**
 * The nice value of every thread of this process, from /proc (field 19 of each thread's stat). A thread
 * that ends between the listing and the read (a worker of another test file's pool) is skipped: CI once
 * failed here with ENOENT.
 */
const threadNiceness = (): number[] =>
  readdirSync('/proc/self/task').flatMap((tid) => {
    let stat: string
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ESRCH') return []
      throw error
    }
    // The command name may hold spaces; the fields after it are fixed.
    return [Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])]
  })

describe('password hasher', () => {
  it('hashes and verifies on its worker threads', async () => {
    const hasher = createPasswordHasher(4, { size: 2 })
    try {
      const hash = await hasher.hash('correct horse battery staple' as Password)
      expect(await hasher.verify('correct horse battery staple', hash)).toBe(true)
      expect(await hasher.verify('wrong', hash)).toBe(false)
      expect(await hasher.verifyNobody('anything')).toBe(false)
    } finally {
      await hasher.close()
    }
  })

  it.runIf(process.platform === 'linux')('runs its threads at a lower priority than the event loop', async () => {
    const before = threadNiceness().filter((nice) => nice === HASHING_NICENESS).length
    const hasher = createPasswordHasher(4, { size: 2 })
    try {
      // A job answered means both workers have started (and set their priority) or at least one has.
      await Promise.all([hasher.hash('a password' as Password), hasher.hash('another one' as Password)])
      const niceness = threadNiceness()
      expect(niceness.filter((nice) => nice === HASHING_NICENESS).length).toBeGreaterThanOrEqual(before + 1)
      expect(Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[16])).not.toBe(HASHING_NICENESS)
    } finally {
      await hasher.close()
    }
  })

  it('serves logins before queued sign-ups: a login waits for the jobs running, not for the queue', async () => {
    const hasher = createPasswordHasher(8, { size: 1 })
    try {
      const stored = await hasher.hash('the right password' as Password)
      const finished: string[] = []
      const signups = Array.from({ length: 6 }, (_, i) =>
        hasher.hash(`sign-up number ${i}` as Password).then(() => finished.push(`signup ${i}`)),
      )
      const login = hasher.verify('the right password', stored).then((ok) => finished.push(`login ${ok}`))
      await Promise.all([...signups, login])
      // The first sign-up was already running when the login came; every other one waited behind it.
      expect(finished.indexOf('login true')).toBe(1)
    } finally {
      await hasher.close()
    }
  })

  it('refuses with HasherBusy when a kind’s queue is full, and keeps serving the other kind', async () => {
    const hasher = createPasswordHasher(8, { size: 1, maxQueued: { login: 2, signup: 2 } })
    try {
      const stored = await hasher.hash('the right password' as Password)
      // One runs, two wait, the fourth is refused at once.
      const accepted = [0, 1, 2].map((i) => hasher.hash(`queued ${i}` as Password))
      await expect(hasher.hash('one too many' as Password)).rejects.toBeInstanceOf(HasherBusy)
      expect(await hasher.verify('the right password', stored)).toBe(true)
      await Promise.all(accepted)
    } finally {
      await hasher.close()
    }
  })

  it('fails the jobs still waiting when it closes, instead of leaving them hanging', async () => {
    const hasher = createPasswordHasher(10, { size: 1 })
    const jobs = [0, 1, 2].map((i) => hasher.hash(`job ${i}` as Password).then(() => 'hashed', (error: Error) => error.message))
    await hasher.close()
    expect(await Promise.all(jobs)).toEqual(Array(3).fill('the password hasher is closed'))
  })

  it('keeps one worker of two free of sign-ups: a login during a sign-up flood starts at once', async () => {
    const hasher = createPasswordHasher(8, { size: 2 })
    try {
      const stored = await hasher.hash('the right password' as Password)
      const finished: string[] = []
      const signups = Array.from({ length: 6 }, (_, i) => hasher.hash(`sign-up ${i}` as Password).then(() => finished.push('signup')))
      const login = hasher.verify('the right password', stored).then(() => finished.push('login'))
      await Promise.all([...signups, login])
      // Sign-ups run one at a time on one worker; the login had the other to itself from the start, so it
      // ends about when the first sign-up does (the second at the latest on a busy machine), never behind
      // the queue of six as it would if sign-ups could take both workers.
      expect(finished.indexOf('login')).toBeLessThanOrEqual(2)
    } finally {
      await hasher.close()
    }
  })
})
