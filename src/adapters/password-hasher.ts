import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { Password } from '../core/brands.js'

/**
 * Who is waiting for the hash: someone signing in, or someone signing up. Logins go first, so a flood of
 * sign-ups never starves them; each kind has its own bounded queue.
 */
export type HashingKind = 'login' | 'signup'

/** The pool's queue for this kind is full: answer 503 and let the client come back. */
export class HasherBusy extends Error {
  constructor(readonly kind: HashingKind) {
    super(`too many ${kind === 'login' ? 'sign-ins' : 'sign-ups'} waiting for password hashing`)
    this.name = 'HasherBusy'
  }
}

/**
 * bcrypt costs tens of milliseconds of CPU by design; it runs on worker threads, never the event loop.
 * Each worker holds one job at a time; the rest wait in the pool, logins ahead of sign-ups, and with two or
 * more workers sign-ups never occupy them all: a login finds a worker free at once however many sign-ups
 * are queued (with one worker it waits at most for the job running, one hash time).
 * A job refused because its queue is full rejects with `HasherBusy`.
 */
export interface PasswordHasher {
  /** For a sign-up. */
  readonly hash: (password: Password) => Promise<string>
  /** For a sign-in. */
  readonly verify: (password: string, hash: string) => Promise<boolean>
  /** Costs as much as a real verification, for unknown users, so timing does not reveal who exists. */
  readonly verifyNobody: (password: string) => Promise<false>
  readonly close: () => Promise<void>
}

export interface HasherOptions {
  /** Worker threads: one per core by default. */
  readonly size?: number
  /** Jobs that may wait per kind (not counting those running); default 64 logins and 8 sign-ups per worker. */
  readonly maxQueued?: Readonly<Record<HashingKind, number>>
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
interface Queued {
  readonly kind: HashingKind
  readonly job: Job
  readonly resolve: (value: unknown) => void
  readonly reject: (error: Error) => void
}

export const createPasswordHasher = (cost: number, options: HasherOptions = {}): PasswordHasher => {
  const size = options.size ?? Math.max(1, availableParallelism())
  const maxQueued = options.maxQueued ?? { login: 64 * size, signup: 8 * size }
  const bcryptPath = createRequire(import.meta.url).resolve('bcryptjs')
  const waiting: Record<HashingKind, Queued[]> = { login: [], signup: [] }
  const running = new Map<Worker, Queued & { readonly id: number }>()
  const idle: Worker[] = []
  let nextId = 0
  let closed = false

  const spawn = (): Worker => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { bcryptPath, nice: HASHING_NICENESS } })
    worker.unref()
    worker.on('message', (reply: Reply) => {
      const job = running.get(worker)
      running.delete(worker)
      if (job !== undefined && job.id === reply.id) {
        if (reply.ok) job.resolve(reply.result)
        else job.reject(new Error(reply.error ?? 'password hashing failed'))
      }
      takeNext(worker)
    })
    worker.on('error', (error) => {
      // A crashed worker fails the job it held; a new one takes its place and the queue moves on.
      const job = running.get(worker)
      running.delete(worker)
      job?.reject(error)
      if (!closed) takeNext(spawn())
    })
    return worker
  }

  // With two or more workers, sign-ups never hold them all: one is always there for the next login.
  const maySignUp = (): boolean => size === 1 || [...running.values()].filter((job) => job.kind === 'signup').length < size - 1

  const takeNext = (worker: Worker): void => {
    const next = waiting.login.shift() ?? (maySignUp() ? waiting.signup.shift() : undefined)
    if (next === undefined) {
      idle.push(worker)
      return
    }
    const id = nextId++
    running.set(worker, { ...next, id })
    worker.postMessage({ id, ...next.job })
  }

  for (let i = 0; i < size; i++) idle.push(spawn())

  const run = (kind: HashingKind, job: Job): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (closed) return reject(new Error('the password hasher is closed'))
      if (waiting[kind].length >= maxQueued[kind]) return reject(new HasherBusy(kind))
      waiting[kind].push({ kind, job, resolve, reject })
      const worker = idle.pop()
      if (worker !== undefined) takeNext(worker)
    })

  const hashFor = async (kind: HashingKind, password: string) => String(await run(kind, { op: 'hash', password, cost }))
  // Made at once, so the first unknown user costs one comparison like everyone else; a failed attempt
  // (a full queue, a crashed worker) is forgotten, never kept as the answer for every later one.
  const makeNobodyHash = (): Promise<string> => {
    const made = hashFor('login', 'no such user, no such password')
    made.catch(() => {
      if (nobodyHash === made) nobodyHash = undefined
    })
    return made
  }
  let nobodyHash: Promise<string> | undefined = makeNobodyHash()
  const verify = async (password: string, hashed: string) => (await run('login', { op: 'verify', password, hash: hashed })) === true

  return {
    hash: (password) => hashFor('signup', password),
    verify,
    verifyNobody: async (password) => {
      nobodyHash ??= makeNobodyHash()
      await verify(password, await nobodyHash)
      return false
    },
    close: async () => {
      closed = true
      const workers = [...idle, ...running.keys()]
      idle.length = 0
      for (const queued of [...waiting.login, ...waiting.signup, ...running.values()]) queued.reject(new Error('the password hasher is closed'))
      running.clear()
      waiting.login.length = 0
      waiting.signup.length = 0
      await Promise.all(workers.map((worker) => worker.terminate()))
    },
  }
}
