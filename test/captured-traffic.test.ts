import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { TRAFFIC_DIR_VARIABLE, type HttpRecord, type TrafficRecord, type WsRecord } from './capture/traffic.js'
import { checkExchange, checkServerFrame } from './published-specs.js'

// Runs after every other test file (its own project, a later group: see vitest.config.ts) and holds
// everything the test servers really sent against openapi.yaml and asyncapi.yaml, as ajv reads them.

const dir = process.env[TRAFFIC_DIR_VARIABLE]

const recorded = (): TrafficRecord[] =>
  dir === undefined
    ? []
    : readdirSync(dir)
        .filter((name) => name.endsWith('.jsonl'))
        .flatMap((name) => readFileSync(join(dir, name), 'utf8').split('\n'))
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as TrafficRecord)

/** Mismatches, the same problem once with how often and where it was seen. */
const summarize = (problems: ReadonlyArray<{ problem: string; test: string }>): string[] => {
  const seen = new Map<string, { count: number; tests: Set<string> }>()
  for (const { problem, test } of problems) {
    const entry = seen.get(problem) ?? { count: 0, tests: new Set<string>() }
    entry.count++
    entry.tests.add(test)
    seen.set(problem, entry)
  }
  return [...seen].map(([problem, { count, tests }]) => `${problem} (${count}x, in ${[...tests].join(', ')})`)
}

describe('what the test servers sent matches the published specs', () => {
  it('was recorded (this file checks a whole run: `npm test` or `npx vitest run`, not this file alone)', () => {
    expect(dir, `${TRAFFIC_DIR_VARIABLE} is not set: the global setup of the main project did not run`).toBeDefined()
  })

  const traffic = recorded()
  const exchanges = traffic.filter((r): r is HttpRecord => r.kind === 'http')
  const frames = traffic.filter((r): r is WsRecord => r.kind === 'ws')

  it('every HTTP response has a documented status and media type, and its JSON body matches the schema', () => {
    const problems = exchanges.flatMap((exchange) => {
      const problem = checkExchange(exchange)
      return problem === undefined ? [] : [{ problem, test: exchange.test }]
    })
    expect(summarize(problems), `${problems.length} of ${exchanges.length} responses`).toEqual([])
    // Far fewer would mean the recording broke, not that the server got it right.
    expect(exchanges.length).toBeGreaterThan(300)
  })

  it('every WebSocket frame is a documented server frame and matches its schema', () => {
    const problems = frames.flatMap((frame) => {
      const problem = frame.binary ? 'a binary frame (the protocol is JSON text)' : checkServerFrame(frame.data)
      return problem === undefined ? [] : [{ problem, test: frame.test }]
    })
    expect(summarize(problems), `${problems.length} of ${frames.length} frames`).toEqual([])
    expect(frames.length).toBeGreaterThan(300)
  })
})
