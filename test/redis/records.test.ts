import * as E from 'fp-ts/lib/Either.js'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { LinkFailure } from '../../src/adapters/cluster.js'
import { redisSharedRecords, type RedisRecordsOptions } from '../../src/adapters/redis/records.js'
import type { RecordsStep, RecordWrite, SharedRecords } from '../../src/adapters/shared-records.js'
import { freePort } from './private-redis.js'
import { inspector, processId, REDIS_URL, redisForTests, removeKeys, testPrefix, waitFor } from './test-redis.js'

// Shared records (login throttling's state across processes): one read and one compare-and-swap, on the
// server's clock; a swap that finds a key changed writes nothing and decides again on what is there now.

const redis = await redisForTests()

const opened: SharedRecords[] = []
const prefixes: string[] = []
const raw = redis.available ? inspector() : undefined
afterEach(async () => {
  await Promise.all(opened.splice(0).map((records) => records.close()))
  if (raw !== undefined) for (const prefix of prefixes.splice(0)) await removeKeys(raw, prefix)
})
afterAll(() => raw?.disconnect())

const open = (options: Partial<RedisRecordsOptions> = {}): { readonly records: SharedRecords; readonly prefix: string } => {
  const prefix = options.prefix ?? testPrefix()
  prefixes.push(prefix)
  const records = redisSharedRecords({ url: REDIS_URL, processId: processId(), ...options, prefix })
  opened.push(records)
  return { records, prefix }
}

const KEEP: RecordWrite = { type: 'keep' }

const ready = (records: SharedRecords) =>
  waitFor(async () => (E.isRight(await records.update(['warm-up'], () => ({ writes: [KEEP], result: true }))) ? true : undefined), 'the records connected')

const right = <A>(answer: E.Either<LinkFailure, A>): A => {
  if (E.isLeft(answer)) throw new Error(`the update failed: ${answer.left.type} ${answer.left.message}`)
  return answer.right
}

/** Adds one to a counter record, as a step: pure, so it may run again after a lost race. */
const increment = (values: ReadonlyArray<string | undefined>): RecordsStep<number> => {
  const next = Number(values[0] ?? '0') + 1
  return { writes: [{ type: 'set', value: String(next), ttlMs: 60_000 }], result: next }
}

describe.skipIf(!redis.available)('shared records over Redis', () => {
  it('reads what is there on the server’s clock, writes under the prefix with the expiry asked, and deletes', async () => {
    const { records, prefix } = open()
    await ready(records)
    await raw!.set(`${prefix}record:b`, 'old')
    const seen: Array<{ values: ReadonlyArray<string | undefined>; now: number }> = []
    const before = Date.now()
    const answer = await records.update(['a', 'b', 'c'], (values, now) => {
      seen.push({ values, now })
      return { writes: [{ type: 'set', value: 'one', ttlMs: 5000 }, { type: 'delete' }, KEEP], result: 'done' }
    })
    expect(right(answer)).toBe('done')
    expect(seen).toHaveLength(1)
    expect(seen[0]!.values).toEqual([undefined, 'old', undefined])
    // The machine's Redis runs on this machine's clock: TIME is within the call.
    expect(seen[0]!.now).toBeGreaterThanOrEqual(before - 1)
    expect(seen[0]!.now).toBeLessThanOrEqual(Date.now() + 1)
    expect(await raw!.get(`${prefix}record:a`)).toBe('one')
    const ttl = await raw!.pttl(`${prefix}record:a`)
    expect(ttl).toBeGreaterThan(4000)
    expect(ttl).toBeLessThanOrEqual(5000)
    expect(await raw!.exists(`${prefix}record:b`, `${prefix}record:c`)).toBe(0)
  })

  it('writes nothing for a step that keeps everything', async () => {
    const { records, prefix } = open()
    await ready(records)
    await raw!.set(`${prefix}record:a`, 'kept', 'PX', 60_000)
    expect(right(await records.update(['a'], (values) => ({ writes: [KEEP], result: values[0] })))).toBe('kept')
    expect(await raw!.pttl(`${prefix}record:a`)).toBeGreaterThan(59_000)
  })

  it('loses no update when processes race: three connections adding 100 each, at once, count 300', async () => {
    const prefix = testPrefix()
    const clients = [open({ prefix }).records, open({ prefix }).records, open({ prefix }).records]
    await Promise.all(clients.map(ready))
    // Each process serializes its own updates (as the login guard does); only the processes race.
    const results = await Promise.all(
      clients.map(async (client) => {
        const mine: number[] = []
        for (let i = 0; i < 100; i++) mine.push(right(await client.update(['counter'], increment)))
        return mine
      }),
    )
    // Each increment answered the value it wrote: all different, 1 to 300.
    expect(results.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1))
    expect(await raw!.get(`${prefix}record:counter`)).toBe('300')
  })

  it('gives up as failed after maxRounds lost races, having written nothing for those', async () => {
    const { records, prefix } = open({ maxRounds: 1 })
    await ready(records)
    // Unserialized on one connection: every read goes out before the first swap, so all but one lose.
    const answers = await Promise.all(Array.from({ length: 20 }, () => records.update(['counter'], increment)))
    const failed = answers.filter(E.isLeft)
    expect(failed.length).toBeGreaterThan(0)
    expect(failed.every((answer) => answer.left.type === 'failed')).toBe(true)
    expect(await raw!.get(`${prefix}record:counter`)).toBe(String(answers.length - failed.length))
  })

  it('decides again on what another process wrote between its read and its swap', async () => {
    const { records, prefix } = open()
    await ready(records)
    const decisions: Array<string | undefined> = []
    let interfered = false
    const answer = await records.update(['a'], (values) => {
      decisions.push(values[0])
      if (!interfered) {
        interfered = true
        // Sent on another connection before this step's swap is: it lands first.
        void raw!.set(`${prefix}record:a`, 'theirs')
      }
      return { writes: [{ type: 'set', value: `mine after ${values[0] ?? 'nothing'}`, ttlMs: 60_000 }], result: values[0] }
    })
    // The interfering SET may land before or after the swap; either way nothing is lost.
    const stored = await raw!.get(`${prefix}record:a`)
    if (decisions.length === 2) {
      expect(decisions).toEqual([undefined, 'theirs'])
      expect(right(answer)).toBe('theirs')
      expect(stored).toBe('mine after theirs')
    } else {
      expect(stored).toBe('theirs')
    }
  })

  it('answers the script again after SCRIPT FLUSH', async () => {
    const { records } = open()
    await ready(records)
    await raw!.script('FLUSH')
    expect(right(await records.update(['n'], increment))).toBe(1)
    expect(right(await records.update(['n'], increment))).toBe(2)
  })

  it('throws for writes that do not match the keys, or an expiry below 1 ms', async () => {
    const { records } = open()
    await ready(records)
    await expect(records.update(['a', 'b'], () => ({ writes: [KEEP], result: 0 }))).rejects.toThrow(RangeError)
    await expect(records.update(['a'], () => ({ writes: [{ type: 'set', value: 'x', ttlMs: 0 }], result: 0 }))).rejects.toThrow(RangeError)
  })

  it('answers unavailable at once while not connected, and after close', async () => {
    const port = await freePort()
    const { records: nowhere } = open({ url: `redis://127.0.0.1:${port}` })
    const started = Date.now()
    const answer = await nowhere.update(['a'], increment)
    expect(E.isLeft(answer) && answer.left.type).toBe('unavailable')
    expect(Date.now() - started).toBeLessThan(250)
    const { records } = open()
    await ready(records)
    await records.close()
    const closed = await records.update(['a'], increment)
    expect(E.isLeft(closed) && closed.left.type).toBe('unavailable')
  })
})
