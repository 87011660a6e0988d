import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { Password } from '../core/brands.js'

/** bcrypt costs tens of milliseconds of CPU by design; it runs on worker threads, never the event loop. */
export interface PasswordHasher {
  readonly hash: (password: Password) => Promise<string>
  readonly verify: (password: string, hash: string) => Promise<boolean>
  /** Costs as much as a real verification, for unknown users, so timing does not reveal who exists. */
  readonly verifyNobody: (password: string) => Promise<false>
  readonly close: () => Promise<void>
}

// Plain JavaScript evaluated in each worker, so the pool works the same from TypeScript sources and builds.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const bcrypt = require(workerData.bcryptPath)
// A login can wait a few milliseconds; a chat message should not. On Linux each thread has its own nice
// value, so the hashing threads yield the CPU to the event loop (and to anything else) when both want it.
// Elsewhere this is skipped and they run at the process's priority.
try {
  const thread = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop())
  require('node:os').setPriority(thread, workerData.nice)
} catch {}
parentPort.on('message', (job) => {
  try {
    const result = job.op === 'hash' ? bcrypt.hashSync(job.password, job.cost) : bcrypt.compareSync(job.password, job.hash)
    parentPort.postMessage({ id: job.id, ok: true, result })
  } catch (error) {
    parentPort.postMessage({ id: job.id, ok: false, error: String((error && error.message) || error) })
  }
})
`

/** Linux's nice value for the hashing threads: under full load they get about a tenth of a core's share. */
export const HASHING_NICENESS = 10

type Job = { op: 'hash'; password: string; cost: number } | { op: 'verify'; password: string; hash: string }
interface Reply {
  readonly id: number
  readonly ok: boolean
  readonly result?: unknown
  readonly error?: string
}
interface Pending {
  readonly worker: Worker
  readonly resolve: (value: unknown) => void
  readonly reject: (error: Error) => void
}

export const createPasswordHasher = (cost: number, size = Math.max(1, availableParallelism())): PasswordHasher => {
  const bcryptPath = createRequire(import.meta.url).resolve('bcryptjs')
  const pending = new Map<number, Pending>()
  const load = new Map<Worker, number>()
  let nextId = 0

  const spawn = (): Worker => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { bcryptPath, nice: HASHING_NICENESS } })
    worker.unref()
    worker.on('message', (reply: Reply) => {
      load.set(worker, (load.get(worker) ?? 1) - 1)
      const job = pending.get(reply.id)
      pending.delete(reply.id)
      if (reply.ok) job?.resolve(reply.result)
      else job?.reject(new Error(reply.error ?? 'password hashing failed'))
    })
    worker.on('error', (error) => {
      // A crashed worker fails the jobs it may hold; the pool replaces it.
      load.delete(worker)
      for (const [id, job] of pending) {
        if (job.worker !== worker) continue
        pending.delete(id)
        job.reject(error)
      }
      load.set(spawn(), 0)
    })
    return worker
  }
  for (let i = 0; i < size; i++) load.set(spawn(), 0)

  const run = (job: Job): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const [worker] = [...load].reduce((least, entry) => (entry[1] < least[1] ? entry : least))
      const id = nextId++
      pending.set(id, { worker, resolve, reject })
      load.set(worker, (load.get(worker) ?? 0) + 1)
      worker.postMessage({ id, ...job })
    })

  let nobodyHash: Promise<string> | undefined
  const hash = async (password: string) => String(await run({ op: 'hash', password, cost }))
  const verify = async (password: string, hashed: string) => (await run({ op: 'verify', password, hash: hashed })) === true

  return {
    hash,
    verify,
    verifyNobody: async (password) => {
      nobodyHash ??= hash('no such user, no such password')
      await verify(password, await nobodyHash)
      return false
    },
    close: async () => {
      await Promise.all([...load.keys()].map((worker) => worker.terminate()))
      load.clear()
    },
  }
}
