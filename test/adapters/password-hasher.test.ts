import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { createPasswordHasher, HASHING_NICENESS } from '../../src/adapters/password-hasher.js'
import type { Password } from '../../src/core/brands.js'

/** The nice value of every thread of this process, from /proc (field 19 of each thread's stat). */
const threadNiceness = (): number[] =>
  readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
    // The command name may hold spaces; the fields after it are fixed.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])
  })

describe('password hasher', () => {
  it('hashes and verifies on its worker threads', async () => {
    const hasher = createPasswordHasher(4, 2)
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
    const hasher = createPasswordHasher(4, 2)
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
})
