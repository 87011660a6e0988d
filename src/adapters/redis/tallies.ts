import * as E from 'fp-ts/lib/Either.js'
import { withoutPassword } from '../../core/config.js'
import type { LinkFailure, LinkLog, SharedTallies, TallyHold } from '../cluster.js'
import { closeConnection, heartbeat, linkFailure, logChanges, luaScript, NOT_CONNECTED, openConnection } from './connection.js'

export interface RedisTalliesOptions {
  readonly url: string
  /** Starts every key (`<prefix>tally:<key>`, `<prefix>alive:<processId>`). */
  readonly prefix: string
  /** This process's field in every tally, and its connection's name in `CLIENT LIST` (`sala-tallies-<processId>`). */
  readonly processId: string
  /** A process whose alive key has not been renewed for this long is dead, its shares dropped (PRESENCE_TTL). */
  readonly aliveTtlMs: number
  readonly log?: LinkLog
  /** An answer slower than this is a `timeout` failure (default 1 s). */
  readonly commandTimeoutMs?: number
  /** A connection that answers nothing this long is redialled (default 5 s). */
  readonly silenceMs?: number
  /** The longest wait between reconnection attempts (default 1 s). */
  readonly retryCapMs?: number
  /** A tally nobody has written for this long is deleted (default 1 h); this process tells its shares again every third of it. */
  readonly keyTtlMs?: number
}

const DEFAULTS = { commandTimeoutMs: 1000, silenceMs: 5000, retryCapMs: 1000, keyTtlMs: 3_600_000, log: (() => undefined) as LinkLog }

/**
 * One tally is a hash, one field per process holding some of it. KEYS[1] the tally; ARGV: this process's
 * field, its share as it knows it, the amount asked, the limit, the tally's expiry (ms), the prefix of the
 * alive keys, and the share with the amount (as text, so Lua never formats a large number). The fields of
 * processes without an alive key are dropped; the others are summed; this process's field is written with
 * its share, plus the amount if the total stays within the limit. Answers `{held, others}`.
 * (It reads alive keys it cannot declare, so it needs a single Redis, not a Redis Cluster.)
 */
export const HOLD_SCRIPT = `
local own = ARGV[1]
local share = tonumber(ARGV[2])
local others = 0
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  local field = fields[i]
  if field ~= own then
    if redis.call('EXISTS', ARGV[6] .. field) == 1 then
      others = others + (tonumber(fields[i + 1]) or 0)
    else
      redis.call('HDEL', KEYS[1], field)
    end
  end
end
local held = 0
local value = ARGV[2]
if share + tonumber(ARGV[3]) + others <= tonumber(ARGV[4]) then
  held = 1
  value = ARGV[7]
end
if tonumber(value) > 0 then
  redis.call('HSET', KEYS[1], own, value)
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
else
  redis.call('HDEL', KEYS[1], own)
end
return {held, others}
`

/** Writes this process's share (ARGV[2]) in a tally (KEYS[1]), or removes its field at 0; ARGV[3] the tally's expiry. */
export const TELL_SCRIPT = `
if tonumber(ARGV[2]) > 0 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
return 1
`

type Job =
  | { readonly type: 'hold'; readonly amount: number; readonly limit: number; readonly answer: (result: E.Either<LinkFailure, TallyHold>) => void }
  | { readonly type: 'tell' }

/** What a job did to Redis: wrote the share as it was then, failed (the share there is unknown), or sent nothing. */
type Outcome = 'told' | 'failed' | 'unsent'

const TELL: Job = { type: 'tell' }

/**
 * Shared tallies on a connection of their own (its failures are answers, never waits: see `openConnection`).
 * Returns at once and connects in the background; until then, and whenever Redis is unreachable, holds
 * answer `unavailable` without sending anything.
 *
 * Every write says this process's whole share of a tally, never a difference, so a write lost or repeated
 * is mended by the next one. The jobs of one tally run one at a time (a hold must know the share the one
 * before it left); different tallies run side by side. On every connect the alive key is renewed first,
 * then every share is told again; the alive key is renewed every third of its TTL, and a renewal that finds
 * it gone (Redis restarted, or this process was silent so long the others dropped its shares) tells every
 * share again too.
 */
export const redisSharedTallies = (options: RedisTalliesOptions): SharedTallies => {
  const { url, prefix, processId, aliveTtlMs, commandTimeoutMs, silenceMs, retryCapMs, keyTtlMs, log } = { ...DEFAULTS, ...options }
  checkWhole('aliveTtlMs', aliveTtlMs, 1)
  checkWhole('keyTtlMs', keyTtlMs, 1)
  const client = openConnection({ url, name: `sala-tallies-${processId}`, commandTimeoutMs, silenceMs, retryCapMs })
  const hold = luaScript(HOLD_SCRIPT)
  const tell = luaScript(TELL_SCRIPT)
  const aliveKey = `${prefix}alive:${processId}`
  const alivePrefix = `${prefix}alive:`
  const tallyKey = (key: string) => `${prefix}tally:${key}`
  /** This process's share of each tally it holds some of (never 0): the truth Redis is told. */
  const shares = new Map<string, number>()
  /** Tallies whose share in Redis may differ from ours: a write failed, or its answer was lost. */
  const untold = new Set<string>()
  /** Per tally, its jobs in order; the first is the one running. Only tallies with work have an entry. */
  const lines = new Map<string, Job[]>()
  let closed = false
  const fields = { redis: withoutPassword(url), processId }
  const stopHeartbeat = heartbeat([client], silenceMs)
  logChanges(client, log, 'shared tallies', fields, () => closed)

  const ready = () => !closed && client.status === 'ready'

  const enqueue = (key: string, job: Job): void => {
    const line = lines.get(key)
    if (line === undefined) {
      const fresh = [job]
      lines.set(key, fresh)
      void work(key, fresh)
      return
    }
    // A job still waiting will write the share as it is when it runs: a tell behind it adds nothing.
    if (job.type === 'tell' && line.length > 1) return
    line.push(job)
  }

  const work = async (key: string, line: Job[]): Promise<void> => {
    for (let job = line[0]; job !== undefined; job = line[0]) {
      const outcome = await perform(key, job)
      line.shift()
      if (outcome === 'failed') untold.add(key)
      // Known to Redis only if no change waits behind this write.
      if (outcome === 'told' && line.length === 0) untold.delete(key)
    }
    lines.delete(key)
  }

  const perform = async (key: string, job: Job): Promise<Outcome> => {
    if (job.type === 'tell') {
      if (closed) return 'unsent'
      if (!ready()) return 'failed'
      try {
        await tell(client, [tallyKey(key)], [processId, String(shares.get(key) ?? 0), String(keyTtlMs)])
        return 'told'
      } catch {
        return 'failed'
      }
    }
    if (!ready()) {
      job.answer(E.left(NOT_CONNECTED))
      return 'unsent'
    }
    const share = shares.get(key) ?? 0
    try {
      const reply = await hold(client, [tallyKey(key)], [processId, String(share), String(job.amount), String(job.limit), String(keyTtlMs), alivePrefix, String(share + job.amount)])
      const answer = tallyHold(reply)
      if (answer.held) shares.set(key, (shares.get(key) ?? 0) + job.amount)
      // A change made while the hold was out waits behind it as a tell, which writes the share it left.
      job.answer(E.right(answer))
      return 'told'
    } catch (error) {
      job.answer(E.left(linkFailure(error)))
      // Redis may still run it (a timeout) or have run it (a break): the next write of this tally mends it.
      if (!closed) enqueue(key, TELL)
      return 'failed'
    }
  }

  const tellAll = (): number => {
    const keys = new Set([...shares.keys(), ...untold])
    for (const key of keys) enqueue(key, TELL)
    return keys.size
  }

  /**
   * Renews the alive key; answers whether it was still there (undefined: no answer). Plain commands, not a
   * script: sent at once even when Redis has just restarted and forgotten the scripts, so the key is back
   * before the shares told right behind it.
   */
  const renewAlive = async (): Promise<boolean | undefined> => {
    if (!ready()) return undefined
    try {
      const [was] = await Promise.all([client.exists(aliveKey), client.set(aliveKey, '1', 'PX', aliveTtlMs)])
      return was === 1
    } catch {
      return undefined
    }
  }

  // Redis may have restarted empty, or dropped this process as dead while the link was away: alive first,
  // so no hold of another process drops the shares told right after.
  client.on('ready', () => {
    void renewAlive()
    tellAll()
  })
  const aliveTimer = setInterval(() => {
    void renewAlive().then((was) => {
      if (was !== false || closed) return
      const told = tellAll()
      log('warn', 'shared tallies: this process had been counted gone; telling its shares again', { ...fields, tallies: told })
    })
  }, Math.max(100, Math.floor(aliveTtlMs / 3)))
  aliveTimer.unref()
  const renewTimer = setInterval(() => {
    if (ready()) tellAll()
  }, Math.max(100, Math.floor(keyTtlMs / 3)))
  renewTimer.unref()

  const change = (key: string, delta: number): void => {
    if (closed) return
    const share = Math.max(0, (shares.get(key) ?? 0) + delta)
    if (share === 0) shares.delete(key)
    else shares.set(key, share)
    enqueue(key, TELL)
  }

  return {
    hold: (key, amount, limit) => {
      checkWhole('an amount', amount, 1)
      checkWhole('a limit', limit, 0)
      if (closed) return Promise.resolve(E.left(NOT_CONNECTED))
      return new Promise((answer) => enqueue(key, { type: 'hold', amount, limit, answer }))
    },
    add: (key, amount) => {
      checkWhole('an amount', amount, 1)
      change(key, amount)
    },
    release: (key, amount) => {
      checkWhole('an amount', amount, 1)
      change(key, -amount)
    },
    close: async () => {
      if (closed) return
      closed = true
      clearInterval(aliveTimer)
      clearInterval(renewTimer)
      stopHeartbeat()
      // Without its alive key this process's shares count for nobody from the next hold on.
      if (client.status === 'ready') await client.del(aliveKey).catch(() => undefined)
      await closeConnection(client)
    },
  }
}



/** The hold script answers `{held, others}`. */
const tallyHold = (reply: unknown): TallyHold => {
  if (!Array.isArray(reply) || typeof reply[0] !== 'number' || typeof reply[1] !== 'number') {
    throw new Error(`unexpected reply from the tally script: ${JSON.stringify(reply)}`)
  }
  return { held: reply[0] === 1, others: reply[1] }
}

const checkWhole = (what: string, value: number, min: number): void => {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${what} must be a whole number of at least ${min} (got ${value})`)
}

