import cluster, { type Worker } from 'node:cluster'
import type { Logger } from '../adapters/logger.js'
import { afterExit, defaultRestartPolicy, type RestartPolicy } from '../core/worker-restarts.js'

// WORKERS=N: this process is the primary. It opens no database and listens on nothing itself; node:cluster
// shares the port its workers listen on (the primary accepts and hands connections round-robin, also for
// PORT=0, where the first worker's listen(0) picks the port every worker then shares). Each worker is a
// whole Sala process, one cluster member among others over Redis, so nothing here knows about the chat.

export interface PrimaryOptions {
  readonly workers: number
  /** The entry point each worker runs (main.js itself: `npm start` runs it through scripts/start.mjs). */
  readonly script: string
  /** The workers' own SHUTDOWN_TIMEOUT_MS; the primary gives them STOP_GRACE_MS more. */
  readonly shutdownTimeoutMs: number
  readonly log: Logger
  readonly now?: () => number
  readonly policy?: RestartPolicy
}

/**
 * After a worker's connections are cut at its SHUTDOWN_TIMEOUT_MS, it still stores what it accepted and
 * closes the database and the Redis link: this long is allowed for that before it is killed.
 */
export const STOP_GRACE_MS = 5_000

/** A worker's place: the primary keeps `workers` of them filled, whatever happens to the process in each. */
interface Place {
  worker: Worker | undefined
  startedAt: number
  listened: boolean
  quickExits: number
  restart: NodeJS.Timeout | undefined
}

type Phase = { readonly type: 'running' } | { readonly type: 'stopping'; readonly exitCode: number; readonly deadline: NodeJS.Timeout }

/** Forks the workers and keeps them running until SIGTERM/SIGINT or a crash loop; resolves with the exit code. */
export const superviseWorkers = (options: PrimaryOptions): Promise<number> =>
  new Promise((finish) => {
    const { log } = options
    const now = options.now ?? Date.now
    const policy = options.policy ?? defaultRestartPolicy
    const places: Place[] = Array.from({ length: options.workers }, () => ({ worker: undefined, startedAt: 0, listened: false, quickExits: 0, restart: undefined }))
    let phase: Phase = { type: 'running' }
    let anyListened = false
    // Every worker of a stop must end with code 0 for the primary to: anything else is reported by exit 1.
    let clean = true

    const placeOf = (worker: Worker): Place | undefined => places.find((place) => place.worker === worker)
    const live = (): Worker[] => places.flatMap((place) => (place.worker === undefined ? [] : [place.worker]))

    const fork = (place: Place): void => {
      place.restart = undefined
      const worker = cluster.fork()
      Object.assign(place, { worker, startedAt: now(), listened: false })
      // A fork that fails (EAGAIN, ENOMEM) reports here and then exits; without a listener it would throw.
      worker.on('error', (error) => log.error('worker error', { worker: worker.id, err: error }))
      log.info('worker started', { worker: worker.id, pid: worker.process.pid })
    }

    const stop = (exitCode: number): void => {
      if (phase.type === 'stopping') return
      const deadline = setTimeout(() => {
        const late = live()
        log.error('workers did not stop in time: killing them', { workers: late.map((worker) => worker.process.pid), timeoutMs: options.shutdownTimeoutMs + STOP_GRACE_MS })
        clean = false
        for (const worker of late) worker.process.kill('SIGKILL')
      }, options.shutdownTimeoutMs + STOP_GRACE_MS)
      phase = { type: 'stopping', exitCode, deadline }
      for (const place of places) clearTimeout(place.restart)
      // The signal the worker's own shutdown listens for; never worker.disconnect(): a worker whose IPC
      // channel closes exits at once (node's rule for an orphaned worker), skipping the graceful shutdown.
      for (const worker of live()) worker.process.kill('SIGTERM')
      stopped()
    }

    const stopped = (): void => {
      if (phase.type !== 'stopping' || live().length > 0) return
      clearTimeout(phase.deadline)
      const code = clean ? phase.exitCode : 1
      log.info('workers stopped', { exitCode: code })
      finish(code)
    }

    cluster.on('listening', (worker) => {
      const place = placeOf(worker)
      if (place === undefined) return
      place.listened = true
      anyListened = true
    })

    cluster.on('exit', (worker, code, signal) => {
      const place = placeOf(worker)
      if (place === undefined) return
      place.worker = undefined
      const ended = { worker: worker.id, pid: worker.process.pid, code, signal }
      if (phase.type === 'stopping') {
        if (code !== 0) clean = false
        log.info('worker exited', ended)
        stopped()
        return
      }
      const decision = afterExit({ startedAt: place.startedAt, listened: place.listened, exitedAt: now() }, place.quickExits, anyListened, policy)
      place.quickExits = decision.quickExits
      if (decision.type === 'give_up') {
        log.error('worker exited', { ...ended, restart: false })
        log.error(decision.reason === 'not_started' ? 'workers cannot start: stopping' : 'workers keep exiting soon after starting: stopping', {
          quickExits: decision.quickExits,
        })
        stop(1)
        return
      }
      log.warn('worker exited', { ...ended, restartInMs: decision.delayMs })
      place.restart = setTimeout(() => fork(place), decision.delayMs)
    })

    const signalled = (signal: string): void => {
      log.info('stopping', { signal, workers: live().map((worker) => worker.process.pid) })
      // SIGTERM to each worker even on SIGINT: Ctrl-C in a terminal has already sent the workers SIGINT,
      // and a second SIGINT would kill them mid-shutdown; a worker handles each signal once, and both alike.
      stop(0)
    }
    // Once each: a second signal does what it always does (ends the primary, and with it every worker).
    process.once('SIGTERM', () => signalled('SIGTERM'))
    process.once('SIGINT', () => signalled('SIGINT'))

    cluster.setupPrimary({ exec: options.script })
    log.info('starting workers', { workers: options.workers, pid: process.pid })
    for (const place of places) fork(place)
  })
