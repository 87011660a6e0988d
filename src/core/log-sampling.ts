/**
 * Bounded logging for floods: of one kind of event, at most one line per interval, and nothing lost
 * from the count. A line is written for the first event after a quiet interval; the events that follow
 * within the interval are only counted, and their count goes out on the next line, or on a summary line
 * once the interval has passed (the shell sets a timer for `dueAt`).
 */
export type Sampler =
  | { readonly state: 'quiet' }
  /** A line was written at `lastLineAt`; `counted` events since then are not yet in any line. */
  | { readonly state: 'sampling'; readonly lastLineAt: number; readonly counted: number }

export const QUIET: Sampler = { state: 'quiet' }

export type Sampled =
  /** Write a line for this event, saying that `suppressed` earlier ones went without a line of their own. */
  | { readonly type: 'write'; readonly suppressed: number }
  /** Counted, no line now; a summary is due at `dueAt` unless another event writes one first. */
  | { readonly type: 'count'; readonly dueAt: number }

/** One more event at `now` (ms). */
export const sampleEvent = (sampler: Sampler, now: number, intervalMs: number): readonly [Sampler, Sampled] => {
  if (sampler.state === 'quiet' || now - sampler.lastLineAt >= intervalMs) {
    const suppressed = sampler.state === 'quiet' ? 0 : sampler.counted
    return [{ state: 'sampling', lastLineAt: now, counted: 0 }, { type: 'write', suppressed }]
  }
  return [{ ...sampler, counted: sampler.counted + 1 }, { type: 'count', dueAt: sampler.lastLineAt + intervalMs }]
}

/**
 * The summary due at `now`: how many counted events to report on a line of their own (0 for none, or not
 * yet due). Once nothing is counted and the interval has passed, the sampler is quiet again.
 */
export const sampleSummary = (sampler: Sampler, now: number, intervalMs: number): readonly [Sampler, number] => {
  if (sampler.state === 'quiet' || now - sampler.lastLineAt < intervalMs) return [sampler, 0]
  if (sampler.counted === 0) return [QUIET, 0]
  return [{ state: 'sampling', lastLineAt: now, counted: 0 }, sampler.counted]
}

/** Everything still counted, reported regardless of the interval (when the process stops). */
export const sampleFlush = (sampler: Sampler): readonly [Sampler, number] =>
  sampler.state === 'quiet' ? [sampler, 0] : [QUIET, sampler.counted]
