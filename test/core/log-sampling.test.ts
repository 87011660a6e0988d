import * as fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { QUIET, sampleEvent, sampleFlush, sampleSummary, type Sampler } from '../../src/core/log-sampling.js'

const INTERVAL = 1000

/** What happens to one kind: an event, or the summary timer firing, each after a gap (ms). */
type Step = { readonly type: 'event' | 'timer'; readonly gap: number }

const steps = fc.array(
  fc.record({ type: fc.constantFrom('event' as const, 'event' as const, 'timer' as const), gap: fc.oneof(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 3000 })) }),
  { maxLength: 200 },
)

interface Line {
  readonly at: number
  readonly covers: number
  readonly kind: 'event' | 'summary'
}

/** Folds the steps through the sampler as the shell does, collecting the lines it would write. */
const run = (history: ReadonlyArray<Step>) => {
  let sampler: Sampler = QUIET
  let now = 0
  let events = 0
  const lines: Line[] = []
  for (const step of history) {
    now += step.gap
    if (step.type === 'event') {
      events++
      const [next, sampled] = sampleEvent(sampler, now, INTERVAL)
      sampler = next
      if (sampled.type === 'write') lines.push({ at: now, covers: 1 + sampled.suppressed, kind: 'event' })
      else expect(sampled.dueAt).toBeGreaterThan(now)
    } else {
      const [next, counted] = sampleSummary(sampler, now, INTERVAL)
      sampler = next
      if (counted > 0) lines.push({ at: now, covers: counted, kind: 'summary' })
    }
  }
  const [, pending] = sampleFlush(sampler)
  return { lines, events, pending }
}

describe('sampling log lines of a flood', () => {
  it('writes at most one line per interval, and every event is counted in exactly one line', () => {
    fc.assert(
      fc.property(steps, (history) => {
        const { lines, events, pending } = run(history)
        for (let i = 1; i < lines.length; i++) expect((lines[i]?.at ?? 0) - (lines[i - 1]?.at ?? 0)).toBeGreaterThanOrEqual(INTERVAL)
        expect(lines.reduce((sum, line) => sum + line.covers, 0) + pending).toBe(events)
      }),
      { numRuns: 300 },
    )
  })

  it('writes the first event after a quiet interval at once', () => {
    fc.assert(
      fc.property(steps, fc.integer({ min: INTERVAL, max: 10 * INTERVAL }), (history, quiet) => {
        const { lines } = run([...history, { type: 'event', gap: quiet }])
        expect(lines.at(-1)).toMatchObject({ kind: 'event' })
      }),
      { numRuns: 300 },
    )
  })

  it('turns a flood of 10,000 events in 3 s into a handful of lines that add up to 10,000', () => {
    const flood: Step[] = Array.from({ length: 10_000 }, (_, i) => ({ type: 'event', gap: i === 0 ? 0 : 0.3 }))
    const timers: Step[] = [{ type: 'timer', gap: 1000 }]
    const { lines, events, pending } = run([...flood, ...timers])
    expect(events).toBe(10_000)
    expect(lines.length).toBeLessThanOrEqual(4)
    expect(lines.reduce((sum, line) => sum + line.covers, 0) + pending).toBe(10_000)
  })
})
