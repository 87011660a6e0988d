/**
 * What `work` settles with, if it settles within `ms` milliseconds; `undefined` once they have passed
 * (so `work` should not resolve to `undefined` itself, or the two cannot be told apart). A rejection within
 * the deadline rejects with the same error. The work is not cancelled: it runs on, and the caller decides
 * what to do with a late outcome (the readiness probes keep it to refuse new probes while it runs).
 *
 * The timer is unref'd, so a probe waiting out its deadline never keeps the process alive.
 */
export const withDeadline = <A>(work: Promise<A>, ms: number): Promise<A | undefined> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(undefined), ms)
    timer.unref()
    work.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error)
      },
    )
  })
