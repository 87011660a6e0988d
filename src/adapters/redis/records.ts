import * as E from 'fp-ts/lib/Either.js'
import type { LinkFailure } from '../cluster.js'
import type { RecordWrite, SharedRecords } from '../shared-records.js'
import { closeConnection, heartbeat, linkFailure, luaScript, NOT_CONNECTED, openConnection } from './connection.js'

export interface RedisRecordsOptions {
  readonly url: string
  /** Starts every key (`<prefix>record:<key>`). */
  readonly prefix: string
  /** Names the connection in `CLIENT LIST` (`sala-records-<processId>`). */
  readonly processId: string
  /** An answer slower than this is a `timeout` failure (default 1 s). */
  readonly commandTimeoutMs?: number
  /** A connection that answers nothing this long is redialled (default 5 s). */
  readonly silenceMs?: number
  /** The longest wait between reconnection attempts (default 1 s). */
  readonly retryCapMs?: number
  /** Decisions in a row that lose to another process's write before the update gives up (default 50). */
  readonly maxRounds?: number
}

const DEFAULTS = { commandTimeoutMs: 1000, silenceMs: 5000, retryCapMs: 1000, maxRounds: 50 }

/** The server's clock and the keys' values (nil when absent), in one atomic read. */
export const READ_SCRIPT = `
local time = redis.call('TIME')
local reply = {tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)}
for i, key in ipairs(KEYS) do reply[i + 1] = redis.call('GET', key) end
return reply
`

/**
 * Compare-and-swap over several keys: per key, ARGV holds what the caller saw ('' for absent, '=' and the
 * value otherwise), then 'keep', 'del' or 'set' with a value and its expiry in ms. Written only if every
 * key still holds what was seen; else nothing is written and the answer carries the clock and the values
 * now, so the caller decides again without another read.
 */
export const SWAP_SCRIPT = `
local current = {}
local same = true
for i, key in ipairs(KEYS) do
  local value = redis.call('GET', key)
  current[i] = value
  local seen = ARGV[4 * i - 3]
  if value then
    if seen ~= '=' .. value then same = false end
  elseif seen ~= '' then
    same = false
  end
end
if not same then
  local time = redis.call('TIME')
  local reply = {0, tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)}
  for i = 1, #KEYS do reply[i + 2] = current[i] end
  return reply
end
for i, key in ipairs(KEYS) do
  local op = ARGV[4 * i - 2]
  if op == 'set' then
    redis.call('SET', key, ARGV[4 * i - 1], 'PX', ARGV[4 * i])
  elseif op == 'del' then
    redis.call('DEL', key)
  end
end
return {1}
`

/**
 * Shared records over Redis, on a connection of their own (its failures are answers, never waits: see
 * `openConnection`). Returns at once and connects in the background; until then, and whenever Redis is
 * unreachable, every update answers `unavailable` without sending anything. An update is one read and one
 * swap when nobody else wrote the keys in between (a step that keeps everything: the read alone); each
 * lost race costs one more swap, up to `maxRounds`, then `failed`. Callers serialize their own updates of
 * a key, so only other processes race.
 */
export const redisSharedRecords = (options: RedisRecordsOptions): SharedRecords => {
  const { url, prefix, processId, commandTimeoutMs, silenceMs, retryCapMs, maxRounds } = { ...DEFAULTS, ...options }
  const client = openConnection({ url, name: `sala-records-${processId}`, commandTimeoutMs, silenceMs, retryCapMs })
  // Failures are answered to the callers, who say what they mean; an unheard 'error' would crash the process.
  client.on('error', () => undefined)
  const read = luaScript(READ_SCRIPT)
  const swap = luaScript(SWAP_SCRIPT)
  const stopHeartbeat = heartbeat([client], silenceMs)
  let closed = false

  return {
    update: async (keys, step) => {
      if (closed || client.status !== 'ready') return E.left(NOT_CONNECTED)
      const stored = keys.map((key) => `${prefix}record:${key}`)
      const readAll = () => answer(() => read(client, stored, []).then((reply) => snapshot(reply, 1)))
      let seen = await readAll()
      for (let round = 0; round < maxRounds; round += 1) {
        if (E.isLeft(seen)) return seen
        const { now, values } = seen.right
        // Outside the answer's try: a step that throws, or writes that do not fit, are bugs to see.
        const decided = step(values, now)
        checkWrites(decided.writes, keys.length)
        if (decided.writes.every((write) => write.type === 'keep')) return E.right(decided.result)
        const swapped = await answer(() => swap(client, stored, swapArguments(values, decided.writes)))
        if (E.isLeft(swapped)) return swapped
        if (Array.isArray(swapped.right) && swapped.right[0] === 1) return E.right(decided.result)
        // Lost: decide again on what the swap found. Redis serves its clients in a fixed order, so processes
        // retrying at once lose in a fixed order too and one can lose many times running; a random pause
        // (0 to `round` ms, then a fresh read) breaks the pattern: four processes updating one key in a
        // tight loop needed at most 14 rounds, 32 without it.
        const pause = Math.floor(Math.random() * (round + 1))
        if (pause === 0) {
          seen = await answer(async () => snapshot(swapped.right, 2))
        } else {
          await new Promise((resolve) => setTimeout(resolve, pause))
          seen = await readAll()
        }
      }
      return E.left<LinkFailure>({ type: 'failed', message: `other processes changed these records ${maxRounds} times in a row` })
    },
    close: async () => {
      if (closed) return
      closed = true
      stopHeartbeat()
      await closeConnection(client)
    },
  }
}

/** A command's outcome as a value: its reply, or the failure as the port names it. */
const answer = async <A>(call: () => Promise<A>): Promise<E.Either<LinkFailure, A>> => {
  try {
    return E.right(await call())
  } catch (error) {
    return E.left(linkFailure(error))
  }
}



/** The clock at `reply[from - 1]` and the values after it, as the scripts answer them. */
const snapshot = (reply: unknown, from: number): { now: number; values: ReadonlyArray<string | undefined> } => {
  const now: unknown = Array.isArray(reply) ? reply[from - 1] : undefined
  if (!Array.isArray(reply) || typeof now !== 'number') throw new Error(`unexpected reply from a records script: ${JSON.stringify(reply)}`)
  const values = reply.slice(from).map((value: unknown) => (typeof value === 'string' ? value : undefined))
  return { now, values }
}

const swapArguments = (seen: ReadonlyArray<string | undefined>, writes: ReadonlyArray<RecordWrite>): string[] =>
  writes.flatMap((write, i) => {
    const before = seen[i] === undefined ? '' : `=${seen[i]}`
    switch (write.type) {
      case 'keep':
        return [before, 'keep', '', '0']
      case 'delete':
        return [before, 'del', '', '0']
      case 'set':
        return [before, 'set', write.value, String(write.ttlMs)]
    }
  })

const checkWrites = (writes: ReadonlyArray<RecordWrite>, keys: number): void => {
  if (writes.length !== keys) throw new RangeError(`a step must say what to do with each of its ${keys} keys (got ${writes.length} writes)`)
  for (const write of writes) {
    if (write.type === 'set' && (!Number.isSafeInteger(write.ttlMs) || write.ttlMs < 1)) {
      throw new RangeError(`a record's expiry must be a whole number of ms, at least 1 (got ${write.ttlMs})`)
    }
  }
}
