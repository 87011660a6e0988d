import * as E from 'fp-ts/lib/Either.js'
import type { Admission, LinkFailure, SharedLimits } from '../../src/adapters/cluster.js'
import type { Logger } from '../../src/adapters/logger.js'
import type { SharedRecords } from '../../src/adapters/shared-records.js'

// Fakes of the cluster's shared counters, for the guards' unit tests: what Redis answers is a setting.

export const UNAVAILABLE: LinkFailure = { type: 'unavailable', message: 'not connected to Redis' }

/** A SharedLimits whose `count` answers as told (`admit`, a refusal with its wait, or a failure), recording each call. */
export const fakeLimits = (answer: () => E.Either<LinkFailure, Admission>) => {
  const counts: Array<{ key: string; windowMs: number; limit: number }> = []
  const limits: SharedLimits = {
    take: async () => answer(),
    count: async (key, windowMs, limit) => {
      counts.push({ key, windowMs, limit })
      return answer()
    },
    close: async () => undefined,
  }
  return { limits, counts }
}

export const admit = (): E.Either<LinkFailure, Admission> => E.right({ admitted: true })
export const refuse = (retryAfterMs: number) => (): E.Either<LinkFailure, Admission> => E.right({ admitted: false, retryAfterMs })
export const unavailable = (): E.Either<LinkFailure, Admission> => E.left(UNAVAILABLE)

/**
 * SharedRecords in memory with Redis's semantics: each record expires after its ttl on `now`, an update
 * reads, lets the step decide, and swaps only if nothing changed in between, else decides again. The read
 * and the swap each wait a turn of the event loop, as a round trip does, so updates that are not
 * serialized do race. `failing` makes every update answer that failure, as a lost Redis does.
 */
export const fakeRecords = (now: () => number) => {
  const store = new Map<string, { value: string; expiresAt: number }>()
  const state = { failing: undefined as LinkFailure | undefined, updates: 0, swaps: 0, lostRaces: 0 }
  const get = (key: string) => {
    const record = store.get(key)
    if (record !== undefined && record.expiresAt <= now()) store.delete(key)
    return store.get(key)?.value
  }
  const turn = () => new Promise((resolve) => setImmediate(resolve))
  const records: SharedRecords = {
    update: async (keys, step) => {
      state.updates += 1
      if (state.failing !== undefined) return E.left(state.failing)
      await turn()
      let seen = keys.map(get)
      for (;;) {
        const decided = step(seen, now())
        if (decided.writes.every((write) => write.type === 'keep')) return E.right(decided.result)
        await turn()
        state.swaps += 1
        const current = keys.map(get)
        if (current.some((value, i) => value !== seen[i])) {
          state.lostRaces += 1
          seen = current
          continue
        }
        decided.writes.forEach((write, i) => {
          const key = keys[i]!
          if (write.type === 'delete') store.delete(key)
          if (write.type === 'set') store.set(key, { value: write.value, expiresAt: now() + write.ttlMs })
        })
        return E.right(decided.result)
      }
    },
    close: async () => undefined,
  }
  /** What is stored now, by key, with the ms each record has left. */
  const dump = () => new Map([...store.keys()].flatMap((key) => (get(key) === undefined ? [] : [[key, { value: get(key)!, ttlMs: store.get(key)!.expiresAt - now() }] as const])))
  return { records, state, dump }
}

/** A logger that keeps `level message` of every line. */
export const recordingLog = () => {
  const lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> = []
  const at = (level: string) => (message: string, fields: Record<string, unknown> = {}) => void lines.push({ level, message, fields })
  const log: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => log }
  return { log, lines, said: () => lines.filter((line) => line.level !== 'debug').map((line) => `${line.level} ${line.message}`) }
}
