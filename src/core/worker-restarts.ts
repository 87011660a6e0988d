/** One run of a worker, as the primary saw it: when it was forked, whether it came to listen, when it exited. */
export interface WorkerRun {
  readonly startedAt: number
  readonly listened: boolean
  readonly exitedAt: number
}

export interface RestartPolicy {
  /** A worker that listened and ran this long was healthy: its exit is an incident, not a crash loop. */
  readonly healthyAfterMs: number
  /** Quick exits in a row, in one worker's place, after which restarting is given up. */
  readonly maxQuickExits: number
  /** The wait before restarting after the first quick exit; it doubles with each further one. */
  readonly firstDelayMs: number
  readonly maxDelayMs: number
}

export const defaultRestartPolicy: RestartPolicy = {
  healthyAfterMs: 10_000,
  maxQuickExits: 5,
  firstDelayMs: 500,
  maxDelayMs: 8_000,
}

export type AfterExit =
  /** Fork a new worker in its place after `delayMs`; `quickExits` is its place's count from now on. */
  | { readonly type: 'restart'; readonly delayMs: number; readonly quickExits: number }
  /**
   * Stop every worker and exit 1: `not_started` when no worker has ever listened (a start that fails the
   * same way for each: the port, the database, a folder; the worker has said why), `crash_loop` after
   * `maxQuickExits` quick exits in a row.
   */
  | { readonly type: 'give_up'; readonly reason: 'not_started' | 'crash_loop'; readonly quickExits: number }

/**
 * What the primary does when a worker exits while it is not stopping. `quickExitsBefore` counts the quick
 * exits in a row in this worker's place; `anyListened` whether any worker of this primary has listened.
 */
export const afterExit = (run: WorkerRun, quickExitsBefore: number, anyListened: boolean, policy: RestartPolicy = defaultRestartPolicy): AfterExit => {
  if (!anyListened && !run.listened) return { type: 'give_up', reason: 'not_started', quickExits: quickExitsBefore + 1 }
  const healthy = run.listened && run.exitedAt - run.startedAt >= policy.healthyAfterMs
  if (healthy) return { type: 'restart', delayMs: 0, quickExits: 0 }
  const quickExits = quickExitsBefore + 1
  if (quickExits >= policy.maxQuickExits) return { type: 'give_up', reason: 'crash_loop', quickExits }
  return { type: 'restart', delayMs: Math.min(policy.firstDelayMs * 2 ** (quickExits - 1), policy.maxDelayMs), quickExits }
}
