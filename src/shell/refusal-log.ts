import { QUIET, sampleEvent, sampleFlush, sampleSummary, type Sampler } from '../core/log-sampling.js'
import type { LogFields, Logger } from '../adapters/logger.js'

/**
 * Log lines for refused connections, at a bounded rate. A refusal is what a flood is made of (descriptors
 * running out, a cap hit by a bot, unauthenticated upgrades), so one line per refusal would let the
 * flood fill the disk with logs; none would hide it. Per kind, at most one line per interval:
 *
 *   {"level":"warn","msg":"connection refused","kind":"too_many_connections","suppressed":0,...fields}
 *   {"level":"warn","msg":"connections refused","kind":"too_many_connections","suppressed":412,"intervalMs":1000}
 *
 * The first says a refusal happened (with the fields of that one, and how many went unlogged before it);
 * the second, written once the interval has passed, counts the refusals that got no line of their own.
 * Every refusal is in exactly one line's count.
 */
export interface RefusalLog {
  /**
   * Notes one refused connection of `kind` (a stable snake_case name, e.g. `too_many_connections`,
   * `descriptors_exhausted`, `websocket_unauthenticated`, `websocket_address_cap`), with fields that
   * describe it (status, client address; never a token). Cheap enough to call on every refusal.
   */
  readonly refused: (kind: string, fields?: LogFields) => void
  /** Writes the counts still pending and stops the timers (at shutdown). */
  readonly flush: () => void
}

export const DEFAULT_REFUSAL_INTERVAL_MS = 1000

export const createRefusalLog = (log: Logger, now: () => number = Date.now, intervalMs = DEFAULT_REFUSAL_INTERVAL_MS): RefusalLog => {
  const samplers = new Map<string, Sampler>()
  const timers = new Map<string, NodeJS.Timeout>()

  const summarizeAt = (kind: string, dueAt: number): void => {
    if (timers.has(kind)) return
    // Unref'd: a pending summary must not keep a stopping process alive (flush writes it).
    const timer = setTimeout(() => summarize(kind), Math.max(0, dueAt - now()))
    timer.unref()
    timers.set(kind, timer)
  }

  const summarize = (kind: string): void => {
    timers.delete(kind)
    const [next, counted] = sampleSummary(samplers.get(kind) ?? QUIET, now(), intervalMs)
    if (next.state === 'quiet') samplers.delete(kind)
    else samplers.set(kind, next)
    if (counted > 0) log.warn('connections refused', { kind, suppressed: counted, intervalMs })
    // A timer may fire a little before the clock says the interval is over: then try again at its end.
    else if (next.state === 'sampling' && next.counted > 0) summarizeAt(kind, next.lastLineAt + intervalMs)
  }

  const refused = (kind: string, fields: LogFields = {}): void => {
    const [next, sampled] = sampleEvent(samplers.get(kind) ?? QUIET, now(), intervalMs)
    samplers.set(kind, next)
    if (sampled.type === 'write') log.warn('connection refused', { ...fields, kind, suppressed: sampled.suppressed })
    else summarizeAt(kind, sampled.dueAt)
  }

  const flush = (): void => {
    for (const timer of timers.values()) clearTimeout(timer)
    timers.clear()
    for (const [kind, sampler] of samplers) {
      const [, counted] = sampleFlush(sampler)
      if (counted > 0) log.warn('connections refused', { kind, suppressed: counted, intervalMs })
    }
    samplers.clear()
  }

  return { refused, flush }
}
