import * as E from 'fp-ts/lib/Either.js'
import { withoutPassword } from '../../core/config.js'
import type { Admission, LinkFailure, LinkLog, Rate, SharedLimits } from '../cluster.js'
import { closeConnection, heartbeat, linkFailure, logChanges, luaScript, type ScriptCall, NOT_CONNECTED, openConnection } from './connection.js'

export interface RedisLimitsOptions {
  readonly url: string
  /** Starts every key (`<prefix>bucket:<key>`, `<prefix>count:<key>`). */
  readonly prefix: string
  /** Names the connection in `CLIENT LIST` (`sala-limits-<processId>`). */
  readonly processId: string
  readonly log?: LinkLog
  /** An answer slower than this is a `timeout` failure (default 1 s). */
  readonly commandTimeoutMs?: number
  /** A connection that answers nothing this long is redialled (default 5 s). */
  readonly silenceMs?: number
  /** The longest wait between reconnection attempts (default 1 s). */
  readonly retryCapMs?: number
}

const DEFAULTS = { commandTimeoutMs: 1000, silenceMs: 5000, retryCapMs: 1000, log: (() => undefined) as LinkLog }

/**
 * GCRA, the token bucket kept as one number: the time at which the bucket would be full again were no
 * token taken since (`tat`, ms). Taking `cost` tokens moves it `cost` intervals later; that is refused when
 * it would pass now by more than `burst` intervals. The clock is the server's (TIME), the same for every
 * process, and the key expires when the bucket is full again, so an idle key holds no memory. 1 µs of
 * slack absorbs the rounding of the stored value.
 */
export const TAKE_SCRIPT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local interval = 1000 / tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local next_tat = tat + cost * interval
local allowed_at = next_tat - burst * interval
if allowed_at - now > 0.001 then
  return {0, math.ceil(allowed_at - now)}
end
redis.call('SET', KEYS[1], string.format('%.3f', next_tat), 'PX', math.max(1, math.ceil(next_tat - now)))
return {1, 0}
`

/**
 * A fixed window: the first call starts it with the key's expiry; every call counts; past `limit` it is
 * refused until the key expires, one millisecond after what PTTL says (a key lives through its last
 * millisecond). In one script, so no key is ever left without its expiry (the INCR and PEXPIRE of a
 * client that dies between them would count for ever).
 */
export const COUNT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
if count > tonumber(ARGV[2]) then return {0, ttl + 1} end
return {1, 0}
`

/**
 * Cluster-wide limits on a connection of their own (its failures are answers, never waits: see
 * `openConnection`). Returns at once and connects in the background; until then, and whenever Redis is
 * unreachable, every call answers `unavailable` without sending anything. Throws only for an impossible
 * rule (a programming error).
 */
export const redisSharedLimits = (options: RedisLimitsOptions): SharedLimits => {
  const { url, prefix, processId, commandTimeoutMs, silenceMs, retryCapMs, log } = { ...DEFAULTS, ...options }
  const client = openConnection({ url, name: `sala-limits-${processId}`, commandTimeoutMs, silenceMs, retryCapMs })
  const take = luaScript(TAKE_SCRIPT)
  const count = luaScript(COUNT_SCRIPT)
  let closed = false
  const stopHeartbeat = heartbeat([client], silenceMs)
  logChanges(client, log, 'shared limits', { redis: withoutPassword(url), processId }, () => closed)

  const run = async (call: ScriptCall, key: string, args: ReadonlyArray<number>): Promise<E.Either<LinkFailure, Admission>> => {
    if (closed || client.status !== 'ready') return E.left(NOT_CONNECTED)
    try {
      return E.right(admission(await call(client, [key], args)))
    } catch (error) {
      return E.left(linkFailure(error))
    }
  }

  return {
    take: (key, rate, cost = 1) => {
      checkRule(rate, cost)
      return run(take, `${prefix}bucket:${key}`, [rate.perSecond, rate.burst, cost])
    },
    count: (key, windowMs, limit) => {
      if (!Number.isSafeInteger(windowMs) || windowMs < 1 || !Number.isSafeInteger(limit) || limit < 1) {
        throw new RangeError(`a window must be a whole number of ms and a limit a whole number, both at least 1 (got ${windowMs} ms, ${limit})`)
      }
      return run(count, `${prefix}count:${key}`, [windowMs, limit])
    },
    close: async () => {
      if (closed) return
      closed = true
      stopHeartbeat()
      await closeConnection(client)
    },
  }
}



/** The scripts answer `{1, 0}` or `{0, wait}`. */
const admission = (reply: unknown): Admission => {
  if (!Array.isArray(reply) || typeof reply[0] !== 'number' || typeof reply[1] !== 'number') {
    throw new Error(`unexpected reply from a limit script: ${JSON.stringify(reply)}`)
  }
  return reply[0] === 1 ? { admitted: true } : { admitted: false, retryAfterMs: reply[1] }
}

const checkRule = (rate: Rate, cost: number): void => {
  const fine = Number.isFinite(rate.perSecond) && rate.perSecond > 0 && Number.isFinite(rate.burst) && rate.burst >= 1 && Number.isFinite(cost) && cost > 0 && cost <= rate.burst
  if (!fine) throw new RangeError(`a bucket needs perSecond > 0, burst >= 1 and 0 < cost <= burst (got ${JSON.stringify(rate)}, cost ${cost})`)
}

